#!/usr/bin/env bash
# The profiles behind BENCHMARKS.md's "Where the time goes": the daemon under one iperf3
# stream (active-backup, 2 veths into a Linux bridge, fresh namespaces, removed on exit). As root:
#
#   bash scripts/bench-profile.sh perf tx   # perf record -g of the daemon, then its report
#   bash scripts/bench-profile.sh stat rx   # perf stat: CPU, context switches, syscalls by kind
#   bash scripts/bench-profile.sh ping      # 1000 pings at 1 ms, p50/p99, daemon wake-ups
#
# SECS (default 5) is the measured window; OUT (default a temp dir, kept) holds perf.data.
set -euo pipefail
cd "$(dirname "$0")/.."
WHAT=${1:-perf}; DIR=${2:-tx}; SECS=${SECS:-5}
case $WHAT in perf|stat|ping) ;; *) echo "usage: $0 perf|stat|ping [tx|rx]" >&2; exit 2 ;; esac
command -v perf >/dev/null || { echo "bench-profile: needs perf" >&2; exit 1; }
command -v iperf3 >/dev/null || { apt-get update -qq; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq iperf3 >/dev/null; }
cargo build --release --quiet -p rbond
BIN=${CARGO_TARGET_DIR:-$PWD/target}/release/rbond
OUT=${OUT:-$(mktemp -d /tmp/rbond-profile.XXXXXX)}
ID=rbp$$; H=$ID-h S=$ID-s P=$ID-p; SOCK=/run/rbond/$ID/ctl.sock
DP= IP=
cleanup() {
  set +e
  [ -n "$IP" ] && kill "$IP"; [ -n "$DP" ] && kill "$DP"; sleep 0.3
  for n in $H $S $P; do ip netns del $n 2>/dev/null; done
  rm -rf "/run/rbond/$ID"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
mkdir -p "/run/rbond/$ID"
for n in $H $S $P; do ip netns add $n; ip -n $n link set lo up; ip netns exec $n sysctl -qw net.ipv6.conf.all.disable_ipv6=1; done
ip -n $S link add br0 type bridge forward_delay 0 stp_state 0
for i in 0 1; do ip link add eth$i netns $H type veth peer name swp$i netns $S; ip -n $S link set swp$i master br0 up; done
ip link add swpeer netns $S type veth peer name eth0 netns $P
ip -n $S link set swpeer master br0 up; ip -n $S link set br0 up
ip -n $P addr add 198.18.0.2/24 dev eth0; ip -n $P link set eth0 up
ip netns exec $H "$BIN" --socket $SOCK daemon --run-dir "/run/rbond/$ID/run" >"$OUT/daemon.log" 2>&1 &
DP=$!
for _ in $(seq 100); do [ -S $SOCK ] && break; sleep 0.05; done
"$BIN" --socket $SOCK add bond0 mode active-backup miimon 100
"$BIN" --socket $SOCK enslave bond0 eth0 eth1
ip -n $H addr add 198.18.0.1/24 dev bond0; ip -n $H link set bond0 up
for _ in $(seq 50); do ip netns exec $H ping -c1 -W0.2 198.18.0.2 >/dev/null 2>&1 && break; sleep 0.1; done
ip netns exec $P iperf3 -s -D -I "$OUT/iperf.pid" >/dev/null 2>&1; sleep 0.3; IP=$(cat "$OUT/iperf.pid")
R=; [ "$DIR" = rx ] && R=-R
echo "bench-profile: $WHAT $DIR, daemon pid $DP, output in $OUT; load average $(cut -d' ' -f1-3 /proc/loadavg)"
if [ "$WHAT" = ping ]; then
  ip netns exec $H ping -c 200 -i 0.01 198.18.0.2 >/dev/null
  perf stat -e cpu-clock,context-switches -p $DP -- sleep 2 2>"$OUT/stat.txt" & SP=$!
  ip netns exec $H ping -c 1000 -i 0.001 198.18.0.2 >"$OUT/ping.txt"; wait $SP
  python3 - "$OUT/ping.txt" <<'PY'
import re, sys
t = sorted(float(m) * 1000 for m in re.findall(r"time=([0-9.]+) ms", open(sys.argv[1]).read()))
q = lambda p: t[min(len(t) - 1, int(round(p * (len(t) - 1))))]
print("pings %d: p50 %.0f us, p99 %.0f us" % (len(t), q(.5), q(.99)))
PY
  grep -E "cpu-clock|context-switches" "$OUT/stat.txt"
  exit 0
fi
# shellcheck disable=SC2086
ip netns exec $H iperf3 -c 198.18.0.2 -t $((SECS + 2)) $R -J >"$OUT/iperf.json" & CP=$!
sleep 1
if [ "$WHAT" = perf ]; then
  perf record -q -g -e cpu-clock -F 4999 -o "$OUT/perf.data" -p $DP -- sleep "$SECS" 2>/dev/null
else
  perf stat -e cpu-clock,context-switches,syscalls:sys_enter_read,syscalls:sys_enter_write,syscalls:sys_enter_sendmmsg,syscalls:sys_enter_recvmmsg,syscalls:sys_enter_poll \
    -p $DP -- sleep "$SECS" 2>"$OUT/stat.txt"
fi
wait $CP
python3 -c 'import json,sys; e=json.load(open(sys.argv[1]))["end"]["sum_received"]; print("iperf3: %.2f Gbit/s" % (e["bits_per_second"]/1e9))' "$OUT/iperf.json"
if [ "$WHAT" = perf ]; then
  perf report -i "$OUT/perf.data" --no-children --stdio --sort dso 2>/dev/null | grep -E '^ +[0-9]' | head -5
  perf report -i "$OUT/perf.data" --children --stdio --sort sym -g none 2>/dev/null | grep -E '^ +[0-9]' | head -40
else
  grep -E "cpu-clock|context-switches|sys_enter|elapsed" "$OUT/stat.txt"
fi
