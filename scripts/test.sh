#!/usr/bin/env bash
# Everything CI runs: formatting, lints, unit and integration tests against a real ClickHouse
# (and a real ClickHouse cluster with ZooKeeper: scripts/cluster.sh),
# end-to-end tests with real OpenTelemetry and Sentry clients (Rust, Python, JavaScript), the
# triage screen in a real Chromium, and the SQL check on a modern ClickHouse engine (chdb-core).
# Installs what it needs: clickhouse-server, zookeeper and chromium (apt), a Python virtualenv with the
# OpenTelemetry SDK, sentry-sdk, Django, aiosmtpd, Playwright, axe and chdb-core (pip), node and
# the JavaScript SDKs (apt, npm).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
started=$(date +%s)
# Each step prints the seconds elapsed so far; every step that waits on something outside (apt,
# pip, servers, tests) runs under `timeout`, so a hang fails the run with a message instead of
# eating CI's whole budget.
step() { printf '\n==> [%ss] %s\n' "$(($(date +%s) - started))" "$*"; }

step "rustfmt"
rustup component add rustfmt clippy >/dev/null 2>&1 || true
cargo fmt --all -- --check

step "clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "ClickHouse (local, scripts/clickhouse.sh)"
export FAULTLINE_TEST_CLICKHOUSE_URL
FAULTLINE_TEST_CLICKHOUSE_URL=$(timeout 900 bash scripts/clickhouse.sh start)
echo "test server: $FAULTLINE_TEST_CLICKHOUSE_URL ($(curl -fsS --max-time 10 "$FAULTLINE_TEST_CLICKHOUSE_URL/?query=SELECT%20version()"))"
started_here=1
cleanup() {
  [ "${cluster_here:-0}" = 1 ] && bash scripts/cluster.sh stop || true
  [ "${started_here:-0}" = 1 ] && bash scripts/clickhouse.sh stop || true
}
trap cleanup EXIT
# Each test makes its own database (ftest_…, store/src/testing.rs); drop those earlier runs left.
for db in $(curl -fsS "$FAULTLINE_TEST_CLICKHOUSE_URL/" \
    --data-binary "SELECT name FROM system.databases WHERE substring(name, 1, 6) = 'ftest_'"); do
  curl -fsS "$FAULTLINE_TEST_CLICKHOUSE_URL/" --data-binary "DROP DATABASE IF EXISTS \`$db\`" >/dev/null
done

step "ClickHouse cluster (scripts/cluster.sh: ZooKeeper and 2 shards x 2 replicas)"
export FAULTLINE_TEST_CLUSTER_URLS
FAULTLINE_TEST_CLUSTER_URLS=$(timeout 900 bash scripts/cluster.sh start)
cluster_here=1
echo "cluster nodes: $FAULTLINE_TEST_CLUSTER_URLS"

step "Python test clients (virtualenv .venv)"
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv || { apt-get install -y -qq python3-venv >/dev/null && python3 -m venv .venv; }
fi
timeout 900 .venv/bin/pip install -q --disable-pip-version-check -r tests/python/requirements.txt chdb-core
export FAULTLINE_TEST_PYTHON="$root/.venv/bin/python"

step "JavaScript test clients (tests/node: @sentry/node, OpenTelemetry JS)"
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  timeout 900 apt-get install -y -qq nodejs npm >/dev/null
fi
(cd tests/node && timeout 900 npm ci --no-audit --no-fund --loglevel=error)

step "Browser (Debian's chromium, driven by Playwright for Python: no browser download)"
if [ ! -x /usr/bin/chromium ]; then
  DEBIAN_FRONTEND=noninteractive timeout 900 apt-get -o DPkg::Lock::Timeout=600 install -y -qq chromium >/dev/null
fi
/usr/bin/chromium --version 2>/dev/null | head -1 || true

step "tests (unit, integration, end-to-end)"
set +e +o pipefail
timeout 3600 cargo test --workspace --locked -- --nocapture 2>&1 | tee target/test-output.log
test_status=${PIPESTATUS[0]}
set -e -o pipefail
[ "$test_status" = 0 ] || { echo "cargo test failed"; exit "$test_status"; }

step "SQL on a modern ClickHouse (chdb-core)"
timeout 600 .venv/bin/python scripts/check_sql_modern.py target/sql-catalog.json target/grafana-queries.json

step "fuzz: every parser of untrusted input, 15 s per target (scripts/fuzz.sh)"
set +e +o pipefail
timeout 1500 bash scripts/fuzz.sh 15 2>&1 | tee target/fuzz.log
fuzz_status=${PIPESTATUS[0]}
set -e -o pipefail
[ "$fuzz_status" = 0 ] || { echo "fuzzing failed or found a crash (fuzz/artifacts)"; exit 1; }

step "summary"
grep -E 'corpus: ' target/test-output.log || true
grep -E '^(outage|kill -9):' target/test-output.log || true
grep -E '^fuzz:' target/fuzz.log || true
passed=$(grep -Eo 'test result: ok\. [0-9]+ passed' target/test-output.log | awk '{s+=$4} END {print s+0}')
# Only cargo's own result lines: a test's output may say "failed" too (loadgen's "3 failed requests").
failed=$(grep -Eo 'test result: [A-Za-z]+\. [0-9]+ passed; [0-9]+ failed' target/test-output.log | awk '{s+=$6} END {print s+0}')
echo "$passed passed, $failed failed"
