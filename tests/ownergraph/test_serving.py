"""Several uvicorn servers in one loop, on ports bound before any starts."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.types import Lifespan

from ownergraph.serving import Listener, PortError, Server, bind, serve_together


def test_a_taken_port_is_one_error_naming_it_and_the_option() -> None:
    with socket.create_server(("127.0.0.1", 0)) as holder:
        port = holder.getsockname()[1]
        with pytest.raises(PortError) as caught:
            bind("gateway", "127.0.0.1", port, "--port")
    message = str(caught.value)
    assert message.startswith(f"gateway cannot listen on 127.0.0.1:{port}: ")
    assert message.endswith("; stop whatever holds the port or choose another with --port")
    assert caught.value.port == port


def _app(text: str, lifespan: Lifespan[Starlette] | None = None) -> Starlette:
    async def page(request: Request) -> PlainTextResponse:
        return PlainTextResponse(text)

    return Starlette(routes=[Route("/", page)], lifespan=lifespan)


async def test_listeners_start_in_order_and_stop_together() -> None:
    first_sock = bind("first", "127.0.0.1", 0, "--first")
    second_sock = bind("second", "127.0.0.1", 0, "--second")
    first = Server(uvicorn.Config(_app("one"), log_level="warning"))
    seen_first_started: list[bool] = []

    @asynccontextmanager
    async def second_lifespan(app: Starlette) -> AsyncIterator[None]:
        seen_first_started.append(first.started)
        yield

    second = Server(uvicorn.Config(_app("two", second_lifespan), log_level="warning"))
    ready = asyncio.Event()
    serving = asyncio.create_task(
        serve_together(
            [Listener("first", first, first_sock), Listener("second", second, second_sock)],
            ready=ready.set,
        )
    )
    await asyncio.wait_for(ready.wait(), timeout=30)
    async with httpx.AsyncClient() as client:
        for sock, text in ((first_sock, "one"), (second_sock, "two")):
            port = sock.getsockname()[1]
            assert (await client.get(f"http://127.0.0.1:{port}/")).text == text
    assert seen_first_started == [True]
    # One stopping stops the other.
    first.should_exit = True
    await asyncio.wait_for(serving, timeout=30)
    assert second.should_exit
