#!/usr/bin/env bash
# Coverage-guided fuzzing of every parser of untrusted input (cargo-fuzz, libFuzzer):
#   scripts/fuzz.sh [seconds per target, default 60]
# Targets live in fuzz/ and call faultline_collector::fuzz_entry (the functions the stable
# property tests in collector/tests/robustness.rs also drive). Seeds: fuzz/corpus/<target>; new
# inputs go to a scratch directory, crashes to fuzz/artifacts/<target>. Needs a nightly toolchain;
# without one it says so and exits 0 (the property tests still cover the same entry points).
set -euo pipefail
secs=${1:-60}
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root/fuzz"
if ! rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
  echo "fuzz: skipped, no nightly toolchain on this machine (property tests cover the same entry points)"
  exit 0
fi
if ! command -v cargo-fuzz >/dev/null 2>&1; then
  cargo install cargo-fuzz --locked -q
fi
cargo +nightly fuzz build -O 2>&1 | tail -1
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
status=0
for t in $(cargo +nightly fuzz list); do
  mkdir -p "$scratch/$t" "corpus/$t"
  if out=$(cargo +nightly fuzz run -O "$t" "$scratch/$t" "corpus/$t" -- \
      -max_total_time="$secs" -print_final_stats=1 -rss_limit_mb=2048 2>&1); then
    result=ok
  else
    result=CRASH
    status=1
    echo "$out" | tail -40
  fi
  execs=$(echo "$out" | grep -Eo 'stat::number_of_executed_units: *[0-9]+' | grep -Eo '[0-9]+$' || echo 0)
  cov=$(echo "$out" | grep -Eo 'cov: [0-9]+' | tail -1 | grep -Eo '[0-9]+' || echo 0)
  echo "fuzz: target=$t seconds=$secs executions=$execs coverage=$cov result=$result"
done
exit $status
