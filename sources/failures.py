"""How an owner call failed below HTTP, and whether the owner may have got the request.

A write reported as "nothing was sent" must really not have reached the
owner: a client that believes it retries with a new idempotency key and
writes twice. Only a connection that was never made is that certain. Once
the request may have left, a broken connection is an unknown outcome.

The httpx-aiohttp transport maps aiohttp's errors loosely (every
`aiohttp.ClientConnectionError`, a reset after the request was written
included, becomes `httpx.ConnectTimeout`), so the aiohttp error it chains
is read first; httpx's own classes are used for any other transport
(`httpx.MockTransport` in tests).

    Failure
    ├── NOT_CONNECTED     refused, no route, name not resolved: nothing sent
    ├── CONNECT_TIMEOUT   no connection within the timeout: nothing sent
    ├── BROKEN            reset, disconnected, cut short once the request may have gone out
    └── ANSWER_TIMEOUT    the request may have gone out; no answer within the timeout
"""

from __future__ import annotations

import socket
from enum import Enum

import aiohttp
import httpx


class Failure(Enum):
    NOT_CONNECTED = "not_connected"
    CONNECT_TIMEOUT = "connect_timeout"
    BROKEN = "broken"
    ANSWER_TIMEOUT = "answer_timeout"

    @property
    def sent(self) -> bool:
        """Whether any byte of the request may have reached the owner."""
        return self in (Failure.BROKEN, Failure.ANSWER_TIMEOUT)

    @property
    def timed_out(self) -> bool:
        return self in (Failure.CONNECT_TIMEOUT, Failure.ANSWER_TIMEOUT)


def classify(error: httpx.TransportError) -> Failure:
    """What went wrong with the exchange that raised `error`."""
    cause = _cause(error)
    if isinstance(cause, aiohttp.ClientError):
        return _from_aiohttp(cause)
    if cause is not None:
        return Failure.NOT_CONNECTED  # refused, or the name did not resolve
    if isinstance(error, httpx.ConnectError):
        return Failure.NOT_CONNECTED
    if isinstance(error, httpx.ConnectTimeout | httpx.PoolTimeout):
        return Failure.CONNECT_TIMEOUT
    if isinstance(error, httpx.TimeoutException):
        return Failure.ANSWER_TIMEOUT
    # ReadError, WriteError, RemoteProtocolError...: the request may be out.
    return Failure.BROKEN


def _from_aiohttp(cause: aiohttp.ClientError) -> Failure:
    # aiohttp only raises these before a connection exists; every other
    # error may come once the request is (partly) written.
    if isinstance(cause, aiohttp.ConnectionTimeoutError):
        return Failure.CONNECT_TIMEOUT
    if isinstance(cause, aiohttp.ClientConnectorError):
        return Failure.NOT_CONNECTED
    if isinstance(cause, aiohttp.ServerTimeoutError):
        return Failure.ANSWER_TIMEOUT
    return Failure.BROKEN


def _cause(error: BaseException) -> BaseException | None:
    """The aiohttp error `error` chains, or a refused or unresolved connection; else None."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        if isinstance(current, aiohttp.ClientError | ConnectionRefusedError | socket.gaierror):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None
