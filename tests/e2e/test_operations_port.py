"""`ownergraph serve --metrics-port`: readiness and metrics on their own listener, as a process."""

from __future__ import annotations

import httpx
import pytest

from ownergraph.demo import SYSTEMS

from .conftest import free_ports, gateway_process, query, run_command


def test_metrics_and_readiness_are_on_the_metrics_port_only(owners: dict[str, str]) -> None:
    base = free_ports(2)
    metrics = f"http://127.0.0.1:{base + 1}"
    with gateway_process(owners, port=base, metrics_port=base + 1) as api:
        body = query(api, 'query Screen { customer(id: "C00002") { displayName } }')
        assert body["data"]["customer"]["displayName"]

        for path in ("/metrics", "/readyz", "/schema.graphql"):
            assert httpx.get(f"{api}{path}").status_code == 404, path
        assert httpx.get(f"{api}/healthz").json() == {"status": "ok"}

        page = httpx.get(f"{metrics}/metrics")
        assert page.headers["content-type"].startswith("text/plain")
        assert 'ownergraph_requests_total{operation="Screen",outcome="ok"} 1.0' in page.text
        ready = httpx.get(f"{metrics}/readyz").json()
        assert ready["status"] == "ready" and set(ready["owners"]) == set(SYSTEMS)
        assert httpx.get(f"{metrics}/healthz").json() == {"status": "ok"}
        assert httpx.post(f"{metrics}/graphql", json={"query": "{ __typename }"}).status_code == 404


@pytest.mark.parametrize("how", ["option", "environment"])
def test_workers_with_a_metrics_port_are_refused_saying_what_to_do(how: str) -> None:
    port, metrics = free_ports(1), "9"
    args = ["serve", "--port", str(port), "--workers", "2"]
    env = {}
    if how == "option":
        args += ["--metrics-port", metrics]
    else:
        env["OWNERGRAPH_METRICS_PORT"] = metrics
    result = run_command(args, env, timeout=60)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    [line] = result.stderr.strip().splitlines()
    assert "--workers 2" in line and "metrics port 9" in line
    assert "replicas" in line and "OWNERGRAPH_METRICS_PORT" in line
