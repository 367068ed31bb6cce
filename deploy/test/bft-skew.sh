#!/usr/bin/env bash
# Finality with one validator's clock off (BENCHMARKS.md, "BFT with a
# validator's clock off"): a fresh four-validator `poa` testnet on
# 127.0.0.1 at a 250 ms block interval, validator 3 started under
# `faketime` with SKEW (e.g. -30s, +110m; `none` for no skew); after the
# first blocks, the finalized blocks a second over SECONDS and how many
# heights took more than round 0, as validator 0 logged them. Needs
# faketime (Debian's `faketime`).
#
#   deploy/test/bft-skew.sh SKEW [SECONDS] [BASE_PORT]
#   deploy/test/bft-skew.sh -30s 40
#
# Environment:
#   LUMINEX_BIN  the binary (default target/release/luminex, or
#                $CARGO_TARGET_DIR/release/luminex when that is set)
#   BLOCK_INTERVAL_MS  the spec's block interval (default 250)
set -euo pipefail
cd "$(dirname "$0")/../.."
bin="${LUMINEX_BIN:-${CARGO_TARGET_DIR:-target}/release/luminex}"
skew="${1:?SKEW, e.g. -30s, +110m or none}"
seconds="${2:-40}"
port="${3:-9400}"
interval="${BLOCK_INTERVAL_MS:-250}"
[ -x "$bin" ] || { echo "no $bin: cargo build --release --bin luminex" >&2; exit 1; }
command -v faketime >/dev/null || { echo "faketime is not installed" >&2; exit 1; }

dir="$(mktemp -d /tmp/luminex-bft-skew.XXXXXX)"
stop() {
  # faketime may run the node as its child: stop by the data directory.
  pkill -f "$dir/net/node" 2>/dev/null || true
  for _ in $(seq 1 50); do pgrep -f "$dir/net/node" >/dev/null || break; sleep 0.2; done
  pkill -9 -f "$dir/net/node" 2>/dev/null || true
  rm -rf "$dir"
}
trap stop EXIT

"$bin" chain --chain poa testnet --validators 4 --out "$dir/net" --base-port "$port" >/dev/null
sed -i "s/^block_interval_ms = .*/block_interval_ms = $interval/" "$dir/net/spec.toml"
for i in 0 1 2; do
  "$bin" node --data-dir "$dir/net/node$i" >"$dir/node$i.log" 2>&1 &
done
if [ "$skew" = none ]; then
  "$bin" node --data-dir "$dir/net/node3" >"$dir/node3.log" 2>&1 &
else
  faketime -f "$skew" "$bin" node --data-dir "$dir/net/node3" >"$dir/node3.log" 2>&1 &
fi

finalized() {
  curl -fsS "http://127.0.0.1:$port/health/node-status" 2>/dev/null |
    sed -n 's/.*"finalized_height":\([0-9]*\).*/\1/p' || true
}
for _ in $(seq 1 120); do
  h="$(finalized)"
  [ "${h:-0}" -ge 5 ] && break
  sleep 1
done
[ "${h:-0}" -ge 5 ] || { echo "the validators did not finalize 5 blocks in 120 s" >&2; exit 1; }
sleep 5
h0="$(finalized)"
sleep "$seconds"
h1="$(finalized)"
late="$(sed 's/\x1b\[[0-9;]*m//g' "$dir/node0.log" | grep ' finalized ' | awk -v a="$h0" -v b="$h1" '{
  for (i = 1; i <= NF; i++) {
    if ($i ~ /^height=/) { split($i, x, "="); h = x[2] }
    if ($i ~ /^round=/) { split($i, y, "="); r = y[2] }
  }
  if (h > a && h <= b && r > 0) n++
} END { print n + 0 }')"
awk -v n="$((h1 - h0))" -v s="$seconds" -v k="$skew" -v l="$late" 'BEGIN {
  printf "skew %s: %d blocks in %d s (%.2f a second); heights past round 0: %d\n", k, n, s, n / s, l
}'
