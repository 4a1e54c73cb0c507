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

import re
from collections.abc import Mapping
from importlib.metadata import PackageNotFoundError, version
from typing import Any
from urllib.parse import urlencode

import httpx
import orjson


def _user_agent() -> bytes:
    try:
        return f"ownergraph/{version('ownergraph')}".encode()
    except PackageNotFoundError:  # running from a source tree that is not installed
        return b"ownergraph"


_USER_AGENT = _user_agent()
_JSON = "application/json"
# Characters a path and query may hold once escaped (RFC 3986), nothing to escape.
_ESCAPED = re.compile(r"[A-Za-z0-9\-._~%!$&'()*+,;=:@/?]*")


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
        # The base URL's parsed parts, when httpx keeps them as we know it does.
        parts: Any = getattr(httpx.URL(self.base_url), "_uri_reference", None)
        self._parts = parts if hasattr(parts, "_replace") and parts.path in ("", "/") else None
        self.transport = transport
        fixed = {"accept": "application/json", **{k.lower(): v for k, v in (headers or {}).items()}}
        # Normalised once: httpx copies a Headers object cheaply, a list it parses again.
        self._headers = httpx.Headers(
            [
                (b"user-agent", _USER_AGENT),
                *((name.encode(), value.encode()) for name, value in fixed.items()),
            ]
        )
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
        query = urlencode(params, safe=",") if params else None
        request_headers = self._headers
        content = None
        if headers or json_body is not None:
            request_headers = self._headers.copy()
            request_headers.update(headers or {})
        if json_body is not None:
            content = orjson.dumps(json_body)
            request_headers["content-type"] = _JSON
        return httpx.Request(
            method,
            self._url(path, query),
            headers=request_headers,
            content=content,
            extensions={"timeout": self._timeout, **(extensions or {})},
        )

    def _url(self, path: str, query: str | None) -> httpx.URL | str:
        """The URL of `path?query` under the base URL.

        Parsing a URL string is httpx's most expensive step per call (a Python
        loop over every character, and the host checked as an IP address).
        Path and query here are escaped already: the base's parsed parts are
        reused with them swapped in. Anything unusual takes the parsing road.
        """
        whole = path if query is None else f"{path}?{query}"
        if self._parts is None or not path.startswith("/") or not _ESCAPED.fullmatch(whole):
            return self.base_url + whole
        url = httpx.URL.__new__(httpx.URL)
        url._uri_reference = self._parts._replace(path=path, query=query)
        return url

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
