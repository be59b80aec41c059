#!/usr/bin/env bash
# Query API benchmark: loads N occurrences spread over 30 days straight into ClickHouse (server-side
# INSERT ... SELECT, materialized views fill the rollups as they would on ingest), starts
# `faultline query` on that database, and times each endpoint (p50, p95 over repeated calls) next to
# the raw-scan query a naive implementation would run on `occurrences`. Runs at 10 million, then at
# 1 million, to show the cost stays flat. Then the triage screen's pages: server time and page
# weight. Prints tables and machine-readable lines per size.
#
#   bench/query.sh [SIZES]        default SIZES="10000000 1000000"
#
# Uses the ClickHouse of scripts/clickhouse.sh (or FAULTLINE_CLICKHOUSE_URL).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
sizes=${1:-"10000000 1000000"}
runs=${RUNS:-15}
ch=${FAULTLINE_CLICKHOUSE_URL:-$(bash scripts/clickhouse.sh start)}
db=bench_query
api_port=${BENCH_API_PORT:-18099}
api="http://127.0.0.1:$api_port"

q() { curl -fsS "$ch/" --data-binary "$1"; }

cargo build --release --locked --bin faultline >/dev/null 2>&1
stack=$(python3 -c "print(''.join(f'    at com.example.shop.Service{i}.handle{i}(Service{i}.java:{i*7})\\\\n' for i in range(24)))")

load() {
  local n=$1
  q "DROP DATABASE IF EXISTS $db"
  FAULTLINE_CLICKHOUSE_URL=$ch FAULTLINE_CLICKHOUSE_DATABASE=$db ./target/release/faultline migrate >/dev/null
  local t0=$(date +%s.%N)
  # 500 issues over 3 projects and 7 services; each issue lives in one environment (a quarter in
  # staging) and has one severity and HTTP status; releases change weekly, as deployments do;
  # ~1.2 KB stack trace per occurrence.
  q "INSERT INTO $db.occurrences
     SELECT toString(number) AS event_id,
            concat('p', toString(cityHash64(number) % 500 % 3)) AS project,
            concat('fp', toString(cityHash64(number) % 500)) AS fingerprint,
            1, toDateTime(now() - (number * 2593) % (30 * 86400)) AS ts, ts, 'otlp_trace',
            concat('svc', toString(cityHash64(number) % 500 % 7)),
            if(cityHash64(number) % 500 % 4 = 0, 'staging', 'prod'),
            concat('1.', toString(intDiv((number * 2593) % (30 * 86400), 7 * 86400))),
            concat('Error', toString(cityHash64(number) % 500)),
            concat('something failed for user ', toString(number % 1000)),
            '', cityHash64(number) % 500 + 1,
            'Service0 in handle0',
            ['low', 'medium', 'high', 'critical'][cityHash64(number) % 500 % 4 + 1],
            [500, 404, 403, 502][cityHash64(number) % 500 % 4 + 1],
            'GET', concat('/route/', toString(cityHash64(number) % 500 % 20)), 'https://shop.example/x', '', '', [], []
     FROM numbers($n)"
  # Each issue's trace stored once a day, as ingest stores it (occurrences refer to it by hash).
  q "INSERT INTO $db.stacktraces
     SELECT concat('p', toString(intDiv(number, 31) % 3)), toDate(now() - (number % 31) * 86400),
            intDiv(number, 31) + 1, '$stack'
     FROM numbers(500 * 31)"
  # Request totals: every service, every minute of 30 days.
  q "INSERT INTO $db.requests_minute
     SELECT concat('p', toString(number % 3)), concat('svc', toString(number % 7)), 'prod',
            toStartOfMinute(now() - intDiv(number, 21) * 60), 100, 3
     FROM numbers(21 * 43200)"
  local t1=$(date +%s.%N)
  # Timed as a running server would be, after background merges, not with the part count that
  # the load's block boundaries happened to leave (that swung equal runs by 2×).
  for t in issue_totals issues_minute issues_hour issues_day requests_minute requests_hour not_found_hour stacktraces; do
    q "OPTIMIZE TABLE $db.$t FINAL" || true
  done
  echo "loaded $n occurrences in $(python3 -c "print(f'{$t1-$t0:.1f}')") s"
}

time_url() { # prints p50 p95 in ms of GET $1
  local url=$1 out=()
  for _ in $(seq 1 "$runs"); do
    out+=("$(curl -fsS -o /dev/null -w '%{time_total}' "$url")")
  done
  python3 -c "import sys,statistics as s; v=sorted(float(x)*1000 for x in sys.argv[1:]); print(f'{v[len(v)//2]:.1f} {v[min(len(v)-1,int(len(v)*0.95))]:.1f}')" "${out[@]}"
}

time_sql() { # p50 p95 in ms of a raw query
  local sql=$1 out=()
  for _ in $(seq 1 "$runs"); do
    out+=("$(curl -fsS -o /dev/null -w '%{time_total}' "$ch/" --data-binary "$sql")")
  done
  python3 -c "import sys,statistics as s; v=sorted(float(x)*1000 for x in sys.argv[1:]); print(f'{v[len(v)//2]:.1f} {v[min(len(v)-1,int(len(v)*0.95))]:.1f}')" "${out[@]}"
}

for n in $sizes; do
  load "$n"
  FAULTLINE_CLICKHOUSE_URL=$ch FAULTLINE_CLICKHOUSE_DATABASE=$db FAULTLINE_API_ADDR=127.0.0.1:$api_port \
    ./target/release/faultline query >/tmp/faultline-bench-query.log 2>&1 &
  pid=$!
  trap 'kill $pid 2>/dev/null || true' EXIT
  for _ in $(seq 1 100); do curl -fsS "$api/health/ready" >/dev/null 2>&1 && break; sleep 0.2; done
  fp=$(curl -fsS "$api/api/v1/errors?project=p0&limit=1&sort=count" | python3 -c "import json,sys; print(json.load(sys.stdin)['data'][0]['fingerprint'])")
  from30=$(python3 -c "import datetime as d; print((d.datetime.now(d.timezone.utc)-d.timedelta(days=30)).strftime('%Y-%m-%dT%H:%M:%SZ'))")
  printf '\n%-44s %10s %10s   %-s\n' "endpoint ($n occurrences)" "p50 ms" "p95 ms" "raw scan of occurrences: p50 / p95 ms"
  line="query_bench: occurrences=$n"
  while IFS='|' read -r name path raw; do
    read -r p50 p95 < <(time_url "$api$path")
    read -r r50 r95 < <(time_sql "$raw")
    printf '%-44s %10s %10s   %s / %s\n' "$name" "$p50" "$p95" "$r50" "$r95"
    line="$line ${name%% *}_p50_ms=$p50"
  done <<EOF2
errors_30d GET /errors?project=p0&since=30d|/api/v1/errors?project=p0&since=30d|SELECT fingerprint, count(), min(timestamp), max(timestamp), argMax(message, timestamp), groupUniqArray(service) FROM $db.occurrences WHERE project = 'p0' AND timestamp >= now() - 2592000 GROUP BY fingerprint ORDER BY max(timestamp) DESC LIMIT 50
errors_24h GET /errors?since=1d&sort=count|/api/v1/errors?since=1d&sort=count|SELECT project, fingerprint, count() AS c FROM $db.occurrences WHERE timestamp >= now() - 86400 GROUP BY project, fingerprint ORDER BY c DESC LIMIT 50
detail GET /errors/{fp}|/api/v1/errors/$fp?project=p0|SELECT toStartOfHour(timestamp) AS h, count() FROM $db.occurrences WHERE project = 'p0' AND fingerprint = '$fp' GROUP BY h
metrics_30d GET /metrics?period=30d|/api/v1/metrics?period=30d&project=p0|SELECT severity, service, http_status, count() FROM $db.occurrences WHERE project = 'p0' AND timestamp >= now() - 2592000 GROUP BY severity, service, http_status
error_rate_1h GET /error-rate?step=1h (30 d)|/api/v1/error-rate?project=p0&step=1h&from=$from30|SELECT toStartOfHour(timestamp) AS h, count() FROM $db.occurrences WHERE project = 'p0' AND timestamp >= now() - 2592000 GROUP BY h ORDER BY h
top_errors_7d GET /top-errors?period=7d|/api/v1/top-errors?period=7d&project=p0|SELECT fingerprint, countIf(timestamp >= now() - 604800) AS c, countIf(timestamp < now() - 604800) AS p FROM $db.occurrences WHERE project = 'p0' AND timestamp >= now() - 1209600 GROUP BY fingerprint ORDER BY c DESC LIMIT 10
frequent_404s GET /frequent-404s?period=30d|/api/v1/frequent-404s?period=30d&project=p0|SELECT http_route, count(), max(timestamp) FROM $db.occurrences WHERE project = 'p0' AND http_status = 404 AND timestamp >= now() - 2592000 GROUP BY http_route ORDER BY count() DESC LIMIT 20
projects GET /projects|/api/v1/projects|SELECT project, count(), max(timestamp) FROM $db.occurrences WHERE timestamp >= now() - 86400 GROUP BY project
EOF2
  echo "$line"
  # The triage screen's pages (no API keys here, so no sign-in): server time, and page weight
  # (the HTML plus the style sheet and script every page loads; both are cached after the first).
  assets=$(( $(curl -fsS "$api/ui/static/app.css" | wc -c) + $(curl -fsS "$api/ui/static/app.js" | wc -c) ))
  printf '\n%-44s %10s %10s   %s\n' "page ($n occurrences)" "p50 ms" "p95 ms" "HTML + CSS + JS bytes"
  line="ui_bench: occurrences=$n assets_bytes=$assets"
  while IFS='|' read -r name path; do
    read -r p50 p95 < <(time_url "$api$path")
    bytes=$(curl -fsS "$api$path" | wc -c)
    printf '%-44s %10s %10s   %s + %s = %s\n' "$name" "$p50" "$p95" "$bytes" "$assets" "$((bytes + assets))"
    line="$line ${name%% *}_p50_ms=$p50 ${name%% *}_bytes=$((bytes + assets))"
  done <<EOF3
overview GET /ui/|/ui/
list GET /ui/p/p0?since=30d|/ui/p/p0?since=30d
list_all GET /ui/issues?sort=count|/ui/issues?sort=count
detail GET /ui/p/p0/issues/{fp}|/ui/p/p0/issues/$fp
EOF3
  echo "$line"
  kill $pid 2>/dev/null || true
  wait $pid 2>/dev/null || true
  trap - EXIT
done
