"""How an owner call failed below HTTP, and whether the owner may have got the request.

A write reported as "nothing was sent" must really not have reached the
owner: a client that believes it retries with a new idempotency key and
writes twice. Only a connection that was never made is that certain. Once
the request may have left, a broken connection is an unknown outcome.

`PooledHTTP` raises `ConnectFailed` before and `ConnectionBroke` after any
byte may have left; any other transport (`httpx.MockTransport` in tests,
through `TransportHTTP`) is read by httpx's own classes.

    Failure
    ├── NOT_CONNECTED     refused, no route, name not resolved: nothing sent
    ├── CONNECT_TIMEOUT   no connection within the timeout: nothing sent
    ├── BROKEN            reset, disconnected, cut short once the request may have gone out
    └── ANSWER_TIMEOUT    the request may have gone out; no answer within the timeout
"""

from __future__ import annotations

from enum import Enum

import httpx

from .http import ConnectFailed, ConnectionBroke

TRANSPORT_ERRORS = (ConnectFailed, ConnectionBroke, httpx.TransportError)
"""What an owner's HTTP client raises when the exchange itself failed."""


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


def classify(error: Exception) -> Failure:
    """What went wrong with the exchange that raised `error` (one of `TRANSPORT_ERRORS`)."""
    if isinstance(error, ConnectFailed | httpx.ConnectError):
        return Failure.NOT_CONNECTED
    if isinstance(error, httpx.ConnectTimeout | httpx.PoolTimeout):
        return Failure.CONNECT_TIMEOUT
    if isinstance(error, httpx.TimeoutException):
        return Failure.ANSWER_TIMEOUT
    # ConnectionBroke, ReadError, WriteError, RemoteProtocolError...: the request may be out.
    return Failure.BROKEN
