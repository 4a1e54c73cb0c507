"""Start-up with a port already taken: one line naming the port and the fix, no traceback.

Each command runs as a real process while a test socket holds the port it needs.
"""

from __future__ import annotations

import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import free_ports, run_command


@pytest.fixture
def taken() -> Iterator[int]:
    """A loopback port some other program listens on."""
    with socket.create_server(("127.0.0.1", 0)) as holder:
        yield holder.getsockname()[1]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return run_command(list(args), {"OWNERGRAPH_AUDIT_LOG": "off"})


def assert_one_line(result: subprocess.CompletedProcess[str], port: int, option: str) -> str:
    assert result.returncode != 0, result.stdout
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    [line] = lines
    assert f"127.0.0.1:{port}" in line and "in use" in line
    assert f"choose another with {option}" in line
    return line


def test_serve_with_its_port_taken(taken: int) -> None:
    line = assert_one_line(run("serve", "--port", str(taken)), taken, "--port")
    assert line.startswith("gateway cannot listen on")


def test_serve_with_workers_and_its_port_taken(taken: int) -> None:
    assert_one_line(run("serve", "--workers", "2", "--port", str(taken)), taken, "--port")


def test_serve_with_its_metrics_port_taken(taken: int) -> None:
    api = str(free_ports(1))
    result = run("serve", "--port", api, "--metrics-port", str(taken))
    line = assert_one_line(result, taken, "--metrics-port")
    assert line.startswith("metrics listener cannot listen on")


def test_demo_with_the_gateway_port_taken(taken: int, demo_data: Path) -> None:
    owners = str(free_ports(4))
    result = run("demo", "--port", str(taken), "--base-port", owners, "--data-dir", str(demo_data))
    assert_one_line(result, taken, "--port")
    assert "ownergraph demo is running" not in result.stdout


def test_demo_with_an_owner_port_taken(taken: int, demo_data: Path) -> None:
    gateway = str(free_ports(1))
    result = run("demo", "--port", gateway, "--base-port", str(taken), "--data-dir", str(demo_data))
    line = assert_one_line(result, taken, "--base-port")
    assert line.startswith("demo owner 'crm' cannot listen on")


def test_owners_with_a_port_taken(taken: int, demo_data: Path) -> None:
    result = run("owners", "--base-port", str(taken), "--data-dir", str(demo_data))
    line = assert_one_line(result, taken, "--base-port")
    assert line.startswith("demo owner 'crm' cannot listen on")
