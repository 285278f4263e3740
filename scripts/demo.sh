#!/usr/bin/env bash
# npm run demo          install, start the infrastructure and the shop, run a customer journey through the
#                       gateway, and show where its telemetry went. Services keep running afterwards.
# npm run demo -- down  stop the shop services (the infrastructure stays: npm run infra -- down)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
export LANTERN_HOME="${LANTERN_HOME:-$HOME/.lantern}"
RUN="$LANTERN_HOME/run"; LOGS="$LANTERN_HOME/logs"; TARGETS="$LANTERN_HOME/prometheus/targets"
mkdir -p "$RUN" "$LOGS" "$TARGETS"
# name:port, in start order (the gateway last: it needs the others)
SERVICES=(user:8081 product:8082 inventory:8084 payment:8085 order:8083 notification:8086 flash-sale:8088 recommendation:8087 gateway:8080)

stop_pid() {   # stop_pid NAME: SIGTERM the process in $RUN/NAME.pid, wait, then SIGKILL
  local f="$RUN/$1.pid"
  [[ -f $f ]] || return 0
  local pid; pid=$(cat "$f")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid"
    for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -KILL "$pid" 2>/dev/null || true
    echo "demo: $1 stopped"
  fi
  rm -f "$f"
}

stop_collector() {
  local f="$RUN/collector.pid"
  [[ -f $f ]] || return 0
  local pid; pid=$(cat "$f")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid"   # flushes the sampler and persists the trace store
    for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -KILL "$pid" 2>/dev/null || true
    echo "demo: collector stopped"
  fi
  rm -f "$f"
}

stop_services() {
  for entry in "${SERVICES[@]}"; do
    local name=${entry%%:*} f="$RUN/shop-${entry%%:*}.pid"
    rm -f "$TARGETS/shop-$name.json"
    [[ -f $f ]] || continue
    local pid; pid=$(cat "$f")
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid"   # the SDK drains requests and flushes telemetry on SIGTERM
      for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
      kill -KILL "$pid" 2>/dev/null || true
      echo "demo: $name stopped"
    fi
    rm -f "$f"
  done
}

if [[ "${1:-}" == down ]]; then stop_services; stop_pid mailbox; stop_pid alerting; stop_collector; exit 0; fi

bash scripts/setup.sh
bash infra/infra.sh up

# Per-machine secrets, made once and never printed or committed.
SECRETS="$LANTERN_HOME/secrets.env"
if [[ ! -f $SECRETS ]]; then
  umask 077
  printf 'JWT_SECRET=%s\nINTERNAL_AUTH_SECRET=%s\n' "$(openssl rand -hex 32)" "$(openssl rand -hex 32)" >"$SECRETS"
fi
# the services' token for the collector (added to secrets made by an older demo)
grep -q '^COLLECTOR_TOKEN=' "$SECRETS" || printf 'COLLECTOR_TOKEN=%s\n' "$(openssl rand -hex 32)" >>"$SECRETS"
grep -q '^ALERTING_ACK_SECRET=' "$SECRETS" || printf 'ALERTING_ACK_SECRET=%s\n' "$(openssl rand -hex 32)" >>"$SECRETS"
grep -q '^PAYMENT_CALLBACK_SECRET=' "$SECRETS" || printf 'PAYMENT_CALLBACK_SECRET=%s\n' "$(openssl rand -hex 32)" >>"$SECRETS"
set -a; . "$SECRETS"; set +a

export DATABASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379}"
export KAFKA_BROKERS="${KAFKA_BROKERS:-127.0.0.1:9092}"
export DEPLOYMENT_ENVIRONMENT=demo KAFKAJS_NO_PARTITIONER_WARNING=1
# Spans (OTLP) and log lines (Loki push) go to the local collector, which is also the trace backend.
export OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318
export OTEL_EXPORTER_OTLP_HEADERS="authorization=Bearer $COLLECTOR_TOKEN"
export LOKI_URL="http://lantern:$COLLECTOR_TOKEN@127.0.0.1:3100"
export TRACE_UI_URL=http://127.0.0.1:16686
export USER_SERVICE_URL=http://127.0.0.1:8081 PRODUCT_SERVICE_URL=http://127.0.0.1:8082 RECOMMENDATION_SERVICE_URL=http://127.0.0.1:8087
export ORDER_SERVICE_URL=http://127.0.0.1:8083 INVENTORY_SERVICE_URL=http://127.0.0.1:8084 PAYMENT_SERVICE_URL=http://127.0.0.1:8085
export NOTIFICATION_SERVICE_URL=http://127.0.0.1:8086 FLASH_SALE_SERVICE_URL=http://127.0.0.1:8088
# emails go to the demo's mailbox (.eml files under $LANTERN_HOME/mail); bank payments settle by a signed
# provider callback that comes in through the gateway, as a real provider's would
export SMTP_URL=smtp://127.0.0.1:1025 MAILBOX_DIR="$LANTERN_HOME/mail"
export BANK_CALLBACK_URL=http://127.0.0.1:8080/api/payments/callbacks/bank BANK_CALLBACK_INTERNAL_TOKEN=false
export SEED_ON_START=true
# last-resort recommendations: three products of the deterministic seed catalogue
export RECO_STATIC_PRODUCTS=acf3aa20-f6ac-5f29-99f1-265ce8cc6003,0a3b72b0-7d61-572b-8605-d717c27f4461,43c4da0e-481d-5e3f-846d-0d6bcc50232a

stop_services   # a re-run restarts the shop (and the collector) with the current code
stop_collector
# exec: the pid written is the collector's own
( exec node --expose-gc --import tsx/esm collector/src/main.ts --config collector/config/local.yaml ) >"$LOGS/collector.log" 2>&1 </dev/null &
echo $! >"$RUN/collector.pid"
echo "demo: starting the collector (OTLP :4318, Loki push :3100, traces :16686; log $LOGS/collector.log)"
for _ in $(seq 1 120); do
  curl -fsS -m 2 http://127.0.0.1:8888/readyz >/dev/null 2>&1 && break
  kill -0 "$(cat "$RUN/collector.pid")" 2>/dev/null || { tail -30 "$LOGS/collector.log" >&2; echo "demo: the collector exited; see $LOGS/collector.log" >&2; exit 1; }
  sleep 0.5
done
curl -fsS -m 2 http://127.0.0.1:8888/readyz >/dev/null || { echo "demo: the collector is not ready; see $LOGS/collector.log" >&2; exit 1; }

# The alert engine on :9093 with the shop's rules. Slack messages go to its local Slack stand-in (shown on
# its page) unless SLACK_WEBHOOK_URL is set: then every Slack receiver posts there instead.
stop_pid alerting
AM_CONFIG=alerting/config/local.yml
if [[ -n "${SLACK_WEBHOOK_URL:-}" ]]; then
  mkdir -p "$LANTERN_HOME/alerting"
  AM_CONFIG="$LANTERN_HOME/alerting/alertmanager.yml"
  # node, not sed: a webhook URL may hold characters sed treats as special; the file holds a secret (mode 600)
  ( umask 077; node -e 'const fs=require("fs");process.stdout.write(fs.readFileSync(process.argv[1],"utf8").replace(/http:\/\/127\.0\.0\.1:9093\/local\/slack\/[a-z-]+/g,()=>process.env.SLACK_WEBHOOK_URL))' alerting/config/local.yml >"$AM_CONFIG" )
fi
( ALERTMANAGER_CONFIG=$AM_CONFIG ALERTING_LOCAL_SLACK=true ALERTING_DB_SCHEMA=alerting_demo \
    exec node --import tsx/esm alerting/src/main.ts ) >"$LOGS/alerting.log" 2>&1 </dev/null &
echo $! >"$RUN/alerting.pid"
echo "demo: starting the alert engine on :9093 (log $LOGS/alerting.log)"
for _ in $(seq 1 120); do
  curl -fsS -m 2 http://127.0.0.1:9093/-/ready >/dev/null 2>&1 && break
  kill -0 "$(cat "$RUN/alerting.pid")" 2>/dev/null || { tail -30 "$LOGS/alerting.log" >&2; echo "demo: the alert engine exited; see $LOGS/alerting.log" >&2; exit 1; }
  sleep 0.5
done
stop_pid mailbox
( exec node --import tsx/esm scripts/mailbox.ts ) >"$LOGS/mailbox.log" 2>&1 </dev/null &
echo $! >"$RUN/mailbox.pid"
echo "demo: starting the mailbox (SMTP :1025; messages in $MAILBOX_DIR)"
for entry in "${SERVICES[@]}"; do
  name=${entry%%:*}; port=${entry##*:}
  # exec: the pid written is the service's own, and no shell keeps this script's stdout open
  ( cd "shop-services/$name" && OTEL_SERVICE_NAME=$name PORT=$port \
      exec node --import tsx/esm --import @lantern/sdk/register src/main.ts ) >"$LOGS/shop-$name.log" 2>&1 </dev/null &
  echo $! >"$RUN/shop-$name.pid"
  printf '[{"targets":["127.0.0.1:%s"],"labels":{"service":"%s"}}]' "$port" "$name" >"$TARGETS/shop-$name.json"
  echo "demo: starting $name on :$port (log $LOGS/shop-$name.log)"
  for _ in $(seq 1 240); do
    curl -fsS -m 2 "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
    kill -0 "$(cat "$RUN/shop-$name.pid")" 2>/dev/null || { tail -30 "$LOGS/shop-$name.log" >&2; echo "demo: $name exited; see $LOGS/shop-$name.log" >&2; exit 1; }
    sleep 0.5
  done
  curl -fsS -m 2 "http://127.0.0.1:$port/readyz" >/dev/null || { echo "demo: $name not ready; see $LOGS/shop-$name.log" >&2; exit 1; }
done

node --import tsx/esm scripts/demo-journey.ts
cat <<EOM

The shop is running: gateway http://127.0.0.1:8080 (OpenAPI at /api/docs), Prometheus http://127.0.0.1:9090.
Emails the shop sent (order confirmations, receipts): $MAILBOX_DIR/*.eml
Traces: http://127.0.0.1:16686/ (recent and failing traces; Jaeger's query API for Grafana or the Jaeger UI)
Span metrics and service graph: http://127.0.0.1:8889/metrics; the collector's health: http://127.0.0.1:8888/metrics
Logs (JSON, with trace_id on every line): $LOGS/shop-*.log, and in the collector: http://127.0.0.1:16686/api/logs?service=gateway
Alerts: http://127.0.0.1:9093/ (firing groups with evidence, silences, rule health, the Slack messages sent);
amtool works against it: amtool --alertmanager.url=http://127.0.0.1:9093 alert query
Stop the shop, the collector and the alert engine: npm run demo -- down     Stop the infrastructure: npm run infra -- down
EOM
