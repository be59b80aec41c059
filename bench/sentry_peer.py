"""Sends the same Sentry events to a Sentry-protocol server and reports what it stored, how fast,
and how it grouped them (`bench/bugsink.sh` runs it against Faultline and against Bugsink).

Input: `faultline loadgen --print-sentry-events` (each corpus error once as a Sentry event, with
its corpus id and true group). Every event is sent `--rounds` times, each copy a new event id, one
gzipped envelope per request as sentry-python sends, from `--concurrency` threads with a
keep-alive connection each. The rate is events stored per second from the first request until
`--stored-cmd` (a shell command printing the count stored) reaches the total. The grouping is read
back with `--groups-cmd` (a shell command printing `event_id<TAB>group` lines) for the first
round, and scored with B-cubed precision, recall and F1 against the corpus's true groups.

Prints one line: `peer: name=X events=N rate=R acked_rate=A precision=P recall=R f1=F issues=I`.
"""

import argparse
import collections
import gzip
import http.client
import json
import subprocess
import sys
import threading
import time
import urllib.parse


def envelope(event, event_id):
    event = dict(event, event_id=event_id)
    item = json.dumps(event).encode()
    head = json.dumps({"event_id": event_id, "sent_at": "2026-12-06T00:00:00.000000Z"}).encode()
    ih = json.dumps({"type": "event", "content_type": "application/json", "length": len(item)}).encode()
    return gzip.compress(head + b"\n" + ih + b"\n" + item + b"\n", compresslevel=9)


def b_cubed(truth, found):
    """B-cubed precision, recall and F1 of `found` (item -> cluster) against `truth`."""
    by_truth, by_found = {}, {}
    for item in truth:
        by_truth.setdefault(truth[item], set()).add(item)
        by_found.setdefault(found.get(item, ("missing", item)), set()).add(item)
    p = r = 0.0
    for item in truth:
        same_found = by_found[found.get(item, ("missing", item))]
        same_truth = by_truth[truth[item]]
        both = len(same_found & same_truth)
        p += both / len(same_found)
        r += both / len(same_truth)
    p, r = p / len(truth), r / len(truth)
    return p, r, 2 * p * r / (p + r)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--name", required=True)
    ap.add_argument("--dsn", required=True, help="http://KEY@HOST:PORT/PROJECT_ID")
    ap.add_argument("--events", required=True, help="file of `faultline loadgen --print-sentry-events`")
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--stored-cmd", required=True)
    ap.add_argument("--groups-cmd", required=True)
    ap.add_argument("--timeout", type=float, default=600)
    a = ap.parse_args()

    dsn = urllib.parse.urlsplit(a.dsn)
    key, host, port = dsn.username, dsn.hostname, dsn.port
    path = f"/api/{dsn.path.strip('/')}/envelope/"
    corpus = [json.loads(l) for l in open(a.events) if l.strip()]
    truth = {}
    bodies = []
    for r in range(a.rounds):
        for c in corpus:
            # The round, then the corpus id's bytes in hex: unique and readable back.
            eid = f"{r:04x}" + c["event"]["event_id"][4:]
            if r == 0:
                truth[eid] = c["group"]
            bodies.append(envelope(c["event"], eid))
    auth = f"Sentry sentry_key={key}, sentry_version=7, sentry_client=sentry.python/2.76.0"

    next_i = [0]
    lock = threading.Lock()
    acked = [0]
    failed = []

    def sender():
        conn = http.client.HTTPConnection(host, port, timeout=60)
        while True:
            with lock:
                i = next_i[0]
                next_i[0] += 1
            if i >= len(bodies):
                return
            for attempt in range(3):
                try:
                    conn.request("POST", path, body=bodies[i], headers={
                        "Content-Type": "application/x-sentry-envelope",
                        "Content-Encoding": "gzip", "X-Sentry-Auth": auth})
                    resp = conn.getresponse()
                    resp.read()
                    if resp.status == 200:
                        with lock:
                            acked[0] += 1
                    else:
                        failed.append(resp.status)
                    break
                except (OSError, http.client.HTTPException):
                    conn.close()
                    conn = http.client.HTTPConnection(host, port, timeout=60)
            else:
                failed.append("connection")

    t0 = time.time()
    threads = [threading.Thread(target=sender) for _ in range(a.concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    t_acked = time.time()
    total = acked[0]
    stored = 0
    while time.time() - t0 < a.timeout:
        out = subprocess.run(a.stored_cmd, shell=True, capture_output=True, text=True).stdout.strip()
        stored = int(out or 0)
        if stored >= total:
            break
        time.sleep(0.2)
    t1 = time.time()
    found = {}
    out = subprocess.run(a.groups_cmd, shell=True, capture_output=True, text=True).stdout
    for line in out.splitlines():
        parts = line.strip().split("\t")
        if len(parts) == 2:
            found[parts[0].replace("-", "").lower()] = parts[1]
    p, r, f1 = b_cubed(truth, found)
    issues = len({found[e] for e in truth if e in found})
    print(f"peer: name={a.name} events={len(bodies)} acked={total} stored={stored} "
          f"failed={len(failed)} failures={dict(collections.Counter(map(str, failed)))!r:.60} rate={stored / (t1 - t0):.1f} acked_rate={total / (t_acked - t0):.1f} "
          f"precision={p:.4f} recall={r:.4f} f1={f1:.4f} issues={issues} "
          f"true_groups={len(set(truth.values()))} scored={sum(1 for e in truth if e in found)}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
