#!/usr/bin/env bash
# Build and start `faultline serve`.
#
# With no FAULTLINE_CLICKHOUSE_URL, Faultline starts and owns a local clickhouse-server (data under
# FAULTLINE_DATA_DIR, default ./data) and stops it on exit; this script installs Debian's package
# first if it is missing. Every FAULTLINE_* variable is passed through (see README.md).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

if [ -z "${FAULTLINE_CLICKHOUSE_URL:-}" ]; then
  bash scripts/clickhouse.sh install
fi
cargo build --release --locked --bin faultline
exec ./target/release/faultline serve "$@"
