#!/usr/bin/env bash
# The local stack: tools/stack.sh start | stop | status | restart
#   start    installs what is missing, builds (build/release), starts PostgreSQL (cluster in
#            .local/pg), nats-server and every service on 127.0.0.1 with the ports of
#            deploy/local/stack.env, applies migrations and provisions the demo agents.
#            Running it again only starts what is not running.
#   stop     stops what start started (SIGTERM, services drain first).
#   status   shows what runs where.
set -euo pipefail
CC_ROOT=$(cd "$(dirname "$0")/.." && pwd)
. "$CC_ROOT/tools/dev/lib.sh"
load_env_file

local_dir=$CC_ROOT/.local
run=$local_dir/run
logs=$local_dir/logs
build=$CC_ROOT/build/release
bin=$build
db_url="postgresql://postgres@127.0.0.1:$CC_PG_PORT/$CC_DB_NAME"
nats_url="nats://127.0.0.1:$CC_NATS_PORT"

# The services that exist so far, in start order.
SERVICES=(agent-registry queue-service media-relay signaling-edge)

# The gRPC API's bearer tokens (admin for ccctl, edge for signaling-edge), made once in
# .local/api and kept: an existing file is never rewritten.
api=$local_dir/api
make_api_tokens() {
  [ -f "$api/tokens" ] && return 0
  mkdir -p "$api"
  chmod 700 "$api"
  local admin edge
  admin=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
  edge=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
  printf '%s\n' "$admin" >"$api/admin-token"
  printf '%s\n' "$edge" >"$api/edge-token"
  printf '# ROLE NAME TOKEN (tools/stack.sh)\nadmin local-admin %s\nedge edge-local %s\n' \
    "$admin" "$edge" >"$api/tokens"
  chmod 600 "$api"/*
}

# SIP over TLS: a test CA of the local stack's own and a certificate for 127.0.0.1 signed by
# it, made once in .local/tls (phones that should trust the edge import ca.pem).
tls=$local_dir/tls
make_tls_cert() {
  [ -f "$tls/agent.pem" ] && return 0
  mkdir -p "$tls"
  chmod 700 "$tls"
  openssl req -x509 -newkey rsa:2048 -nodes -days 825 -subj "/CN=callcenter local test CA" \
    -keyout "$tls/ca.key" -out "$tls/ca.pem" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -subj "/CN=${CC_SIP_TLS_LISTEN%:*}" \
    -keyout "$tls/key.pem" -out "$tls/edge.csr" 2>/dev/null
  printf 'subjectAltName=IP:%s\n' "${CC_SIP_TLS_LISTEN%:*}" >"$tls/san.ext"
  openssl x509 -req -in "$tls/edge.csr" -CA "$tls/ca.pem" -CAkey "$tls/ca.key" -CAcreateserial \
    -days 825 -extfile "$tls/san.ext" -out "$tls/cert.pem" 2>/dev/null
  cat "$tls/key.pem" "$tls/cert.pem" >"$tls/agent.pem"
  cp "$tls/ca.pem" "$tls/cafile.pem"
  chmod 600 "$tls"/*.key "$tls/key.pem" "$tls/agent.pem"
}

service_args() {
  local common=(--log-format="$CC_STACK_LOG_FORMAT" --drain-timeout=5s
    --api-tokens="$api/tokens" --api-token-file="$api/edge-token")
  case $1 in
    agent-registry)
      echo "$bin/services/agent-registry/agent-registry" "${common[@]}" \
        --grpc-listen="$CC_AGENT_REGISTRY_GRPC" --metrics-listen="$CC_AGENT_REGISTRY_METRICS" \
        --db-url="$db_url" --nats-url="$nats_url" --sip-realm="$CC_SIP_REALM" \
        --instance-id=agent-registry-local
      ;;
    queue-service)
      echo "$bin/services/queue-service/queue-service" "${common[@]}" \
        --grpc-listen="$CC_QUEUE_SERVICE_GRPC" --metrics-listen="$CC_QUEUE_SERVICE_METRICS" \
        --db-url="$db_url" --nats-url="$nats_url" --instance-id=queue-service-local
      ;;
    media-relay)
      echo "$bin/services/media-relay/media-relay" "${common[@]}" \
        --grpc-listen="$CC_MEDIA_RELAY_GRPC" --metrics-listen="$CC_MEDIA_RELAY_METRICS" \
        --nats-url="$nats_url" --rtp-bind=127.0.0.1 --rtp-port-min="$CC_RTP_PORT_MIN" \
        --rtp-port-max="$CC_RTP_PORT_MAX" --prompt-dir="$CC_ROOT/deploy/prompts" \
        --default-prompt-dir="$bin/prompts" \
        --recording-dir="$local_dir/recordings" --instance-id=media-relay-local
      ;;
    signaling-edge)
      echo "$bin/services/signaling-edge/signaling-edge" "${common[@]}" \
        --grpc-listen="$CC_SIGNALING_EDGE_GRPC" --metrics-listen="$CC_SIGNALING_EDGE_METRICS" \
        --nats-url="$nats_url" --sip-listen="$CC_SIP_LISTEN" --sip-realm="$CC_SIP_REALM" \
        --sip-tls-listen="$CC_SIP_TLS_LISTEN" --sip-tls-cert-dir="$tls" \
        --agent-registry="$CC_AGENT_REGISTRY_GRPC" --queue-service="$CC_QUEUE_SERVICE_GRPC" \
        --media-relay="$CC_MEDIA_RELAY_GRPC" --edge-id=edge-local --instance-id=signaling-edge-local
      ;;
  esac
}

service_grpc() {
  case $1 in
    agent-registry) echo "$CC_AGENT_REGISTRY_GRPC" ;;
    queue-service) echo "$CC_QUEUE_SERVICE_GRPC" ;;
    media-relay) echo "$CC_MEDIA_RELAY_GRPC" ;;
    signaling-edge) echo "$CC_SIGNALING_EDGE_GRPC" ;;
  esac
}

build() {
  cmake -S "$CC_ROOT" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCC_BUILD_TESTS=OFF >/dev/null
  log "building (this takes a few minutes the first time; log: $build/build.log)"
  cmake --build "$build" -j "$(nproc)" >"$build/build.log" 2>&1 \
    || { tail -n 40 "$build/build.log" >&2; die "build failed"; }
}

start_database() {
  # autovacuum every 5 s: the agent rows are updated several times per call (docs/benchmarks.md).
  pg_start "$local_dir/pg" "$CC_PG_PORT" autovacuum_naptime=5s
  local psql; psql="$(pg_bindir)/psql"
  if ! "$psql" -h 127.0.0.1 -p "$CC_PG_PORT" -U postgres -d postgres -tAc \
      "SELECT 1 FROM pg_database WHERE datname = '$CC_DB_NAME'" | grep -q 1; then
    "$psql" -h 127.0.0.1 -p "$CC_PG_PORT" -U postgres -d postgres -qc "CREATE DATABASE $CC_DB_NAME"
    log "database $CC_DB_NAME created"
  fi
  "$bin/tools/cc-migrate" --db-url="$db_url" --log-level=warn >/dev/null \
    || die "migrations failed"
}

start_nats() {
  start_bg nats-server "$run/nats.pid" "$logs/nats.log" \
    nats-server -a 127.0.0.1 -p "$CC_NATS_PORT" -m "$CC_NATS_MONITOR_PORT"
  wait_port "$CC_NATS_PORT" 20 || die "nats-server did not start; see $logs/nats.log"
}

start_services() {
  local s addr
  for s in "${SERVICES[@]}"; do
    # shellcheck disable=SC2046
    start_bg "$s" "$run/$s.pid" "$logs/$s.log" $(service_args "$s")
    addr=$(service_grpc "$s")
    wait_port "${addr##*:}" 30 || { tail -n 20 "$logs/$s.log" >&2; die "$s did not come up"; }
  done
}

ccctl() { "$bin/tools/ccctl" "$@"; }

provision_demo() {
  # Demo queues and numbers: sales (answered at once, music) and support (rings until an
  # agent answers), dialled as "sales"/"1000" and "support"/"2000". Existing ones are kept.
  if ! ccctl queue show sales >/dev/null 2>&1; then
    ccctl queue create sales --name "Sales" --ring-timeout 20s --max-wait 10m \
      --overflow-queue support --wrap-up 5 --sla 20s --no-answer-delay 10s --busy-delay 5s \
      --reject-delay 5s --auto-pause 3 --music moh >/dev/null
    log "demo queue sales created"
  fi
  if ! ccctl queue show support >/dev/null 2>&1; then
    ccctl queue create support --name "Support" --answer-mode ring-until-agent \
      --strategy round-robin --ring-timeout 15s --max-wait 15m \
      --overflow-hangup "support is closed" --wrap-up 10 --no-answer-delay 10s \
      --busy-delay 5s --reject-delay 5s >/dev/null
    log "demo queue support created"
  fi
  local entry
  for entry in sales:sales 1000:sales support:support 2000:support; do
    ccctl dialplan set "${entry%%:*}" "${entry##*:}" >/dev/null
  done
  # The demo IVR on 3000: 1 sales; 2 (or 3 in German) a customer number, then support.
  ccctl ivr import "$CC_ROOT/deploy/local/demo-menus.yaml" >/dev/null
  ccctl dialplan set 3000 --menu welcome >/dev/null
  # Demo agents (password = "<id>-secret"). Existing ones are left alone.
  local a
  for a in alice:"Alice Archer":1001 bob:"Bob Baker":1002 carol:"Carol Chen":1003; do
    IFS=: read -r id name user <<<"$a"
    if ! ccctl agent show "$id" >/dev/null 2>&1; then
      ccctl agent create "$id" --name "$name" --user "$user" --password "$id-secret" \
        --skill english=8 --queue sales --queue support:1 --wrap-up 5 >/dev/null
      ccctl agent login "$id" >/dev/null
      log "demo agent $id created (SIP user $user, password $id-secret)"
    fi
  done
}

status() {
  local s pid state
  printf '%-16s %-8s %s\n' COMPONENT STATE WHERE
  if pg_running "$local_dir/pg"; then state=up; else state=down; fi
  printf '%-16s %-8s %s\n' postgresql "$state" "127.0.0.1:$CC_PG_PORT ($local_dir/pg)"
  for s in nats "${SERVICES[@]}"; do
    state=down
    if [ -f "$run/$s.pid" ] && kill -0 "$(cat "$run/$s.pid")" 2>/dev/null; then
      state="up"; pid=$(cat "$run/$s.pid")
    fi
    case $s in
      nats) printf '%-16s %-8s %s\n' nats-server "$state" "127.0.0.1:$CC_NATS_PORT" ;;
      *) printf '%-16s %-8s %s\n' "$s" "$state" "grpc $(service_grpc "$s")  log $logs/$s.log" ;;
    esac
  done
}

case ${1:-} in
  start)
    install_deps
    build
    mkdir -p "$run" "$logs"
    make_api_tokens
    make_tls_cert
    start_database
    start_nats
    start_services
    provision_demo
    status
    log "stack is up: SIP on $CC_SIP_LISTEN and TLS on $CC_SIP_TLS_LISTEN (CA in $tls/ca.pem; register 1001/alice-secret, call 1000, 2000, or 3000 for the IVR)."
    log "Try: $bin/tools/ccctl agent list"
    ;;
  stop)
    for ((i = ${#SERVICES[@]} - 1; i >= 0; i--)); do stop_bg "${SERVICES[i]}" "$run/${SERVICES[i]}.pid"; done
    stop_bg nats-server "$run/nats.pid"
    pg_stop "$local_dir/pg"
    log "stack stopped"
    ;;
  status) status ;;
  restart) "$0" stop && "$0" start ;;
  *) echo "usage: $0 start|stop|status|restart" >&2; exit 2 ;;
esac
