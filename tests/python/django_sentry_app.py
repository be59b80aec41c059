"""A Django app with sentry-sdk (seeds 001/002: `sentry_sdk.init(dsn=..., integrations=[DjangoIntegration()])`)
on a real WSGI server (wsgiref: Django's test client skips the SDK's request capture), hit over
HTTP, reporting to Faultline's DSN. Prints what it did as one JSON line.

usage: django_sentry_app.py --dsn DSN [--no-brotli] [--trace-id HEX32]
--no-brotli hides the `brotli` package, so sentry-python gzips instead of using brotli.
"""
import argparse
import json
import sys
import threading
import urllib.error
import urllib.request

parser = argparse.ArgumentParser()
parser.add_argument("--dsn", required=True)
parser.add_argument("--no-brotli", action="store_true")
parser.add_argument("--trace-id", default="4bf92f3577b34da6a3ce929d0e0e4736")
args = parser.parse_args()
if args.no_brotli:
    sys.modules["brotli"] = None  # `import brotli` now fails: the SDK falls back to gzip

import django  # noqa: E402
from django.conf import settings  # noqa: E402
from django.http import Http404, HttpResponse  # noqa: E402
from django.urls import path  # noqa: E402

import sentry_sdk  # noqa: E402
from sentry_sdk.integrations.django import DjangoIntegration  # noqa: E402


class PaymentDeclined(Exception):
    pass


def charge(order_id):
    raise PaymentDeclined(f"card declined for order {order_id}")


def checkout(request, order_id):
    charge(order_id)
    return HttpResponse("ok")


def refund(request):
    amounts = {}
    return HttpResponse(str(amounts["total"]))


def missing(request):
    raise Http404("no such page")


def healthy(request):
    return HttpResponse("ok")


urlpatterns = [
    path("checkout/<int:order_id>", checkout),
    path("refund", refund),
    path("missing", missing),
    path("healthy", healthy),
]

settings.configure(
    DEBUG=False,
    SECRET_KEY="test-only-not-secret",
    ALLOWED_HOSTS=["127.0.0.1", "localhost"],
    ROOT_URLCONF=__name__,
    # CommonMiddleware reads the host (the DisallowedHost check).
    MIDDLEWARE=["django.middleware.common.CommonMiddleware"],
    INSTALLED_APPS=[],
    LOGGING_CONFIG=None,
)
django.setup()

sentry_sdk.init(
    dsn=args.dsn,
    integrations=[DjangoIntegration()],
    release="shop@2.0.1",
    environment="staging",
    traces_sample_rate=1.0,
    send_default_pii=True,
    transport_queue_size=1000,
)
compression = "gzip"
try:
    import brotli  # noqa: F401

    compression = "br"
except ImportError:
    pass

from django.core.wsgi import get_wsgi_application  # noqa: E402
from wsgiref.simple_server import WSGIRequestHandler, make_server  # noqa: E402


class Quiet(WSGIRequestHandler):
    def log_message(self, *a):
        pass


server = make_server("127.0.0.1", 0, get_wsgi_application(), handler_class=Quiet)
threading.Thread(target=server.serve_forever, daemon=True).start()
base = f"http://127.0.0.1:{server.server_port}"


def get(path, headers=None):
    req = urllib.request.Request(base + path, headers=headers or {})
    try:
        with urllib.request.urlopen(req) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


statuses = []
for order in (1, 2, 3):
    statuses.append(get(f"/checkout/{order}"))
statuses.append(get("/refund"))
statuses.append(get("/refund"))
statuses.append(get("/missing"))
statuses.append(get("/healthy"))
# A request continuing a trace (the Sentry header; sentry-python does not read W3C traceparent).
statuses.append(
    get(
        "/checkout/4",
        {
            "sentry-trace": f"{args.trace_id}-00f067aa0ba902b7-1",
            "traceparent": f"00-{args.trace_id}-00f067aa0ba902b7-01",
            "Authorization": "Bearer sekrit-token",
            "Cookie": "sessionid=sekrit-cookie",
        },
    )
)
# Django answers 400 and logs DisallowedHost (a log message event, not an exception).
statuses.append(get("/healthy", {"Host": "evil.example"}))
sentry_sdk.flush(timeout=10)
server.shutdown()
print(json.dumps({"statuses": statuses, "compression": compression, "base": base}))
