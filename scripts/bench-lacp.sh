#!/usr/bin/env bash
# LACP timings of rbond from a real run (BENCHMARKS.md): rbond <-> rbond over veth cables in
# fresh namespaces. Prints the time from link-up to distributing (lacp_rate fast and slow),
# the detection time of a silent partner (its LACPDUs dropped by an nftables egress rule,
# carrier up) and what a 1 ms probe loses when the cable carrying it is pulled, with the
# load average. Everything is removed on exit (the lab's guards).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo build --release --quiet -p rbond
BIN=${CARGO_TARGET_DIR:-$PWD/target}/release/rbond
date -u +"run at %Y-%m-%d %H:%M UTC"
"$BIN" lab --mode 802.3ad --bench
