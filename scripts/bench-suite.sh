#!/usr/bin/env bash
# The benchmark suite of issue 17: one command, fresh namespaces, one table of figures and
# ratios, all from the same run. As root:
#
#   bash scripts/bench-suite.sh            # the full suite (SECS=4 s per iperf3 run, < 10 min)
#   SECS=10 bash scripts/bench-suite.sh    # longer runs
#   bash scripts/bench-suite.sh --smoke    # ~1 s per measurement, a subset of rows (< 60 s)
#
# Rows: (1) kernel baselines (one veth between two namespaces; a veth into a Linux bridge),
# (2) rbond 2-slave bonds against a Linux bridge and against a second rbond bond as the
# switch, (3) Open vSwitch's userspace datapath doing the same bonding on the host side,
# (4) aggregation over tbf-capped slaves, (5) failover with a 1 ms UDP probe (`rbond lab`),
# (6) ping round trips, (7) CPU cost, idle CPU and RSS. BENCHMARKS.md explains the figures.
#
# Everything it creates (namespaces named rbs<pid>-*, daemons, iperf3 servers, OVS
# instances, a temp dir) is removed on exit, also on failure and Ctrl-C. Low figures never
# make it fail; it fails only if it cannot build or measure at all.
set -euo pipefail
cd "$(dirname "$0")/.."

SMOKE=0
for a in "$@"; do
  case $a in
    --smoke) SMOKE=1 ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "bench-suite: unknown argument $a (only --smoke)" >&2; exit 2 ;;
  esac
done
if [ $SMOKE = 1 ]; then SECS=${SECS:-1}; PINGS=${PINGS:-100}; IDLE_SECS=${IDLE_SECS:-2}; LAB_SECS=2
else SECS=${SECS:-4}; PINGS=${PINGS:-1000}; IDLE_SECS=${IDLE_SECS:-10}; LAB_SECS=${LAB_SECS:-5}; fi

# ---------------------------------------------------------------- setup
bash scripts/setup.sh
need=()
command -v iperf3 >/dev/null || need+=(iperf3)
command -v ovs-vswitchd >/dev/null || need+=(openvswitch-switch)
command -v ethtool >/dev/null || need+=(ethtool)
if [ ${#need[@]} -gt 0 ]; then
  echo "bench-suite: installing ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
cargo build --release --quiet -p rbond
BIN=${CARGO_TARGET_DIR:-$PWD/target}/release/rbond
PY=python3

ID=rbs$$
WORK=$(mktemp -d /tmp/rbond-bench.XXXXXX)
RES=$WORK/results            # key<TAB>value lines, turned into the table at the end
: >"$RES"
PIDS=()                      # every process we started that outlives its command
OVS_DIRS=()
T=0                          # topology counter: namespaces of topology T are $ID-{h,s,p}$T

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  set +e
  for d in "${OVS_DIRS[@]}"; do ovs_stop "$d"; done
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
  sleep 0.3
  for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
  for n in $(ip netns list | awk '{print $1}' | grep "^$ID-"); do ip netns del "$n"; done
  rm -rf "$WORK" "/run/rbond/$ID"
  exit $rc
}
trap cleanup EXIT
trap 'echo "bench-suite: interrupted" >&2; exit 130' INT TERM

rec() { printf '%s\t%s\n' "$1" "$2" >>"$RES"; echo "  $1 = $2"; }
log() { echo "== $*"; }
nsx() { local n=$1; shift; ip netns exec "$n" "$@"; }

# ---------------------------------------------------------------- topology
# host H: slaves eth0..N-1 (or one eth0), switch S: br0 + swp0..N-1 + swpeer, peer P: eth0.
topo_new() {  # N [cap]: fresh namespaces and cables; sets H S P
  local n=$1 cap=${2:-}
  T=$((T + 1)); H=$ID-h$T; S=$ID-s$T; P=$ID-p$T
  for x in $H $S $P; do
    ip netns add "$x"; ip -n "$x" link set lo up
    # No IPv6 chatter (DAD, router solicitations) in the measurements.
    nsx "$x" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
  done
  for ((i = 0; i < n; i++)); do
    ip link add eth$i netns "$H" type veth peer name swp$i netns "$S"
    if [ -n "$cap" ]; then
      nsx "$H" tc qdisc add dev eth$i root tbf rate 1gbit burst 256kb latency 50ms
      nsx "$S" tc qdisc add dev swp$i root tbf rate 1gbit burst 256kb latency 50ms
    fi
  done
  ip link add swpeer netns "$S" type veth peer name eth0 netns "$P"
  ip -n "$P" addr add 198.18.0.2/24 dev eth0; ip -n "$P" link set eth0 up
  NSL=$n
}
topo_bridge() {  # the switch: a Linux bridge holding $@ and swpeer
  ip -n "$S" link add br0 type bridge forward_delay 0 stp_state 0
  for p in "$@" swpeer; do ip -n "$S" link set "$p" master br0; ip -n "$S" link set "$p" up; done
  ip -n "$S" link set br0 up
}
swports() { local i; for ((i = 0; i < NSL; i++)); do echo -n "swp$i "; done; }
hslaves() { local i; for ((i = 0; i < NSL; i++)); do echo -n "eth$i "; done; }
topo_del() {
  [ -s "$WORK/iperf$T.pid" ] && kill "$(cat "$WORK/iperf$T.pid")" 2>/dev/null
  local x; for x in $H $S $P $ID-b$T; do ip netns del "$x" 2>/dev/null || true; done
  B=
}
# The kernel path alongside: namespace B with a veth straight into the switch's br0
# (198.18.0.3). Rows measure it right before each rbond/OVS figure, so a ratio compares two
# figures taken seconds apart on the same bridge and peer: on a shared machine whose load moves
# during the run, that is fairer than dividing by the baseline taken minutes earlier.
pair_new() {
  B=$ID-b$T
  ip netns add "$B"; ip -n "$B" link set lo up; nsx "$B" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
  ip link add eth0 netns "$B" type veth peer name swbase netns "$S"
  ip -n "$S" link set swbase master br0; ip -n "$S" link set swbase up
  ip -n "$B" addr add 198.18.0.3/24 dev eth0; ip -n "$B" link set eth0 up
}

# An rbond daemon in namespace $1; prints its pid; $2 = role (socket and run dir name).
daemon_start() {
  local ns=$1 role=$2 sock=/run/rbond/$ID/$2.sock
  mkdir -p "/run/rbond/$ID"
  # `ip netns exec` execs the command, so $! is the daemon itself (not through a function:
  # that would fork a subshell).
  # shellcheck disable=SC2086
  ip netns exec "$ns" "$BIN" --socket "$sock" daemon --run-dir "/run/rbond/$ID/$role" ${DAEMON_ARGS:-} >"$WORK/$role.log" 2>&1 &
  local pid=$!
  PIDS+=("$pid")
  for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.05; done
  [ -S "$sock" ] || { echo "bench-suite: rbond daemon in $ns did not start:" >&2; cat "$WORK/$role.log" >&2; return 1; }
  DPID=$pid
}
daemon_stop() {  # pid: SIGTERM, wait (it restores its slaves)
  kill "$1" 2>/dev/null || true
  for _ in $(seq 50); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.05; done
  kill -9 "$1" 2>/dev/null || true
}
rb() { local role=$1; shift; "$BIN" --socket "/run/rbond/$ID/$role.sock" "$@"; }
mode_opts() {  # mode name -> rbond add options
  case $1 in
    balance-xor) echo "mode $1 xmit_hash_policy layer3+4 miimon 100" ;;
    # Fast LACPDUs (1 s), as the OVS partner uses, so an aggregator can form inside the 10 s.
    802.3ad) echo "mode 802.3ad xmit_hash_policy layer3+4 lacp_rate fast miimon 100" ;;
    *) echo "mode $1 miimon 100" ;;
  esac
}
host_bond() {  # mode: bond0 in H over eth*, 198.18.0.1; sets HPID
  daemon_start "$H" host$T
  HPID=$DPID
  # shellcheck disable=SC2046
  rb host$T add bond0 $(mode_opts "$1") >/dev/null
  # shellcheck disable=SC2046
  rb host$T enslave bond0 $(hslaves) >/dev/null
  ip -n "$H" addr add 198.18.0.1/24 dev bond0; ip -n "$H" link set bond0 up
}
host_direct() {  # the kernel path: eth0 itself carries 198.18.0.1
  ip -n "$H" addr add 198.18.0.1/24 dev eth0; ip -n "$H" link set eth0 up
  HPID=
}
switch_rbond() {  # mode: po0 over swp* (a port-channel) in the bridge; sets SPID
  daemon_start "$S" sw$T
  SPID=$DPID
  # shellcheck disable=SC2046
  rb sw$T add po0 $(mode_opts "$1") >/dev/null
  # shellcheck disable=SC2046
  rb sw$T enslave po0 $(swports) >/dev/null
  topo_bridge po0
}

# ---------------------------------------------------------------- Open vSwitch
# One instance per directory (the recipe of the lab notes), ovs-vswitchd inside the
# namespace that holds its ports, userspace TSO on before it starts.
ovs_start() {  # ns: sets OVSDIR and ovsctl
  local ns=$1 d=$WORK/ovs$T-$1
  mkdir -p "$d"; OVS_DIRS+=("$d"); OVSDIR=$d
  export OVS_RUNDIR=$d OVS_LOGDIR=$d OVS_DBDIR=$d OVS_SYSCONFDIR=$d OVS_PKGDATADIR=/usr/share/openvswitch
  ovsdb-tool create "$d/conf.db" /usr/share/openvswitch/vswitch.ovsschema
  ovsdb-server "$d/conf.db" --remote=punix:"$d/db.sock" --pidfile="$d/ovsdb-server.pid" --detach \
    --log-file="$d/ovsdb-server.log" --unixctl="$d/ovsdb-server.ctl" -vconsole:off 2>>"$d/console.log"
  ovs-vsctl --db=unix:"$d/db.sock" --no-wait init
  ovs-vsctl --db=unix:"$d/db.sock" --no-wait set Open_vSwitch . other_config:userspace-tso-enable=true
  nsx "$ns" ovs-vswitchd unix:"$d/db.sock" --pidfile="$d/ovs-vswitchd.pid" --detach --log-file="$d/ovs-vswitchd.log" -vconsole:off 2>>"$d/console.log"
  OVSPID=$(cat "$d/ovs-vswitchd.pid")
}
ovsv() { ovs-vsctl --timeout=20 --db=unix:"$1/db.sock" "${@:2}"; }
ovsa() { ovs-appctl -t "$1/ovs-vswitchd.$(cat "$1/ovs-vswitchd.pid").ctl" "${@:2}"; }
ovs_stop() {
  local d=$1 p
  [ -f "$d/ovs-vswitchd.pid" ] && { ovsa "$d" exit >/dev/null 2>&1 || true; }
  [ -f "$d/ovsdb-server.pid" ] && { ovs-appctl -t "$d/ovsdb-server.ctl" exit >/dev/null 2>&1 || true; }
  for p in "$d/ovs-vswitchd.pid" "$d/ovsdb-server.pid"; do
    [ -f "$p" ] && kill "$(cat "$p")" 2>/dev/null || true
  done
  rm -f "$d"/*.pid
}
# OVS doing the host's bonding: netdev bridge br0 (its internal port is a TAP carrying
# 198.18.0.1) with bond0 over the same veths rbond would use.
host_ovs() {  # bond_mode lacp
  ovs_start "$H"
  ovsv "$OVSDIR" add-br br0 -- set bridge br0 datapath_type=netdev
  # shellcheck disable=SC2046
  ovsv "$OVSDIR" add-bond br0 bond0 $(hslaves) bond_mode="$1" lacp="$2" other_config:lacp-time=fast
  for e in $(hslaves); do ip -n "$H" link set "$e" up; done
  ip -n "$H" addr add 198.18.0.1/24 dev br0; ip -n "$H" link set br0 up
  HPID=$OVSPID
}
# An OVS switch (the LACP partner when rbond's 802.3ad cannot be): po0 = bond of swp*.
switch_ovs() {  # bond_mode lacp
  ovs_start "$S"
  ovsv "$OVSDIR" add-br br0 -- set bridge br0 datapath_type=netdev
  # shellcheck disable=SC2046
  ovsv "$OVSDIR" add-bond br0 po0 $(swports) bond_mode="$1" lacp="$2" other_config:lacp-time=fast
  ovsv "$OVSDIR" add-port br0 swpeer
  for p in $(swports) swpeer; do ip -n "$S" link set "$p" up; done
  ip -n "$S" link set br0 up
  SPID=$OVSPID
}

# ---------------------------------------------------------------- measurements
all_distributing() {  # role, timeout s: 802.3ad, until every slave of bond0 distributes
  local role=$1 t=$2
  for _ in $(seq $((t * 10))); do
    rb "$role" status --json bond0 2>/dev/null | $PY -c '
import json, sys
s = json.load(sys.stdin)["slaves"]
sys.exit(0 if s and all(x["state"] == "active" and x["ad"]["actor"]["port_state"] & 0x20 for x in s) else 1)' && return 0
    sleep 0.1
  done
  return 1
}
reach() {  # wait up to $1 s until the peer answers
  local t=$(( $1 * 10 ))
  for _ in $(seq "$t"); do nsx "$H" ping -c 1 -W 0.2 198.18.0.2 >/dev/null 2>&1 && return 0; sleep 0.1; done
  return 1
}
iperf_server() {
  nsx "$P" iperf3 -s -D -I "$WORK/iperf$T.pid" >/dev/null 2>&1
  for _ in $(seq 50); do [ -s "$WORK/iperf$T.pid" ] && break; sleep 0.05; done
  PIDS+=("$(cat "$WORK/iperf$T.pid")")
  sleep 0.2
}
ticks() {  # utime+stime of pid $1 (0 if none)
  if [ -n "${1:-}" ] && [ -r "/proc/$1/stat" ]; then
    # Fields after the ")" of comm: utime and stime are the 12th and 13th.
    sed 's/.*) //' "/proc/$1/stat" | awk '{print $12 + $13}'
  else echo 0; fi
}
machine_busy() {  # busy ticks of the whole machine: user nice system irq softirq (not steal)
  awk '/^cpu /{print $2 + $3 + $4 + $7 + $8}' /proc/stat
}
HZ=$(getconf CLK_TCK)
# iperf3 from the host to the peer: key streams [-R]. Records key (Gbit/s), key.cpu (CPU
# seconds of the host's bonding process per GB moved), key.mcpu (whole machine, s/GB).
iperf() {
  local key=$1 streams=$2 dir=${3:-}
  local d0 m0 d1 m1 out cl=${CL:-$H} pid=$HPID
  [ -n "${CL:-}" ] && pid=
  d0=$(ticks "$pid"); m0=$(machine_busy)
  # shellcheck disable=SC2086
  if out=$(nsx "$cl" timeout $((SECS + 30)) iperf3 -c 198.18.0.2 -t "$SECS" -P "$streams" $dir -J 2>/dev/null); then :; fi
  d1=$(ticks "$pid"); m1=$(machine_busy)
  local r
  r=$(echo "$out" | $PY -c '
import json, sys
try:
    e = json.load(sys.stdin)["end"]["sum_received"]
    print("%.3f %d" % (e["bits_per_second"] / 1e9, e["bytes"]))
except Exception:
    print("ERR 0")')
  local gbps=${r% *} bytes=${r#* }
  if [ "$gbps" = ERR ] || [ "$bytes" = 0 ]; then rec "$key" ERR; return 0; fi
  rec "$key" "$gbps"
  if [ -n "$pid" ]; then rec "$key.cpu" "$($PY -c "print('%.3f' % (($d1-$d0)/$HZ/($bytes/1e9)))")"; fi
  rec "$key.mcpu" "$($PY -c "print('%.3f' % (($m1-$m0)/$HZ/($bytes/1e9)))")"
}
iperf4() {  # key [streams...]: tx and rx for each stream count (and the path alongside, with B)
  local key=$1; shift
  local s d r
  for s in "$@"; do
    for d in tx rx; do
      r=; [ $d = rx ] && r=-R
      # shellcheck disable=SC2086
      if [ -n "${B:-}" ]; then CL=$B iperf "pair.$key.$d$s" "$s" $r; fi
      # shellcheck disable=SC2086
      iperf "$key.$d$s" "$s" $r
    done
  done
}
pings() {  # key: p50/p99 round trip (µs) of $PINGS pings at 1 ms
  local out
  out=$(nsx "${CL:-$H}" ping -i 0.001 -c "$PINGS" -W 1 198.18.0.2 2>/dev/null || true)
  local r
  r=$(echo "$out" | $PY -c '
import re, sys
t = sorted(float(m) * 1000 for m in re.findall(r"time=([0-9.]+) ms", sys.stdin.read()))
if not t: print("ERR ERR 0"); sys.exit()
q = lambda p: t[min(len(t) - 1, int(round(p * (len(t) - 1))))]
print("%.0f %.0f %d" % (q(0.5), q(0.99), len(t)))')
  read -r p50 p99 n <<<"$r"
  rec "$1.p50" "$p50"; rec "$1.p99" "$p99"; rec "$1.n" "$n"
}

STREAMS="1 8"; [ $SMOKE = 1 ] && STREAMS=1
log "machine: $(nproc) vCPU, kernel $(uname -r), load average $(cut -d' ' -f1-3 /proc/loadavg)"
rec machine.load_start "$(cut -d' ' -f1 /proc/loadavg)"
rec cfg.secs "$SECS"

# ---------------------------------------------------------------- (1) baselines
log "baseline: one veth between two namespaces"
T=$((T + 1)); H=$ID-h$T; P=$ID-p$T; S=$ID-s$T
for x in $H $P; do ip netns add "$x"; ip -n "$x" link set lo up; nsx "$x" sysctl -qw net.ipv6.conf.all.disable_ipv6=1; done
ip link add eth0 netns "$H" type veth peer name eth0 netns "$P"
ip -n "$P" addr add 198.18.0.2/24 dev eth0; ip -n "$P" link set eth0 up
host_direct; reach 5; iperf_server
[ $SMOKE = 1 ] || iperf4 base.veth $STREAMS
topo_del

log "baseline: a veth into a Linux bridge"
topo_new 1; topo_bridge swp0; host_direct; reach 5; iperf_server
iperf4 base.br $STREAMS
pings lat.direct
topo_del

# ---------------------------------------------------------------- (2) rbond
AD=0
log "802.3ad: does an aggregator form within 10 s (bond0 and an 802.3ad po0 as the switch)?"
if [ $SMOKE = 1 ]; then
  rec note.ad "802.3ad not tried in --smoke"
else
  topo_new 2; switch_rbond 802.3ad; host_bond 802.3ad
  if reach 10; then AD=1; rec note.ad "802.3ad: aggregator formed"
  else rec note.ad "802.3ad skipped: no traffic through an 802.3ad pair within 10 s (LACP not wired in the daemon)"; fi
  daemon_stop "$HPID"; daemon_stop "$SPID"; topo_del
fi
MODES="active-backup balance-rr balance-xor"; [ $AD = 1 ] && MODES="$MODES 802.3ad"
[ $SMOKE = 1 ] && MODES=active-backup
short() { case $1 in active-backup) echo ab ;; balance-rr) echo rr ;; balance-xor) echo xor ;; 802.3ad) echo ad ;; esac; }
for m in $MODES; do
  sws="bridge rbond"; [ $m = 802.3ad ] && sws=rbond; [ $SMOKE = 1 ] && sws=bridge
  for sw in $sws; do
    log "rbond $m, switch: $sw"
    topo_new 2
    if [ $sw = bridge ]; then topo_bridge $(swports); else switch_rbond $m; fi
    pair_new
    host_bond $m
    if ! reach 10; then rec "bond.$(short $m).$sw.tx1" ERR; daemon_stop "$HPID"; [ $sw = rbond ] && daemon_stop "$SPID"; topo_del; continue; fi
    # One distributing port is enough to answer a ping; measure the whole aggregate.
    [ $m = 802.3ad ] && { all_distributing host$T 10 || rec "note.ad_partial_$sw" "802.3ad: not every port distributing after 10 s"; }
    iperf_server
    iperf4 "bond.$(short $m).$sw" $STREAMS
    if [ $m = active-backup ] && [ $sw = bridge ]; then CL=$B pings lat.pair; pings lat.bond; fi
    daemon_stop "$HPID"; [ $sw = rbond ] && daemon_stop "$SPID"
    topo_del
  done
done
if [ $SMOKE = 0 ]; then
  # The same bond on the event loop alone (the daemon of before issue 17's workers), and the
  # default workers without the busy poll: what each part of the rework gives, same run.
  log "rbond active-backup, switch: bridge, --workers 1"
  topo_new 2; topo_bridge $(swports); pair_new
  DAEMON_ARGS="--workers 1" host_bond active-backup
  if reach 10; then iperf_server; iperf4 bond.ab1.bridge $STREAMS; CL=$B pings lat.pair1; pings lat.bond1; else rec bond.ab1.bridge.tx1 ERR; fi
  daemon_stop "$HPID"; topo_del
  log "rbond active-backup, switch: bridge, --busy-poll 0 (round trips only)"
  topo_new 2; topo_bridge $(swports); pair_new
  DAEMON_ARGS="--busy-poll 0" host_bond active-backup
  if reach 10; then CL=$B pings lat.pair0; pings lat.bond0; else rec lat.bond0.p50 ERR; fi
  daemon_stop "$HPID"; topo_del
fi

# ---------------------------------------------------------------- (3) Open vSwitch
log "OVS netdev active-backup on the host, switch: bridge"
topo_new 2; topo_bridge $(swports); pair_new; host_ovs active-backup off
if reach 15; then iperf_server; iperf4 ovs.ab.bridge $STREAMS; else rec ovs.ab.bridge.tx1 ERR; fi
ovs_stop "$OVSDIR"; topo_del
if [ $SMOKE = 0 ]; then
  if [ $AD = 1 ]; then
    log "OVS netdev balance-tcp + LACP on the host, switch: rbond 802.3ad po0"
    topo_new 2; switch_rbond 802.3ad; host_ovs balance-tcp active; OVSH=$OVSDIR
    rec note.ovs_tcp "OVS balance-tcp partner: rbond 802.3ad po0 (compare with rbond 802.3ad vs rbond)"
  else
    log "OVS netdev balance-tcp + LACP on the host, switch: an OVS balance-tcp LACP bond (rbond has no LACP yet)"
    topo_new 2; switch_ovs balance-tcp active; OVSS=$OVSDIR; host_ovs balance-tcp active; OVSH=$OVSDIR
    rec note.ovs_tcp "OVS balance-tcp partner: a second OVS (balance-tcp, LACP) as the switch, since rbond 802.3ad cannot form; compared with rbond balance-xor layer3+4 vs an rbond switch"
  fi
  if reach 20; then
    ovsa "$OVSH" bond/show bond0 >"$WORK/ovs-bond.txt" 2>&1 || true
    grep -q "lacp_status: negotiated" "$WORK/ovs-bond.txt" && rec note.ovs_lacp "OVS LACP: negotiated" || rec note.ovs_lacp "OVS LACP: $(grep lacp_status "$WORK/ovs-bond.txt" || echo unknown)"
    iperf_server; iperf4 ovs.tcp $STREAMS
  else rec ovs.tcp.tx1 ERR; fi
  ovs_stop "$OVSH"; [ $AD = 1 ] && daemon_stop "$SPID" || ovs_stop "$OVSS"
  topo_del
fi

# ---------------------------------------------------------------- (4) aggregation
log "aggregation: one capped veth into the bridge (the reference)"
topo_new 1 cap; topo_bridge swp0; host_direct; reach 5; iperf_server
iperf agg.ref 8
topo_del
AGG_MODES="balance-rr balance-xor"; [ $AD = 1 ] && AGG_MODES="$AGG_MODES 802.3ad"
AGG_N="2 4"; [ $SMOKE = 1 ] && { AGG_MODES=balance-xor; AGG_N=2; }
for m in $AGG_MODES; do
  for n in $AGG_N; do
    log "aggregation: $m, $n slaves capped at 1 Gbit/s, 8 flows, switch: rbond $m"
    topo_new "$n" cap; switch_rbond $m; host_bond $m
    if reach 10; then
      [ $m = 802.3ad ] && { all_distributing host$T 10 || rec "note.ad_partial_agg$n" "802.3ad: not every port distributing after 10 s ($n slaves)"; }
      iperf_server; iperf "agg.$(short $m).$n" 8
    else rec "agg.$(short $m).$n" ERR; fi
    daemon_stop "$HPID"; daemon_stop "$SPID"; topo_del
  done
done

# ---------------------------------------------------------------- (5) failover
# `rbond lab` pulls each cable in turn at the switch end (the host end loses carrier) while a
# 1 ms UDP echo probe runs; both pulls take the active slave in active-backup.
fo_runs="active-backup:ev balance-xor:ev active-backup:poll"; [ $SMOKE = 1 ] && fo_runs=active-backup:ev
for run in $fo_runs; do
  m=${run%%:*}; how=${run##*:}
  flag=; key="fo.$(short $m)"
  [ $how = poll ] && { flag=--no-link-events; key="fo.$(short $m).poll"; }
  log "failover: rbond lab --mode $m --duration $LAB_SECS $flag (miimon 100)"
  # shellcheck disable=SC2086
  "$BIN" lab --mode $m --slaves 2 --miimon 100 --duration "$LAB_SECS" $flag >"$WORK/lab-$m-$how.txt" 2>&1 &
  LPID=$!; PIDS+=("$LPID")
  if wait "$LPID"; then
    r=$($PY -c '
import sys
lost = gap = clean = None
report = False
for l in open(sys.argv[1]):
    c = l.split()
    report = report or l.startswith("==== report")
    if report and len(c) >= 9 and c[1] == "pulled":
        lost = max(lost or 0, int(c[5])); gap = max(gap or 0.0, float(c[8]))
    if report and len(c) >= 10 and c[:3] == ["all", "cables", "in"]:
        clean = float(c[9])
print("ERR ERR ERR" if lost is None or clean is None else "%d %.1f %.1f" % (lost, gap, clean))' "$WORK/lab-$m-$how.txt")
    read -r lost gap clean <<<"$r"
    rec "$key.lost" "$lost"; rec "$key.gap" "$gap"; rec "$key.gap_clean" "$clean"
  else
    echo "bench-suite: rbond lab failed:" >&2; tail -5 "$WORK/lab-$m-$how.txt" >&2
    rec "$key.lost" ERR
  fi
done
rec note.fo "failover: with netlink carrier events (the default), and with --no-link-events (the miimon 100 poll alone, as the kernel)"

# ---------------------------------------------------------------- (7) cost at rest
log "idle: 1 bond x 4 slaves, ${IDLE_SECS} s"
topo_new 4; topo_bridge $(swports); host_bond active-backup; reach 10 || true
sleep 1
d0=$(ticks "$HPID"); m0=$(machine_busy); t0=$(date +%s.%N)
sleep "$IDLE_SECS"
d1=$(ticks "$HPID"); m1=$(machine_busy); t1=$(date +%s.%N)
rec idle.cpu_pct "$($PY -c "print('%.3f' % (100*($d1-$d0)/$HZ/($t1-$t0)))")"
rec idle.machine_cpus "$($PY -c "print('%.2f' % (($m1-$m0)/$HZ/($t1-$t0)))")"
rec idle.rss_kib "$(awk '/^VmRSS/{print $2}' "/proc/$HPID/status")"
# The same without the MII monitor's 10 polls a second: what the event loop alone costs.
rb host$T set bond0 miimon 0 >/dev/null 2>&1 || true
sleep 0.5
d0=$(ticks "$HPID"); t0=$(date +%s.%N)
sleep "$IDLE_SECS"
d1=$(ticks "$HPID"); t1=$(date +%s.%N)
rec idle.cpu_pct_nomii "$($PY -c "print('%.3f' % (100*($d1-$d0)/$HZ/($t1-$t0)))")"
daemon_stop "$HPID"; topo_del

rec machine.load_end "$(cut -d' ' -f1 /proc/loadavg)"

# ---------------------------------------------------------------- the table
$PY - "$RES" "$SMOKE" "$(nproc)" "$(uname -r)" <<'EOF'
import sys
res, smoke, ncpu, kernel = sys.argv[1], sys.argv[2] == "1", sys.argv[3], sys.argv[4]
v = {}
for line in open(res):
    k, _, x = line.rstrip("\n").partition("\t")
    v[k] = x
def num(k):
    try: return float(v[k])
    except (KeyError, ValueError): return None
rows = []   # (group, what, figure, unit, ratio text, target text, verdict)
def verdict(r, target, higher=True):
    if r is None or target is None: return ""
    ok = r >= target if higher else r <= target
    return "met" if ok else "MISSED"
def thr(group, label, k, base=None, target=None, basename="veth+bridge"):
    f = num(k)
    if k not in v: return
    if f is None:
        rows.append((group, label, "error", "", "", "", "")); return
    r = f / num(base) if base and num(base) else None
    rt = "%.2f x %s" % (r, basename) if r is not None else ""
    if num("pair." + k):
        # The kernel path measured right before, on the same bridge: the ratio that counts.
        r = f / num("pair." + k)
        rt = "%.2f x %.2f alongside" % (r, num("pair." + k))
    tg = (">= %.2g" % target) if target is not None and r is not None else ""
    cpu = ""
    if num(k + ".cpu") is not None: cpu = "%.2f" % num(k + ".cpu")
    rows.append((group, label, "%.2f" % f, "Gbit/s", rt, tg, verdict(r, target), cpu, "%.2f" % num(k + ".mcpu") if num(k + ".mcpu") is not None else ""))
dirs = [("tx1", "transmit, 1 stream"), ("rx1", "receive, 1 stream"), ("tx8", "transmit, 8 streams"), ("rx8", "receive, 8 streams")]
for d, dn in dirs:
    thr("1 baseline", "veth between namespaces, " + dn, "base.veth." + d)
for d, dn in dirs:
    thr("1 baseline", "veth into Linux bridge, " + dn, "base.br." + d)
names = {"ab": "active-backup", "ab1": "active-backup --workers 1", "rr": "balance-rr", "xor": "balance-xor l3+4", "ad": "802.3ad l3+4"}
for m in ["ab", "ab1", "rr", "xor", "ad"]:
    for sw, swn in [("bridge", "Linux bridge"), ("rbond", "rbond bond")]:
        for d, dn in dirs:
            tgt = 0.9 if d.endswith("1") else 0.8
            thr("2 rbond", "%s vs %s, %s" % (names[m], swn, dn), "bond.%s.%s.%s" % (m, sw, d), "base.br." + d, tgt)
for d, dn in dirs:
    thr("3 OVS netdev", "OVS active-backup vs Linux bridge, " + dn, "ovs.ab.bridge." + d, "base.br." + d)
    k = "bond.ab.bridge." + d
    o = "ovs.ab.bridge." + d
    if num(k) is not None and num(o):
        r = num(k) / num(o)
        rt = "%.2f x OVS" % r
        if num("pair." + k) and num("pair." + o):
            # Each against the kernel path measured alongside it, then compared.
            r = (num(k) / num("pair." + k)) / (num(o) / num("pair." + o))
            rt = "%.2f x OVS (raw %.2f)" % (r, num(k) / num(o))
        rows.append(("3 OVS netdev", "rbond / OVS, active-backup, " + dn, "", "", rt, ">= 1.5", verdict(r, 1.5)))
for d, dn in dirs:
    thr("3 OVS netdev", "OVS balance-tcp + LACP, " + dn, "ovs.tcp." + d, "base.br." + d)
    ours = "bond.ad.rbond." + d if num("bond.ad.rbond." + d) else "bond.xor.rbond." + d
    if num(ours) is not None and num("ovs.tcp." + d):
        r = num(ours) / num("ovs.tcp." + d)
        what = "802.3ad" if ours.startswith("bond.ad") else "balance-xor l3+4"
        rows.append(("3 OVS netdev", "rbond %s / OVS balance-tcp, %s" % (what, dn), "", "", "%.2f x OVS" % r, ">= 1.5", verdict(r, 1.5)))
if "agg.ref" in v:
    f = num("agg.ref")
    rows.append(("4 aggregation", "one veth capped at 1 Gbit/s (reference), 8 flows", "%.2f" % f if f is not None else "error", "Gbit/s", "", "", ""))
for m in ["rr", "xor", "ad"]:
    for n in ["2", "4"]:
        k = "agg.%s.%s" % (m, n)
        if k not in v: continue
        f = num(k)
        if f is None:
            rows.append(("4 aggregation", "%s, %s slaves x 1 Gbit/s, 8 flows" % (names[m], n), "error", "", "", "", "")); continue
        r = f / int(n)
        # tbf's own goodput is ~0.95 of its rate: the capped single veth says what N slaves can give.
        ref = " (%.2f of N x reference)" % (f / int(n) / num("agg.ref")) if num("agg.ref") else ""
        rows.append(("4 aggregation", "%s, %s slaves x 1 Gbit/s, 8 flows" % (names[m], n), "%.2f" % f, "Gbit/s", "%.2f of N x cap%s" % (r, ref), ">= 0.95", verdict(r, 0.95)))
for m in ["ab", "xor"]:
    if "fo.%s.lost" % m not in v: continue
    lost, gap = num("fo.%s.lost" % m), num("fo.%s.gap" % m)
    if lost is None:
        rows.append(("5 failover", names[m] + ": cable pulled", "error", "", "", "", "")); continue
    rows.append(("5 failover", names[m] + ": active cable pulled (netlink carrier), lost probes", "%d" % lost, "of 1 ms probes", "", "= 0", verdict(lost, 0, False)))
    rows.append(("5 failover", names[m] + ": active cable pulled, longest gap", "%.1f" % gap, "ms", "", "<= 2", verdict(gap, 2, False)))
    if num("fo.%s.gap_clean" % m) is not None:
        rows.append(("5 failover", names[m] + ": longest gap before any pull (the machine's own noise)", "%.1f" % num("fo.%s.gap_clean" % m), "ms", "", "", ""))
    if num("fo.%s.poll.lost" % m) is not None:
        rows.append(("5 failover", names[m] + ": same with --no-link-events (miimon 100 poll), lost probes", "%d" % num("fo.%s.poll.lost" % m), "of 1 ms probes", "", "", ""))
        rows.append(("5 failover", names[m] + ": same with --no-link-events, longest gap", "%.1f" % num("fo.%s.poll.gap" % m), "ms", "", "", ""))
if num("lat.direct.p50") is not None:
    for p, t in [("p50", 20), ("p99", 100)]:
        rows.append(("6 latency", "round trip %s, veth into bridge (direct)" % p, "%.0f" % num("lat.direct." + p), "us", "", "", ""))
        b = num("lat.bond." + p)
        if num("lat.pair." + p) is not None:
            rows.append(("6 latency", "round trip %s, veth into bridge, alongside the bond" % p, "%.0f" % num("lat.pair." + p), "us", "", "", ""))
        if b is not None:
            base = num("lat.pair." + p) if num("lat.pair." + p) is not None else num("lat.direct." + p)
            add = b - base
            rows.append(("6 latency", "round trip %s, through bond0 (active-backup)" % p, "%.0f" % b, "us", "+%.0f us added" % add, "added <= %d" % t, verdict(add, t, False)))
        for sfx, what in [("1", "--workers 1"), ("0", "--busy-poll 0")]:
            b, base = num("lat.bond%s.%s" % (sfx, p)), num("lat.pair%s.%s" % (sfx, p))
            if b is not None and base is not None:
                rows.append(("6 latency", "round trip %s, through bond0, %s" % (p, what), "%.0f" % b, "us", "+%.0f us added (alongside: %.0f)" % (b - base, base), "", ""))
for d, dn in dirs[:2]:
    k = "bond.ab.bridge." + d
    if num(k + ".cpu") is not None:
        rows.append(("7 cost", "daemon CPU per GB, active-backup, " + dn, "%.2f" % num(k + ".cpu"), "CPU s/GB", "", "", ""))
        rows.append(("7 cost", "whole machine CPU per GB, same run", "%.2f" % num(k + ".mcpu"), "CPU s/GB", "%.2f x kernel path" % (num(k + ".mcpu") / num("base.br.%s.mcpu" % d)) if num("base.br.%s.mcpu" % d) else "", "", ""))
    if num("ovs.ab.bridge.%s.cpu" % d) is not None:
        rows.append(("7 cost", "ovs-vswitchd CPU per GB, active-backup, " + dn, "%.2f" % num("ovs.ab.bridge.%s.cpu" % d), "CPU s/GB", "", "", ""))
if num("idle.cpu_pct") is not None:
    rows.append(("7 cost", "daemon idle CPU, 1 bond x 4 slaves, miimon 100", "%.3f" % num("idle.cpu_pct"), "% of a CPU", "", "~ 0", verdict(num("idle.cpu_pct"), 0.1, False)))
    if num("idle.cpu_pct_nomii") is not None:
        rows.append(("7 cost", "daemon idle CPU, same bond with miimon 0 (events only)", "%.3f" % num("idle.cpu_pct_nomii"), "% of a CPU", "", "", ""))
    rows.append(("7 cost", "daemon RSS (VmRSS), 1 bond x 4 slaves", "%.1f" % (num("idle.rss_kib") / 1024), "MiB", "", "<= 16", verdict(num("idle.rss_kib") / 1024, 16, False)))
    rows.append(("7 cost", "whole machine busy meanwhile (other work)", "%.2f" % num("idle.machine_cpus"), "CPUs", "", "", ""))
print()
print("rbond benchmark suite%s: %s vCPU, kernel %s, %s s per iperf3 run, load average %s at start, %s at end"
      % (" (--smoke)" if smoke else "", ncpu, kernel, v.get("cfg.secs"), v.get("machine.load_start"), v.get("machine.load_end")))
hdr = ("", "row", "figure", "unit", "ratio", "target", "verdict", "bonder CPU s/GB", "machine CPU s/GB")
rows = [r + ("",) * (9 - len(r)) for r in rows]
w = [max(len(str(r[i])) for r in rows + [hdr]) for i in range(9)]
fmt = lambda r: "| " + " | ".join(str(c).ljust(w[i]) if i in (0, 1, 3, 4, 5, 6) else str(c).rjust(w[i]) for i, c in enumerate(r)) + " |"
print(fmt(hdr))
print("|" + "|".join("-" * (x + 2) for x in w) + "|")
for r in rows: print(fmt(r))
print()
for k in sorted(v):
    if k.startswith("note."): print("note:", v[k])
errs = [k for k in v if v[k] == "ERR"]
if errs:
    print("bench-suite: no figure for", ", ".join(sorted(errs)), file=sys.stderr)
    sys.exit(3)
EOF
