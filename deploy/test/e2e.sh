#!/usr/bin/env bash
# Runs the compose testnet test (e2e.py) when a Docker daemon can run here.
#
#   deploy/test/e2e.sh BINARY        (as root; BINARY: a built `luminex`)
#
# Installs what is missing from Debian (docker.io, docker-compose,
# debootstrap, prometheus), starts dockerd if none is running and stops it
# again afterwards, and builds the local base image (base-image.sh). When
# the daemon cannot start (no root, no kernel support) it says so and exits
# 0: the test is skipped, not failed. Set LUMINEX_E2E=0 to skip it.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
binary="${1:?usage: e2e.sh BINARY}"
skip() { echo "deploy e2e skipped: $*"; exit 0; }
[ "${LUMINEX_E2E:-1}" = 0 ] && skip "LUMINEX_E2E=0"
[ "$(id -u)" = 0 ] || skip "needs root to run dockerd"

missing=()
command -v dockerd >/dev/null || missing+=(docker.io)
command -v docker-compose >/dev/null || missing+=(docker-compose)
command -v debootstrap >/dev/null || missing+=(debootstrap)
command -v promtool >/dev/null || missing+=(prometheus)
if [ ${#missing[@]} -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null \
    || skip "cannot install ${missing[*]}"
fi

started=""
if ! docker info >/dev/null 2>&1; then
  log="$(mktemp /tmp/luminex-dockerd.XXXXXX.log)"
  dockerd >"$log" 2>&1 &
  started=$!
  for _ in $(seq 1 60); do
    docker info >/dev/null 2>&1 && break
    kill -0 "$started" 2>/dev/null || break
    sleep 1
  done
  if ! docker info >/dev/null 2>&1; then
    tail -5 "$log"
    kill "$started" 2>/dev/null || true
    skip "dockerd does not start here"
  fi
fi
stop_daemon() {
  if [ -n "$started" ]; then
    kill "$started" 2>/dev/null || true
    wait "$started" 2>/dev/null || true
  fi
}
trap stop_daemon EXIT

rc=0
"$here/base-image.sh" debian:bookworm-slim || rc=$?
[ "$rc" = 3 ] && skip "debootstrap could not fetch Debian's packages"
[ "$rc" = 0 ] || exit "$rc"
python3 "$here/e2e.py" --binary "$binary"
