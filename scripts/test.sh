#!/usr/bin/env bash
# Runs every test of rbond on a fresh machine: set up, then `cargo test` for the whole
# workspace. The namespace tests need root and run in the normal test run.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo test --workspace --release "$@"
