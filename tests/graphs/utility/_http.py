"""What the utility company's four systems share: errors in a shape of each system's own,
request stats, injected faults, idempotent writes, parsing of keys and bodies, and the
assembly of an app with its operational routes.

These systems are another company's, not the demo owners: nothing here comes from
``ownergraph.demo``.
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match, Route
from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = [
    "HANG_LIMIT_S",
    "KEY_HEADER",
    "MAX_BATCH",
    "MAX_KEY_LENGTH",
    "REPLAYED_HEADER",
    "BadRequest",
    "Clock",
    "ErrorShape",
    "Fault",
    "FaultMode",
    "IdempotencyStore",
    "JSONObject",
    "NotFound",
    "OwnerError",
    "ReadRoute",
    "Stats",
    "WriteRoute",
    "body_object",
    "build_app",
    "check_batch",
    "parse_fault",
    "preview",
    "query_keys",
]

#: Most keys one batch read may ask for.
MAX_BATCH = 100
#: A ``hang`` fault answers 504 after this long if the client has not gone away by then.
HANG_LIMIT_S = 300.0
KEY_HEADER = "Idempotency-Key"
#: Set (to ``true``) on a write's reply that is the stored reply of an earlier request.
REPLAYED_HEADER = "Idempotent-Replayed"
MAX_KEY_LENGTH = 255
#: Request bodies are a few hundred bytes; anything past this is a mistake.
MAX_BODY_BYTES = 1 << 16
#: Routes that are not the systems' business: never counted, never faulted.
OPERATIONAL_PATHS = frozenset({"/healthz", "/_stats", "/_faults", "/openapi.json"})

JSONObject = dict[str, Any]
#: An aware ``datetime`` of now: readings are stamped with it, past dates told by it.
Clock = Callable[[], datetime]


# --------------------------------------------------------------------------- errors


class OwnerError(Exception):
    """A request a system refuses: answered in that system's own error shape."""

    def __init__(
        self,
        status: int,
        message: str,
        field: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.field = field
        self.headers = dict(headers or {})


class BadRequest(OwnerError):
    """The request is wrong (400); the message names the value and what is allowed."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(400, message, field)


class NotFound(OwnerError):
    def __init__(self, what: str, key: object, field: str | None = None) -> None:
        super().__init__(404, f"{what} {key!r} not found", field)


@dataclass(frozen=True)
class ErrorShape:
    """How one system writes its errors: a body from (status, message, field), a media type."""

    render: Callable[[int, str, str | None], JSONObject]
    media_type: str = "application/json"

    def response(
        self,
        status: int,
        message: str,
        field: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        body = orjson.dumps(self.render(status, message, field))
        return Response(body, status, headers=dict(headers or {}), media_type=self.media_type)


def _key_refusal(status: int, message: str, headers: Mapping[str, str] | None = None) -> Response:
    """An answer of the idempotency layer, the same on every system: ``{"message": ...}``."""
    body = orjson.dumps({"message": message})
    return Response(body, status, headers=dict(headers or {}), media_type="application/json")


# --------------------------------------------------------------------------- stats and faults


class Stats:
    """Business requests per route and keys asked for, for ``/_stats``.

    Tests read these to see that a gateway batched its calls, or did not call at all.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests = 0
        self._keys = 0
        self._routes: dict[str, int] = {}

    def register(self, label: str) -> None:
        """Make route ``label`` appear, with a zero count, before it is first asked."""
        with self._lock:
            self._routes.setdefault(label, 0)

    def count_request(self, label: str) -> None:
        with self._lock:
            self._requests += 1
            self._routes[label] = self._routes.get(label, 0) + 1

    def count_keys(self, keys: int) -> None:
        with self._lock:
            self._keys += keys

    def reset(self) -> None:
        with self._lock:
            self._requests = 0
            self._keys = 0
            self._routes = dict.fromkeys(self._routes, 0)

    def snapshot(self) -> JSONObject:
        with self._lock:
            return {"requests": self._requests, "routes": dict(self._routes), "keys": self._keys}


class FaultMode(Enum):
    STATUS = "status"
    HANG = "hang"


@dataclass(frozen=True)
class Fault:
    """What every business request suffers until ``DELETE /_faults``."""

    mode: FaultMode
    status: int | None = None

    def describe(self) -> JSONObject:
        if self.mode is FaultMode.STATUS:
            return {"mode": self.mode.value, "status": self.status}
        return {"mode": self.mode.value}


_MODES = ", ".join(mode.value for mode in FaultMode)


def parse_fault(body: JSONObject) -> Fault:
    """The fault a ``PUT /_faults`` body (with no field but these two) asks for, or
    :class:`BadRequest`.
    """
    raw_mode = body.get("mode")
    mode = next((mode for mode in FaultMode if mode.value == raw_mode), None)
    if mode is None:
        raise BadRequest(f"field 'mode' must be one of {_MODES}; got {preview(raw_mode)}", "mode")
    status = body.get("status")
    if mode is FaultMode.HANG:
        if status is not None:
            raise BadRequest("field 'status' does not apply to mode 'hang'", "status")
        return Fault(mode)
    if isinstance(status, bool) or not isinstance(status, int) or not 400 <= status <= 599:
        raise BadRequest(
            f"field 'status' must be an HTTP status from 400 to 599; got {preview(status)}",
            "status",
        )
    return Fault(mode, status)


class _BusinessMiddleware:
    """Counts every business request on arrival, then applies the system's fault, if any.

    Pure ASGI: only at this level can a request wait for its client to leave without ever
    answering (``hang``). Counting comes first, so a faulted request is still seen in
    ``/_stats``: tests prove the gateway did (or did not) call the owner.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        label_of: Callable[[Scope], str | None],
        stats: Stats,
        faults: _FaultSlot,
        errors: ErrorShape,
        hang_limit_s: float,
    ) -> None:
        self.app = app
        self.label_of = label_of
        self.stats = stats
        self.faults = faults
        self.errors = errors
        self.hang_limit_s = hang_limit_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in OPERATIONAL_PATHS:
            await self.app(scope, receive, send)
            return
        label = self.label_of(scope)
        if label is None:  # no such route or method: the router's 404 or 405
            await self.app(scope, receive, send)
            return
        self.stats.count_request(label)
        fault = self.faults.current
        if fault is None:
            await self.app(scope, receive, send)
        elif fault.mode is FaultMode.STATUS:
            assert fault.status is not None
            reply = self.errors.response(fault.status, "injected fault")
            await reply(scope, receive, send)
        else:
            await self._hang(scope, receive, send)

    async def _hang(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            async with asyncio.timeout(self.hang_limit_s):
                # The request body comes first; the server's next message is the disconnect.
                while (await receive())["type"] != "http.disconnect":
                    pass
        except TimeoutError:
            message = f"injected hang gave up after {self.hang_limit_s:g} s"
            await self.errors.response(504, message)(scope, receive, send)


class _FaultSlot:
    """The one fault set on a system, if any; replaced whole, so readers need no lock."""

    def __init__(self) -> None:
        self.current: Fault | None = None


# --------------------------------------------------------------------------- idempotency


class _KeyState(Enum):
    IN_FLIGHT = "in flight"
    DONE = "done"


@dataclass(frozen=True)
class _Remembered:
    state: _KeyState
    fingerprint: str = ""
    status: int = 0
    body: bytes = b""


class IdempotencyStore:
    """Every ``Idempotency-Key`` a system has answered, with the request and the reply.

    In memory, for the life of the app. A key is claimed when its request arrives, before
    its body is read, so a second request with the key gets a 409 while the first is still
    uploading or running. Only a write that succeeded is remembered; after a refusal the
    key is free for the corrected request. The lock makes each step atomic even when the
    app is driven from several threads, not only from one event loop.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._keys: dict[str, _Remembered] = {}

    def claim(self, key: str) -> _Remembered | None:
        """``None`` if the caller now holds ``key``; otherwise what the key holds already."""
        with self._lock:
            held = self._keys.get(key)
            if held is None:
                self._keys[key] = _Remembered(_KeyState.IN_FLIGHT)
            return held

    def complete(self, key: str, fingerprint: str, status: int, body: bytes) -> None:
        with self._lock:
            self._keys[key] = _Remembered(_KeyState.DONE, fingerprint, status, body)

    def release(self, key: str) -> None:
        with self._lock:
            if self._keys.get(key, _Remembered(_KeyState.DONE)).state is _KeyState.IN_FLIGHT:
                del self._keys[key]


def _fingerprint(method: str, path: str, body: bytes) -> str:
    """What makes two writes the same: method, path and JSON body (key order aside)."""
    try:
        canonical = orjson.dumps(orjson.loads(body), option=orjson.OPT_SORT_KEYS)
    except orjson.JSONDecodeError:
        canonical = b"raw:" + body
    digest = hashlib.sha256(f"{method} {path}\n".encode())
    digest.update(canonical)
    return digest.hexdigest()


def _key_problem(key: str | None, label: str) -> str | None:
    rule = (
        f"one key per intended write, 1 to {MAX_KEY_LENGTH} printable ASCII characters "
        "(a UUID is a good key), sent again only to retry that write"
    )
    if key is None:
        return f"header {KEY_HEADER!r} is required on {label}: {rule}"
    if not 1 <= len(key) <= MAX_KEY_LENGTH or not (key.isascii() and key.isprintable()):
        return f"header {KEY_HEADER!r} is malformed: {rule}"
    return None


# --------------------------------------------------------------------------- app plumbing

Read = Callable[[Request], Awaitable[JSONObject]]
#: A write: the request (for path parameters) and its checked JSON body, to (status, record).
Apply = Callable[[Request, JSONObject], tuple[int, JSONObject]]
Endpoint = Callable[[Request], Awaitable[Response]]


@dataclass(frozen=True)
class ReadRoute:
    method: str
    path: str
    read: Read

    @property
    def label(self) -> str:
        return f"{self.method} {self.path}"


@dataclass(frozen=True)
class WriteRoute:
    """A write, made idempotent by the plumbing; ``fields`` are the body fields it takes."""

    method: str
    path: str
    fields: tuple[str, ...]
    apply: Apply

    @property
    def label(self) -> str:
        return f"{self.method} {self.path}"


def _json(body: object, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status, media_type="application/json")


def preview(value: object) -> str:
    """``value`` as JSON for a message, cut short: echoing a whole body helps nobody."""
    try:
        text = orjson.dumps(value).decode()
    except TypeError:
        text = repr(value)
    return text if len(text) <= 60 else f"{text[:57]}..."


async def _read_body(request: Request) -> bytes:
    declared = request.headers.get("content-length", "")
    too_large = OwnerError(413, f"request body too large: at most {MAX_BODY_BYTES} bytes")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise too_large
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            raise too_large
    return bytes(body)


def _parse_object(raw: bytes, fields: Collection[str]) -> JSONObject:
    """A JSON object body with no field outside ``fields``: a typo fails loudly."""
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise BadRequest(f"request body is not valid JSON: {exc}") from None
    if not isinstance(body, dict):
        raise BadRequest(f"request body must be a JSON object; got {preview(body)}")
    unknown = sorted(set(body) - set(fields))
    if unknown:
        raise BadRequest(
            f"unknown field {unknown[0]!r} in the request body; allowed: {', '.join(fields)}",
            unknown[0],
        )
    return body


async def body_object(request: Request, fields: Collection[str]) -> JSONObject:
    return _parse_object(await _read_body(request), fields)


def query_keys(request: Request, param: str, what: str) -> list[str]:
    """``?param=a,b&param=c``: the keys in order, once each; 1 to ``MAX_BATCH`` given."""
    given = [
        key.strip() for value in request.query_params.getlist(param) for key in value.split(",")
    ]
    rule = f"comma-separated {what} (or the parameter repeated), 1 to {MAX_BATCH}"
    # Blanks (`ids=a,,b`) name nothing, but count towards the limit as the items they are.
    keys = check_batch(given, param, rule)
    if not any(keys):
        raise BadRequest(f"query parameter {param!r} is required: {rule}", param)
    return [key for key in keys if key]


def check_batch(keys: Sequence[str], param: str, rule: str) -> list[str]:
    """``keys`` without repeats, in order; more than ``MAX_BATCH`` given (repeats counted,
    as a document's ``maxItems`` counts them) is a 400.
    """
    if len(keys) > MAX_BATCH:
        raise BadRequest(f"too many keys in {param!r}: {len(keys)} given; {rule}", param)
    return list(dict.fromkeys(keys))


def build_app(
    *,
    system: str,
    routes: Sequence[ReadRoute | WriteRoute],
    errors: ErrorShape,
    document: JSONObject,
    stats: Stats,
    hang_limit_s: float,
) -> Starlette:
    """A system's business routes plus ``/healthz``, ``/_stats``, ``/_faults`` and
    ``/openapi.json``, its errors in ``errors``' shape and its writes idempotent.
    """
    if hang_limit_s < 0:
        raise ValueError(f"hang_limit_s must be zero or more, got {hang_limit_s}")
    store = IdempotencyStore()
    faults = _FaultSlot()

    def serve_read(route: ReadRoute) -> Endpoint:
        async def endpoint(request: Request) -> Response:
            return _json(await route.read(request))

        return endpoint

    def serve_write(route: WriteRoute) -> Endpoint:
        async def endpoint(request: Request) -> Response:
            key = request.headers.get(KEY_HEADER)
            problem = _key_problem(key, route.label)
            if problem is not None:
                return _key_refusal(400, problem)
            assert key is not None
            stats.count_keys(1)
            held = store.claim(key)
            if held is not None and held.state is _KeyState.IN_FLIGHT:
                return _key_refusal(
                    409,
                    f"a request with {KEY_HEADER} {key!r} is still in progress; "
                    "retry once it has answered",
                    {"Retry-After": "1"},
                )
            if held is not None:
                raw = await _read_body(request)
                if _fingerprint(request.method, request.url.path, raw) != held.fingerprint:
                    return _key_refusal(
                        422,
                        f"{KEY_HEADER} {key!r} was used for a different request; "
                        "a new write needs a new key",
                    )
                return Response(
                    held.body,
                    held.status,
                    headers={REPLAYED_HEADER: "true"},
                    media_type="application/json",
                )
            try:
                raw = await _read_body(request)
                status, record = route.apply(request, _parse_object(raw, route.fields))
                reply = orjson.dumps(record)
            except BaseException:
                store.release(key)
                raise
            # No await since the write: its reply is remembered before anyone can retry.
            store.complete(key, _fingerprint(request.method, request.url.path, raw), status, reply)
            return Response(reply, status, media_type="application/json")

        return endpoint

    # One Starlette route per path, serving each of its methods, so a wrong method gets a
    # 405 whose Allow header lists every method of the path.
    by_path: dict[str, dict[str, tuple[str, Endpoint]]] = {}
    for route in routes:
        stats.register(route.label)
        serve = serve_write(route) if isinstance(route, WriteRoute) else serve_read(route)
        by_path.setdefault(route.path, {})[route.method] = (route.label, serve)
    business: list[tuple[Route, dict[str, tuple[str, Endpoint]]]] = []
    for path, methods in by_path.items():
        table = dict(methods)
        if "GET" in table:
            table["HEAD"] = table["GET"]  # Starlette answers HEAD wherever it answers GET
        business.append((Route(path, _dispatch(table), methods=list(methods)), table))

    def label_of(scope: Scope) -> str | None:
        """The label of the route the router will serve ``scope`` with: its first full match."""
        for starlette_route, table in business:
            if starlette_route.matches(scope)[0] is Match.FULL:
                return table[scope["method"]][0]
        return None

    async def health(request: Request) -> Response:
        return _json({"status": "ok", "system": system})

    async def stats_endpoint(request: Request) -> Response:
        if request.method == "DELETE":
            stats.reset()
        return _json(stats.snapshot())

    async def faults_endpoint(request: Request) -> Response:
        if request.method == "PUT":
            faults.current = parse_fault(await body_object(request, ("mode", "status")))
        elif request.method == "DELETE":
            faults.current = None
        fault = faults.current
        return _json(fault.describe() if fault is not None else {"mode": None})

    async def openapi_endpoint(request: Request) -> Response:
        return _json(document)

    async def owner_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, OwnerError)
        return errors.response(exc.status, exc.message, exc.field, exc.headers)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        method, path = request.method, request.url.path
        if exc.status_code == 404:
            message = f"no route {method} {path} in the {system} API; see /openapi.json"
        elif exc.status_code == 405:
            allowed = (exc.headers or {}).get("Allow", "")
            message = f"method {method} is not allowed on {path}; allowed: {allowed}"
        else:
            message = str(exc.detail)
        return errors.response(exc.status_code, message, None, exc.headers)

    async def server_error(request: Request, exc: Exception) -> Response:
        # Never a traceback: a client only needs to know whose fault it was.
        return errors.response(500, f"internal error in the {system} system")

    return Starlette(
        routes=[
            *(starlette_route for starlette_route, _table in business),
            Route("/healthz", health, methods=["GET"]),
            Route("/_stats", stats_endpoint, methods=["GET", "DELETE"]),
            Route("/_faults", faults_endpoint, methods=["GET", "PUT", "DELETE"]),
            Route("/openapi.json", openapi_endpoint, methods=["GET"]),
        ],
        middleware=[
            Middleware(
                _BusinessMiddleware,
                label_of=label_of,
                stats=stats,
                faults=faults,
                errors=errors,
                hang_limit_s=hang_limit_s,
            )
        ],
        exception_handlers={
            OwnerError: owner_error,
            HTTPException: http_error,
            Exception: server_error,
        },
    )


def _dispatch(table: Mapping[str, tuple[str, Endpoint]]) -> Endpoint:
    async def endpoint(request: Request) -> Response:
        # The route lets through only the methods of the table.
        return await table[request.method][1](request)

    return endpoint
