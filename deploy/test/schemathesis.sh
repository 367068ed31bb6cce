#!/usr/bin/env bash
# Tests the REST API against its own OpenAPI document: starts a dev node on
# free loopback ports and runs schemathesis with every check (`--checks
# all`) over every operation, with a bounded number of examples; fails on
# any finding.
#
#   deploy/test/schemathesis.sh BINARY [EXAMPLES]
#
# BINARY: a built `luminex`; EXAMPLES: test cases per operation and phase
# (default 50, or $SCHEMATHESIS_EXAMPLES). Installs the pinned schemathesis
# from PyPI with pip when it is missing; when pip cannot, it says so and
# exits 0 (skipped, not failed). Set LUMINEX_SCHEMATHESIS=0 to skip it.
#
# Two runs against the same node:
#  1. every operation without credentials: the public routes fully, the
#     admin routes' refusals (401);
#  2. the admin routes that only read (GET /admin/…, /debug/…) with an API
#     key. The admin POSTs stay unauthenticated: /admin/node/restart would
#     restart the node under test, and /admin/nodes/{add,remove} act on
#     peers (their bodies are checked by the Rust tests).
# deploy/test/schemathesis.toml says where the checks' defaults are widened
# and why (nothing is excluded); deploy/test/schemathesis_hooks.py gives
# generated addresses a valid checksum.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
binary="$(realpath "${1:?usage: schemathesis.sh BINARY [EXAMPLES]}")"
examples="${2:-${SCHEMATHESIS_EXAMPLES:-50}}"
version=4.32.5
skip() { echo "schemathesis skipped: $*"; exit 0; }
[ "${LUMINEX_SCHEMATHESIS:-1}" = 0 ] && skip "LUMINEX_SCHEMATHESIS=0"

installed="$(python3 -c 'import schemathesis; print(schemathesis.__version__)' 2>/dev/null || true)"
if [ "$installed" != "$version" ]; then
  if ! python3 -m pip install -q "schemathesis==$version"; then
    [ -n "$installed" ] || skip "pip could not install schemathesis==$version from PyPI"
    echo "schemathesis: pip could not install $version; running the installed $installed"
  fi
fi

work="$(mktemp -d /tmp/luminex-schemathesis.XXXXXX)"
node=""
cleanup() {
  if [ -n "$node" ]; then
    kill "$node" 2>/dev/null || true
    wait "$node" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

key="$(python3 -c 'import secrets; print(secrets.token_hex(16))')"
key_hash="$(printf %s "$key" | sha256sum | cut -d' ' -f1)"
"$binary" node --chain dev --data-dir "$work/data" --http-addr 127.0.0.1:0 \
  --rpc-addr 127.0.0.1:0 --listen /ip4/127.0.0.1/tcp/0 \
  --admin-key-hash "$key_hash" >"$work/node.log" 2>&1 &
node=$!
# The REST port the node bound, from its log (colours stripped).
port=""
for _ in $(seq 1 120); do
  port="$(sed 's/\x1b\[[0-9;]*m//g' "$work/node.log" \
    | sed -n 's/.*REST API listening addr=127\.0\.0\.1:\([0-9]*\).*/\1/p' | head -1)"
  [ -n "$port" ] && break
  kill -0 "$node" 2>/dev/null || { cat "$work/node.log"; echo "the node exited"; exit 1; }
  sleep 0.5
done
[ -n "$port" ] || { tail -20 "$work/node.log"; echo "the node did not open its REST port"; exit 1; }
url="http://127.0.0.1:$port/openapi.json"
# The chain's address prefix, for the hooks that give generated addresses a
# valid checksum (schemathesis_hooks.py).
LUMINEX_HRP="$(python3 - "$port" <<'PY'
import json, sys, time, urllib.request
for _ in range(60):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/health/node-status") as r:
            print(json.load(r)["address_hrp"])
            break
    except OSError:
        time.sleep(0.5)
PY
)"
[ -n "$LUMINEX_HRP" ] || { tail -20 "$work/node.log"; echo "no answer from /health/node-status"; exit 1; }
export LUMINEX_HRP SCHEMATHESIS_HOOKS="$here/schemathesis_hooks.py"
echo "schemathesis $(python3 -c 'import schemathesis; print(schemathesis.__version__)') against $url, $examples examples per operation"

cd "$work"
run_st() {
  python3 -m schemathesis.cli --config-file "$here/schemathesis.toml" run "$url" \
    --checks all --max-examples "$examples" --generation-database none \
    --wait-for-schema 30 --no-color "$@"
}
rc=0
run_st || rc=$?
run_st --include-name-regex '^GET /(admin|debug)/' -H "X-API-Key: $key" || rc=$?
if [ "$rc" != 0 ]; then
  echo "schemathesis found the API and its document disagree (node log: last lines)"
  tail -20 "$work/node.log"
fi
exit "$rc"
