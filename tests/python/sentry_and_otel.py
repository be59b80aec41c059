"""One bug reported both ways: sentry-python's `capture_exception` (frames as data, to the DSN)
and OpenTelemetry Python's `record_exception` (the traceback as text, over OTLP/HTTP), twice
each with different order ids. Faultline must group all four into one issue.

usage: sentry_and_otel.py --dsn DSN --otlp http://127.0.0.1:4318 --token TOKEN
Prints one JSON line: {"sent": {"sentry": N, "otel": N}}.
"""
import argparse
import json

import sentry_sdk
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import SpanKind


class LedgerError(Exception):
    pass


BALANCES = {}


def balance(account):
    return BALANCES[account]


def post_entry(order_id):
    try:
        balance(f"acct-{order_id}")
    except KeyError as e:
        raise LedgerError(f"cannot post order {order_id}") from e


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dsn", required=True)
    ap.add_argument("--otlp", required=True)
    ap.add_argument("--token", required=True)
    a = ap.parse_args()
    sentry_sdk.init(dsn=a.dsn, default_integrations=False)
    sentry_sdk.set_tag("service", "ledger")
    provider = TracerProvider(resource=Resource.create({"service.name": "ledger"}))
    exporter = OTLPSpanExporter(endpoint=f"{a.otlp}/v1/traces",
                                headers={"authorization": f"Bearer {a.token}"})
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("ledger")
    sent = {"sentry": 0, "otel": 0}
    for order in (1, 2):
        try:
            post_entry(order)
        except LedgerError:
            sentry_sdk.capture_exception()
            sent["sentry"] += 1
    for order in (3, 4):
        with tracer.start_as_current_span("POST /entries", kind=SpanKind.SERVER,
                                          record_exception=False) as span:
            try:
                post_entry(order)
            except LedgerError as exc:
                span.record_exception(exc, escaped=True)
                sent["otel"] += 1
    sentry_sdk.flush(timeout=10)
    provider.shutdown()
    print(json.dumps({"sent": sent}))


if __name__ == "__main__":
    main()
