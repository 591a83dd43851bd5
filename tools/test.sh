#!/usr/bin/env bash
# Builds everything with ASan/UBSan and warnings as errors, starts the PostgreSQL and
# nats-server the tests need (on free loopback ports, in build/test-env), runs every test
# with ctest, and stops the servers again. Extra arguments go to ctest (e.g. -R registry).
set -euo pipefail
CC_ROOT=$(cd "$(dirname "$0")/.." && pwd)
. "$CC_ROOT/tools/dev/lib.sh"

install_deps

build=$CC_ROOT/build/test
cmake -S "$CC_ROOT" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCC_SANITIZE=ON \
  -DCC_WERROR=ON -DCC_BUILD_TESTS=ON >/dev/null
log "building (this takes a few minutes the first time; log: $build/build.log)"
cmake --build "$build" -j "$(nproc)" >"$build/build.log" 2>&1 \
  || { grep -E "error|warning" "$build/build.log" | head -n 40 >&2; tail -n 20 "$build/build.log" >&2; die "build failed"; }
log "building the fuzz targets with clang (tests/fuzz)"
"$CC_ROOT/tools/fuzz.sh" build

env_dir=$CC_ROOT/build/test-env
pg_stop "$env_dir/pg"
rm -rf "$env_dir"
mkdir -p "$env_dir"
pg_port=$(free_port)
nats_port=$(free_port)
cleanup() {
  pg_stop "$env_dir/pg"
  stop_bg nats-server "$env_dir/nats.pid" >/dev/null 2>&1
}
trap cleanup EXIT

# Tests create and drop many small databases: durability is not what they test.
pg_start "$env_dir/pg" "$pg_port" fsync=off synchronous_commit=off full_page_writes=off
start_bg nats-server "$env_dir/nats.pid" "$env_dir/nats.log" \
  nats-server -a 127.0.0.1 -p "$nats_port"
wait_port "$nats_port" 20 || die "nats-server did not start"

export CC_TEST_PG_ADMIN_URL="postgresql://postgres@127.0.0.1:$pg_port/postgres"
export CC_TEST_NATS_URL="nats://127.0.0.1:$nats_port"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$CC_ROOT/tools/dev/lsan.supp:print_suppressions=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

log "running tests (PostgreSQL :$pg_port, NATS :$nats_port)"
ctest --test-dir "$build" --output-on-failure -j "$(nproc)" --timeout 900 "$@"
