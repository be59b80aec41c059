#!/usr/bin/env bash
# Local ClickHouse for development and tests: a plain background process with its own config,
# data directory and ports. No systemd, no Docker.
#
#   scripts/clickhouse.sh start   install (apt-get) if missing, start, wait, print the URL
#   scripts/clickhouse.sh stop    stop the server started here
#   scripts/clickhouse.sh url     print the URL
#   scripts/clickhouse.sh install only install the Debian package (without starting its service)
#   scripts/clickhouse.sh binary  print the path of the installed clickhouse-server
#
# Environment: CLICKHOUSE_DIR (default ./data/clickhouse-dev), CLICKHOUSE_HTTP_PORT (18123),
# CLICKHOUSE_TCP_PORT (19000).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
dir=${CLICKHOUSE_DIR:-$root/data/clickhouse-dev}
http_port=${CLICKHOUSE_HTTP_PORT:-18123}
tcp_port=${CLICKHOUSE_TCP_PORT:-19000}
url="http://127.0.0.1:${http_port}"

log() { printf 'clickhouse.sh: %s\n' "$*" >&2; }

find_server() {
  for c in clickhouse-server /usr/sbin/clickhouse-server /usr/bin/clickhouse-server; do
    if command -v "$c" >/dev/null 2>&1; then command -v "$c"; return 0; fi
  done
  return 1
}

install() {
  if find_server >/dev/null; then return 0; fi
  log "installing Debian's clickhouse-server (its own service is not started)"
  local sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  # policy-rc.d answering 101 stops the package's init script from starting a server on 8123/9000.
  local policy=/usr/sbin/policy-rc.d had_policy=0
  [ -e "$policy" ] && had_policy=1
  if [ $had_policy = 0 ]; then
    printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null
    $sudo chmod +x "$policy"
  fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get -o DPkg::Lock::Timeout=300 install -y -qq clickhouse-server clickhouse-client >/dev/null
  [ $had_policy = 1 ] || $sudo rm -f "$policy"
  find_server >/dev/null || { log "clickhouse-server not found after install"; exit 1; }
}

ping() { curl -fsS --max-time 2 "$url/ping" 2>/dev/null | grep -q Ok; }

start() {
  install
  if ping; then echo "$url"; return 0; fi
  mkdir -p "$dir/log" "$dir/tmp" "$dir/user_files" "$dir/format_schemas"
  sed -e "s#@DATA_DIR@#$dir#g" -e "s#@HTTP_PORT@#$http_port#g" -e "s#@TCP_PORT@#$tcp_port#g" \
    "$root/deploy/clickhouse/config.xml" > "$dir/config.xml"
  local server
  server=$(find_server)
  # The server gets none of this script's file descriptors: a caller reading our stdout through
  # `$(...)` must see EOF as soon as the URL is printed, not when the server exits. 18.16 ignores
  # --pid-file outside daemon mode, so the pid file is written here ($! is the server: exec).
  (cd "$dir" && exec "$server" --config-file="$dir/config.xml") \
      </dev/null >>"$dir/log/stdout.log" 2>&1 &
  echo $! >"$dir/clickhouse.pid"
  disown || true
  for _ in $(seq 1 120); do
    if ping; then echo "$url"; return 0; fi
    sleep 0.5
  done
  log "server did not answer on $url within 60 s; last log lines:"
  tail -n 20 "$dir/log/clickhouse-server.err.log" "$dir/log/stdout.log" >&2 || true
  exit 1
}

stop() {
  local pidf="$dir/clickhouse.pid"
  [ -f "$pidf" ] || { log "not running (no $pidf)"; return 0; }
  local pid
  pid=$(cat "$pidf")
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 60); do
    kill -0 "$pid" 2>/dev/null || { rm -f "$pidf"; return 0; }
    sleep 0.5
  done
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$pidf"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  url) echo "$url" ;;
  install) install ;;
  binary) find_server ;;
  *) echo "usage: $0 start|stop|url|install|binary" >&2; exit 2 ;;
esac
