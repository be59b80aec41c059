# The bench scripts' shared set-up, sourced after `set -euo pipefail` and the arguments: the
# repository root as the working directory, a scratch directory `$work` removed on exit with every
# server the script started (`pid`, or the array `pids`), a release build as `$bin`, and helpers.
# BENCH_KEEP=DIR keeps the servers' logs (`$work/*.log`) there.

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
work=$(mktemp -d)
pid=""
pids=()
cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; fi
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  if [ -n "${BENCH_KEEP:-}" ]; then
    mkdir -p "$BENCH_KEEP" && cp "$work"/*.log "$BENCH_KEEP"/ 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_http() { for _ in $(seq 1 300); do curl -fsS -o /dev/null "$1" 2>/dev/null && return 0; sleep 0.2; done; echo "not up: $1" >&2; return 1; }
# A process's CPU (user + system, in clock ticks of `getconf CLK_TCK`), resident and peak memory (kB).
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
hwm_kb() { awk '/^VmHWM/ {print $2}' "/proc/$1/status"; }

cargo build --release -q
bin="$root/target/release/faultline"
