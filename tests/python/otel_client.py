#!/usr/bin/env python3
"""A real Python service instrumented with the OpenTelemetry SDK, exporting to Faultline.

It raises genuine exceptions from a few code paths, records them on SERVER spans the way the
instrumentation libraries do (span.record_exception + ERROR status), and logs one through the OTLP
logs exporter. Traces go once over OTLP/gRPC and once over OTLP/HTTP (protobuf).

usage: otel_client.py --grpc http://127.0.0.1:4317 --http http://127.0.0.1:4318 --token TOKEN
Prints one JSON line: {"spans": N, "exceptions": N, "logs": N}.
"""
import argparse
import json
import logging

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import SpanKind, Status, StatusCode
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcSpanExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpSpanExporter
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor

USERS = {1: "ada", 2: "grace"}


def load_user(uid):
    return USERS[uid]  # KeyError for unknown ids: one bug, many ids


def parse_amount(raw):
    return int(raw)  # ValueError: another bug


def handler(tracer, route, fn, arg, counts):
    with tracer.start_as_current_span(f"GET {route}", kind=SpanKind.SERVER,
                                      record_exception=False, set_status_on_exception=False) as span:
        span.set_attribute("http.request.method", "GET")
        span.set_attribute("http.route", route)
        counts["spans"] += 1
        try:
            fn(arg)
            span.set_attribute("http.response.status_code", 200)
        except Exception as exc:  # noqa: BLE001 - recording any exception is the point
            span.set_attribute("http.response.status_code", 500)
            span.record_exception(exc, escaped=True)
            span.set_status(Status(StatusCode.ERROR, str(exc)))
            counts["exceptions"] += 1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--grpc", required=True)
    ap.add_argument("--http", required=True)
    ap.add_argument("--token", required=True)
    a = ap.parse_args()
    headers = {"authorization": f"Bearer {a.token}"}
    resource = Resource.create({"service.name": "billing-py", "deployment.environment.name": "staging",
                                "service.version": "3.1.0"})
    counts = {"spans": 0, "exceptions": 0, "logs": 0}
    for exporter in (GrpcSpanExporter(endpoint=a.grpc, insecure=True, headers=tuple(headers.items())),
                     HttpSpanExporter(endpoint=f"{a.http}/v1/traces", headers=headers)):
        provider = TracerProvider(resource=resource)
        provider.add_span_processor(BatchSpanProcessor(exporter))
        tracer = provider.get_tracer("otel_client")
        for uid in (7, 8, 1):  # two failures, one success
            handler(tracer, "/users/{id}", load_user, uid, counts)
        for raw in ("12x", "abc"):
            handler(tracer, "/pay", parse_amount, raw, counts)
        provider.force_flush()
        provider.shutdown()

    lp = LoggerProvider(resource=resource)
    lp.add_log_record_processor(BatchLogRecordProcessor(OTLPLogExporter(endpoint=f"{a.http}/v1/logs", headers=headers)))
    log = logging.getLogger("billing")
    log.propagate = False
    log.addHandler(LoggingHandler(level=logging.INFO, logger_provider=lp))
    log.setLevel(logging.INFO)
    log.info("not an error: must not be stored")
    try:
        parse_amount("zz")
    except ValueError:
        log.exception("payment parsing failed")
        counts["logs"] += 1
    lp.force_flush()
    lp.shutdown()
    print(json.dumps(counts))


if __name__ == "__main__":
    main()
