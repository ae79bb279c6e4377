#!/usr/bin/env bash
# Data-path throughput of rbond against a same-run baseline (BENCHMARKS.md).
# Two topologies, built in fresh namespaces, measured with iperf3 (TCP, 1 stream, $SECS s):
#   baseline: host eth0 -> Linux bridge -> peer   (the kernel path, no rbond)
#   rbond:    host bond0 (active-backup over eth0, eth1) -> the same bridge -> peer
# Prints Gbit/s for both and the ratio. Everything is removed on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${SECS:-5}
bash scripts/setup.sh
command -v iperf3 >/dev/null || { apt-get update -qq; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq iperf3 >/dev/null; }
cargo build --release --quiet -p rbond
BIN=${CARGO_TARGET_DIR:-$PWD/target}/release/rbond
ID=rbb$$
H=$ID-h S=$ID-s P=$ID-p
SOCK=/run/rbond/$ID.sock
cleanup() {
  [ -n "${DPID:-}" ] && kill "$DPID" 2>/dev/null && wait "$DPID" 2>/dev/null || true
  for n in $H $S $P; do ip netns del $n 2>/dev/null || true; done
  rm -rf /run/rbond/$ID /run/rbond/$ID.sock
}
trap cleanup EXIT
for n in $H $S $P; do ip netns add $n; ip -n $n link set lo up; done
for n in $H $S $P; do ip netns exec $n sysctl -qw net.ipv6.conf.all.disable_ipv6=1; done
ip -n $S link add br0 type bridge forward_delay 0 stp_state 0
for i in 0 1; do
  ip link add eth$i netns $H type veth peer name swp$i netns $S
  ip -n $S link set swp$i master br0 up
done
ip link add swpeer netns $S type veth peer name eth0 netns $P
ip -n $S link set swpeer master br0 up
ip -n $S link set br0 up
ip -n $P addr add 198.18.0.2/24 dev eth0; ip -n $P link set eth0 up
ip netns exec $P iperf3 -s -D -1 >/dev/null 2>&1 || true
measure() { ip netns exec $H iperf3 -c 198.18.0.2 -t "$SECS" -J | python3 -c 'import json,sys; print("%.2f" % (json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"]/1e9))'; }

# Baseline: eth0 straight into the bridge.
ip -n $H addr add 198.18.0.1/24 dev eth0; ip -n $H link set eth0 up
sleep 1
base=$(measure)
ip -n $H addr flush dev eth0; ip -n $H link set eth0 down

# rbond: bond0 over eth0 and eth1.
ip netns exec $P iperf3 -s -D -1 >/dev/null 2>&1 || true
ip netns exec $H "$BIN" --socket $SOCK daemon --run-dir /run/rbond/$ID >/dev/null 2>&1 &
DPID=$!
for _ in $(seq 50); do [ -S $SOCK ] && break; sleep 0.1; done
"$BIN" --socket $SOCK add bond0 mode active-backup miimon 100
"$BIN" --socket $SOCK enslave bond0 eth0 eth1
ip -n $H addr add 198.18.0.1/24 dev bond0; ip -n $H link set bond0 up
sleep 2
ip netns exec $H ping -c 2 -W 1 198.18.0.2 >/dev/null
bond=$(measure)
echo "iperf3 TCP 1 stream, ${SECS}s: baseline (kernel veth+bridge) ${base} Gbit/s, rbond bond0 ${bond} Gbit/s"
python3 -c "print('ratio rbond/baseline: %.2f' % ($bond/$base))"
