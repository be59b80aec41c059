"""The triage screen in a real browser: Debian's Chromium driven by Playwright for Python (no
browser download), against a running Faultline the Rust test started and filled.

Flows: sign in with an API key; the overview lists the projects; open one; filter by HTTP status
404 and by period; sort by occurrences; open an issue, see its stack trace and chart; resolve it
(the API then says `resolved`); ignore another; bulk-resolve two — with JavaScript on and again
with it off. A message holding <script> and <img onerror> is shown as text and runs nothing.
axe-core (axe-playwright-python) finds no serious or critical violation on any page, light or
dark.

With JavaScript on, times read in the viewer's zone (UTC on hover) and the keys work: j moves to
an issue, r resolves it. The status page and the frequent-404s page are checked too.

usage: ui_browser.py BASE_URL API_KEY [SCREENSHOT_DIR]
Prints `ui_browser: ok axe_pages=M` or fails with the reason. With SCREENSHOT_DIR, saves a
screenshot of each page there (light and dark; docs/ui/ holds the published ones).
"""

import json
import os
import sys
import urllib.request

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect, sync_playwright

BASE, KEY = sys.argv[1].rstrip("/"), sys.argv[2]
SHOTS = sys.argv[3] if len(sys.argv) > 3 else None
CHROMIUM = "/usr/bin/chromium"
axe = Axe()
axe_pages = 0


def api_status(fp):
    req = urllib.request.Request(f"{BASE}/api/v1/errors/{fp}?project=shop",
                                 headers={"Authorization": f"Bearer {KEY}"})
    return json.load(urllib.request.urlopen(req))["status"]


def shot(page, name, scheme, js):
    if SHOTS and js:
        os.makedirs(SHOTS, exist_ok=True)
        page.screenshot(path=os.path.join(SHOTS, f"{name}-{scheme}.png"), full_page=True)


def check_axe(page, what, js=True):
    global axe_pages
    if not js:
        return  # axe is a script: it runs where scripts run (the dark pass has them on)
    found = axe.run(page).response["violations"]
    bad = [f"{v['id']} ({v['impact']})" for v in found if v.get("impact") in ("serious", "critical")]
    assert not bad, f"axe on {what}: {bad}"
    axe_pages += 1


def fingerprint_of(page):
    return page.url.split("?")[0].rstrip("/").rsplit("/", 1)[-1]


def flows(browser, js, scheme):
    ctx = browser.new_context(java_script_enabled=js, color_scheme=scheme)
    page = ctx.new_page()
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))

    # Sign in.
    page.goto(f"{BASE}/")
    expect(page).to_have_url(f"{BASE}/ui/login")
    check_axe(page, f"login ({scheme})", js)
    page.get_by_label("API key").fill(KEY)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Projects")
    check_axe(page, f"overview ({scheme})", js)
    shot(page, "overview", scheme, js)
    expect(page.get_by_role("link", name="shop", exact=True)).to_be_visible()
    expect(page.get_by_role("link", name="blog", exact=True)).to_be_visible()

    # One project, filtered by HTTP status and period, sorted by occurrences.
    page.get_by_role("link", name="shop", exact=True).click()
    page.get_by_label("HTTP status").fill("404")
    page.get_by_label("Period").select_option("7d")
    page.get_by_label("Sort").select_option("count")
    page.get_by_role("button", name="Apply").click()
    assert "http_status=404" in page.url and "since=7d" in page.url and "sort=count" in page.url, page.url
    links = page.locator("table.list tbody a")
    expect(links).to_have_count(1)
    expect(links.first).to_contain_text("RouteMissing")
    check_axe(page, f"list ({scheme})", js)
    page.goto(f"{BASE}/ui/p/shop")
    shot(page, "issues", scheme, js)

    # The hostile message: text, nothing run.
    page.goto(f"{BASE}/ui/p/shop?q=Hostile")
    page.get_by_role("link", name="HostileInput").click()
    expect(page.locator("p.message")).to_contain_text("<script>")
    assert page.locator("main script, main img").count() == 0
    assert page.title() != "owned" and not dialogs, (page.title(), dialogs)
    expect(page.locator(".trace")).to_be_visible()
    expect(page.locator("svg.chart").first).to_be_visible()
    check_axe(page, f"detail ({scheme})", js)
    shot(page, "issue", scheme, js)
    first_seen = page.locator("dl.facts time").first
    if js:
        # The viewer's time, with the UTC time on hover.
        iso = first_seen.get_attribute("datetime")
        expect(first_seen).to_have_attribute("title", iso.replace("T", " ").replace("Z", " UTC"))
        assert first_seen.inner_text() != iso, first_seen.inner_text()
    else:
        assert first_seen.inner_text() == first_seen.get_attribute("datetime")

    # Frequent 404s and the status page.
    page.get_by_role("link", name="Frequent 404s").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Frequent 404s")
    check_axe(page, f"404s ({scheme})", js)
    shot(page, "404s", scheme, js)
    page.get_by_role("link", name="Status").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Status")
    expect(page.get_by_role("rowheader", name="clickhouse")).to_be_visible()
    check_axe(page, f"status ({scheme})", js)
    shot(page, "status", scheme, js)
    return ctx, page


def keyboard(page):
    """j selects the first issue of the list, r resolves it (JavaScript on only)."""
    page.goto(f"{BASE}/ui/p/shop?q=KeyboardTarget")
    expect(page.locator("#issues tbody tr")).to_have_count(1)
    fp = page.locator("#issues tbody a").first.get_attribute("href").rsplit("/", 1)[-1]
    page.keyboard.press("j")
    expect(page.locator("#issues tbody tr.current")).to_have_count(1)
    with page.expect_navigation():
        page.keyboard.press("r")
    assert api_status(fp) == "resolved", api_status(fp)


def act(page, cls, button, status):
    """Opens issue `cls` from the list, presses `button`; the API then says `status`."""
    page.goto(f"{BASE}/ui/p/shop")
    page.get_by_role("link", name=cls).click()
    fp = fingerprint_of(page)
    page.get_by_role("button", name=button, exact=True).click()
    expect(page.get_by_role("button", name="Reopen")).to_be_visible()
    assert api_status(fp) == status, api_status(fp)


def triage(page, resolve_class, ignore_class, bulk_classes):
    act(page, resolve_class, "Resolve", "resolved")
    act(page, ignore_class, "Ignore", "ignored")

    page.goto(f"{BASE}/ui/p/shop")
    for cls in bulk_classes:
        page.get_by_label(f"Select {cls}").check()
    page.get_by_role("button", name="Resolve selected").click()
    page.goto(f"{BASE}/ui/p/shop?status=resolved")
    for cls in bulk_classes:
        expect(page.get_by_role("link", name=cls)).to_be_visible()


with sync_playwright() as p:
    browser = p.chromium.launch(executable_path=CHROMIUM)
    # JavaScript on, light; then off (the same flows work without scripts); then the pages again
    # in dark mode for axe.
    ctx, page = flows(browser, True, "light")
    triage(page, "ResolveAlpha", "IgnoreAlpha", ["BulkOne", "BulkTwo"])
    keyboard(page)
    ctx.close()
    ctx, page = flows(browser, False, "light")
    triage(page, "ResolveBeta", "IgnoreBeta", ["BulkThree", "BulkFour"])
    ctx.close()
    ctx, _ = flows(browser, True, "dark")
    ctx.close()
    browser.close()
print(f"ui_browser: ok axe_pages={axe_pages}", flush=True)
