// One bug reported both ways: @sentry/node's captureException (frames as data, to the DSN) and
// OpenTelemetry JS's recordException (the V8 stack as text, over OTLP/HTTP JSON), twice each,
// thrown through the same calls as one app instrumented either way would throw it. Faultline
// must group all four into one issue. Each SDK runs in its own child process (both install a
// global OpenTelemetry tracer provider).
//
// usage: node sentry_and_otel.js --dsn DSN --otlp http://127.0.0.1:4318 --token TOKEN
// Prints one JSON line: {"sent": {"sentry": N, "otel": N}}.
'use strict';
const { execFileSync } = require('node:child_process');

const arg = (name) => {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? undefined : process.argv[i + 1];
};

function total(cart) {
  return cart.items.reduce((sum, item) => sum + item.price, 0);
}

function checkout(cart) {
  return total(cart);
}

function handle(id, report) {
  try {
    checkout({ id });
  } catch (err) {
    report(err);
  }
}

function work(report) {
  for (const id of [1, 2]) handle(id, report);
  return 2;
}

function sentry() {
  const Sentry = require('@sentry/node');
  Sentry.init({ dsn: arg('dsn'), tracesSampleRate: 0, defaultIntegrations: false });
  Sentry.setTag('service', 'web');
  return { report: (err) => Sentry.captureException(err), done: () => Sentry.flush(10000) };
}

function otel() {
  const { BasicTracerProvider, SimpleSpanProcessor } = require('@opentelemetry/sdk-trace-base');
  const { OTLPTraceExporter } = require('@opentelemetry/exporter-trace-otlp-http');
  const { resourceFromAttributes } = require('@opentelemetry/resources');
  const { SpanKind } = require('@opentelemetry/api');
  const exporter = new OTLPTraceExporter({
    url: `${arg('otlp')}/v1/traces`,
    headers: { authorization: `Bearer ${arg('token')}` },
  });
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'web' }),
    spanProcessors: [new SimpleSpanProcessor(exporter)],
  });
  const tracer = provider.getTracer('web');
  const report = (err) => {
    const span = tracer.startSpan('POST /checkout', { kind: SpanKind.SERVER });
    span.recordException(err);
    span.end();
  };
  return { report, done: async () => { await provider.forceFlush(); await provider.shutdown(); } };
}

async function main() {
  const role = arg('role');
  if (role) {
    const sdk = role === 'sentry' ? sentry() : otel();
    const n = work(sdk.report);
    await sdk.done();
    return console.log(JSON.stringify({ n }));
  }
  const run = (r) => JSON.parse(execFileSync(process.execPath, [__filename, ...process.argv.slice(2), '--role', r])
    .toString().trim().split('\n').pop()).n;
  console.log(JSON.stringify({ sent: { sentry: run('sentry'), otel: run('otel') } }));
}

main().catch((e) => { console.error(e); process.exit(1); });
