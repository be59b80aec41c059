#!/usr/bin/env bash
# Cluster beside single server, on this machine, in one run (issue #20): the same OTLP/gRPC load
# (`faultline loadgen`, batches of 1000) into `faultline serve` on the single test server
# (scripts/clickhouse.sh) and on the local cluster (scripts/cluster.sh: ZooKeeper and 2 shards x 2
# replicas, every node on this same machine), events/s until all are stored; then the API's main
# reads timed on both (p50 / p95 of 15 calls). Every ClickHouse process shares the same 2 cores,
# so the cluster figure is what replication and the Distributed hop cost here, not what more
# machines would add.
#
# usage: bench/cluster.sh [events, default 300000]
# Ends with: cluster_bench: events=N single_eps=X cluster_eps=X single_errors_ms=X cluster_errors_ms=X ...
set -euo pipefail
N=${1:-300000}
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
single=$(bash scripts/clickhouse.sh start)
nodes=$(bash scripts/cluster.sh start)
n1=${nodes%%,*}
q() { curl -fsS "$1" --data-binary "$2"; }

p50_p95() { # GET $1, 15 times
  local out=()
  for _ in $(seq 1 15); do out+=("$(curl -fsS -o /dev/null -w '%{time_total}' "$1")"); done
  python3 -c "import sys; v=sorted(float(x)*1000 for x in sys.argv[1:]); print(f'{v[len(v)//2]:.1f} {v[min(len(v)-1,int(len(v)*0.95))]:.1f}')" "${out[@]}"
}

declare -A eps reads
line="cluster_bench: events=$N"
for target in single cluster; do
  db="bench_cluster_${target}_$$"
  http=$(free_port); grpc=$(free_port); api=$(free_port)
  extra=()
  url=$single
  if [ "$target" = cluster ]; then
    url=$n1
    extra=(FAULTLINE_CLICKHOUSE_CLUSTER=fl FAULTLINE_CLICKHOUSE_DDL_CLUSTER=fl_nodes)
  fi
  env "${extra[@]}" FAULTLINE_CLICKHOUSE_URL="$url" FAULTLINE_CLICKHOUSE_DATABASE="$db" \
    FAULTLINE_DATA_DIR="$work/data-$target" FAULTLINE_HTTP_ADDR=127.0.0.1:$http \
    FAULTLINE_OTLP_GRPC_ADDR=127.0.0.1:$grpc FAULTLINE_API_ADDR=127.0.0.1:$api RUST_LOG=error \
    "$bin" serve >"$work/$target.log" 2>&1 &
  pid=$!
  for _ in $(seq 1 600); do
    curl -fsS "http://127.0.0.1:$api/ready" >/dev/null 2>&1 && break
    sleep 0.1
  done
  sync
  t0=$(date +%s.%N)
  "$bin" loadgen --quiet --protocol grpc --endpoint "http://127.0.0.1:$grpc" --count "$N" \
    --batch 1000 --concurrency 8 >"$work/$target.out"
  acked=$(tail -1 "$work/$target.out" | grep -Eo 'acked=[0-9]+' | cut -d= -f2)
  for _ in $(seq 1 1200); do
    stored=$(q "$url" "SELECT count() FROM $db.occurrences")
    [ "$stored" -ge "$acked" ] && break
    sleep 0.1
  done
  t1=$(date +%s.%N)
  eps[$target]=$(python3 -c "print(round($stored / ($t1 - $t0)))")
  base="http://127.0.0.1:$api/api/v1"
  fp=$(curl -fsS "$base/errors?limit=1&sort=count" | python3 -c "import json,sys; print(json.load(sys.stdin)['data'][0]['fingerprint'])")
  printf '\n%-8s %8s events/s (%s stored)\n' "$target" "${eps[$target]}" "$stored"
  printf '%-44s %10s %10s\n' "endpoint" "p50 ms" "p95 ms"
  line="$line ${target}_eps=${eps[$target]}"
  while IFS='|' read -r name path; do
    read -r p50 p95 < <(p50_p95 "$base$path")
    printf '%-44s %10s %10s\n' "$name" "$p50" "$p95"
    line="$line ${target}_${name%% *}_ms=$p50"
  done <<EOF
errors GET /errors?since=1d&sort=count|/errors?since=1d&sort=count
detail GET /errors/{fp}|/errors/$fp
metrics GET /metrics?period=7d|/metrics?period=7d
projects GET /projects|/projects
EOF
  kill "$pid"; wait "$pid" 2>/dev/null || true; pid=""
  if [ "$target" = cluster ]; then
    q "$n1" "DROP DATABASE IF EXISTS $db ON CLUSTER fl_nodes" >/dev/null || true
  else
    q "$single" "DROP DATABASE IF EXISTS $db" >/dev/null || true
  fi
done
echo
echo "$line"
