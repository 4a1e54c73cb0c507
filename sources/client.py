"""Open the HTTP client a source uses for its owning system."""

from __future__ import annotations

import httpx

from .config import SystemConfig
from .http import OwnerHTTP, PooledHTTP, TransportHTTP
from .rest import RestSource


def owner_http(
    config: SystemConfig, transport: httpx.AsyncBaseTransport | None = None
) -> OwnerHTTP:
    """The system's own connection pool, or its requests through `transport` (tests)."""
    if transport is not None:
        return TransportHTTP(config.base_url, transport, headers=config.headers)
    return PooledHTTP(config.base_url, headers=config.headers, limit=config.concurrency)


def open_source(
    config: SystemConfig,
    transport: httpx.AsyncBaseTransport | None = None,
    *,
    http: OwnerHTTP | None = None,
) -> RestSource:
    """A `RestSource` over `http`, else over `owner_http(config, transport)`."""
    return RestSource(config, http or owner_http(config, transport))
