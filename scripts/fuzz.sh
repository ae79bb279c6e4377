#!/usr/bin/env bash
# Fuzzing with cargo-fuzz (libFuzzer + AddressSanitizer) on the stable toolchain.
#
#   bash scripts/fuzz.sh              # every target: replay its seed corpus, then fuzz 20 s
#   FUZZ_SECS=300 bash scripts/fuzz.sh frames ctl_request
#
# cargo-fuzz passes nightly-only flags (-Zsanitizer=address, -Cpasses=sancov-module ...).
# RUSTC_BOOTSTRAP=1 lets the stable compiler accept them; the stable toolchain ships the
# AddressSanitizer runtime (librustc-stable_rt.asan.a), so no nightly download is needed.
# New inputs go to a scratch corpus under the target dir: the committed seed corpus under
# fuzz/corpus/<target>/ only changes when someone adds to it on purpose. A crash stops the
# script with libFuzzer's report and the crashing input under fuzz/artifacts/<target>/.
set -euo pipefail
cd "$(dirname "$0")/.."
SECS="${FUZZ_SECS:-20}"
export RUSTC_BOOTSTRAP=1
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}/fuzz"

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "== installing cargo-fuzz (crates.io)"
  cargo install cargo-fuzz --locked
fi
if ! command -v c++ >/dev/null 2>&1; then
  # libfuzzer-sys compiles libFuzzer (C++) from source.
  echo "== installing a C++ compiler"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq g++ >/dev/null
fi

ALL=$(cargo fuzz list)
TARGETS=("$@")
[ ${#TARGETS[@]} -eq 0 ] && read -r -a TARGETS <<<"$(echo $ALL)"

echo "== building ${TARGETS[*]} (release, AddressSanitizer)"
for t in "${TARGETS[@]}"; do cargo fuzz build -O "$t"; done
BIN_DIR="$CARGO_TARGET_DIR/x86_64-unknown-linux-gnu/release"

summary=()
for t in "${TARGETS[@]}"; do
  seeds="fuzz/corpus/$t"
  scratch="$CARGO_TARGET_DIR/corpus-$t"
  mkdir -p "$scratch" "fuzz/artifacts/$t"
  n_seeds=$(find "$seeds" -type f | wc -l)
  echo "== $t: replaying $n_seeds seed inputs"
  "$BIN_DIR/$t" -runs=0 "$seeds" 2>&1 | grep -E "^(#|INFO: seed|Done)|ERROR|panicked" || true
  echo "== $t: fuzzing for $SECS s"
  log="$CARGO_TARGET_DIR/fuzz-$t.log"
  if ! "$BIN_DIR/$t" -max_total_time="$SECS" -rss_limit_mb=2048 -artifact_prefix="fuzz/artifacts/$t/" \
      "$scratch" "$seeds" >"$log" 2>&1; then
    tail -40 "$log"
    echo "FAIL: $t crashed; input saved under fuzz/artifacts/$t/"
    exit 1
  fi
  runs=$(grep -oE "Done [0-9]+ runs" "$log" | grep -oE "[0-9]+" | tail -1)
  cov=$(grep -oE "cov: [0-9]+" "$log" | tail -1 | grep -oE "[0-9]+")
  corpus=$(find "$scratch" -type f | wc -l)
  summary+=("$(printf '%-13s %10s inputs in %ss  cov %6s  corpus %5s  crashes 0' "$t" "$runs" "$SECS" "$cov" "$corpus")")
done
echo
echo "== summary (libFuzzer + AddressSanitizer, $SECS s per target)"
printf '%s\n' "${summary[@]}"
