#!/usr/bin/env bash
# rbond's main job on a fresh machine: set up, build, and run the lab in network namespaces.
# Any arguments go to `rbond lab` (e.g. --mode balance-rr --slaves 3 --duration 20).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo build --release --quiet -p rbond
exec ./target/release/rbond lab "$@"
