#!/usr/bin/env bash
# Runs the whole test suite several times in a row while the load generator
# hammers another node on the same machine (issue 14): a test that relies on
# "enough time", a fixed port or a deadline too short for a busy host fails
# here sooner than in CI.
#
#   deploy/test/suite-under-load.sh [RUNS]
#
# RUNS: how many times in a row the suite must pass (default 3); it stops at
# the first failure and exits non-zero.
#
# What it does:
#  1. builds the test binaries (`cargo test --workspace --no-run`, untimed,
#     before the load starts) and, if missing, the release `luminex`;
#  2. starts the load: a release `luminex node --chain dev` on free loopback
#     ports (REST, JSON-RPC and peer-to-peer all bound to port 0) with its
#     own data directory under the work directory, and
#     `luminex bench --node http://127.0.0.1:PORT --txs 20000 --concurrency 32`
#     against it in a loop; every LOOPS_PER_NODE loops the node is stopped
#     and started again on a fresh data directory so the disk does not fill;
#  3. runs the suite exactly as `.ci/run` does (`cargo test --workspace`)
#     RUNS times, printing for each run pass/fail, wall time and the load
#     average (the mean of the 1-minute figure sampled every 10 s, and
#     /proc/loadavg at the end);
#  4. stops the load, prints every bench loop's accepted and confirmed
#     rates (they show the load was real) and removes the work directory
#     (kept, with the logs, when a run failed).
#
# Run it in a checkout nobody changes while it runs (a worktree of its
# own, with its own CARGO_TARGET_DIR): doctests compile from the sources
# when the suite reaches them, against libraries built at the start, so a
# commit landing in the same checkout mid-run fails them. A run that fails
# after the checkout changed says so.
#
# The load and the suite run under `nice -n 19`. Environment:
#   LUMINEX_BIN      release binary for the load
#                    (default $CARGO_TARGET_DIR/release/luminex, built if absent)
#   LOOPS_PER_NODE   bench loops per node before a fresh one (default 3)
#   BENCH_TXS        transactions per bench loop (default 20000)
#   BENCH_CONCURRENCY  bench clients (default 32)
#   SUITE_WORK       work directory (default: a new /tmp/luminex-suite-load.*)
set -euo pipefail
self="$(realpath "$0")"
cd "$(dirname "$self")/../.."
runs="${1:-3}"
loops_per_node="${LOOPS_PER_NODE:-3}"
bench_txs="${BENCH_TXS:-20000}"
bench_conc="${BENCH_CONCURRENCY:-32}"
target="${CARGO_TARGET_DIR:-target}"

# --- the load loop (run as `suite-under-load.sh --load WORK BINARY`) -------
if [ "${1:-}" = "--load" ]; then
  work="$2"
  bin="$3"
  node=""
  bench=""
  stop_node() {
    if [ -n "$node" ]; then
      kill -TERM "$node" 2>/dev/null || true
      wait "$node" 2>/dev/null || true
      node=""
    fi
  }
  on_term() {
    [ -n "$bench" ] && kill -TERM "$bench" 2>/dev/null || true
    [ -n "$bench" ] && wait "$bench" 2>/dev/null || true
    stop_node
    exit 0
  }
  trap on_term TERM INT
  loop=0
  generation=0
  while :; do
    generation=$((generation + 1))
    data="$work/load-data"
    rm -rf "$data"
    log="$work/node-$generation.log"
    : >"$log"
    "$bin" node --chain dev --data-dir "$data" --http-addr 127.0.0.1:0 \
      --rpc-addr 127.0.0.1:0 --listen /ip4/127.0.0.1/tcp/0 >"$log" 2>&1 &
    node=$!
    port=""
    # The bound REST port from the node's log (colours stripped); the node
    # is given as long as it needs on a loaded host, while it is alive.
    while [ -z "$port" ]; do
      kill -0 "$node" 2>/dev/null || { echo "load node exited: $log" >&2; tail -5 "$log" >&2; node=""; break; }
      port="$(sed 's/\x1b\[[0-9;]*m//g' "$log" \
        | sed -n 's/.*REST API listening addr=127\.0\.0\.1:\([0-9]*\).*/\1/p' | head -1)"
      [ -n "$port" ] || sleep 0.5
    done
    if [ -z "$port" ]; then
      sleep 1
      continue
    fi
    for _ in $(seq 1 "$loops_per_node"); do
      loop=$((loop + 1))
      out="$work/bench-$loop.log"
      echo "node $generation (port $port), started $(date -u +%H:%M:%S)" >"$out"
      "$bin" bench --node "http://127.0.0.1:$port" --txs "$bench_txs" \
        --concurrency "$bench_conc" >>"$out" 2>&1 &
      bench=$!
      rc=0
      wait "$bench" || rc=$?
      bench=""
      echo "exit $rc, ended $(date -u +%H:%M:%S)" >>"$out"
    done
    stop_node
  done
fi

# --- the driver --------------------------------------------------------------
work="${SUITE_WORK:-$(mktemp -d /tmp/luminex-suite-load.XXXXXX)}"
mkdir -p "$work"
load=""
sampler=""
failed=0
cleanup() {
  [ -n "$sampler" ] && kill "$sampler" 2>/dev/null || true
  if [ -n "$load" ]; then
    kill -TERM "$load" 2>/dev/null || true
    wait "$load" 2>/dev/null || true
    load=""
  fi
  if [ "$failed" = 0 ]; then rm -rf "$work"; else echo "logs kept in $work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "building the test binaries (untimed)"
nice -n 19 cargo test --workspace --no-run >"$work/build.log" 2>&1 \
  || { failed=1; tail -30 "$work/build.log"; exit 1; }
bin="${LUMINEX_BIN:-$target/release/luminex}"
if [ ! -x "$bin" ]; then
  echo "building the release luminex for the load"
  nice -n 19 cargo build --release --bin luminex >>"$work/build.log" 2>&1 \
    || { failed=1; tail -30 "$work/build.log"; exit 1; }
fi
bin="$(realpath "$bin")"

nice -n 19 "$self" --load "$work" "$bin" &
load=$!
# Wait for the first bench loop to start: the suite must run under load.
until [ -e "$work/bench-1.log" ]; do
  kill -0 "$load" 2>/dev/null || { failed=1; echo "the load did not start"; exit 1; }
  sleep 1
done
echo "load running against a dev node ($bench_txs txs, $bench_conc clients a loop; work dir $work)"

commit="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
tree() { { git rev-parse HEAD; git status --porcelain; } 2>/dev/null | md5sum; }
tree_at_start="$(tree)"
echo "commit $commit, $(nproc) cores, $(date -u '+%Y-%m-%d %H:%M UTC')"
for run in $(seq 1 "$runs"); do
  samples="$work/load-$run.txt"
  : >"$samples"
  (while :; do cut -d' ' -f1 /proc/loadavg >>"$samples"; sleep 10; done) &
  sampler=$!
  start=$(date +%s)
  rc=0
  nice -n 19 cargo test --workspace >"$work/suite-$run.log" 2>&1 || rc=$?
  secs=$(( $(date +%s) - start ))
  kill "$sampler" 2>/dev/null || true
  wait "$sampler" 2>/dev/null || true
  sampler=""
  mean="$(awk '{ s += $1; n++ } END { if (n) printf "%.1f", s / n; else print "?" }' "$samples")"
  verdict=pass
  [ "$rc" = 0 ] || verdict=FAIL
  printf 'run %d: %s in %dm%02ds, load average mean %s (1-min, sampled every 10 s), at the end %s\n' \
    "$run" "$verdict" $((secs / 60)) $((secs % 60)) "$mean" "$(cut -d' ' -f1-3 /proc/loadavg)"
  if [ "$rc" != 0 ]; then
    failed=1
    grep -E '^(test .* FAILED|failures:|---- |thread .* panicked|error)' "$work/suite-$run.log" | head -40 || true
    if [ "$(tree)" != "$tree_at_start" ]; then
      echo "the checkout changed while the suite ran (now $(git rev-parse --short HEAD 2>/dev/null)):" \
        "this failure may be that, not a test"
    fi
    break
  fi
done

kill -TERM "$load" 2>/dev/null || true
wait "$load" 2>/dev/null || true
load=""
echo "bench loops (a loop cut short when the load stopped shows no rates):"
n=1
while [ -e "$work/bench-$n.log" ]; do
  f="$work/bench-$n.log"
  acc="$(sed -n 's/^accepted: .*= \([0-9]*\) tx\/s/\1/p' "$f")"
  conf="$(sed -n 's/^confirmed: .*= \([0-9]*\) tx\/s.*/\1/p' "$f")"
  end="$(sed -n 's/^exit \([0-9]*\),.*/\1/p' "$f")"
  echo "  loop $n: accepted ${acc:-–} tx/s, confirmed ${conf:-–} tx/s, exit ${end:-(stopped)}"
  n=$((n + 1))
done
[ "$failed" = 0 ] && echo "all $runs runs passed under load"
exit "$failed"
