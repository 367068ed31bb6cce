#!/usr/bin/env python3
"""The compose testnet, for real: image, network, monitoring, stop and restart.

    python3 deploy/test/e2e.py --binary target/debug/luminex

Needs a running Docker daemon, `docker-compose` and the base image
`debian:bookworm-slim` (deploy/test/e2e.sh prepares all three). Steps:

1. builds the node image from deploy/Dockerfile's `prebuilt` stage with the
   given binary, and a Prometheus image from Debian's prometheus binaries;
2. starts deploy/compose/docker-compose.yml's boot, node1, miner and
   prometheus services (Grafana's image is not available here; its
   dashboards are checked against the node's metrics by the Rust tests);
3. waits until the miner has mined and both followers reach its height,
   Docker reports the nodes healthy (the image's HEALTHCHECK) and
   Prometheus reports all three targets up with the alert rules loaded;
4. stops the miner, sends a transaction to node1, `docker stop`s node1 and
   starts it again: the same tip and the transaction still in its mempool;
5. removes the containers and volumes (unless --keep);
6. the same for deploy/compose/docker-compose.bft.yml (`--only bft` runs
   only this part): the one-shot `testnet` service writes fresh validator
   keys into its volume, the four validators finalize blocks and the
   follower reaches their height, Docker reports the five nodes healthy,
   Prometheus scrapes the five with the BFT consensus metrics (four
   validators in the set everywhere) and the BFT alert rules loaded; with
   validator3 stopped the other three keep finalizing, each signing every
   certificate (`luminex_consensus_validator_missed_blocks_total` stays),
   and started again validator3 catches up; the keys survive another `up` of the `testnet` service.

Every wait has a generous deadline; nothing is timed. Host traffic goes
only to 127.0.0.1 (the compose file publishes ports on loopback only).
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

DEPLOY = pathlib.Path(__file__).resolve().parent.parent
COMPOSE_FILE = DEPLOY / "compose" / "docker-compose.yml"
BFT_COMPOSE_FILE = DEPLOY / "compose" / "docker-compose.bft.yml"
PROJECT = "luminex-e2e"
BFT_PROJECT = "luminex-e2e-bft"
NODE_IMAGE = "luminex:e2e"
PROMETHEUS_IMAGE = "luminex-prometheus:e2e"
PASSPHRASE = "e2e passphrase"


class Failed(Exception):
    """A check failed."""


def sh(cmd: list[str], env: dict | None = None, check: bool = True) -> str:
    r = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if check and r.returncode != 0:
        raise Failed(f"{' '.join(cmd)} exited with {r.returncode}:\n{r.stdout}{r.stderr}")
    return r.stdout


def get_json(url: str) -> dict | None:
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return json.loads(r.read())
    except (urllib.error.URLError, OSError, ValueError):
        return None


def wait_for(what: str, probe, deadline_secs: float = 300.0, every: float = 1.0):
    """Polls `probe` until it returns a true value; fails after the deadline."""
    end = time.monotonic() + deadline_secs
    while True:
        v = probe()
        if v:
            return v
        if time.monotonic() > end:
            raise Failed(f"gave up waiting: {what}")
        time.sleep(every)


class Compose:
    """One compose project: its commands, containers and published ports.

    Every `*_PORT` variable the compose file reads is set to the empty
    string, so each published port is `127.0.0.1::PORT` and Docker picks a
    free host port when the container starts; the test asks Docker which
    (`docker port`). Ports picked here beforehand could collide with each
    other or with whatever took them before Docker bound them.
    """

    def __init__(self, project: str, file: pathlib.Path, env: dict, port_vars: tuple[str, ...]):
        self.project = project
        self.file = file
        self.env = dict(env)
        self.env.update({v: "" for v in port_vars})
        self.passed = 0
        self._containers: dict[str, str] = {}
        self._ports: dict[tuple[str, int], int] = {}

    def ok(self, what: str) -> None:
        self.passed += 1
        print(f"ok   {what}", flush=True)

    def compose(self, *args: str, check: bool = True) -> str:
        return sh(
            ["docker-compose", "-p", self.project, "-f", str(self.file), *args],
            env=self.env,
            check=check,
        )

    def container(self, service: str) -> str:
        if service not in self._containers:
            cid = self.compose("ps", "-q", service).strip()
            if not cid:
                raise Failed(f"no container for {service}")
            self._containers[service] = cid
        return self._containers[service]

    def host_port(self, service: str, port: int) -> int:
        """The host port Docker published `service`'s `port` on."""
        key = (service, port)
        if key not in self._ports:
            out = sh(["docker", "port", self.container(service), f"{port}/tcp"]).split()
            if not out:
                raise Failed(f"{service} publishes no host port for {port}")
            self._ports[key] = int(out[0].rsplit(":", 1)[1])
        return self._ports[key]

    def restarted(self, service: str) -> None:
        """Forgets `service`'s host ports: Docker picks new ones at a start."""
        self._ports = {k: v for k, v in self._ports.items() if k[0] != service}

    def down(self) -> None:
        self.compose("down", "-v", "--remove-orphans", check=False)
        self._containers.clear()
        self._ports.clear()


class Testnet(Compose):
    PORT_VARS = ("BOOT_API_PORT", "BOOT_RPC_PORT", "NODE1_API_PORT", "MINER_API_PORT", "PROMETHEUS_PORT", "GRAFANA_PORT")

    def __init__(self, binary: pathlib.Path):
        env = dict(os.environ)
        env.update(
            {
                "LUMINEX_IMAGE": NODE_IMAGE,
                "PROMETHEUS_IMAGE": PROMETHEUS_IMAGE,
                "LUMINEX_WALLET_PASSPHRASE": PASSPHRASE,
                # The classic builder: the `prebuilt` stage needs no BuildKit.
                "DOCKER_BUILDKIT": "0",
            }
        )
        super().__init__(PROJECT, COMPOSE_FILE, env, self.PORT_VARS)
        self.binary = binary

    def api(self, service: str) -> str:
        return f"http://127.0.0.1:{self.host_port(service, 8645)}"

    def status(self, service: str) -> dict | None:
        return get_json(self.api(service) + "/health/node-status")

    def height(self, service: str) -> int:
        s = self.status(service)
        return s["height"] if s else -1

    def exec(self, service: str, *args: str) -> str:
        return sh(
            [
                "docker", "exec",
                "-e", f"LUMINEX_WALLET_PASSPHRASE={PASSPHRASE}",
                "-e", "LUMINEX_NODE=http://127.0.0.1:8645",
                self.container(service), "luminex", *args,
            ]
        )

    def build_images(self) -> None:
        with tempfile.TemporaryDirectory() as ctx:
            shutil.copy2(self.binary, pathlib.Path(ctx) / "luminex")
            # A debug build carries hundreds of MB of debug info; the image
            # does not need it (best effort: binutils may be absent).
            subprocess.run(["strip", "--strip-debug", str(pathlib.Path(ctx) / "luminex")], capture_output=True)
            sh(
                ["docker", "build", "-q", "-f", str(DEPLOY / "Dockerfile"),
                 "--target", "prebuilt", "-t", NODE_IMAGE, ctx],
                env=self.env,
            )
        self.ok(f"image {NODE_IMAGE} built from deploy/Dockerfile (prebuilt stage)")
        with tempfile.TemporaryDirectory() as ctx:
            for b in ("prometheus", "promtool"):
                path = shutil.which(b)
                if path is None:
                    raise Failed(f"{b} not found (Debian package prometheus)")
                shutil.copy2(path, pathlib.Path(ctx) / b)
            sh(
                ["docker", "build", "-q", "-f", str(DEPLOY / "test" / "prometheus.Dockerfile"),
                 "-t", PROMETHEUS_IMAGE, ctx],
                env=self.env,
            )
        self.ok(f"image {PROMETHEUS_IMAGE} built")

    def run(self) -> None:
        self.compose("down", "-v", "--remove-orphans", check=False)
        self.compose("up", "-d", "--no-build", "boot", "node1", "miner", "prometheus")
        self.ok("compose testnet started: boot, node1, miner, prometheus")

        # The miner mines; both followers, which know only the name `boot`,
        # reach the height it had.
        target = wait_for("the miner to mine 5 blocks", lambda: self.height("miner") >= 5 and self.height("miner"))
        for s in ("boot", "node1"):
            wait_for(f"{s} to reach height {target}", lambda s=s: self.height(s) >= target)
        self.ok(f"boot and node1 reached the miner's height {target}")

        for s in ("boot", "node1", "miner"):
            cid = self.container(s)
            wait_for(
                f"docker to report {s} healthy",
                lambda cid=cid: sh(["docker", "inspect", "-f", "{{.State.Health.Status}}", cid]).strip() == "healthy",
                every=2.0,
            )
        self.ok("docker reports the three nodes healthy (HEALTHCHECK luminex chain health)")

        prom = f"http://127.0.0.1:{self.host_port('prometheus', 9090)}"

        def targets_up():
            t = get_json(prom + "/api/v1/targets")
            if not t:
                return False
            active = t["data"]["activeTargets"]
            up = sorted(a["labels"]["instance"] for a in active if a["health"] == "up")
            return up == ["boot:8645", "miner:8645", "node1:8645"] and up

        wait_for("Prometheus to report the three nodes up", targets_up, every=2.0)
        rules = get_json(prom + "/api/v1/rules") or {}
        alerts = [r for g in rules.get("data", {}).get("groups", []) for r in g["rules"] if r["type"] == "alerting"]
        if not alerts:
            raise Failed("Prometheus loaded no alert rules")
        q = get_json(prom + "/api/v1/query?query=luminex_chain_height") or {}
        if len(q.get("data", {}).get("result", [])) != 3:
            raise Failed(f"luminex_chain_height is not scraped from three nodes: {q}")
        self.ok(f"Prometheus: three targets up, {len(alerts)} alert rules, luminex_chain_height from each")

        # A stop and a restart lose no block and no mempool transaction.
        self.compose("stop", "miner")
        self.exec("node1", "wallet", "--wallet", "dev0", "import-dev", "--index", "0")
        to = self.exec("boot", "wallet", "new").split("address: ")[1].split()[0]
        txid = self.exec("node1", "wallet", "--wallet", "dev0", "send", "--to", to, "--amount", "1.5").strip().splitlines()[0]
        tx_url = f"/transactions/{txid}"
        if (get_json(self.api("node1") + tx_url) or {}).get("status") != "pending":
            raise Failed(f"transaction {txid} is not pending on node1")
        before = self.status("node1")
        cid = self.container("node1")
        sh(["docker", "stop", cid])
        code = sh(["docker", "inspect", "-f", "{{.State.ExitCode}}", cid]).strip()
        if code != "0":
            raise Failed(f"node1 exited with {code} on docker stop:\n{sh(['docker', 'logs', '--tail', '30', cid])}")
        sh(["docker", "start", cid])
        self.restarted("node1")
        after = wait_for("node1 to answer after its restart", lambda: self.status("node1"))
        if (after["height"], after["tip"]) != (before["height"], before["tip"]):
            raise Failed(f"node1's tip changed across the restart: {before} -> {after}")
        tx = get_json(self.api("node1") + tx_url) or {}
        if tx.get("status") != "pending":
            raise Failed(f"transaction {txid} was lost across the restart: {tx}")
        self.ok(f"docker stop + start of node1: tip {after['height']} kept, transaction {txid[:16]}… still pending")



class BftTestnet(Compose):
    """docker-compose.bft.yml: four `poa` validators, a follower, Prometheus."""

    NODES = ("validator0", "validator1", "validator2", "validator3", "follower")

    PORT_VARS = (
        *(f"{n.upper()}_API_PORT" for n in NODES),
        "VALIDATOR0_RPC_PORT",
        "PROMETHEUS_PORT",
        "GRAFANA_PORT",
    )

    def __init__(self, env: dict):
        super().__init__(BFT_PROJECT, BFT_COMPOSE_FILE, env, self.PORT_VARS)

    def status(self, service: str) -> dict | None:
        return get_json(f"http://127.0.0.1:{self.host_port(service, 8645)}/health/node-status")

    def metric(self, service: str, name: str) -> float:
        """A sample without labels from the node's /metrics (NaN if absent)."""
        port = self.host_port(service, 8645)
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
                text = r.read().decode()
        except (urllib.error.URLError, OSError) as e:
            raise Failed(f"{service}/metrics: {e}") from e
        for line in text.splitlines():
            parts = line.split()
            if len(parts) == 2 and parts[0] == name:
                return float(parts[1])
        raise Failed(f"{name} not in {service}/metrics")

    def finalized(self, service: str) -> int:
        s = self.status(service)
        return s.get("finalized_height", -1) if s else -1

    def all_past(self, services, height: int, what: str) -> None:
        for s in services:
            wait_for(f"{s} to finalize past {height} ({what})", lambda s=s: self.finalized(s) > height)

    def run(self) -> None:
        self.compose("down", "-v", "--remove-orphans", check=False)
        self.compose("up", "-d", "--no-build", *self.NODES, "prometheus")
        self.ok("BFT compose testnet started: keys written by the testnet service, four validators, a follower, prometheus")
        validators = self.NODES[:4]
        self.all_past(self.NODES, 5, "blocks finalize")
        self.ok("the four validators finalize and the follower follows them")

        for s in self.NODES:
            cid = self.container(s)
            wait_for(
                f"docker to report {s} healthy",
                lambda cid=cid: sh(["docker", "inspect", "-f", "{{.State.Health.Status}}", cid]).strip() == "healthy",
                every=2.0,
            )
        self.ok("docker reports the five nodes healthy")

        prom = f"http://127.0.0.1:{self.host_port('prometheus', 9090)}"
        expected = sorted(f"{n}:8645" for n in self.NODES)

        def targets_up():
            t = get_json(prom + "/api/v1/targets")
            if not t:
                return False
            active = t["data"]["activeTargets"]
            up = sorted(a["labels"]["instance"] for a in active if a["health"] == "up")
            return up == expected and up

        wait_for("Prometheus to report the five nodes up", targets_up, every=2.0)
        rules = get_json(prom + "/api/v1/rules") or {}
        groups = {g["name"] for g in rules.get("data", {}).get("groups", [])}
        if "luminex-bft" not in groups:
            raise Failed(f"Prometheus did not load the BFT alert rules: {groups}")

        def four_everywhere():
            q = get_json(prom + "/api/v1/query?query=luminex_consensus_validators") or {}
            r = q.get("data", {}).get("result", [])
            return len(r) == 5 and all(x["value"][1] == "4" for x in r)

        wait_for("luminex_consensus_validators = 4 from the five nodes", four_everywhere, every=2.0)
        self.ok("Prometheus: five targets up, the luminex-bft rules loaded, four validators seen by every node")

        # One validator down: more than two thirds of the power remains.
        self.compose("stop", "validator3")
        self.restarted("validator3")
        h = max(self.finalized(s) for s in validators[:3])
        self.all_past(validators[:3], h + 3, "three of four")

        # Every certificate formed since needs all three: over eight more
        # blocks none of them misses one.
        def missed() -> float:
            return sum(self.metric(s, "luminex_consensus_validator_missed_blocks_total") for s in validators[:3])

        before = missed()
        t = max(self.finalized(s) for s in validators[:3])
        self.all_past(validators[:3], t + 8, "eight more with three of four")
        if missed() != before:
            raise Failed("a running validator is missing from a certificate formed while validator3 was down")
        self.ok(f"validator3 stopped: the other three finalize past {t + 8}, each signing every certificate")
        self.compose("start", "validator3")
        self.restarted("validator3")
        h = max(self.finalized(s) for s in validators[:3])
        self.all_past(self.NODES, h, "validator3 back")
        self.ok(f"validator3 started again: it and the follower reach {h + 1}")

        # Another `up` of the one-shot service keeps the keys and the chain.
        spec_before = sh(["docker", "exec", self.container("validator0"), "cat", "/data/spec.toml"])
        self.compose("up", "--no-build", "--exit-code-from", "testnet", "testnet")
        spec_after = sh(["docker", "exec", self.container("validator0"), "cat", "/data/spec.toml"])
        if spec_before != spec_after:
            raise Failed("a second run of the testnet service replaced the chain spec")
        self.ok("a second run of the testnet service keeps the keys and the spec")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--binary", required=True, type=pathlib.Path, help="a luminex binary for the image")
    p.add_argument("--keep", action="store_true", help="leave the testnets running")
    p.add_argument("--only", choices=["qbtc", "bft"], help="run one of the two testnets")
    a = p.parse_args()
    if not a.binary.is_file():
        print(f"no binary at {a.binary}")
        return 2
    t = Testnet(a.binary)
    b = BftTestnet(t.env)
    passed = 0
    try:
        t.build_images()
        passed += t.passed
        for net, services, run in (
            (t, ("boot", "node1", "miner", "prometheus"), a.only != "bft"),
            (b, (*BftTestnet.NODES, "testnet", "prometheus"), a.only != "qbtc"),
        ):
            if not run:
                continue
            net.passed = 0
            try:
                net.run()
            except Failed:
                for s in services:
                    print(f"--- logs of {s} ---")
                    print(net.compose("logs", "--tail", "40", s, check=False))
                raise
            finally:
                passed += net.passed
                if not a.keep:
                    net.down()
    except Failed as e:
        print(f"FAIL {e}")
        print(f"e2e: {passed} passed, 1 failed")
        return 1
    print(f"e2e: {passed} passed, 0 failed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
