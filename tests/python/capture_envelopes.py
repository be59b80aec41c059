"""Writes the envelopes sentry-python really sends, for the golden tests of the Sentry mapping
(collector/tests/data/sentry/). Run: python tests/python/capture_envelopes.py <out dir>.

A transport that keeps each envelope's bytes instead of sending them: the SDK builds and
serializes the envelope exactly as for the network (the body before compression)."""
import logging
import sys
import traceback

import sentry_sdk
from sentry_sdk.transport import Transport

OUT = sys.argv[1]
captured = []


class Keep(Transport):
    def capture_envelope(self, envelope):
        captured.append(envelope.serialize())


sentry_sdk.init(
    dsn="http://abcdef0123456789abcdef0123456789@127.0.0.1:4318/42",
    transport=Keep,
    release="shop@1.2.3",
    environment="staging",
    server_name="pod-7f9c",
    send_default_pii=True,
)


class PaymentError(Exception):
    pass


def load(order_id):
    secret_local = "hunter2"  # noqa: F841 (a local the SDK sends in frame vars)
    return {}["card"]


def pay(order_id):
    try:
        load(order_id)
    except KeyError as e:
        raise PaymentError(f"payment failed for order {order_id}") from e


sentry_sdk.set_tag("service", "checkout")
sentry_sdk.set_user({"id": 7, "email": "ann@example.com"})
try:
    pay(99)
except PaymentError:
    sentry_sdk.capture_exception()
    # What OpenTelemetry's `span.record_exception` stores as `exception.stacktrace` for the same
    # exception: the one-bug-one-issue test groups both.
    with open(f"{OUT}/python_chained.traceback", "w") as f:
        f.write(traceback.format_exc())

logging.getLogger("app.billing").error("Invoice %s could not be sent", "INV-42")

with sentry_sdk.new_scope() as scope:
    scope.fingerprint = ["{{ default }}", "eu-west"]
    try:
        pay(100)
    except PaymentError:
        sentry_sdk.capture_exception()

sentry_sdk.flush()
for name, body in zip(["python_chained", "python_logging", "python_fingerprint"], captured):
    with open(f"{OUT}/{name}.envelope", "wb") as f:
        f.write(body)
print(len(captured), "envelopes")
