"""Helpers for talking to a demo owner app, in-process or over a real loopback socket."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator

import httpx
import uvicorn
from starlette.applications import Starlette


@contextlib.asynccontextmanager
async def owner_client(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    """An httpx client bound to ``app``, with the app's lifespan run around it."""
    # Running the lifespan closes the app's database at the end, as a real server would.
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://owner.test"
        ) as client,
    ):
        yield client


@contextlib.asynccontextmanager
async def served(app: Starlette) -> AsyncIterator[tuple[str, uvicorn.Server]]:
    """``app`` behind a real uvicorn server on a free loopback port, in the running loop.

    Yields the base URL and the server, whose ``server_state`` shows its open connections
    and request tasks. Some faults (a hang, a dropped connection) only mean anything on a
    real socket: the in-process transport has no connection to break or time out.
    """
    sock = socket.create_server(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    # log_config=None: leave the test process's logging alone (pytest captures the records).
    config = uvicorn.Config(app, log_config=None, lifespan="on", timeout_graceful_shutdown=5)
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            if serving.done():
                serving.result()
                raise RuntimeError("the test server stopped during start-up")
            await asyncio.sleep(0.01)
        yield f"http://127.0.0.1:{port}", server
    finally:
        server.should_exit = True
        await serving
        sock.close()
