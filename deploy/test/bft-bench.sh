#!/usr/bin/env bash
# The loopback BFT load benchmark of BENCHMARKS.md ("BFT network under
# load"): four release validators of a fresh testnet (`poa` unless CHAIN
# names another BFT preset, e.g. `nextgen`) on 127.0.0.1,
# `luminex bench` against all four, then the validators are stopped.
#
#   deploy/test/bft-bench.sh [LUMINEX BENCH OPTIONS...]
#   deploy/test/bft-bench.sh --txs 20000 --concurrency 64 --rate 3000
#   CATCHUP=1 deploy/test/bft-bench.sh --txs 20000 --rate 2000
#
# Environment:
#   CHAIN              the preset the testnet is made from (default poa)
#   LUMINEX_BIN        the binary (default target/release/luminex, or
#                      $CARGO_TARGET_DIR/release/luminex when that is set)
#   BLOCK_INTERVAL_MS  the spec's block interval: the pause after a commit
#                      before the next height starts (default 200; the
#                      preset's is 1000)
#   MAX_BLOCK_BYTES    the spec's block size limit (default: the preset's, 32 MiB)
#   TIMEOUT_PROPOSE_MS, TIMEOUT_VOTE_MS
#                      round-0 propose and prevote/precommit timeouts
#                      (default: the preset's, 3000 and 1000)
#   BASE_PORT          node i listens on BASE_PORT+10i (REST), +1, +2 (default 9300)
#   KEEP=1             keep the testnet directory and the validators' logs
#   WARMUP=1           run the same load once, unmeasured, before the
#                      measured run, so the validators have touched their
#                      memory once (a fresh process pays a page fault per
#                      page of its peak memory; BENCHMARKS.md, "first
#                      touches")
#
# The testnet's spec keeps the preset's genesis allocations, so the
# development keys hold its coins and `luminex bench` funds its load from
# dev key 3 as on `dev`; it is given the spec with --chain.
set -euo pipefail
cd "$(dirname "$0")/../.."
bin="${LUMINEX_BIN:-${CARGO_TARGET_DIR:-target}/release/luminex}"
interval="${BLOCK_INTERVAL_MS:-200}"
port="${BASE_PORT:-9300}"
[ -x "$bin" ] || { echo "no $bin: cargo build --release --bin luminex" >&2; exit 1; }

dir="$(mktemp -d /tmp/luminex-bft-bench.XXXXXX)"
pids=()
stop() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  if [ "${KEEP:-0}" = 1 ]; then echo "kept $dir" >&2; else rm -rf "$dir"; fi
}
trap stop EXIT

"$bin" chain --chain "${CHAIN:-poa}" testnet --validators 4 --out "$dir/net" --base-port "$port" >/dev/null
spec="$dir/net/spec.toml"
sed -i "s/^block_interval_ms = .*/block_interval_ms = $interval/" "$spec"
if [ -n "${MAX_BLOCK_BYTES:-}" ]; then
  sed -i "s/^max_block_bytes = .*/max_block_bytes = $MAX_BLOCK_BYTES/" "$spec"
fi
if [ -n "${TIMEOUT_PROPOSE_MS:-}" ]; then
  sed -i "s/^timeout_propose_ms = .*/timeout_propose_ms = $TIMEOUT_PROPOSE_MS/" "$spec"
fi
if [ -n "${TIMEOUT_VOTE_MS:-}" ]; then
  sed -i -e "s/^timeout_prevote_ms = .*/timeout_prevote_ms = $TIMEOUT_VOTE_MS/" \
    -e "s/^timeout_precommit_ms = .*/timeout_precommit_ms = $TIMEOUT_VOTE_MS/" "$spec"
fi
grep -E '^(block_interval_ms|max_block_bytes|timeout_[a-z]+_ms) ' "$spec" | tr '\n' ' ' >&2; echo >&2

catchup="${CATCHUP:-0}"
running=(0 1 2 3)
[ "$catchup" = 1 ] && running=(0 1 2)
nodes=()
for i in "${running[@]}"; do
  "$bin" node --data-dir "$dir/net/node$i" >"$dir/node$i.log" 2>&1 &
  pids+=("$!")
  nodes+=(--node "http://127.0.0.1:$((port + 10 * i))")
done
# Wait until the four are up and have finalized a few blocks together.
for _ in $(seq 1 120); do
  h="$(curl -fsS "http://127.0.0.1:$port/health/node-status" 2>/dev/null |
    sed -n 's/.*"finalized_height":\([0-9]*\).*/\1/p' || true)"
  [ "${h:-0}" -ge 3 ] && break
  sleep 1
done
[ "${h:-0}" -ge 3 ] || { echo "the validators did not finalize 3 blocks in 120 s" >&2; exit 1; }
[ "$catchup" = 1 ] && echo "catch-up mode: validator 3 is down during the load" >&2

# The sum over the validators of an awk expression of their /proc stat
# fields.
stat_sum() {
  local t=0 p
  for p in "${pids[@]}"; do
    t=$((t + $(awk "{print $1}" "/proc/$p/stat")))
  done
  echo "$t"
}
# CPU time the four validators use during the run (user + system, from
# /proc): with the count of finalized transactions it gives the cost of a
# transaction across the network, which bounds the rate the machine's cores
# can sustain whatever the protocol does.
cpu_ticks() { stat_sum '$14 + $15'; }
# Minor page faults of the four validators: each is a first touch of a
# page (a fresh process pays one per page of its peak memory; on VMs that
# hand free memory back to the host each costs several microseconds —
# BENCHMARKS.md, "first touches"), so a run that faults much more than
# usual has paid for memory rather than for transactions.
minor_faults() { stat_sum '$10'; }
if [ "${WARMUP:-0}" = 1 ]; then
  "$bin" bench --chain "$spec" "${nodes[@]}" "$@" >"$dir/warmup.out"
  echo "warm-up: $(grep -E '^finalized' "$dir/warmup.out")" >&2
fi
before="$(cpu_ticks)"
faults_before="$(minor_faults)"
start="$(date +%s.%N)"
"$bin" bench --chain "$spec" "${nodes[@]}" "$@" | tee "$dir/bench.out"
after="$(cpu_ticks)"
faults_after="$(minor_faults)"
end="$(date +%s.%N)"
# Bytes between the validators: each connection counted once, at the end
# that accepted it (sent + received on the validators' p2p ports).
p2p_bytes="$(for i in 0 1 2 3; do
  ss -tinH state established "( sport = :$((port + 10 * i + 2)) )" 2>/dev/null
done | grep -oE 'bytes_(sent|received):[0-9]+' | awk -F: '{t += $2} END {printf "%d", t / 1e6}')"
echo "p2p bytes between the validators: $p2p_bytes MB"
hz="$(getconf CLK_TCK)"
final="$(sed -n 's/^finalized: *\([0-9]*\) .*/\1/p' "$dir/bench.out")"
awk -v b="$before" -v a="$after" -v hz="$hz" -v s="$start" -v e="$end" -v n="${final:-0}" 'BEGIN {
  cpu = (a - b) / hz; wall = e - s
  printf "validators cpu: %.1f s over %.1f s of wall time (%.2f cores)", cpu, wall, cpu / wall
  if (n > 0) printf ", %.0f us per finalized transaction for the four", cpu / n * 1e6
  printf "\n"
}'
echo "validators' minor page faults: $((faults_after - faults_before))"

[ "$catchup" = 1 ] || exit 0
# Catch-up: start the fourth validator on its empty store and time it until
# it holds every block the others had finalized when it started.
height_of() {
  # The first "height" is the tip's (nested objects come after it).
  curl -fsS "http://127.0.0.1:$1/health/node-status" 2>/dev/null |
    grep -o '"height":[0-9]*' | head -1 | cut -d: -f2 || true
}
target="$(height_of "$port")"
p3=$((port + 30))
t0="$(date +%s.%N)"
"$bin" node --data-dir "$dir/net/node3" >"$dir/node3.log" 2>&1 &
pids+=("$!")
deadline=$(( $(date +%s) + 600 ))
while :; do
  h3="$(height_of "$p3")"
  [ "${h3:-0}" -ge "$target" ] && break
  [ "$(date +%s)" -lt "$deadline" ] || { echo "validator 3 did not catch up in 600 s (at ${h3:-?} of $target)" >&2; exit 1; }
  sleep 0.1
done
t1="$(date +%s.%N)"
# The blocks and transactions it committed up to the target, and the time
# from its first commit to that block's, from its log's "finalized" lines.
python3 - "$dir/node3.log" "$target" "$t0" "$t1" <<'PY'
import re, sys
from datetime import datetime
log, target, t0, t1 = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
ansi = re.compile(r"\x1b\[[0-9;]*m")
line_re = re.compile(r"^(\S+Z) .*\bfinalized height=(\d+) .*\btxs=(\d+)")
first = last = None
txs = blocks = 0
for line in open(log, errors="replace"):
    m = line_re.match(ansi.sub("", line))
    if not m or int(m[2]) > target:
        continue
    t = datetime.fromisoformat(m[1].replace("Z", "+00:00")).timestamp()
    first = t if first is None else first
    last = t
    blocks += 1
    txs += int(m[3]) - 1
run = (last - first) if first is not None else 0.0
print(f"catch-up: {blocks} blocks, {txs} transactions (coinbases left out) up to height {target}; "
      f"{t1 - t0:.2f} s from its start to that height over REST, "
      f"{run:.2f} s from its first commit to the last ({txs / run if run > 0 else 0:.0f} tx/s)")
PY
