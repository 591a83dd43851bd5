#!/bin/bash
# Ramp our media-relay over total packet rates; PASS = loss < 0.1 % and the generator reached
# >= 99 % of the target (the shared harness's rule).
#   relay_sweep.sh NSTREAMS SECS WORKERS RATE1 RATE2 ...
cd "$(dirname "$0")"
N=$1; SECS=$2; W=$3; shift 3
for R in "$@"; do
  OUT=$(./relay_run.sh $N $R $SECS $W)
  echo "$OUT"
  L=$(echo "$OUT" | grep -o 'loss_pct=[0-9.]*' | cut -d= -f2)
  A=$(echo "$OUT" | grep -o 'achieved_pps=[0-9]*' | cut -d= -f2)
  awk -v l=$L -v a=$A -v r=$R 'BEGIN{ if (l<0.1 && a>=0.99*r) print "  => PASS"; else print "  => FAIL" }'
  sleep 1
done
