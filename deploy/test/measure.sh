#!/usr/bin/env bash
# Measures the node image for BENCHMARKS.md ("Container image and memory"):
# the image size, and the node's resident memory (VmRSS, and the peak
# VmHWM) idle and under the load generator. The chart's resource requests
# come from these figures.
#
#   deploy/test/measure.sh IMAGE [RUNS]     (root, a running Docker daemon)
#
# First a `qbtc` node alone, idle for 60 s. Then each run starts a fresh `dev` node from IMAGE with host networking (so the
# generator's requests come from loopback, which the API does not rate
# limit), reads its memory after 60 s idle, runs `luminex bench` (20,000
# transfers from 64 clients, in a second container of the same image) and
# reads the memory again, then removes the node and its volume.
set -euo pipefail
image="${1:?usage: measure.sh IMAGE [RUNS]}"
runs="${2:-3}"
port="${MEASURE_PORT:-8700}"

kib() { awk -v k="$1" '$1 == k":" { print $2 }' "/proc/$2/status"; }
mib() { echo $(( $1 / 1024 )); }

echo "image $image: $(( $(docker image inspect -f '{{.Size}}' "$image") / 1000000 )) MB"

# A qbtc node alone (what a follower or a miner's node does between blocks).
name="luminex-measure-$$-qbtc"
docker run -d --name "$name" --network host \
  -e LUMINEX_HTTP_ADDR="127.0.0.1:$port" -e LUMINEX_RPC_ADDR="127.0.0.1:$((port + 1))" \
  -e LUMINEX_LISTEN=/ip4/127.0.0.1/tcp/0 "$image" node --chain qbtc >/dev/null
sleep 60
echo "qbtc node idle 60 s: $(mib "$(kib VmRSS "$(docker inspect -f '{{.State.Pid}}' "$name")")") MiB"
docker rm -f -v "$name" >/dev/null
for run in $(seq 1 "$runs"); do
  name="luminex-measure-$$-$run"
  docker run -d --name "$name" --network host \
    -e LUMINEX_HTTP_ADDR="127.0.0.1:$port" -e LUMINEX_RPC_ADDR="127.0.0.1:$((port + 1))" \
    -e LUMINEX_LISTEN=/ip4/127.0.0.1/tcp/0 \
    "$image" node --chain dev >/dev/null
  pid="$(docker inspect -f '{{.State.Pid}}' "$name")"
  for _ in $(seq 1 60); do
    curl -fsS "http://127.0.0.1:$port/health/live" >/dev/null 2>&1 && break
    sleep 1
  done
  sleep 60
  idle_rss="$(kib VmRSS "$pid")"
  out="$(docker run --rm --network host "$image" bench --node "http://127.0.0.1:$port" \
    --txs 20000 --concurrency 64 2>&1 | tail -3 | tr '\n' ' ')"
  load_rss="$(kib VmRSS "$pid")"
  peak="$(kib VmHWM "$pid")"
  echo "run $run: idle $(mib "$idle_rss") MiB; after load $(mib "$load_rss") MiB, peak $(mib "$peak") MiB; bench: $out"
  docker rm -f -v "$name" >/dev/null
done
