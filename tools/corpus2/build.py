#!/usr/bin/env python3
"""Builds the second grouping corpus (collector/tests/data/grouping2/events.jsonl) by running real
programs — Go, Python, Node, Java, PHP, Ruby, Rust — in several builds and deployments, and recording each
exception as that language's OpenTelemetry SDK records it (see each program's main file).

Every event is genuine output of its runtime: variants of one bug come from running the same
program deployed at other paths, built with other flags, composed with other middleware, at
other recursion depths, or reached through other wrappers. The label of an event is the bug the
driver triggered, never derived from the trace: `<service>/<bug>`, and for a failure wrapped by
the application whose cause varies, `<service>/<bug>/<cause>` — the labelling rule of the first
corpus (service + the root cause's raise site and type), which Faultline's grouping follows
(collector/src/fingerprint/select.rs).

usage: tools/corpus2/build.py [OUT]     (default collector/tests/data/grouping2/events.jsonl)
Needs: go (golang-go), php (php-cli), java/javac (default-jdk-headless), ruby, node, rustc. Writes under
/build, /srv, /opt, /home, /var/www, /go (the deploy roots the traces show) and removes it after.
"""

import hashlib
import json
import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
    ROOT, "collector/tests/data/grouping2/events.jsonl")
made = []  # deploy roots to remove at the end


def deploy(src, dest):
    if os.path.exists(dest):
        shutil.rmtree(dest)
    shutil.copytree(src, dest)
    made.append(dest)
    return dest


def shift_lines(tree, suffixes, n, comment):
    """A later version of the code: `n` more lines at the top of every source file."""
    for d, _, files in os.walk(tree):
        if "vendor" in d or "node_modules" in d or "site-packages" in d:
            continue
        for f in files:
            if f.endswith(suffixes):
                p = os.path.join(d, f)
                text = open(p).read()
                lines = text.split("\n")
                # After the first line (shebangs, <?php, 'use strict', package clauses stay first).
                lines[1:1] = [comment + f" release note {i}" for i in range(n)]
                open(p, "w").write("\n".join(lines))


# Bugs whose root cause is the argument (the application wraps several failures at one site).
BY_CAUSE = {"p-render-wrap", "j-reserve", "php-save"}


def run(cmd, env=None, cwd=None):
    """Runs a program whose trailing arguments are `bug=arg`, one event each, in order."""
    e = dict(os.environ)
    e.update(env or {})
    out = subprocess.run(cmd, env=e, cwd=cwd, capture_output=True, text=True, check=True)
    events = [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]
    args = [a for a in cmd if "=" in a and not a.startswith("-")]
    assert len(events) == len(args), (cmd, len(events), len(args))
    for ev, a in zip(events, args):
        bug, _, arg = a.partition("=")
        assert ev["bug"] == bug, (ev["bug"], bug)
        if bug in BY_CAUSE:
            ev["bug"] = f"{bug}/{arg}"
    return events


def go_events():
    builds = [
        ("/build/shopd", [], []),
        ("/home/runner/work/shopd/shopd", ["-tags", "extra"], []),
        # A debug build: no inlining, so the runtime's panic frames and every offset differ.
        ("/go/src/github.com/acme/shopd", [], ["-gcflags", "all=-N -l"]),
    ]
    bugs = {
        "g-cart": ["/cart?sku=a1", "/cart?sku=b7", "/cart?sku=zz"],
        "g-quote": ["/quote?tier=3", "/quote?tier=4", "/quote?tier=7"],
        "g-greet": ["/greet?id=bob", "/greet?id=eve", "/greet?id=x"],
        "g-categories": ["/categories?depth=1", "/categories?depth=4", "/categories?depth=9"],
        # Go prints no cause: one cause, other orders.
        "g-order": ["/order?order=7&cause=path", "/order?order=9&cause=path",
                    "/order?order=12&cause=path"],
        "g-checkout": ["/checkout", "/checkout", "/checkout"],
    }
    plan = [(0, "named"), (0, "anon"), (1, "router"), (1, "inline"), (2, "named"), (2, "anon")]
    events = []
    for bi, (root, tags, flags) in enumerate(builds):
        deploy(os.path.join(HERE, "go"), root)
        binary = os.path.join(root, "shopd")
        env = {"GOFLAGS": "-mod=mod", "GOCACHE": "/tmp/corpus2-gocache", "CGO_ENABLED": "0"}
        subprocess.run(["go", "build", *tags, *flags, "-o", binary, "."], cwd=root, check=True,
                       env={**os.environ, **env})
        for pi, (b, chain) in enumerate(plan):
            if b != bi:
                continue
            args = [f"{bug}={targets[pi % len(targets)]}" for bug, targets in bugs.items()]
            events += [("shopd", e) for e in run([binary, "-chain", chain, *args])]
    return "go", events


def python_events():
    deployments = [
        # (root, where the libraries are, lines added by this version)
        ("/srv/releases/2026-11-02/cms", ".venv/lib/python3.11/site-packages", 0),
        ("/opt/cms/releases/1.4.2", "vendor", 3),
        ("/home/deploy/cms-current", "venv/lib/python3.11/site-packages", 7),
    ]
    bugs = {
        "p-slug": ["4", "8"],
        "p-render-wrap": ["missing", "width", "tags"],
        "p-ratio": ["jobs", "cli"],
        "p-menu": ["1", "3", "6", "10"],
        "p-weight": ["x", "y"],
        "p-price": ["x", "y"],
        "p-caption": ["a", "b"],
    }
    events = []
    for di, (root, libs, shift) in enumerate(deployments):
        deploy(os.path.join(HERE, "python/app"), root)
        lib_dir = os.path.join(root, libs)
        os.makedirs(os.path.dirname(lib_dir), exist_ok=True)
        shutil.copytree(os.path.join(HERE, "python/lib"), lib_dir)
        shift_lines(root, (".py",), shift, "#")
        for k in range(2):
            args = [f"{bug}={vals[(di * 2 + k) % len(vals)]}" for bug, vals in bugs.items()]
            env = {"PYTHONPATH": f"{root}:{lib_dir}", "PYTHONDONTWRITEBYTECODE": "1"}
            events += [("cms-api", e) for e in run([sys.executable, os.path.join(root, "main.py"),
                                                    *args], env=env)]
    return "python", events


def node_events():
    deployments = [
        ("/srv/notify/releases/41", "plain", 0),
        ("/opt/notify/current", "auth", 2),
        ("/home/node/app", "anon", 5),
    ]
    bugs = {
        "n-contact": ["bob", "eve"],
        "n-label": ["x", "y"],
        "n-channels": ["1", "3", "7"],
        "n-payload": ['{"a":}', "[1,2", "{'k': 1}"],
        "n-quota": ["acme", "globex"],
    }
    events = []
    for di, (root, chain, shift) in enumerate(deployments):
        deploy(os.path.join(HERE, "node"), root)
        shift_lines(os.path.join(root, "src"), (".js",), shift, "//")
        for k in range(2):
            args = [f"{bug}={vals[(di * 2 + k) % len(vals)]}" for bug, vals in bugs.items()]
            events += [("notify-gateway", e) for e in run(["node", os.path.join(root, "src/main.js"),
                                                           *args], env={"CHAIN": chain})]
    # The same code bundled for the edge (a separate service): one file named by its content
    # hash, a new hash every build.
    for bi, (root, stamp, chain) in enumerate([("/srv/edge/releases/7", "2026-11-02.1", "plain"),
                                               ("/srv/edge/releases/8", "2026-11-09.3", "anon")]):
        deploy(os.path.join(HERE, "node"), root)
        bundle = subprocess.run(["node", os.path.join(root, "bundle.js"), os.path.join(root, "src"),
                                 os.path.join(root, "dist"), stamp], capture_output=True, text=True,
                                check=True).stdout.strip()
        shutil.rmtree(os.path.join(root, "src"))
        for k in range(2):
            args = [f"{bug}={bugs[bug][(bi * 2 + k) % len(bugs[bug])]}"
                    for bug in ("n-contact", "n-label", "n-payload")]
            events += [("notify-edge", e) for e in run(["node", bundle, *args], env={"CHAIN": chain})]
    return "node", events


def java_events():
    bugs = {
        "j-zip": ["Elm St", "Oak Ave"],
        "j-rate": ["0:45", "3:45", "7:60", "1:99"],
        "j-duty": ["0", "5", "20", "40"],
        "j-reserve": ["io", "timeout", "readonly"],
        "j-zones": ["1", "4", "8"],
    }
    events = []
    for bi, extra in enumerate([False, True]):
        src = deploy(os.path.join(HERE, "java/src"), f"/tmp/corpus2-java-{bi}/src")
        if extra:
            # A later build: another lambda earlier in the class renumbers the synthetic methods.
            p = os.path.join(src, "com/acme/shipping/Labels.java")
            text = open(p).read().replace(
                "// EXTRA_LAMBDA",
                "public List<Integer> weights(List<Order> orders) {\n"
                "        return orders.stream().map(o -> o.weight()).collect(Collectors.toList());\n"
                "    }")
            open(p, "w").write(text)
        classes = f"/tmp/corpus2-java-{bi}/classes"
        files = [os.path.join(d, f) for d, _, fs in os.walk(src) for f in fs if f.endswith(".java")]
        subprocess.run(["javac", "-d", classes, *files], check=True)
        for k in range(3):
            args = [f"{bug}={vals[(bi * 3 + k) % len(vals)]}" for bug, vals in bugs.items()]
            events += [("shipping-service", e) for e in run(["java", "-cp", classes,
                                                             "com.acme.shipping.Main", *args])]
    return "java", events


def php_events():
    deployments = [
        # (root, service, how it logs the trace, lines added by this version)
        ("/srv/releases/20261102/forum", "forum-app", "string", 0),
        ("/opt/forum/releases/2.3.1", "forum-app", "string", 2),
        # The cron logs getTraceAsString(), which prints no cause: one cause there.
        ("/var/www/forum-cron", "forum-cron", "trace", 4),
    ]
    bugs = {
        "php-titles": ["x", "y"],
        "php-excerpt": ["", ""],
        "php-save": ["disk", "lock", "pdo"],
        "php-threads": ["1", "3", "6"],
        "php-digest": ["0", "0"],
    }
    events = []
    for di, (root, service, fmt, shift) in enumerate(deployments):
        deploy(os.path.join(HERE, "php"), root)
        shift_lines(os.path.join(root, "src"), (".php",), shift, "//")
        for k in range(2):
            args = [f"{bug}={vals[(di * 2 + k) % len(vals)] if fmt == 'string' or bug != 'php-save' else 'pdo'}"
                    for bug, vals in bugs.items()]
            events += [(service, e) for e in run(["php", os.path.join(root, "main.php"), *args],
                                                 env={"FORMAT": fmt})]
    return "php", events


def ruby_events():
    deployments = [
        # (root, where the gems are, middleware chain, lines added by this version)
        ("/srv/releases/20261102/events-api", "vendor/bundle/ruby/3.1.0/gems", "none", 0),
        ("/opt/events-api/releases/3.2.0", "vendor/bundle/ruby/3.1.0/gems", "auth", 2),
        ("/home/deploy/events-api/current", "/usr/local/bundle/ruby/3.1.0/gems", "logging", 5),
    ]
    bugs = {
        "r-owner": ["Hall A", "Roof"],
        "r-invoice": ["0", "0"],
        "r-agenda": ["1", "3", "6"],
        "r-setting": ["tz", "currency"],
    }
    events = []
    for di, (root, gems, chain, shift) in enumerate(deployments):
        deploy(os.path.join(HERE, "ruby/app"), root)
        gem_dir = gems if gems.startswith("/") else os.path.join(root, gems)
        if os.path.exists(gem_dir):
            shutil.rmtree(gem_dir)
        shutil.copytree(os.path.join(HERE, "ruby/vendor/bundle/ruby/3.1.0/gems"), gem_dir)
        if gems.startswith("/"):
            made.append(gems.split("/ruby/")[0])
        shift_lines(root, (".rb",), shift, "#")
        lib = os.path.join(gem_dir, "tinyroute-1.4.0/lib")
        for k in range(2):
            args = [f"{bug}={vals[(di * 2 + k) % len(vals)]}" for bug, vals in bugs.items()]
            events += [("events-api", e) for e in run(["ruby", os.path.join(root, "main.rb"), *args],
                                                      env={"GEM_LIB": lib, "CHAIN": chain})]
    return "ruby", events


def rust_events():
    # Release builds (as services ship), at other roots, worker names and versions.
    deployments = [
        ("/build/search-api", "search-worker", 0),
        ("/home/runner/work/search-api/search-api", "query-pool", 3),
        ("/usr/src/search-api", "tokio-runtime-worker", 6),
    ]
    bugs = {
        # Cut at byte 40 inside a two-byte character.
        "rs-snippet": ["x" * 39 + "\u00fcber alles", "y" * 39 + "\u00e9t\u00e9 ici", "z" * 39 + "\u00f1and\u00fa"],
        "rs-page": ["x", "2a", "-1"],
        "rs-shards": ["0", "0"],
        "rs-tree": ["1", "3", "6"],
    }
    events = []
    for di, (root, worker, shift) in enumerate(deployments):
        deploy(os.path.join(HERE, "rust"), root)
        shift_lines(os.path.join(root, "src"), (".rs",), shift, "//")
        binary = os.path.join(root, "search-api")
        subprocess.run(["rustc", "--edition", "2021", "-O", "-C", "debuginfo=1", "-o", binary,
                        os.path.join(root, "src/main.rs")], check=True, cwd=root)
        for k in range(2):
            args = [f"{bug}={vals[(di * 2 + k) % len(vals)]}" for bug, vals in bugs.items()]
            events += [("search-api", e) for e in run([binary, *args], env={"WORKER": worker})]
    return "rust", events


# Event id prefixes, one per language.
PREFIX = {"go": "go", "python": "py", "node": "no", "java": "ja", "php": "ph", "ruby": "rb",
          "rust": "rs"}


def main():
    out = []
    try:
        for make in (go_events, python_events, node_events, java_events, php_events, ruby_events,
                     rust_events):
            lang, events = make()
            for service, e in events:
                out.append((lang, service, e))
    finally:
        for d in made:
            shutil.rmtree(d, ignore_errors=True)
    # Opaque group ids: the first 8 hex of the label's hash.
    lines = []
    counters = {}
    for lang, service, e in out:
        label = f"{service}/{e['bug']}"
        counters[lang] = counters.get(lang, 0) + 1
        lines.append(json.dumps({
            "id": f"{PREFIX[lang]}2-{counters[lang]:04d}",
            "group": "g" + hashlib.sha256(label.encode()).hexdigest()[:8],
            "lang": lang,
            "service": service,
            "exception_type": e["exception_type"],
            "message": e["message"],
            "stacktrace": e["stacktrace"],
            "hard": False,
        }))
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        f.write("\n".join(lines) + "\n")
    groups = {json.loads(l)["group"] for l in lines}
    print(f"corpus2: {len(lines)} events in {len(groups)} groups -> {OUT}")


if __name__ == "__main__":
    main()
