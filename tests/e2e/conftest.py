"""Real processes on loopback: the demo owners and the gateway, talking real HTTP."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from ownergraph.demo import SYSTEMS

STARTUP_SECONDS = 60


def _free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_ports(count: int) -> int:
    """The first of `count` consecutive free loopback ports."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        start = probe.getsockname()[1]
    for base in range(start, start + 2000):
        if base + count < 65535 and all(_free(base + i) for i in range(count)):
            return base
    raise RuntimeError("no block of free ports on loopback")


def _wait_healthy(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args} exited with {process.returncode}")
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not become healthy in {STARTUP_SECONDS} s")


def run_command(
    args: list[str], env: Mapping[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """`python -m ownergraph ARGS` to its end, output captured.

    In a process group of its own, so that a command which should have stopped at once but
    started servers (uvicorn's workers among them) is killed whole when it times out.
    """
    process = subprocess.Popen(
        [sys.executable, "-m", "ownergraph", *args],
        env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        raise
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


@contextmanager
def running(
    args: list[str], health_urls: list[str], env: Mapping[str, str] | None = None
) -> Iterator[None]:
    process = subprocess.Popen(
        [sys.executable, "-m", "ownergraph", *args],
        env={**os.environ, **(env or {})},
        stdout=subprocess.DEVNULL,
    )
    try:
        for url in health_urls:
            _wait_healthy(url, process)
        yield
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="session")
def owners(demo_data: Path) -> Iterator[dict[str, str]]:
    """The four demo owners as one real process; their base URLs by system."""
    base = free_ports(len(SYSTEMS))
    urls = {name: f"http://127.0.0.1:{base + i}" for i, name in enumerate(SYSTEMS)}
    args = ["owners", "--base-port", str(base), "--data-dir", str(demo_data)]
    with running(args, list(urls.values())):
        yield urls


@contextmanager
def gateway_process(
    owner_urls: Mapping[str, str],
    settings: Mapping[str, str] | None = None,
    *,
    port: int | None = None,
    metrics_port: int | None = None,
    workers: int = 1,
) -> Iterator[str]:
    """`ownergraph serve` over the owners; with `metrics_port`, its operations listener too."""
    port = port or free_ports(1)
    env = {f"OWNERGRAPH_{name.upper()}_URL": url for name, url in owner_urls.items()}
    env.update(OWNERGRAPH_DEMO_KEYS="true", OWNERGRAPH_GRAPHIQL="true", OWNERGRAPH_AUDIT_LOG="off")
    env.update(settings or {})
    url = f"http://127.0.0.1:{port}"
    args, health = ["serve", "--port", str(port)], [url]
    if metrics_port is not None:
        args += ["--metrics-port", str(metrics_port)]
        health.append(f"http://127.0.0.1:{metrics_port}")
    if workers > 1:
        args += ["--workers", str(workers)]
    with running(args, health, env):
        yield url


@pytest.fixture(scope="session")
def gateway(owners: dict[str, str]) -> Iterator[str]:
    """The gateway as a real process, pointed at the demo owners."""
    with gateway_process(owners) as url:
        yield url


@pytest.fixture(scope="session")
def demo_gateway(owners: dict[str, str]) -> Iterator[str]:
    """The gateway with introspection on, as `ownergraph demo` runs it: for GraphiQL and clients."""
    with gateway_process(owners, {"OWNERGRAPH_INTROSPECTION": "true"}) as url:
        yield url


class Owners:
    """Reads and resets the demo owners' request counters."""

    def __init__(self, urls: Mapping[str, str]) -> None:
        self.urls = urls

    def reset(self) -> None:
        for url in self.urls.values():
            httpx.delete(f"{url}/_stats").raise_for_status()

    def stats(self) -> dict[str, dict[str, Any]]:
        return {name: httpx.get(f"{url}/_stats").json() for name, url in self.urls.items()}


@pytest.fixture
def owner_stats(owners: dict[str, str]) -> Owners:
    counters = Owners(owners)
    counters.reset()
    return counters


def query(
    url: str, document: str, variables: dict[str, Any] | None = None, key: str = "demo-backoffice"
) -> dict[str, Any]:
    response = httpx.post(
        f"{url}/graphql",
        json={"query": document, "variables": variables or {}},
        headers={"Authorization": f"Bearer {key}"},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body
