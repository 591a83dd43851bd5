#!/bin/bash
# One bounded RTP relay run through our media-relay on loopback, the same way the shared
# harness measured rtpengine (../shared/bench/rtp_run.sh): N bridged call pairs set up over
# gRPC (relay-setup), bin/gen sends 172-byte RTP (PT 0) from A_i to the relay's customer leg,
# the relay forwards to B_i where bin/sink counts. One direction per call.
#   relay_run.sh NSTREAMS TOTAL_PPS SECS [WORKERS]
# Needs: build/bench (optimised build with relay-setup), the harness built by
# tools/bench/harness.sh. Kills only the media-relay PID it started.
set -u
ulimit -n 16384
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SHARED=${CC_SHARED_BENCH:-$ROOT/../shared/bench}
H=$ROOT/build/bench-harness
BIN=$ROOT/build/bench
source "$SHARED/sysbusy.sh"; CLK_TCK=$(getconf CLK_TCK)
N=$1; RATE=$2; SECS=${3:-20}; WORKERS=${4:-1}
[ "$SECS" -le 30 ] || SECS=30
T=$(mktemp -d /tmp/relayrun.XXXX)
udp_ctr() { awk '/^Udp: [0-9]/{print $4, $6}' /proc/net/snmp; }
GRPC=127.0.0.1:$((51000 + RANDOM % 1000))
"$BIN/services/media-relay/media-relay" --grpc-listen=$GRPC --metrics-listen= \
  --nats-url=nats://127.0.0.1:1 --rtp-port-min=33000 --rtp-port-max=37999 \
  --workers=$WORKERS --log-level=warn --media-timeout=600s > $T/relay.log 2>&1 & RP=$!
for i in $(seq 1 50); do (exec 3<>/dev/tcp/${GRPC%:*}/${GRPC#*:}) 2>/dev/null && break; sleep 0.1; done
RSS0=$(awk '/VmRSS/{print $2}' /proc/$RP/status)
"$BIN/tools/relay-setup" --server=$GRPC --streams=$N --outdir=$T > $T/setup.log 2>&1 \
  || { cat $T/setup.log; kill $RP; exit 1; }
RSS1=$(awk '/VmRSS/{print $2}' /proc/$RP/status)
"$H/sink" -p @$T/sink_ports -t $((SECS+10)) -i 1500 > $T/sink.out & SINK=$!
sleep 0.5
read IE0 RB0 < <(udp_ctr); S0=$(stat_snap)
R0=$(awk '{print $14+$15}' /proc/$RP/stat); TA=$(date +%s.%N)
"$H/gen" -p @$T/gen_ports -r $RATE -t $SECS > $T/gen.out
R1=$(awk '{print $14+$15}' /proc/$RP/stat); TB=$(date +%s.%N)
S1=$(stat_snap)
wait $SINK
read IE1 RB1 < <(udp_ctr)
"$BIN/tools/relay-setup" --server=$GRPC --outdir=$T --release > /dev/null 2>&1
kill $RP 2>/dev/null; wait $RP 2>/dev/null
SENT=$(grep -o 'sent=[0-9]*' $T/gen.out | cut -d= -f2)
RECV=$(grep -o 'received=[0-9]*' $T/sink.out | cut -d= -f2)
LOSS=$(awk -v s=$SENT -v r=$RECV 'BEGIN{printf "%.4f", ((s>0)?100*(s-r)/s:0)}')
RCPU=$(awk -v a=$R0 -v b=$R1 -v t0=$TA -v t1=$TB -v hz=$CLK_TCK 'BEGIN{printf "%.0f", 100*(b-a)/hz/(t1-t0)}')
USPP=$(awk -v a=$R0 -v b=$R1 -v hz=$CLK_TCK -v r=$RECV 'BEGIN{printf "%.2f", (r>0)?1e6*(b-a)/hz/r:0}')
KBLEG=$(awk -v a=$RSS0 -v b=$RSS1 -v n=$N 'BEGIN{printf "%.1f", (b-a)/(2*n)}')
echo "media-relay workers=$WORKERS streams=$N rate=$RATE secs=$SECS sent=$SENT recv=$RECV loss_pct=$LOSS relay_cpu_pct=$RCPU relay_us_per_pkt=$USPP rss_kb_per_leg=$KBLEG udp_rcvbuf_err_delta=$((RB1-RB0))"
echo "  $(cat $T/gen.out)"
echo "  $(cat $T/sink.out)"
echo "  (tick-sampled) $(stat_diff "$S0" "$S1")"
echo "  relay log warnings/errors: $(grep -ciE 'warn|error' $T/relay.log)  artifacts: $T"
