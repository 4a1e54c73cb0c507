"""The HTTP side of a source: requests to one owner, straight to its transport.

An owner call needs a URL, a few fixed headers, maybe a JSON body, and the
answer's bytes. `httpx.AsyncClient` would also merge the URL with its base,
run cookie jars, auth and redirect handling on every call: measured, that was
about a fifth of the gateway's CPU on the caller screen (five owner calls).
So a source builds its `httpx.Request` itself and hands it to the transport
(`httpx-aiohttp` in production, `httpx.MockTransport` in tests): the same
models and the same transport interface, none of the per-call machinery.

Owners never redirect (a 3xx is an answer like any other) and never get
cookies or auth beyond the system's fixed headers, so nothing is lost.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from importlib.metadata import PackageNotFoundError, version
from typing import Any
from urllib.parse import urlencode

import httpx


def _user_agent() -> bytes:
    try:
        return f"ownergraph/{version('ownergraph')}".encode()
    except PackageNotFoundError:  # running from a source tree that is not installed
        return b"ownergraph"


_USER_AGENT = _user_agent()
_JSON = b"application/json"


class OwnerClient:
    """Builds requests to one owner's base URL and sends them through its transport."""

    def __init__(
        self,
        base_url: str,
        transport: httpx.AsyncBaseTransport,
        *,
        headers: Mapping[str, str] | None = None,
        timeout: float = 1.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.transport = transport
        fixed = {"accept": "application/json", **{k.lower(): v for k, v in (headers or {}).items()}}
        self._headers: list[tuple[bytes, bytes]] = [
            (b"user-agent", _USER_AGENT),
            *((name.encode(), value.encode()) for name, value in fixed.items()),
        ]
        self._timeout = httpx.Timeout(timeout).as_dict()

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        headers: Mapping[str, str] | None = None,
        extensions: Mapping[str, Any] | None = None,
    ) -> httpx.Request:
        """A request for `path` (relative to the base URL), ready for `send`."""
        url = self.base_url + path
        if params:
            # Commas stay readable in batch parameters (`ids=C1,C2`); the rest is escaped.
            url += "?" + urlencode(params, safe=",")
        header_list = list(self._headers)
        if headers:
            header_list += [(name.encode(), value.encode()) for name, value in headers.items()]
        content = None
        if json_body is not None:
            content = json.dumps(json_body, separators=(",", ":")).encode()
            header_list.append((b"content-type", _JSON))
        return httpx.Request(
            method,
            url,
            headers=header_list,
            content=content,
            extensions={"timeout": self._timeout, **(extensions or {})},
        )

    async def send(self, request: httpx.Request) -> tuple[httpx.Response, bytes]:
        """Send `request` and read the whole answer; the connection goes back to the pool."""
        response = await self.transport.handle_async_request(request)
        try:
            body = await response.aread()
        finally:
            await response.aclose()
        return response, body

    async def aclose(self) -> None:
        await self.transport.aclose()
