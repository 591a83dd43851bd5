#!/bin/bash
# Builds the shared RTP harness (gen, sink, fwd from ../shared/bench) into build/bench-harness,
# leaving the shared folder untouched.
set -e
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SHARED=${CC_SHARED_BENCH:-$ROOT/../shared/bench}
mkdir -p "$ROOT/build/bench-harness"
for p in gen sink fwd; do gcc -O2 -Wall -I"$SHARED" -o "$ROOT/build/bench-harness/$p" "$SHARED/$p.c"; done
echo "built gen sink fwd in build/bench-harness"
