"""cms: runs one bug per argument and prints each recorded exception as one JSON line, the way
the OpenTelemetry Python SDK records it (type, message, traceback.format_exception)."""

import json
import sys
import traceback
import types

import jobs

from cms import listing, menus, pages, stats, uploads


def record(bug, e):
    t = type(e)
    name = t.__qualname__ if t.__module__ == "builtins" else f"{t.__module__}.{t.__qualname__}"
    print(json.dumps({"bug": bug, "exception_type": name, "message": str(e),
                      "stacktrace": "".join(traceback.format_exception(t, e, e.__traceback__))}))


def page(pid, parent=None, **meta):
    return types.SimpleNamespace(id=pid, slug=f"p{pid}", parent=parent, meta=meta)


def cli(fn, *args):
    try:
        return fn(*args)
    except Exception as e:
        raise RuntimeError("command failed") from e


def run(bug, arg):
    if bug == "p-slug":
        pages.render_page(page(int(arg)))
    elif bug == "p-render-wrap":
        fields = {"missing": ["summary"], "width": ["width"], "tags": ["tags"]}[arg]
        pages.render_teaser(page(3, width="wide", tags=[1, 2]), fields)
    elif bug == "p-ratio":
        if arg == "jobs":
            jobs.run("daily-report", stats.daily, 10, 0)
        else:
            cli(stats.daily, 10, 0)
    elif bug == "p-menu":
        menus.build_menu(menus.nested(int(arg)))
    elif bug == "p-weight":
        listing.ordered([{"weight": 1}, {"name": arg}])
    elif bug == "p-price":
        listing.total_price([{"price": 3}, {"name": arg}])
    elif bug == "p-caption":
        uploads.read_caption(bytes([0xC3, 0x28]) + arg.encode())


for a in sys.argv[1:]:
    bug, _, arg = a.partition("=")
    try:
        run(bug, arg)
    except Exception as e:
        record(bug, e)
