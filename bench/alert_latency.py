"""Alert latency: sends N errors, each a new issue, to a running Faultline (its native webhook,
one per second), and times each from Faultline's acknowledgement to the arrival of its
`new_issue` alert at a webhook receiver this script runs (bench/alerts.sh starts Faultline with a
rule sending new issues there, and ingest load beside it).

usage: alert_latency.py RECEIVER_PORT INGEST_URL N   (N = 0: only the receiver, until killed)
Prints `alert_latency: n=N received=R p50_ms=X p90_ms=X max_ms=X`.
"""

import http.server
import json
import statistics
import sys
import threading
import time
import urllib.request

arrived = {}
lock = threading.Lock()


class Receiver(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        at = time.time()
        try:
            doc = json.loads(body)
            if doc.get("event") == "new_issue":
                with lock:
                    arrived.setdefault(doc["issue"]["exception_type"], at)
        except (ValueError, KeyError, TypeError):
            pass
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


def main():
    port, ingest, n = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Receiver)
    if n == 0:
        server.serve_forever()  # only a receiver (answers 200 to every alert)
        return
    threading.Thread(target=server.serve_forever, daemon=True).start()
    time.sleep(3)  # Faultline takes the alerting lease
    run = int(time.time())
    acked = {}
    for i in range(n):
        cls = f"BenchNew{run}x{i}"
        body = json.dumps({"message": f"{cls} happened", "exception_class": cls,
                           "stack_trace": f"#0 /app/src/{cls}.php(1): run()\n#1 {{main}}"}).encode()
        req = urllib.request.Request(f"{ingest}", data=body, headers={"Content-Type": "application/json"})
        urllib.request.urlopen(req, timeout=30).read()
        acked[cls] = time.time()
        time.sleep(1)
    deadline = time.time() + 30
    while time.time() < deadline and len(arrived) < n:
        time.sleep(0.1)
    lat = sorted((arrived[c] - t) * 1000 for c, t in acked.items() if c in arrived)
    q = lambda p: lat[min(len(lat) - 1, int(p * len(lat)))] if lat else float("nan")
    print(f"alert_latency: n={n} received={len(lat)} p50_ms={q(0.5):.0f} p90_ms={q(0.9):.0f} "
          f"max_ms={(max(lat) if lat else float('nan')):.0f}", flush=True)


if __name__ == "__main__":
    main()
