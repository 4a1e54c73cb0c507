"""Fault injection for the demo owners: make one owner misbehave on demand, over real HTTP.

The gateway's resilience (deadlines, retries, circuit breakers) can only be trusted if it
has been seen to cope with an owner that is slow, hangs, answers errors, answers garbage,
answers too little or drops the connection. ``PUT /_faults`` sets such a fault on one owner
app; :class:`FaultMiddleware` applies it to that app's business requests.

This module knows nothing about the owners themselves: ``_base.build_owner_app`` wires it
in, with the routes to count and the paths to leave alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, cast, get_args

from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = [
    "DEFAULT_FLAP_STATUS",
    "FAULTED",
    "FAULT_FIELDS",
    "FAULT_MODES",
    "HANG_LIMIT_S",
    "INJECTED_ERROR",
    "MALFORMED_BODY",
    "Fault",
    "FaultMiddleware",
    "FaultSpecError",
    "FaultState",
    "InjectedDrop",
    "parse_fault",
]

FaultMode = Literal["slow", "hang", "status", "malformed", "truncate", "flap", "drop"]
FAULT_MODES: tuple[FaultMode, ...] = get_args(FaultMode)
#: Every field ``PUT /_faults`` accepts.
FAULT_FIELDS = ("mode", "ms", "status", "retry_after", "times", "paths")
#: The fields each mode takes besides ``mode``, ``times`` and ``paths``.
MODE_FIELDS: Mapping[FaultMode, tuple[str, ...]] = {
    "slow": ("ms",),
    "hang": (),
    "status": ("status", "retry_after"),
    "malformed": (),
    "truncate": (),
    "flap": ("status", "retry_after"),
    "drop": (),
}
#: A hung request gives up after this long, so a forgotten client cannot pin it forever.
HANG_LIMIT_S = 3600.0
#: The body of every injected error status.
INJECTED_ERROR = {"error": "injected fault"}
#: What ``malformed`` answers: an object cut off in the middle, as a broken proxy would.
MALFORMED_BODY = b'{"error": "injected fault", "records": [{"id": '
#: The status ``flap`` fails with unless told otherwise: what an overloaded service answers.
DEFAULT_FLAP_STATUS = 503
#: Scope key set on a faulted request, which the middleware has already counted in the stats.
FAULTED = "ownergraph.demo.faulted"
_MIN_STATUS, _MAX_STATUS = 400, 599

JSONObject = dict[str, Any]


class FaultSpecError(ValueError):
    """A ``PUT /_faults`` body that is not a fault; the message names the field and its values."""


class InjectedDrop(Exception):
    """Raised once half a reply is out, so the server aborts the connection (the ``drop`` fault).

    An exception after the response has started is how an ASGI app tells its server that the
    reply cannot be completed; servers answer it by closing the connection.
    """


@dataclass(frozen=True)
class Fault:
    """One fault as set by ``PUT /_faults``.

    ``ms`` belongs to ``slow``; ``status`` and ``retry_after`` to ``status`` and ``flap``.
    ``times`` (``None``: until cleared) and ``paths`` (``None``: every business route) limit
    which requests it applies to.
    """

    mode: FaultMode
    ms: int | None = None
    status: int | None = None
    retry_after: int | None = None
    times: int | None = None
    paths: tuple[str, ...] | None = None

    def applies_to(self, path: str) -> bool:
        return self.paths is None or any(path.startswith(prefix) for prefix in self.paths)

    def describe(self) -> JSONObject:
        """The fault as JSON, with every field its mode takes (defaults filled in)."""
        described: JSONObject = {"mode": self.mode}
        for field in MODE_FIELDS[self.mode]:
            described[field] = getattr(self, field)
        described["times"] = self.times
        described["paths"] = list(self.paths) if self.paths is not None else None
        return described


def parse_fault(body: Mapping[str, object]) -> Fault:
    """The fault a ``PUT /_faults`` JSON object asks for, or :class:`FaultSpecError`."""
    unknown = sorted(set(body) - set(FAULT_FIELDS))
    if unknown:
        raise FaultSpecError(
            f"unknown field {unknown[0]!r} in the fault; allowed: {', '.join(FAULT_FIELDS)}"
        )
    modes = ", ".join(FAULT_MODES)
    if "mode" not in body:
        raise FaultSpecError(f"field 'mode' is required: one of {modes}")
    mode = body["mode"]
    if mode not in FAULT_MODES:
        raise FaultSpecError(f"field 'mode' must be one of {modes}; got {json.dumps(mode)}")

    # A field the mode ignores is most likely a mistake (`ms` on `hang`, `status` on
    # `truncate`): refuse it rather than have the test think it set something.
    takes = MODE_FIELDS[mode]
    for field in ("ms", "status", "retry_after"):
        if field in body and field not in takes:
            allowed = ", ".join((*takes, "times", "paths"))
            raise FaultSpecError(
                f"field {field!r} does not apply to mode {mode!r}; mode {mode!r} takes: {allowed}"
            )

    ms = _integer(body, "ms", "an integer number of milliseconds, 0 or more", minimum=0)
    if mode == "slow" and ms is None:
        raise FaultSpecError(
            "field 'ms' is required for mode 'slow': an integer number of milliseconds, 0 or more"
        )
    status_rule = f"an integer HTTP status from {_MIN_STATUS} to {_MAX_STATUS}"
    status = _integer(body, "status", status_rule, minimum=_MIN_STATUS, maximum=_MAX_STATUS)
    if mode == "status" and status is None:
        raise FaultSpecError(f"field 'status' is required for mode 'status': {status_rule}")
    if mode == "flap" and status is None:
        status = DEFAULT_FLAP_STATUS
    return Fault(
        mode=mode,
        ms=ms,
        status=status,
        retry_after=_integer(
            body, "retry_after", "an integer number of seconds, 0 or more", minimum=0
        ),
        times=_integer(body, "times", "an integer number of requests, 1 or more", minimum=1),
        paths=_paths(body),
    )


def _integer(
    body: Mapping[str, object], field: str, rule: str, *, minimum: int, maximum: int | None = None
) -> int | None:
    value = body.get(field)
    if value is None:
        return None
    # bool is an int in Python, but `true` is not a number anyone meant.
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or value < minimum
        or (maximum is not None and value > maximum)
    ):
        raise FaultSpecError(f"field {field!r} must be {rule}; got {json.dumps(value)}")
    return value


def _paths(body: Mapping[str, object]) -> tuple[str, ...] | None:
    value = body.get("paths")
    if value is None:
        return None
    if (
        not isinstance(value, list)
        or not value
        or not all(isinstance(prefix, str) and prefix.startswith("/") for prefix in value)
    ):
        raise FaultSpecError(
            "field 'paths' must be a non-empty array of path prefixes starting with '/' "
            f'(like ["/accounts"]); got {json.dumps(value)}'
        )
    return tuple(cast(list[str], value))


class FaultState:
    """The fault currently set on one owner app, and how many requests it has met.

    Every method is synchronous: in asyncio nothing else runs between two statements without
    an ``await``, so concurrent requests can never both take the last of ``times`` or the same
    turn of ``flap``.
    """

    def __init__(self) -> None:
        self._fault: Fault | None = None
        self._applied = 0

    def set(self, fault: Fault) -> None:
        """Replace the current fault; a new fault starts counting from zero."""
        self._fault = fault
        self._applied = 0

    def clear(self) -> None:
        self._fault = None
        self._applied = 0

    def snapshot(self) -> JSONObject:
        """What ``GET /_faults`` answers: the fault, how often it applied and how often it will."""
        fault = self._fault
        if fault is None:
            return {"mode": None}
        remaining = None if fault.times is None else fault.times - self._applied
        return {**fault.describe(), "applied": self._applied, "remaining": remaining}

    def claim(self, path: str) -> Fault | None:
        """The fault that request ``path`` must suffer now, if any, counting it as applied.

        ``flap`` is resolved here into a ``status`` fault (odd turns) or ``None`` (even ones).
        """
        fault = self._fault
        if fault is None or not fault.applies_to(path):
            return None
        self._applied += 1
        turn = self._applied
        if fault.times is not None and turn >= fault.times:
            # The last one: later requests find the owner healthy again.
            self._fault = None
        if fault.mode == "flap":
            if turn % 2 == 0:
                return None
            return Fault("status", status=fault.status, retry_after=fault.retry_after)
        return fault


class FaultMiddleware:
    """Applies the owner's current fault (see :class:`FaultState`) to its business requests.

    A pure ASGI middleware rather than Starlette's ``BaseHTTPMiddleware``: only at this level
    can a request wait for its client to go away without answering (``hang``) or send half a
    reply and then break the connection (``drop``).

    ``count`` is called for every faulted request as soon as its fault is decided, so that
    ``/_stats`` shows the call even while a ``slow`` or ``hang`` request is still waiting, or
    when the endpoint never runs at all. The request then carries ``scope[FAULTED]``, telling
    the endpoint not to count it again.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        faults: FaultState,
        count: Callable[[Scope], None],
        exempt: Collection[str],
    ) -> None:
        self.app = app
        self.faults = faults
        self.count = count
        self.exempt = frozenset(exempt)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self.exempt:
            await self.app(scope, receive, send)
            return
        fault = self.faults.claim(scope["path"])
        if fault is None:
            await self.app(scope, receive, send)
            return
        self.count(scope)
        scope = {**scope, FAULTED: True}
        match fault.mode:
            case "slow":
                await asyncio.sleep((fault.ms or 0) / 1000)
                await self.app(scope, receive, send)
            case "truncate":
                start, body = await _capture(self.app, scope, receive)
                halved = _halve_lists(start, body)
                if halved is not body:
                    # Only a rewritten body gets a new length: a HEAD reply keeps the length
                    # of the body it does not carry.
                    start = {**start, "headers": _with_length(start, len(halved))}
                await send(start)
                await send({"type": "http.response.body", "body": halved})
            case "drop":
                await _drop(self.app, scope, receive, send)
            case "hang":
                await _wait_for_disconnect(receive)
            case "malformed":
                await Response(MALFORMED_BODY, media_type="application/json")(scope, receive, send)
            case "status" | "flap":
                # `claim` has already turned flap's failing turns into status faults.
                headers = {}
                if fault.retry_after is not None:
                    headers["Retry-After"] = str(fault.retry_after)
                reply = JSONResponse(
                    INJECTED_ERROR, status_code=fault.status or 500, headers=headers
                )
                await reply(scope, receive, send)


async def _wait_for_disconnect(receive: Receive) -> None:
    """Answer nothing until the client gives up (or an hour passes)."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(HANG_LIMIT_S):
            # The request body comes first; after it, the server's next message is the
            # disconnect, sent when the client closes the connection.
            while (await receive())["type"] != "http.disconnect":
                pass


async def _capture(app: ASGIApp, scope: Scope, receive: Receive) -> tuple[Message, bytes]:
    """Run the real endpoint, keeping its reply instead of sending it."""
    start: Message | None = None
    body = bytearray()

    async def keep(message: Message) -> None:
        nonlocal start
        if message["type"] == "http.response.start":
            start = message
        elif message["type"] == "http.response.body":
            body.extend(message.get("body", b""))

    await app(scope, receive, keep)
    if start is None:
        raise RuntimeError(f"the endpoint for {scope['path']} returned without answering")
    return start, bytes(body)


def _headers(start: Message) -> list[tuple[bytes, bytes]]:
    return list(cast(Iterable[tuple[bytes, bytes]], start.get("headers", [])))


def _with_length(start: Message, length: int) -> list[tuple[bytes, bytes]]:
    """The reply's headers with ``Content-Length`` set to ``length``."""
    kept = [(name, value) for name, value in _headers(start) if name.lower() != b"content-length"]
    return [*kept, (b"content-length", str(length).encode("ascii"))]


def _halve_lists(start: Message, body: bytes) -> bytes:
    """``body`` with every top-level list of its JSON object cut to its first half.

    Returns ``body`` itself when it is not a JSON object.
    """
    content_type = dict((name.lower(), value) for name, value in _headers(start)).get(
        b"content-type", b""
    )
    if not content_type.startswith(b"application/json"):
        return body
    try:
        reply = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return body
    if not isinstance(reply, dict):
        return body
    halved = {
        key: value[: len(value) // 2] if isinstance(value, list) else value
        for key, value in reply.items()
    }
    # Encoded as Starlette's JSONResponse does, so only the lists differ from a real reply.
    return json.dumps(halved, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


async def _drop(app: ASGIApp, scope: Scope, receive: Receive, send: Send) -> None:
    """Run the real endpoint, send its headers and half its body, then break the connection."""
    start, body = await _capture(app, scope, receive)
    # The real length, so the client knows bytes are missing; an empty reply would arrive
    # complete, so it promises one byte that never comes.
    await send({**start, "headers": _with_length(start, max(len(body), 1))})
    await send({"type": "http.response.body", "body": body[: len(body) // 2], "more_body": True})
    raise InjectedDrop(
        f"the 'drop' fault broke the connection of {scope['method']} {scope['path']} on purpose"
    )
