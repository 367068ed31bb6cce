#!/usr/bin/env bash
# Builds every fuzz target and runs each for a few seconds from the seed
# corpus (ADR 0026). Usage: fuzz/smoke.sh [seconds per target, default 10].
# The build goes to "$CARGO_TARGET_DIR/fuzz" when CARGO_TARGET_DIR is set.
set -euo pipefail
cd "$(dirname "$0")"
secs="${1:-10}"
if ! command -v cargo-fuzz >/dev/null 2>&1; then
  cargo install cargo-fuzz --locked
fi
target_dir="${CARGO_TARGET_DIR:-$PWD/target}/fuzz"
cargo fuzz build --sanitizer none --target-dir "$target_dir"
for t in $(cargo fuzz list); do
  # A scratch copy of the seeds: what libFuzzer adds is not committed.
  work="$(mktemp -d)"
  cp -r "corpus/$t/." "$work/" 2>/dev/null || true
  echo "fuzz: $t (${secs}s)"
  cargo fuzz run --sanitizer none --target-dir "$target_dir" "$t" "$work" -- \
    -max_total_time="$secs" -rss_limit_mb=2048 -print_final_stats=1 2>&1 \
    | grep -E "^(stat::number_of_executed_units|stat::peak_rss_mb|Done|==|ERROR|SUMMARY|thread)" || true
  rm -rf "$work"
  # A crash makes cargo fuzz exit non-zero and leaves artifacts/<target>/.
  if compgen -G "artifacts/$t/*" >/dev/null; then
    echo "fuzz: $t found a crash: fuzz/artifacts/$t/" >&2
    exit 1
  fi
done
