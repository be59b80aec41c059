#!/usr/bin/env bash
# Faultline beside Bugsink (PyPI `bugsink`, a Sentry-protocol peer) on this machine, same events
# to both (issue #16): every public-corpus error as a Sentry event (`faultline loadgen
# --print-sentry-events`), sent in rounds as single gzipped envelopes from 8 senders by
# bench/sentry_peer.py; for each server, events stored per second (until stored, not acknowledged)
# and the B-cubed F1 of its grouping of the first round against the corpus's true groups.
#
# Bugsink runs as its docs' single-server set-up: gunicorn (4 workers) and snappea (its task
# runner, digesting events in the background) on SQLite, quotas raised so nothing is dropped.
# Faultline: `faultline serve` with its disk spool and a local ClickHouse (scripts/clickhouse.sh).
#
# Ends with: bugsink: faultline_rate=X bugsink_rate=X faultline_f1=X bugsink_f1=X
#
# usage: bench/bugsink.sh [rounds to Bugsink, default 10] [rounds to Faultline, default 100]
# (Faultline gets more: at 10 rounds its run is a burst shorter than its 1 s insert batching.)
set -euo pipefail
ROUNDS=${1:-10}
FROUNDS=${2:-100}
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
"$bin" loadgen --print-sentry-events > "$work/events.jsonl"

# --- Bugsink ---------------------------------------------------------------------------------
venv=${BUGSINK_VENV:-$root/target/bugsink-venv}
if [ ! -x "$venv/bin/bugsink-manage" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q bugsink
fi
bport=$(free_port)
base="$work/bugsink"
mkdir -p "$base"
(cd "$work" && "$venv/bin/bugsink-create-conf" --template=singleserver --port="$bport" \
  --base-dir="$base" -o bugsink_conf.py >/dev/null)
cat >> "$work/bugsink_conf.py" <<EOF
BUGSINK["BASE_URL"] = "http://127.0.0.1:$bport"
ALLOWED_HOSTS = ["*"]
FORCE_SCRIPT_NAME = None
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
for _k in ("MAX_EVENTS_PER_PROJECT_PER_5_MINUTES", "MAX_EVENTS_PER_PROJECT_PER_HOUR",
           "MAX_EVENTS_PER_5_MINUTES", "MAX_EVENTS_PER_HOUR"):
    BUGSINK[_k] = 10_000_000
EOF
export DJANGO_SETTINGS_MODULE=bugsink_conf PYTHONPATH="$work"
(cd "$work" && "$venv/bin/bugsink-manage" migrate -v0 && "$venv/bin/bugsink-manage" migrate --database=snappea -v0)
created=$(cd "$work" && "$venv/bin/bugsink-manage" shell -c '
from teams.models import Team
from projects.models import Project
t = Team.objects.create(name="bench")
p = Project.objects.create(name="bench", team=t)
print("project", p.id, p.sentry_key.hex)')
read -r _ bproject bkey < <(grep '^project ' <<<"$created")
(cd "$work" && exec "$venv/bin/gunicorn" --bind="127.0.0.1:$bport" --workers=4 bugsink.wsgi \
  >"$work/gunicorn.log" 2>&1) &
pids+=($!)
(cd "$work" && exec "$venv/bin/bugsink-runsnappea" >"$work/snappea.log" 2>&1) &
pids+=($!)
wait_http "http://127.0.0.1:$bport/health/ready" || wait_http "http://127.0.0.1:$bport/"
bdb="$base/db.sqlite3"
bugsink_out=$("$venv/bin/python" bench/sentry_peer.py --name bugsink --rounds "$ROUNDS" \
  --dsn "http://$bkey@127.0.0.1:$bport/$bproject" --events "$work/events.jsonl" --concurrency 8 \
  --stored-cmd "python3 bench/sqlite_query.py '$bdb' 'SELECT count(*) FROM events_event'" \
  --groups-cmd "python3 bench/sqlite_query.py '$bdb' 'SELECT event_id, issue_id FROM events_event'")
echo "$bugsink_out"
for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
pids=()
unset DJANGO_SETTINGS_MODULE PYTHONPATH

# --- Faultline -------------------------------------------------------------------------------
url=$(bash scripts/clickhouse.sh start)
db="bench_peer_$$"
fport=$(free_port); api=$(free_port)
token=benchkey0123456789
FAULTLINE_CLICKHOUSE_URL=$url FAULTLINE_CLICKHOUSE_DATABASE=$db FAULTLINE_DATA_DIR="$work/faultline" \
  FAULTLINE_HTTP_ADDR=127.0.0.1:$fport FAULTLINE_OTLP_GRPC_ADDR=127.0.0.1:$(free_port) \
  FAULTLINE_API_ADDR=127.0.0.1:$api FAULTLINE_PROJECTS="bench:$token:7" RUST_LOG=error \
  "$bin" serve >"$work/faultline.log" 2>&1 &
pids+=($!)
wait_http "http://127.0.0.1:$api/ready"
q() { curl -fsS "$url/" --data-binary "$1"; }
faultline_out=$("$venv/bin/python" bench/sentry_peer.py --name faultline --rounds "$FROUNDS" \
  --dsn "http://$token@127.0.0.1:$fport/7" --events "$work/events.jsonl" --concurrency 8 \
  --stored-cmd "curl -fsS '$url/' --data-binary 'SELECT count() FROM $db.occurrences' || echo 0" \
  --groups-cmd "curl -fsS '$url/' --data-binary 'SELECT event_id, fingerprint FROM $db.occurrences FORMAT TabSeparated'")
echo "$faultline_out"
q "DROP DATABASE IF EXISTS $db" >/dev/null

field() { grep -Eo " $1=[0-9.]+" <<<"$2" | cut -d= -f2; }
echo "bugsink: faultline_rate=$(field rate "$faultline_out") bugsink_rate=$(field rate "$bugsink_out") faultline_f1=$(field f1 "$faultline_out") bugsink_f1=$(field f1 "$bugsink_out")"
