#!/usr/bin/env bash
# libFuzzer targets of tests/fuzz, built with Debian's clang into build/fuzz.
#
#   tools/fuzz.sh build                 build them (the test command does this)
#   tools/fuzz.sh run NAME SECONDS      replay NAME's regressions and seeds, then fuzz for SECONDS
#   tools/fuzz.sh long [SECONDS]        every target for SECONDS (default 600) each: the long run
#
# A run keeps what it learns in build/fuzz/corpus/NAME (not committed). A crash leaves its input
# in build/fuzz/artifacts/ and fails the run: fix it, then copy the input into
# tests/fuzz/regressions/NAME/ so that every later run replays it.
set -euo pipefail
CC_ROOT=$(cd "$(dirname "$0")/.." && pwd)
. "$CC_ROOT/tools/dev/lib.sh"
build=$CC_ROOT/build/fuzz
src=$CC_ROOT/tests/fuzz
TARGETS=(fuzz_sdp fuzz_rtp fuzz_wav fuzz_config fuzz_digest fuzz_sip_request)

do_build() {
  CC=clang CXX=clang++ cmake -S "$src" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Debug >/dev/null
  cmake --build "$build" -j "$(nproc)" >"$build/build.log" 2>&1 \
    || { tail -n 30 "$build/build.log" >&2; die "fuzz build failed"; }
}

do_run() {
  local name=$1 seconds=$2
  local bin=$build/$name
  [ -x "$bin" ] || die "$bin is not built (tools/fuzz.sh build)"
  local corpus=$build/corpus/$name artifacts=$build/artifacts/
  mkdir -p "$corpus" "$artifacts" "$src/regressions/$name" "$src/seeds/$name"
  local dict=()
  [ -f "$src/$name.dict" ] && dict=("-dict=$src/$name.dict")
  # Regressions first, as plain inputs: each must pass.
  local regressions=("$src/regressions/$name"/*)
  if [ -e "${regressions[0]}" ]; then
    "$bin" "${dict[@]}" -runs=0 "${regressions[@]}" >"$build/$name.regressions.log" 2>&1 \
      || { tail -n 40 "$build/$name.regressions.log" >&2; die "$name: a regression input fails"; }
  fi
  log "$name: fuzzing ${seconds}s"
  "$bin" "${dict[@]}" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -artifact_prefix="$artifacts" -print_final_stats=1 "$corpus" "$src/seeds/$name" \
    >"$build/$name.log" 2>&1 \
    || { tail -n 60 "$build/$name.log" >&2; die "$name: crash (input in $artifacts)"; }
  grep -E "^stat::number_of_executed_units|^stat::peak_rss_mb" "$build/$name.log" | tr '\n' ' ' >&2
  echo >&2
}

case "${1:-}" in
  build) do_build ;;
  run) do_run "$2" "$3" ;;
  long)
    do_build
    for t in "${TARGETS[@]}"; do do_run "$t" "${2:-600}"; done
    ;;
  *) die "usage: tools/fuzz.sh build | run NAME SECONDS | long [SECONDS]" ;;
esac
