"""Open the HTTP client a source uses for its owning system."""

from __future__ import annotations

import aiohttp
import httpx
from httpx_aiohttp import AiohttpTransport

from .config import SystemConfig
from .http import OwnerClient
from .rest import RestSource


def default_transport(config: SystemConfig) -> httpx.AsyncBaseTransport:
    """The aiohttp transport, its pool sized to the system's concurrency cap.

    aiohttp, because httpx's own pool measured about 3x slower under
    concurrency; tests pass `httpx.MockTransport` instead.
    """
    return AiohttpTransport(client=lambda: _session(config))


KEEPALIVE_SECONDS = 5.0
"""How long an idle connection to an owner is kept for the next call (httpx's default)."""


def _session(config: SystemConfig) -> aiohttp.ClientSession:
    # Built when the first call goes out, inside the running loop.
    session = aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(
            limit=config.concurrency, keepalive_timeout=KEEPALIVE_SECONDS
        )
    )
    # aiohttp silently sends an idempotent request again when its connection
    # breaks. Retries here are the source's own: counted, reported, within the
    # owner's budget and the deadline (`RestSource._send`). aiohttp's own
    # tests switch it off the same way.
    if hasattr(session, "_retry_connection"):
        session._retry_connection = False
    return session


def open_source(
    config: SystemConfig, transport: httpx.AsyncBaseTransport | None = None
) -> RestSource:
    """A `RestSource` with its own connection pool (`default_transport` unless given)."""
    if transport is None:
        transport = default_transport(config)
    client = OwnerClient(config.base_url, transport, headers=config.headers, timeout=config.timeout)
    return RestSource(config, client)
