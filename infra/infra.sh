#!/usr/bin/env bash
# Local infrastructure for Lantern without a Docker engine.
#
#   npm run infra -- up       start everything that is not already running (idempotent)
#   npm run infra -- down     stop what `up` started; leaves no process behind
#   npm run infra -- status   one line per component; exit 1 if any is down
#
# PostgreSQL and Redis are expected to run already (they do on the project's machines):
# they are probed, never started. Kafka (KRaft, from Maven Central jars) and Prometheus
# (Debian's package) are started here, in the background, with logs and pid files under
# $LANTERN_HOME (default ~/.lantern), shared by every checkout on the machine.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LANTERN_HOME="${LANTERN_HOME:-$HOME/.lantern}"
CACHE_DIR="${LANTERN_CACHE:-$HOME/.cache/lantern}"
RUN_DIR="$LANTERN_HOME/run"
LOG_DIR="$LANTERN_HOME/logs"

DATABASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379}"
KAFKA_VERSION=3.9.1
KAFKA_PORT="${KAFKA_PORT:-9092}"
# 9093 is the alert engine's (Alertmanager's port), so the KRaft controller listens on 19093
KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-19093}"
KAFKA_HEAP="${KAFKA_HEAP:-512m}"
KAFKA_LIBS="$CACHE_DIR/kafka-$KAFKA_VERSION/libs"
KAFKA_DATA="$LANTERN_HOME/kafka/data"
PROM_PORT="${PROMETHEUS_PORT:-9090}"
PROM_HOME="$LANTERN_HOME/prometheus"

mkdir -p "$RUN_DIR" "$LOG_DIR"

say() { printf '%s\n' "$*" >&2; }
die() { say "infra: $*"; exit 1; }

# host and port out of a URL such as postgres://user@host:5432/db
url_host() { local u="${1#*://}"; u="${u#*@}"; u="${u%%/*}"; printf '%s' "${u%%:*}"; }
url_port() { local u="${1#*://}"; u="${u#*@}"; u="${u%%/*}"; [[ "$u" == *:* ]] && printf '%s' "${u##*:}" || printf '%s' "$2"; }

tcp_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

pid_alive() { local f="$RUN_DIR/$1.pid"; [[ -f "$f" ]] && kill -0 "$(cat "$f")" 2>/dev/null; }

# wait_for NAME SECONDS CMD...: poll a readiness probe instead of sleeping a fixed time
wait_for() {
  local name=$1 secs=$2; shift 2
  local deadline=$((SECONDS + secs))
  until "$@"; do
    if ((SECONDS >= deadline)); then return 1; fi
    if ! pid_alive "$name"; then return 2; fi
    sleep 0.5
  done
}

# ---------------------------------------------------------------- PostgreSQL / Redis

postgres_ready() {
  local h p; h=$(url_host "$DATABASE_URL"); p=$(url_port "$DATABASE_URL" 5432)
  if command -v pg_isready >/dev/null; then pg_isready -q -d "$DATABASE_URL" -t 2; else tcp_open "$h" "$p"; fi
}
redis_ready() {
  local h p; h=$(url_host "$REDIS_URL"); p=$(url_port "$REDIS_URL" 6379)
  # RESP PING over a raw socket: no redis-cli needed
  local reply
  reply=$(timeout 2 bash -c "exec 3<>/dev/tcp/$h/$p; printf 'PING\r\n' >&3; head -c 5 <&3" 2>/dev/null || true)
  [[ "$reply" == "+PONG" ]]
}
check_postgres() {
  postgres_ready && return 0
  die "PostgreSQL is not reachable at $(url_host "$DATABASE_URL"):$(url_port "$DATABASE_URL" 5432) (DATABASE_URL).
  Start it (Debian: pg_ctlcluster --skip-systemctl-redirect \$(ls /etc/postgresql) main start),
  or install it with: apt-get install postgresql, or point DATABASE_URL at a running server."
}
check_redis() {
  redis_ready && return 0
  die "Redis is not reachable at $(url_host "$REDIS_URL"):$(url_port "$REDIS_URL" 6379) (REDIS_URL).
  Start it (redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save ''),
  or install it with: apt-get install redis-server, or point REDIS_URL at a running server."
}

# ---------------------------------------------------------------- Kafka

kafka_fetch() {
  [[ -f "$KAFKA_LIBS/.complete" ]] && return 0
  command -v java >/dev/null || die "Kafka needs Java 17+: apt-get install openjdk-17-jre-headless"
  command -v mvn >/dev/null || die "Kafka's jars are fetched with Maven: apt-get install maven"
  say "infra: fetching Kafka $KAFKA_VERSION jars from Maven Central into $KAFKA_LIBS (once)"
  rm -rf "$KAFKA_LIBS" && mkdir -p "$KAFKA_LIBS"
  mvn -q -B -f "$ROOT/infra/kafka/kafka-rt.xml" dependency:copy-dependencies \
    -DoutputDirectory="$KAFKA_LIBS" -DincludeScope=runtime >"$LOG_DIR/kafka-fetch.log" 2>&1 \
    || die "Maven could not fetch Kafka; see $LOG_DIR/kafka-fetch.log"
  touch "$KAFKA_LIBS/.complete"
}

kafka_config() {
  mkdir -p "$LANTERN_HOME/kafka"
  sed -e "s#@KAFKA_PORT@#$KAFKA_PORT#g" -e "s#@CONTROLLER_PORT@#$KAFKA_CONTROLLER_PORT#g" \
      -e "s#@DATA_DIR@#$KAFKA_DATA#g" "$ROOT/infra/kafka/server.properties.tmpl" >"$LANTERN_HOME/kafka/server.properties"
}

kafka_format() {
  [[ -f "$KAFKA_DATA/meta.properties" ]] && return 0
  mkdir -p "$KAFKA_DATA"
  local cid
  cid=$(java -cp "$KAFKA_LIBS/*" kafka.tools.StorageTool random-uuid 2>/dev/null | tail -1)
  java -cp "$KAFKA_LIBS/*" -Dlog4j.configuration="file:$ROOT/infra/kafka/log4j.properties" \
    kafka.tools.StorageTool format -t "$cid" -c "$LANTERN_HOME/kafka/server.properties" \
    >>"$LOG_DIR/kafka.log" 2>&1 || die "formatting Kafka storage failed; see $LOG_DIR/kafka.log"
}

# Ready = the broker said it started (in this run of the log) and accepts connections.
kafka_ready() {
  tcp_open 127.0.0.1 "$KAFKA_PORT" && grep -q "Kafka Server started" "$LOG_DIR/kafka.log" 2>/dev/null
}

kafka_up() {
  if pid_alive kafka && kafka_ready; then say "infra: kafka already running (pid $(cat "$RUN_DIR/kafka.pid"))"; return 0; fi
  if ! pid_alive kafka && tcp_open 127.0.0.1 "$KAFKA_PORT"; then
    die "port $KAFKA_PORT is taken by a process infra did not start; stop it or set KAFKA_PORT"
  fi
  kafka_fetch; kafka_config; kafka_format
  if ! pid_alive kafka; then
    : >"$LOG_DIR/kafka.log"
    nohup java -Xms128m -Xmx"$KAFKA_HEAP" -XX:+UseG1GC -Djava.awt.headless=true \
      -Dlog4j.configuration="file:$ROOT/infra/kafka/log4j.properties" \
      -cp "$KAFKA_LIBS/*" kafka.Kafka "$LANTERN_HOME/kafka/server.properties" \
      >>"$LOG_DIR/kafka.log" 2>&1 </dev/null &
    echo $! >"$RUN_DIR/kafka.pid"
  fi
  say "infra: waiting for kafka on 127.0.0.1:$KAFKA_PORT"
  wait_for kafka 120 kafka_ready || { tail -20 "$LOG_DIR/kafka.log" >&2; die "kafka did not become ready; see $LOG_DIR/kafka.log"; }
  say "infra: kafka ready at 127.0.0.1:$KAFKA_PORT"
}

# ---------------------------------------------------------------- Prometheus

prometheus_ready() { curl -fsS -m 2 "http://127.0.0.1:$PROM_PORT/-/ready" >/dev/null 2>&1; }

prometheus_install() {
  command -v prometheus >/dev/null && return 0
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
    say "infra: installing Prometheus from Debian (apt-get install prometheus)"
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus; } \
      >"$LOG_DIR/apt.log" 2>&1 || die "apt-get install prometheus failed; see $LOG_DIR/apt.log"
    # Debian's postinst may start its own service on :9090; ours is configured differently.
    pkill -x prometheus 2>/dev/null || true
  else
    die "Prometheus 2.42+ is required: sudo apt-get install prometheus"
  fi
}

prometheus_config() {
  mkdir -p "$PROM_HOME/targets" "$PROM_HOME/rules" "$PROM_HOME/data"
  cp "$ROOT/prometheus/prometheus.local.yml" "$PROM_HOME/prometheus.yml"
  # Rule files are copied so a running Prometheus never reads a half-written file from a checkout.
  find "$PROM_HOME/rules" -name '*.yml' -delete
  cp "$ROOT"/prometheus/rules/*.yml "$PROM_HOME/rules/" 2>/dev/null || true
}

prometheus_up() {
  if pid_alive prometheus && prometheus_ready; then
    prometheus_config
    curl -fsS -m 5 -X POST "http://127.0.0.1:$PROM_PORT/-/reload" >/dev/null || true
    say "infra: prometheus already running (pid $(cat "$RUN_DIR/prometheus.pid")); config reloaded"; return 0
  fi
  if ! pid_alive prometheus && tcp_open 127.0.0.1 "$PROM_PORT"; then
    die "port $PROM_PORT is taken by a process infra did not start; stop it or set PROMETHEUS_PORT"
  fi
  prometheus_install; prometheus_config
  if ! pid_alive prometheus; then
    nohup prometheus --config.file="$PROM_HOME/prometheus.yml" --storage.tsdb.path="$PROM_HOME/data" \
      --storage.tsdb.retention.time=2d --web.listen-address="127.0.0.1:$PROM_PORT" \
      --web.enable-remote-write-receiver --web.enable-lifecycle --enable-feature=exemplar-storage \
      >"$LOG_DIR/prometheus.log" 2>&1 </dev/null &
    echo $! >"$RUN_DIR/prometheus.pid"
  fi
  say "infra: waiting for prometheus on 127.0.0.1:$PROM_PORT"
  wait_for prometheus 60 prometheus_ready || { tail -20 "$LOG_DIR/prometheus.log" >&2; die "prometheus did not become ready; see $LOG_DIR/prometheus.log"; }
  say "infra: prometheus ready at http://127.0.0.1:$PROM_PORT"
}

# ---------------------------------------------------------------- down / status

stop_one() {
  local name=$1 f="$RUN_DIR/$1.pid"
  [[ -f "$f" ]] || return 0
  local pid; pid=$(cat "$f")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    if kill -0 "$pid" 2>/dev/null; then say "infra: $name did not stop in 30 s; killing"; kill -KILL "$pid" 2>/dev/null || true; sleep 0.5; fi
    say "infra: $name stopped"
  fi
  rm -f "$f"
}

line() { printf '%-11s %-5s %s\n' "$1" "$2" "$3"; }

status() {
  local bad=0
  if postgres_ready; then line postgres up "$DATABASE_URL"; else line postgres down "$DATABASE_URL (not started by infra)"; bad=1; fi
  if redis_ready; then line redis up "$REDIS_URL"; else line redis down "$REDIS_URL (not started by infra)"; bad=1; fi
  if pid_alive kafka && kafka_ready; then line kafka up "127.0.0.1:$KAFKA_PORT pid $(cat "$RUN_DIR/kafka.pid") log $LOG_DIR/kafka.log"
  else line kafka down "127.0.0.1:$KAFKA_PORT log $LOG_DIR/kafka.log"; bad=1; fi
  if pid_alive prometheus && prometheus_ready; then line prometheus up "http://127.0.0.1:$PROM_PORT pid $(cat "$RUN_DIR/prometheus.pid") log $LOG_DIR/prometheus.log"
  else line prometheus down "http://127.0.0.1:$PROM_PORT log $LOG_DIR/prometheus.log"; bad=1; fi
  return $bad
}

case "${1:-status}" in
  up)
    check_postgres; check_redis
    kafka_up; prometheus_up
    status ;;
  down)
    stop_one prometheus; stop_one kafka ;;
  status) status ;;
  *) die "usage: infra.sh up|down|status" ;;
esac
