# Shared shell functions of tools/stack.sh and tools/test.sh. Source it; do not run it.
# Every server started here listens on 127.0.0.1 only.

CC_ROOT=${CC_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}

# Debian packages the build, the tests and the local stack need.
CC_PACKAGES=(
  build-essential cmake ninja-build pkg-config git
  libsofia-sip-ua-dev libgrpc++-dev protobuf-compiler-grpc protobuf-compiler libprotobuf-dev
  libnats-dev libpqxx-dev prometheus-cpp-dev libgtest-dev libgmock-dev
  postgresql nats-server
  sip-tester baresip-core
  prometheus docker-compose yamllint python3 python3-yaml python3-jsonschema
  clang libclang-rt-14-dev openssl libssl-dev
  espeak-ng sox libhowardhinnant-date-dev tzdata libyaml-cpp-dev
)

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# Installs whatever of CC_PACKAGES is missing (idempotent; no network when all are there).
install_deps() {
  local missing=() p
  for p in "${CC_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  [ "$(id -u)" -eq 0 ] || die "missing packages (${missing[*]}); run as root or install them"
  log "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # The packaged postgresql, nats-server and prometheus services would start system-wide
  # servers (prometheus on every interface); we run our own on 127.0.0.1, so packages may
  # not start services while we install (policy-rc.d answering 101, unless one exists).
  local policy=/usr/sbin/policy-rc.d own_policy=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 755 "$policy" && own_policy=1
  fi
  local rc=0
  apt-get update -qq </dev/null >/dev/null &&
    apt-get install -y -qq --no-install-recommends "${missing[@]}" </dev/null >/dev/null || rc=1
  [ "$own_policy" -eq 1 ] && rm -f "$policy"
  [ "$rc" -eq 0 ] || die "apt-get install failed"
}

pg_bindir() {
  local d
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  [ -n "$d" ] || die "PostgreSQL server binaries not found under /usr/lib/postgresql"
  echo "$d"
}

# Runs a command as the postgres user when we are root (initdb refuses root).
as_pg() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# The data folder lives in the checkout. If the postgres user cannot reach it (a checkout
# under /root, say), the cluster goes to /var/tmp and the checkout gets a symlink to it.
pg_data_dir() {
  local want=$1
  if [ "$(id -u)" -eq 0 ] && ! runuser -u postgres -- test -x "$(dirname "$want")" 2>/dev/null; then
    local alt="/var/tmp/cc-pg-$(echo "$want" | md5sum | cut -c1-12)"
    mkdir -p "$(dirname "$want")"
    [ -L "$want" ] || { rm -rf "$want"; ln -s "$alt" "$want"; }
    log "postgres cannot reach $(dirname "$want"); cluster kept in $alt (linked from $want)"
    echo "$alt"
  else
    echo "$want"
  fi
}

# pg_start DATA_DIR PORT [extra postgres -c options...]: initdb if needed, then start.
pg_start() {
  local data=$1 port=$2; shift 2
  local bin; bin=$(pg_bindir)
  data=$(pg_data_dir "$data")
  mkdir -p "$data"
  [ "$(id -u)" -eq 0 ] && chown postgres:postgres "$data" && chmod 700 "$data"
  if [ ! -f "$data/PG_VERSION" ]; then
    as_pg "$bin/initdb" -D "$data" -U postgres --auth=trust -E UTF8 --no-locale >/dev/null \
      || die "initdb failed in $data"
  fi
  if as_pg "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1; then
    return 0
  fi
  local opts="-p $port -k $data -c listen_addresses=127.0.0.1 -c max_connections=300"
  local o; for o in "$@"; do opts+=" -c $o"; done
  as_pg "$bin/pg_ctl" -D "$data" -l "$data/server.log" -w -t 60 -o "$opts" start >/dev/null \
    || { tail -n 20 "$data/server.log" >&2; die "PostgreSQL did not start (port $port)"; }
}

pg_stop() {
  local data=$1
  [ -e "$data" ] || return 0
  data=$(readlink -f "$data")
  [ -f "$data/PG_VERSION" ] || return 0
  as_pg "$(pg_bindir)/pg_ctl" -D "$data" -m fast -w stop >/dev/null 2>&1 || true
}

pg_running() {
  local data=$1
  [ -e "$data" ] && [ -f "$(readlink -f "$data")/PG_VERSION" ] &&
    as_pg "$(pg_bindir)/pg_ctl" -D "$(readlink -f "$data")" status >/dev/null 2>&1
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# A TCP port nobody listens on right now, from a range that avoids the local stack's.
free_port() {
  local p
  for _ in $(seq 1 200); do
    p=$((20000 + RANDOM % 10000))
    port_in_use "$p" || { echo "$p"; return 0; }
  done
  die "no free port found"
}

wait_port() {
  local port=$1 secs=${2:-30}
  for _ in $(seq 1 $((secs * 10))); do
    port_in_use "$port" && return 0
    sleep 0.1
  done
  return 1
}

# start_bg NAME PIDFILE LOGFILE CMD...: starts CMD detached unless the pid file names a
# live process already.
start_bg() {
  local name=$1 pidfile=$2 logfile=$3; shift 3
  if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    log "$name already running (pid $(cat "$pidfile"))"
    return 0
  fi
  mkdir -p "$(dirname "$pidfile")" "$(dirname "$logfile")"
  setsid "$@" >>"$logfile" 2>&1 </dev/null &
  echo $! >"$pidfile"
  log "$name started (pid $!, log $logfile)"
}

# stop_bg NAME PIDFILE: SIGTERM, then SIGKILL after 15 s; only the process we started.
stop_bg() {
  local name=$1 pidfile=$2 pid
  [ -f "$pidfile" ] || return 0
  pid=$(cat "$pidfile")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then
      log "$name did not stop in 15 s; killing it"
      kill -KILL "$pid" 2>/dev/null || true
    fi
    log "$name stopped"
  fi
  rm -f "$pidfile"
}

# Reads the env file into the shell (the environment wins over the file).
load_env_file() {
  local file=${CC_ENV_FILE:-$CC_ROOT/deploy/local/stack.env} line key
  [ -f "$file" ] || die "env file $file not found"
  while IFS= read -r line || [ -n "$line" ]; do
    case "$line" in ''|'#'*) continue ;; esac
    key=${line%%=*}
    [ -n "${!key+x}" ] && continue
    export "$key=${line#*=}"
  done <"$file"
}
