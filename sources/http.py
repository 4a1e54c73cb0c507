"""The HTTP side of a source: one owner's requests and answers, as cheaply as can be.

An owner call is a small HTTP/1.1 exchange over a kept-alive connection: a
request line, a few fixed headers, maybe a JSON body; an answer whose status,
few headers and body are all the source reads. A general client does much
more on every call (cookies, proxies, redirects, URL models, signals):
measured per call on loopback, httpx over aiohttp took about 240 µs of CPU,
aiohttp alone 135-170 µs, and this client, which writes the request itself
and parses the answer with httptools (llhttp, uvicorn's parser), about
35 µs. A caller screen makes five owner calls.

`PooledHTTP` is the production client; `TransportHTTP` sends the same
requests through any httpx transport (`httpx.MockTransport` and
`httpx.ASGITransport` in tests). Both raise the same errors, which say
whether the request may have reached the owner (see `failures`).
"""

from __future__ import annotations

import asyncio
import re
import socket
import ssl
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from typing import Any, Protocol, cast
from urllib.parse import quote_plus, urlsplit

import httptools
import httpx
import orjson


def _user_agent() -> str:
    try:
        return f"ownergraph/{version('ownergraph')}"
    except PackageNotFoundError:  # running from a source tree that is not installed
        return "ownergraph"


USER_AGENT = _user_agent()


_PLAIN = re.compile(r"[A-Za-z0-9_.~,-]*")
"""What `quote_plus(text, safe=",")` leaves as it is."""


def _quoted(text: str) -> str:
    return text if _PLAIN.fullmatch(text) else quote_plus(text, safe=",")


class ConnectFailed(OSError):
    """No connection to the owner could be made: nothing of the request was sent."""


class ConnectionBroke(Exception):
    """The connection broke once the request may have gone out: the answer never came whole."""


@dataclass
class OwnerRequest:
    """One request to an owner, and what it is for (names from the map, for traces)."""

    method: str
    path: str
    """The path under the owner's base URL, already escaped."""
    query: Mapping[str, Any] | None = None
    json_body: Any = None
    headers: Mapping[str, str] | None = None
    system: str = ""
    entity: str = ""
    keys: int = 0
    route: str = ""
    """The declared path (`/customers/{key}`): what a trace may name, never the path itself."""
    sent: bool = False
    """Set once any byte of the request may have left: after that, an outcome is unknown."""

    def target(self) -> str:
        """The path and query, as `urlencode(query, safe=",")` writes the query."""
        if not self.query:
            return self.path
        return f"{self.path}?" + "&".join(
            f"{_quoted(name)}={_quoted(value if type(value) is str else str(value))}"
            for name, value in self.query.items()
        )

    def body(self) -> bytes | None:
        return None if self.json_body is None else orjson.dumps(self.json_body)


class OwnerResponse:
    """An owner's answer: its status, its headers (lower-case names) and its body.

    The headers are read from the raw ones when first asked for: a source
    reads them only for a `Retry-After`, and most answers never are.
    """

    __slots__ = ("_headers", "_raw", "body", "status")

    def __init__(
        self,
        status: int,
        headers: Mapping[str, str] | None = None,
        body: bytes = b"",
        *,
        raw: Sequence[tuple[bytes, bytes]] = (),
    ) -> None:
        self.status = status
        self.body = body
        self._headers = headers
        self._raw = raw

    @property
    def headers(self) -> Mapping[str, str]:
        if self._headers is None:
            headers: dict[str, str] = {}
            for name, value in self._raw:
                key, text = name.decode("latin-1").lower(), value.decode("latin-1")
                # Repeated headers joined, as RFC 9110 allows for list-valued ones.
                headers[key] = text if key not in headers else f"{headers[key]}, {text}"
            self._headers = headers
        return self._headers

    def __repr__(self) -> str:
        return f"OwnerResponse({self.status}, {len(self.body)} bytes)"


class OwnerHTTP(Protocol):
    """How a source exchanges requests and answers with its owner."""

    async def send(self, request: OwnerRequest) -> OwnerResponse: ...

    async def aclose(self) -> None: ...


# -- the pooled client ------------------------------------------------------------------


KEEPALIVE_SECONDS = 4.0
"""How long an idle connection to an owner is kept for the next read.

Under the 5 s that uvicorn, Node and most proxies keep an idle connection
open: a connection the owner is about to close is not picked for a call.
"""
WRITE_REUSE_SECONDS = 1.0
"""A write goes out only on a connection idle for less than this, else on a new one.

A kept-alive connection the owner closes just as a request is written looks,
from here, like a connection broken after sending: for a write, an unknown
outcome. A fresh connection costs a round trip; an unknown write costs a
person checking.
"""
MAX_ANSWER_BYTES = 64 * 1024 * 1024
"""An answer longer than this is cut off and the call fails: one owner cannot fill memory."""


class PooledHTTP:
    """HTTP/1.1 to one owner's base URL over a pool of kept-alive connections.

    The source's concurrency cap admits no more calls at once than the
    owner's `concurrency`, so no more connections are open than that; at most
    `limit` idle ones are kept. Timeouts are the caller's (`slots.Within`):
    a connection cut mid-exchange is closed, never reused.
    """

    def __init__(
        self,
        base_url: str,
        *,
        headers: Mapping[str, str] | None = None,
        limit: int = 10,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {base_url!r}")
        self.host = parts.hostname
        self.port = parts.port or (443 if parts.scheme == "https" else 80)
        self.prefix = parts.path.rstrip("/")
        self.ssl = ssl.create_default_context() if parts.scheme == "https" else None
        self.limit = limit
        self._clock = clock
        fixed = {
            "host": parts.netloc.rsplit("@", 1)[-1],
            "user-agent": USER_AGENT,
            "accept": "application/json",
            **{name.lower(): value for name, value in (headers or {}).items()},
        }
        self._fixed = _header_lines(fixed)
        self._idle: list[_Connection] = []
        self._closed = False

    async def send(self, request: OwnerRequest) -> OwnerResponse:
        message = self._message(request)
        reads = request.method == "GET"
        connection = self._take(KEEPALIVE_SECONDS if reads else WRITE_REUSE_SECONDS)
        if connection is not None:
            try:
                return await self._exchange(connection, request, message)
            except ConnectionBroke:
                if not reads or connection.answered:
                    raise
                # The owner closed a kept-alive connection as the read went out,
                # before a byte of answer: a read is safe to send again, once, on
                # a new connection (a source's own retries are for owner failures).
        return await self._exchange(await self._connect(), request, message)

    def _message(self, request: OwnerRequest) -> bytes:
        body = request.body()
        head = f"{request.method} {self.prefix}{request.target()} HTTP/1.1\r\n".encode("latin-1")
        lines = [head, self._fixed]
        if request.headers:
            lines.append(_header_lines(request.headers))
        if body is not None:
            lines.append(b"content-type: application/json\r\n")
        if body is not None or request.method in ("POST", "PUT", "PATCH"):
            lines.append(b"content-length: %d\r\n" % len(body or b""))
        lines.append(b"\r\n")
        if body:
            lines.append(body)
        return b"".join(lines)

    async def _exchange(
        self, connection: _Connection, request: OwnerRequest, message: bytes
    ) -> OwnerResponse:
        try:
            request.sent = True
            response = await connection.exchange(message)
        except BaseException:
            connection.close()
            raise
        if connection.reusable and not self._closed and len(self._idle) < self.limit:
            connection.idle_since = self._clock()
            self._idle.append(connection)
        else:
            connection.close()
        return response

    def _take(self, within: float) -> _Connection | None:
        now = self._clock()
        while self._idle:
            connection = self._idle.pop()
            if connection.open and now - connection.idle_since < within:
                return connection
            if connection.open and now - connection.idle_since < KEEPALIVE_SECONDS:
                # Fresh enough for a read, not for a write (and the others idle
                # longer): kept for the next read.
                self._idle.append(connection)
                return None
            connection.close()
        return None

    async def _connect(self) -> _Connection:
        loop = asyncio.get_running_loop()
        try:
            _, connection = await loop.create_connection(
                _Connection,
                self.host,
                self.port,
                ssl=self.ssl,
                server_hostname=self.host if self.ssl else None,
            )
        except OSError as error:
            raise ConnectFailed(
                error.errno, f"could not connect: {error.strerror or error}"
            ) from error
        return connection

    async def aclose(self) -> None:
        self._closed = True
        while self._idle:
            self._idle.pop().close()


def _header_lines(headers: Mapping[str, str]) -> bytes:
    lines = []
    for name, value in headers.items():
        if _UNSAFE.search(name) or _UNSAFE.search(value):
            raise ValueError(f"header {name!r}: a name or value may not hold a line break")
        lines.append(f"{name}: {value}\r\n")
    return "".join(lines).encode("latin-1")


_UNSAFE = re.compile(r"[\r\n\0]")


_FRAMING = (b"content-length", b"transfer-encoding")
"""Headers that say where a body ends: without either, it ends when the owner closes."""


class _Connection(asyncio.Protocol):
    """One connection to an owner: one exchange at a time, the answer parsed by httptools."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.open = False
        self.reusable = False
        self.answered = False
        """Whether any byte of the current answer arrived."""
        self.idle_since = 0.0
        self._answer: asyncio.Future[OwnerResponse] | None = None
        self._parser = httptools.HttpResponseParser(self)
        self._raw: list[tuple[bytes, bytes]] = []
        self._body: list[bytes] = []
        self._size = 0
        self._status = 0
        self._until_close = False

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports do not derive from asyncio.Transport, but are one.
        self.transport = cast(asyncio.Transport, transport)
        self.open = True
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            # A small request goes out at once, not after the owner's delayed ACK.
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data: bytes) -> None:
        if self._answer is None or self._answer.done():
            # Nothing was asked: an owner speaking out of turn is not to be trusted.
            self.close()
            return
        self.answered = True
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as error:
            self._fail(ConnectionBroke(f"the answer is not HTTP: {error}"))

    def connection_lost(self, exc: Exception | None) -> None:
        self.open = False
        self.reusable = False
        if self._answer is None or self._answer.done():
            return
        if exc is None and self._until_close:
            # No length and not chunked: the body is everything until the owner closed.
            self._answer.set_result(self._response())
            return
        reason = f": {exc}" if exc else ""
        self._answer.set_exception(
            ConnectionBroke(f"the connection closed before the answer{reason}")
        )

    # httptools callbacks
    def on_message_begin(self) -> None:
        if self._answer is None or self._answer.done():
            # A second answer to one request (in the same read as the first).
            self.close()

    def on_header(self, name: bytes, value: bytes) -> None:
        if name or not self._raw:
            self._raw.append((name, value))
        else:  # a header value split across two reads
            last, start = self._raw[-1]
            self._raw[-1] = (last, start + value)

    def on_headers_complete(self) -> None:
        self._status = self._parser.get_status_code()
        self._until_close = self._status not in (204, 304) and not any(
            name.lower() in _FRAMING for name, _ in self._raw
        )

    def on_body(self, body: bytes) -> None:
        self._size += len(body)
        if self._size > MAX_ANSWER_BYTES:
            self._fail(ConnectionBroke(f"the answer is longer than {MAX_ANSWER_BYTES} bytes"))
            return
        self._body.append(body)

    def on_message_complete(self) -> None:
        answer = self._answer
        if answer is not None and not answer.done():
            self.reusable = self.open and bool(self._parser.should_keep_alive())
            answer.set_result(self._response())

    # ours
    async def exchange(self, message: bytes) -> OwnerResponse:
        assert self.transport is not None
        self._answer = asyncio.get_running_loop().create_future()
        self._raw = []
        self._body = []
        self._size = 0
        self._until_close = False
        self.reusable = False
        self.answered = False
        self.transport.write(message)
        return await self._answer

    def _response(self) -> OwnerResponse:
        return OwnerResponse(self._status, body=b"".join(self._body), raw=self._raw)

    def _fail(self, error: Exception) -> None:
        if self._answer is not None and not self._answer.done():
            self._answer.set_exception(error)
        self.close()

    def close(self) -> None:
        self.open = False
        self.reusable = False
        if self.transport is not None:
            self.transport.close()


# -- any httpx transport ----------------------------------------------------------------


class TransportHTTP:
    """The same requests through an httpx transport (MockTransport, ASGITransport...)."""

    def __init__(
        self,
        base_url: str,
        transport: httpx.AsyncBaseTransport,
        *,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.transport = transport
        self._headers: Sequence[tuple[str, str]] = [
            ("user-agent", USER_AGENT),
            ("accept", "application/json"),
            *((name.lower(), value) for name, value in (headers or {}).items()),
        ]

    async def send(self, request: OwnerRequest) -> OwnerResponse:
        body = request.body()
        headers = [*self._headers, *((k, v) for k, v in (request.headers or {}).items())]
        if body is not None:
            headers.append(("content-type", "application/json"))
        outgoing = httpx.Request(
            request.method,
            self.base_url + request.target(),
            headers=headers,
            content=body,
        )
        request.sent = True
        response = await self.transport.handle_async_request(outgoing)
        try:
            content = await response.aread()
        finally:
            await response.aclose()
        return OwnerResponse(
            response.status_code,
            {name.lower(): value for name, value in response.headers.items()},
            content,
        )

    async def aclose(self) -> None:
        await self.transport.aclose()
