"""Helpers for talking to a demo owner app in-process."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import httpx
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
