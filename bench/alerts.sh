#!/usr/bin/env bash
# Alerting under load (issue #17), on the machine it runs on:
#   1. ingest throughput with alerting on (a `new_issue` rule to a webhook receiver) and off: the
#      same `faultline loadgen` gRPC run (N events, 1000 per request) into a fresh database each,
#      counted until every event is in ClickHouse;
#   2. alert latency under load: with loadgen sending at half that rate, 20 new issues (one per
#      second, native webhook), each timed from its acknowledgement to the arrival of its
#      `new_issue` alert at the receiver (bench/alert_latency.py).
# Ends with: alerts: rate_off=X rate_on=X ratio=X latency_p50_ms=X latency_p90_ms=X latency_max_ms=X
#
# usage: bench/alerts.sh [events per throughput run, default 1000000]
set -euo pipefail
N=${1:-1000000}
# BENCH_KEEP=DIR keeps the servers' logs (with BENCH_LOG=faultline_alerts=debug: timings).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
url=$(bash scripts/clickhouse.sh start)
q() { curl -fsS "$url/" --data-binary "$1"; }
token=benchtoken0123456789

start_faultline() { # $1 database, $2 config file ("" for none); sets pid, http, grpc, api
  http=$(free_port); grpc=$(free_port); api=$(free_port)
  FAULTLINE_CONFIG=$2 FAULTLINE_CLICKHOUSE_URL=$url FAULTLINE_CLICKHOUSE_DATABASE=$1 \
    FAULTLINE_DATA_DIR="$work/data-$1" FAULTLINE_PROJECTS="bench:$token" \
    FAULTLINE_HTTP_ADDR=127.0.0.1:$http FAULTLINE_OTLP_GRPC_ADDR=127.0.0.1:$grpc \
    FAULTLINE_API_ADDR=127.0.0.1:$api RUST_LOG=${BENCH_LOG:-error} "$bin" serve >"$work/$1.log" 2>&1 &
  pid=$!
  pids+=("$pid")
  for _ in $(seq 1 300); do
    curl -fsS "http://127.0.0.1:$api/ready" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "faultline did not start: $(tail -5 "$work/$1.log")" >&2
  return 1
}

write_config() { # $1 receiver port
  cat > "$work/alerts.toml" <<TOML
[[alerts.channels]]
name = "hook"
type = "webhook"
url = "http://127.0.0.1:$1/hook"
secret = "bench-secret"

[[alerts.rules]]
name = "new issues"
when = "new_issue"
channels = ["hook"]
TOML
}

throughput() { # $1 database, $2 config; prints events/s until stored
  start_faultline "$1" "$2"
  sync
  local t0 t1 acked stored
  t0=$(date +%s.%N)
  "$bin" loadgen --quiet --protocol grpc --endpoint "http://127.0.0.1:$grpc" --token "$token" \
    --count "$N" --batch 1000 --concurrency 8 > "$work/$1.out"
  acked=$(tail -1 "$work/$1.out" | grep -Eo 'acked=[0-9]+' | cut -d= -f2)
  for _ in $(seq 1 600); do
    stored=$(q "SELECT count() FROM $1.occurrences")
    [ "$stored" -ge "$acked" ] && break
    sleep 0.1
  done
  t1=$(date +%s.%N)
  if [ -n "$2" ]; then
    # Alerting on: let the alerts of the run's new issues go out before stopping.
    for _ in $(seq 1 100); do
      [ "$(q "SELECT count() FROM (SELECT argMax(status, step) AS s FROM $1.alert_deliveries GROUP BY alert_id, channel) WHERE s = 'delivered'")" -gt 0 ] && break
      sleep 0.1
    done
  fi
  kill "$pid"; wait "$pid" 2>/dev/null || true
  python3 -c "print(round($stored / ($t1 - $t0)))"
}

# The receiver answers every alert 200 (the latency driver is one, listening on this port).
port=$(free_port)
python3 bench/alert_latency.py "$port" "unused" 0 >/dev/null 2>&1 &
sink=$!
pids+=("$sink")
write_config "$port"
db_lat="bench_alerts_lat_$$"
# Off and on twice, alternating (one run of each is within run-to-run noise of the other).
runs_off=(); runs_on=(); dbs=()
for round in 1 2; do
  runs_off+=("$(throughput "bench_alerts_off${round}_$$" "")")
  runs_on+=("$(throughput "bench_alerts_on${round}_$$" "$work/alerts.toml")")
  dbs+=("bench_alerts_off${round}_$$" "bench_alerts_on${round}_$$")
done
rate_off=$(( (runs_off[0] + runs_off[1]) / 2 ))
rate_on=$(( (runs_on[0] + runs_on[1]) / 2 ))
alerts_sent=$(q "SELECT count() FROM (SELECT argMax(status, step) AS s FROM bench_alerts_on2_$$.alert_deliveries GROUP BY alert_id, channel) WHERE s = 'delivered'")
kill "$sink" 2>/dev/null || true

# Latency under load.
start_faultline "$db_lat" "$work/alerts.toml"
"$bin" loadgen --quiet --protocol grpc --endpoint "http://127.0.0.1:$grpc" --token "$token" \
  --duration 45 --rate $((rate_on / 2)) --batch 1000 --concurrency 8 > "$work/lat_load.out" &
pids+=($!)
python3 bench/alert_latency.py "$port" "http://127.0.0.1:$http/webhook/error/$token" 20 > "$work/latency.out"
lat=$(tail -1 "$work/latency.out")
field() { grep -Eo " $1=[0-9.]+" <<<"$lat" | cut -d= -f2; }

for db in "${dbs[@]}" "$db_lat"; do q "DROP DATABASE IF EXISTS $db" >/dev/null; done
echo
echo "Alerting, $(nproc) cores, $(date -u +%Y-%m-%d), ClickHouse $(q 'SELECT version()'), $N events per throughput run"
echo "ingest (gRPC, until stored): alerting off ${runs_off[*]} events/s (mean $rate_off), on ${runs_on[*]} (mean $rate_on; $alerts_sent new-issue alerts delivered in the last run)"
echo "$lat (acknowledgement → webhook received, under loadgen at $((rate_on / 2)) events/s)"
echo "alerts: rate_off=$rate_off rate_on=$rate_on ratio=$(python3 -c "print(round($rate_on / $rate_off, 3))") latency_p50_ms=$(field p50_ms) latency_p90_ms=$(field p90_ms) latency_max_ms=$(field max_ms)"
