#!/usr/bin/env bash
# A local ClickHouse cluster for tests and development: a ZooKeeper (Debian's `zookeeper`) and four
# ClickHouse nodes (2 shards x 2 replicas) as plain background processes on 127.0.0.1, ports
# chosen free at start. No systemd, no Docker.
#
#   scripts/cluster.sh start            install (apt-get) what is missing, start, wait, print the
#                                       nodes' HTTP URLs (n1,n2 = shard 1; n3,n4 = shard 2), comma-separated
#   scripts/cluster.sh stop             stop everything started here
#   scripts/cluster.sh urls             print the URLs of a running cluster
#   scripts/cluster.sh stop-node NAME   stop one node (n1..n4) or `zk`, keeping its data
#   scripts/cluster.sh start-node NAME  start it again on the same ports
#
# The cluster is named `fl` (internal_replication: writes through a Distributed table reach one
# replica per shard, which replicates); `fl_nodes` lists every node as its own shard, for the DDL
# ClickHouse 18.16 refuses ON CLUSTER over a replicated cluster (Distributed tables, views).
# Environment: CLUSTER_DIR (default ./data/cluster).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
dir=${CLUSTER_DIR:-$root/data/cluster}
nodes=(n1 n2 n3 n4)

log() { printf 'cluster.sh: %s\n' "$*" >&2; }

install() {
  bash "$root/scripts/clickhouse.sh" install
  if [ ! -f /usr/share/java/zookeeper.jar ]; then
    log "installing Debian's zookeeper (no service is started)"
    local sudo=""
    [ "$(id -u)" = 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get -o DPkg::Lock::Timeout=300 install -y -qq \
      --no-install-recommends zookeeper >/dev/null
  fi
  command -v java >/dev/null || { log "java not found (zookeeper needs a JRE)"; exit 1; }
}

free_ports() { # N free TCP ports on 127.0.0.1
  python3 - "$1" <<'PY'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket(); s.bind(("127.0.0.1", 0)); socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
PY
}

server() { bash "$root/scripts/clickhouse.sh" binary; }

zk_ok() {
  local port
  port=$(cat "$dir/zk/port")
  [ "$( (exec 3<>/dev/tcp/127.0.0.1/"$port"; printf ruok >&3; timeout 1 cat <&3) 2>/dev/null)" = imok ]
}

start_zk() {
  local cp=/usr/share/java/zookeeper.jar:/usr/share/java/slf4j-log4j12.jar:/usr/share/java/log4j-1.2.jar
  # Small heap (a test cluster holds a few thousand znodes), one GC thread on 2 cores.
  java -Xms32m -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 \
    -Dzookeeper.log.dir="$dir/zk" -Dzookeeper.log.file="$dir/zk/zookeeper.log" \
    -Dlog4j.configuration="file:$dir/zk/log4j.properties" \
    -cp "$cp" org.apache.zookeeper.server.ZooKeeperServerMain "$dir/zk/zoo.cfg" \
    </dev/null >>"$dir/zk/stdout.log" 2>&1 &
  echo $! >"$dir/zk/pid"
  disown || true
  for _ in $(seq 1 150); do
    if zk_ok; then return 0; fi
    sleep 0.1
  done
  log "zookeeper did not answer ruok"; tail -20 "$dir/zk/stdout.log" "$dir/zk/zookeeper.log" >&2 || true
  exit 1
}

start_node() {
  local n=$1 http
  http=$(cat "$dir/$n/http_port")
  (cd "$dir/$n" && exec "$(server)" --config-file="$dir/$n/config.xml") \
    </dev/null >>"$dir/$n/log/stdout.log" 2>&1 &
  echo $! >"$dir/$n/pid"
  disown || true
  for _ in $(seq 1 240); do
    if curl -fsS --max-time 1 "http://127.0.0.1:$http/ping" 2>/dev/null | grep -q Ok; then return 0; fi
    sleep 0.25
  done
  log "$n did not answer"; tail -20 "$dir/$n/log/clickhouse-server.err.log" >&2 || true
  exit 1
}

urls() {
  local out=()
  for n in "${nodes[@]}"; do out+=("http://127.0.0.1:$(cat "$dir/$n/http_port")"); done
  (IFS=,; echo "${out[*]}")
}

running() {
  [ -f "$dir/zk/pid" ] && kill -0 "$(cat "$dir/zk/pid")" 2>/dev/null || return 1
  for n in "${nodes[@]}"; do
    [ -f "$dir/$n/pid" ] && kill -0 "$(cat "$dir/$n/pid")" 2>/dev/null || return 1
  done
}

configure() {
  rm -rf "$dir"
  mkdir -p "$dir/zk/data"
  # 1 ZooKeeper port, then per node: HTTP, TCP, interserver.
  read -r -a p <<<"$(free_ports 13)"
  echo "${p[0]}" >"$dir/zk/port"
  cat >"$dir/zk/zoo.cfg" <<CFG
tickTime=2000
initLimit=10
syncLimit=5
dataDir=$dir/zk/data
dataLogDir=$dir/zk/data
clientPort=${p[0]}
clientPortAddress=127.0.0.1
maxClientCnxns=200
admin.enableServer=false
autopurge.snapRetainCount=3
autopurge.purgeInterval=1
forceSync=yes
4lw.commands.whitelist=ruok,mntr,stat,srvr
CFG
  cat >"$dir/zk/log4j.properties" <<'CFG'
log4j.rootLogger=WARN, FILE
log4j.appender.FILE=org.apache.log4j.FileAppender
log4j.appender.FILE.File=${zookeeper.log.file}
log4j.appender.FILE.layout=org.apache.log4j.PatternLayout
log4j.appender.FILE.layout.ConversionPattern=%d{ISO8601} %-5p [%t] %c{1}: %m%n
CFG
  local i=0 tcp=()
  for n in "${nodes[@]}"; do
    local base=$((1 + 3 * i))
    mkdir -p "$dir/$n/log" "$dir/$n/tmp" "$dir/$n/user_files" "$dir/$n/format_schemas" "$dir/$n/config.d"
    echo "${p[$base]}" >"$dir/$n/http_port"
    tcp+=("${p[$((base + 1))]}")
    sed -e "s#@DATA_DIR@#$dir/$n#g" -e "s#@HTTP_PORT@#${p[$base]}#g" -e "s#@TCP_PORT@#${p[$((base + 1))]}#g" \
      "$root/deploy/clickhouse/config.xml" >"$dir/$n/config.xml"
    local shard=$((i / 2 + 1))
    cat >"$dir/$n/config.d/node.xml" <<XML
<?xml version="1.0"?>
<yandex>
    <!-- Replicas fetch parts from each other here; the host is what this node registers. -->
    <interserver_http_port>${p[$((base + 2))]}</interserver_http_port>
    <interserver_http_host>127.0.0.1</interserver_http_host>
    <macros><shard>0$shard</shard><replica>$n</replica></macros>
    <uncompressed_cache_size>67108864</uncompressed_cache_size>
    <mark_cache_size>67108864</mark_cache_size>
    <profiles><default>
        <!-- Reads and writes pick the same first replica: read-your-writes while healthy. -->
        <load_balancing>in_order</load_balancing>
        <max_memory_usage>2000000000</max_memory_usage>
        <background_pool_size>4</background_pool_size>
    </default></profiles>
</yandex>
XML
    i=$((i + 1))
  done
  local topo="$dir/cluster.xml"
  {
    echo '<?xml version="1.0"?>'
    echo '<yandex>'
    echo '    <remote_servers>'
    echo '        <fl>'
    for s in 0 1; do
      echo '            <shard>'
      echo '                <internal_replication>true</internal_replication>'
      echo "                <replica><host>127.0.0.1</host><port>${tcp[$((2 * s))]}</port></replica>"
      echo "                <replica><host>127.0.0.1</host><port>${tcp[$((2 * s + 1))]}</port></replica>"
      echo '            </shard>'
    done
    echo '        </fl>'
    echo '        <fl_nodes>'
    for t in "${tcp[@]}"; do
      echo "            <shard><replica><host>127.0.0.1</host><port>$t</port></replica></shard>"
    done
    echo '        </fl_nodes>'
    echo '    </remote_servers>'
    echo "    <zookeeper><node><host>127.0.0.1</host><port>${p[0]}</port></node><session_timeout_ms>30000</session_timeout_ms></zookeeper>"
    echo '    <distributed_ddl><path>/clickhouse/task_queue/ddl</path></distributed_ddl>'
    echo '</yandex>'
  } >"$topo"
  for n in "${nodes[@]}"; do cp "$topo" "$dir/$n/config.d/cluster.xml"; done
}

start() {
  install
  if running; then urls; return 0; fi
  stop >/dev/null 2>&1 || true
  configure
  start_zk
  for n in "${nodes[@]}"; do start_node "$n"; done
  urls
}

stop_one() {
  local f=$1
  [ -f "$f" ] || return 0
  local pid
  pid=$(cat "$f")
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
  kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null
  rm -f "$f"
}

stop() {
  for n in "${nodes[@]}"; do stop_one "$dir/$n/pid"; done
  stop_one "$dir/zk/pid"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  urls) urls ;;
  install) install ;;
  stop-node)
    case "${2:?name}" in
      zk) stop_one "$dir/zk/pid" ;;
      *) stop_one "$dir/$2/pid" ;;
    esac ;;
  start-node)
    case "${2:?name}" in
      zk) start_zk ;;
      *) start_node "$2" ;;
    esac ;;
  *) echo "usage: $0 start|stop|urls|install|stop-node NAME|start-node NAME" >&2; exit 2 ;;
esac
