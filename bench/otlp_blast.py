#!/usr/bin/env python3
"""Rough ingest rate: POST prebuilt OTLP/HTTP protobuf requests (exceptions from the grouping corpus,
spread over services and HTTP statuses, plus one ordinary SERVER span per exception) from several
threads, then report events/s acknowledged. A first measuring stick until `faultline loadgen`.

usage: otlp_blast.py --endpoint http://127.0.0.1:4318 [--requests 200] [--batch 1000]
                     [--concurrency 4] [--token T]
Last line: blast: acked_events=N seconds=S events_per_s=X
"""
import argparse
import json
import os
import random
import threading
import time
import urllib.request

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "..", "collector", "tests", "data", "grouping", "events.jsonl")


def kv(k, v):
    if isinstance(v, int):
        return KeyValue(key=k, value=AnyValue(int_value=v))
    return KeyValue(key=k, value=AnyValue(string_value=v))


def build(events, batch, seed):
    rnd = random.Random(seed)
    req = ExportTraceServiceRequest()
    by_service = {}
    now = time.time_ns()
    for i in range(batch):
        e = rnd.choice(events)
        svc = e["service"]
        if svc not in by_service:
            rs = req.resource_spans.add()
            rs.resource.attributes.extend([kv("service.name", svc), kv("deployment.environment.name", rnd.choice(["prod", "staging"]))])
            by_service[svc] = rs.scope_spans.add()
        ss = by_service[svc]
        status = rnd.choice([500, 500, 502, 404, 403])
        for with_error in (True, False):
            sp = ss.spans.add()
            sp.trace_id = os.urandom(16)
            sp.span_id = os.urandom(8)
            sp.name = "GET /api"
            sp.kind = Span.SPAN_KIND_SERVER
            sp.start_time_unix_nano = now - 1_000_000
            sp.end_time_unix_nano = now
            sp.attributes.extend([kv("http.request.method", "GET"), kv("http.route", "/api/{id}"),
                                  kv("http.response.status_code", status if with_error else 200)])
            if with_error:
                ev = sp.events.add()
                ev.name = "exception"
                ev.time_unix_nano = now - i
                ev.attributes.extend([kv("exception.type", e["exception_type"]), kv("exception.message", e["message"]),
                                      kv("exception.stacktrace", e["stacktrace"])])
    return req.SerializeToString()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--endpoint", default="http://127.0.0.1:4318")
    ap.add_argument("--requests", type=int, default=200)
    ap.add_argument("--batch", type=int, default=1000)
    ap.add_argument("--concurrency", type=int, default=4)
    ap.add_argument("--token", default="")
    a = ap.parse_args()
    with open(CORPUS, encoding="utf-8") as f:
        events = [json.loads(line) for line in f if line.strip()]
    bodies = [build(events, a.batch, s) for s in range(8)]
    headers = {"content-type": "application/x-protobuf"}
    if a.token:
        headers["authorization"] = f"Bearer {a.token}"
    acked = [0]
    failed = [0]
    lock = threading.Lock()
    todo = list(range(a.requests))

    def worker():
        while True:
            with lock:
                if not todo:
                    return
                n = todo.pop()
            req = urllib.request.Request(f"{a.endpoint}/v1/traces", data=bodies[n % len(bodies)], headers=headers)
            try:
                with urllib.request.urlopen(req, timeout=60) as r:
                    r.read()
                with lock:
                    acked[0] += a.batch
            except Exception as exc:  # noqa: BLE001
                with lock:
                    failed[0] += 1
                print("request failed:", exc)

    t0 = time.time()
    threads = [threading.Thread(target=worker) for _ in range(a.concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    dt = time.time() - t0
    print(f"blast: acked_events={acked[0]} failed_requests={failed[0]} seconds={dt:.2f} events_per_s={acked[0] / dt:.0f}")


if __name__ == "__main__":
    main()
