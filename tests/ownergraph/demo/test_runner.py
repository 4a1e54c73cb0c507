"""Running the four owners as real HTTP servers on loopback ports."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import httpx
import pytest

from ownergraph.demo import SYSTEMS, OwnerPortError, serve_owners


async def test_serve_owners_answers_over_http_and_stops_when_cancelled(data_dir: Path) -> None:
    started: asyncio.Future[dict[str, str]] = asyncio.get_running_loop().create_future()
    # Port 0: the system hands each owner a free port, reported through `ready`.
    serving = asyncio.create_task(
        serve_owners(base_port=0, data_dir=data_dir, ready=started.set_result)
    )
    urls = await asyncio.wait_for(started, timeout=30)
    try:
        assert list(urls) == list(SYSTEMS)
        async with httpx.AsyncClient() as client:
            for system, url in urls.items():
                assert url.startswith("http://127.0.0.1:")
                reply = await client.get(f"{url}/healthz")
                assert reply.json() == {"status": "ok", "system": system}
    finally:
        serving.cancel()
        with pytest.raises(asyncio.CancelledError):
            await serving
    # Shut down means the ports are free again.
    for url in urls.values():
        port = int(url.rsplit(":", 1)[1])
        with socket.create_server(("127.0.0.1", port)):
            pass


async def test_a_taken_port_is_reported_with_its_system(data_dir: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        with pytest.raises(OwnerPortError, match=rf"'crm' cannot listen on 127\.0\.0\.1:{port}"):
            await serve_owners(base_port=port, data_dir=data_dir)
