#!/usr/bin/env bash
# Fuzzes every target for SECONDS_EACH seconds each (default 20) from the committed seeds,
# with cargo-fuzz and the nightly toolchain (coverage-guided libFuzzer, AddressSanitizer).
#   fuzz/run.sh            # CI: a short run of each target
#   SECONDS_EACH=600 fuzz/run.sh capture
#   RUNS=10500000 SANITIZER=none fuzz/run.sh   # the long runs: executions, not seconds
# The working corpus grows under fuzz/corpus/ (not committed); a crash is saved under
# fuzz/artifacts/ and fails the run, and so does a target that does not build or a
# fuzzer that stops on its own (an out-of-memory, a timeout). Without a nightly toolchain
# it says so and exits 0.
set -euo pipefail
cd "$(dirname "$0")"
EACH=${SECONDS_EACH:-20}
# AddressSanitizer by default; `none` runs ten to thirty times faster (wirenote forbids
# `unsafe`, so what ASan would add is the dependencies' unsafe code; panics, overflow
# checks and debug assertions, timeouts and out-of-memory stops are caught either way).
SANITIZER=${SANITIZER:-address}
limit=(-max_total_time="$EACH")
[ -z "${RUNS:-}" ] || limit=(-runs="$RUNS")
if ! cargo +nightly --version >/dev/null 2>&1; then
  echo "fuzz: no nightly toolchain here; fuzzing skipped"
  exit 0
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
  cargo install cargo-fuzz --locked -q
fi
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(capture http pipeline)
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for target in "${targets[@]}"; do
  mkdir -p "corpus/$target"
  status=0
  cargo +nightly fuzz run -s "$SANITIZER" "$target" "corpus/$target" "seeds/$target" -- \
    "${limit[@]}" -rss_limit_mb=2048 -print_final_stats=1 > "$log" 2>&1 || status=$?
  grep -E "^(#[0-9]+[[:space:]]+DONE|stat::number_of_executed_units|stat::peak_rss_mb|==|SUMMARY|Done)" "$log" || true
  if [ -n "$(ls -A "artifacts/$target" 2>/dev/null)" ]; then
    tail -n 40 "$log"
    echo "fuzz: $target found a crash: $(ls "artifacts/$target")"
    exit 1
  fi
  if [ "$status" -ne 0 ]; then
    tail -n 40 "$log"
    echo "fuzz: $target failed (exit $status) without saving a crash; see above"
    exit 1
  fi
  echo "fuzz: $target ran ${RUNS:-${EACH}s} without a crash"
done
