"""What every demo owner shares: JSON errors, request stats, simulated latency, injected
faults, idempotent writes, health and OpenAPI routes, and the parsing of batch keys, limits,
filters, request bodies, phone numbers and e-mail addresses.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import sqlite3
from collections.abc import (
    AsyncIterator,
    Awaitable,
    Callable,
    Collection,
    Iterable,
    Mapping,
    Sequence,
)
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import phonenumbers
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Match, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from ownergraph.demo._faults import (
    DEFAULT_FLAP_STATUS,
    FAULT_FIELDS,
    FAULT_MODES,
    FAULTED,
    HANG_LIMIT_S,
    FaultMiddleware,
    FaultSpecError,
    FaultState,
    parse_fault,
)
from ownergraph.demo._idempotency import (
    IDEMPOTENCY,
    IN_FLIGHT_LEASE_S,
    KEY_HEADER,
    KEY_TTL_S,
    MAX_KEY_LENGTH,
    REPLAYED_HEADER,
    Claim,
    IdempotencyMiddleware,
    IdempotencyStore,
    Refusal,
    Replay,
    Stored,
    body_too_large,
    create_tables,
)
from ownergraph.demo._idempotency import (
    Written as Written,  # re-exported: the owners build their write results with it
)

#: Most keys one batch or list read may ask for; real owners cap this too.
MAX_BATCH = 200
#: Bounds of the per-key ``limit`` of one-to-many reads.
MIN_LIMIT, MAX_LIMIT, DEFAULT_LIMIT = 1, 100, 20
#: Request bodies are a few kilobytes of keys; anything bigger is a mistake.
MAX_BODY_BYTES = 1 << 20
#: Operational routes: never delayed, never counted, never faulted.
OPERATIONAL_PATHS = frozenset({"/_faults", "/_stats", "/healthz", "/openapi.json"})
#: Every demo owner is an Italian company: a number without a country code is Italian.
PHONE_REGION = "IT"

#: How long a write waits for another process's write lock before giving up with a 500.
BUSY_TIMEOUT_S = 5.0

Endpoint = Callable[[Request], Awaitable[Response]]
Sleep = Callable[[float], Awaitable[None]]
JSONObject = dict[str, Any]
#: A write to run inside the owner's transaction, over its read-write connection.
WriteOp = Callable[[sqlite3.Connection], Written]
#: Checks a write request and returns the write to run; raises ApiError to refuse it.
PrepareWrite = Callable[[Request], Awaitable[WriteOp]]


class ApiError(Exception):
    """A request the owner refuses; answered as ``{"error": message}`` with ``status_code``.

    With ``field``, the answer also names the body field or parameter at fault
    (``{"error": ..., "field": "duration_s"}``), as APIs do so a client can point at it.
    """

    def __init__(
        self,
        status_code: int,
        message: str,
        headers: Mapping[str, str] | None = None,
        field: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.message = message
        self.headers = dict(headers or {})
        self.field = field

    def body(self) -> JSONObject:
        body: JSONObject = {"error": self.message}
        if self.field is not None:
            body["field"] = self.field
        return body


class BadRequest(ApiError):
    """The request itself is wrong (400): the message names the parameter and what is allowed."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(400, message, field=field)


class NotFound(ApiError):
    """The single record asked for does not exist (404)."""

    def __init__(self, what: str, key: object) -> None:
        super().__init__(404, f"{what} {key!r} not found")


class Stats:
    """Counts business requests and the keys they asked for, per route, for ``/_stats``.

    Benchmarks and tests read these to prove the gateway batches (one call for many keys)
    and reads nothing twice.
    """

    def __init__(self, system: str) -> None:
        self.system = system
        self.requests = 0
        self.keys = 0
        self.routes: dict[str, int] = {}

    def register(self, route: str) -> None:
        """Make ``route`` appear in the stats with a zero count before it is first hit."""
        self.routes.setdefault(route, 0)

    def count_request(self, route: str) -> None:
        self.requests += 1
        self.routes[route] = self.routes.get(route, 0) + 1

    def count_keys(self, keys: int) -> None:
        self.keys += keys

    def reset(self) -> None:
        self.requests = 0
        self.keys = 0
        self.routes = dict.fromkeys(self.routes, 0)

    def snapshot(self) -> JSONObject:
        return {
            "system": self.system,
            "requests": self.requests,
            "keys": self.keys,
            "routes": dict(self.routes),
        }


class LatencyMiddleware:
    """Delays every business request by a fixed time, as a remote system would.

    The delay is an asynchronous sleep, so concurrent requests overlap exactly like calls to
    a real service do: this is what makes batching and parallel fan-out measurable.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        latency_ms: int,
        exempt: Collection[str] = OPERATIONAL_PATHS,
        sleep: Sleep | None = None,
    ) -> None:
        if latency_ms < 0:
            raise ValueError(f"latency_ms must be zero or positive, got {latency_ms}")
        self.app = app
        self.delay = latency_ms / 1000
        self.exempt = frozenset(exempt)
        self.sleep: Sleep = sleep if sleep is not None else asyncio.sleep

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self.delay > 0 and scope["path"] not in self.exempt:
            await self.sleep(self.delay)
        await self.app(scope, receive, send)


@dataclass(frozen=True)
class BusinessRoute:
    """One route of an owner's own API (as opposed to the operational ones)."""

    method: str
    path: str
    endpoint: Endpoint

    @property
    def label(self) -> str:
        return f"{self.method} {self.path}"


@dataclass(frozen=True)
class WriteRoute:
    """A route that changes the owner's data, made idempotent by the shared plumbing.

    ``prepare`` checks the request (raising ``BadRequest`` for a bad body) and returns the
    write itself, a synchronous function of the read-write connection. The plumbing runs it
    inside the transaction that also stores its response under the request's
    ``Idempotency-Key``, so the write and its remembered answer commit together.
    """

    method: str
    path: str
    prepare: PrepareWrite

    @property
    def label(self) -> str:
        return f"{self.method} {self.path}"


def open_readonly(db_path: Path) -> sqlite3.Connection:
    """Open an owner's SQLite file read-only, failing now (not at the first request) if absent."""
    if not db_path.is_file():
        raise FileNotFoundError(
            f"demo database {str(db_path)!r} does not exist; run ensure_seeded() on its directory"
        )
    # One connection shared by all requests: every query is a short indexed read that runs
    # on the event loop thread, so there is nothing to gain from a pool.
    conn = sqlite3.connect(
        f"{db_path.resolve().as_uri()}?mode=ro", uri=True, check_same_thread=False
    )
    conn.row_factory = sqlite3.Row
    return conn


def open_readwrite(db_path: Path, *, schema: str = "") -> sqlite3.Connection:
    """Open an owner's SQLite file for its writes, next to the read-only connection.

    Switches the file to WAL, where readers never wait for the writer nor the writer for
    readers, creates the idempotency-key table and then ``schema`` (``IF NOT EXISTS``
    statements: the owner's own additions) unless the file has them already.
    """
    if not db_path.is_file():
        raise FileNotFoundError(
            f"demo database {str(db_path)!r} does not exist; run ensure_seeded() on its directory"
        )
    # mode=rw never creates a file; autocommit (isolation_level=None), so that every
    # transaction is an explicit BEGIN IMMEDIATE; check_same_thread=False because, like the
    # reads, writes run on whichever thread serves the event loop.
    conn = sqlite3.connect(
        f"{db_path.resolve().as_uri()}?mode=rw",
        uri=True,
        check_same_thread=False,
        isolation_level=None,
        timeout=BUSY_TIMEOUT_S,
    )
    try:
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA journal_mode = WAL")
        create_tables(conn)
        if schema:
            conn.executescript(schema)
    except BaseException:
        conn.close()
        raise
    return conn


def build_owner_app(
    *,
    system: str,
    db: sqlite3.Connection,
    stats: Stats,
    routes: Sequence[BusinessRoute | WriteRoute],
    openapi: JSONObject,
    latency_ms: int,
    writer: sqlite3.Connection | None = None,
) -> Starlette:
    """Assemble an owner: its business routes plus ``/_faults``, ``/_stats``, ``/healthz`` and
    ``/openapi.json``.

    Write routes need ``writer``, a read-write connection to the same file
    (:func:`open_readwrite`); they are made idempotent (see ``_idempotency``). The app
    closes ``db`` and ``writer`` when it shuts down.
    """

    def close() -> None:
        # The reader first: the last connection to a WAL file folds the log back into it
        # and deletes it, which only a read-write connection can do.
        db.close()
        if writer is not None:
            writer.close()

    # Starlette builds middleware at the first request; a bad setting must fail now instead.
    if latency_ms < 0:
        close()
        raise ValueError(f"latency_ms must be zero or positive, got {latency_ms}")
    writes = [route for route in routes if isinstance(route, WriteRoute)]
    store = IdempotencyStore(writer) if writer is not None else None
    if writes and store is None:
        close()
        raise ValueError(f"the {system} owner has write routes but no read-write connection")

    def counted(label: str, serve: Endpoint) -> Endpoint:
        async def endpoint(request: Request) -> Response:
            # A faulted request was counted on arrival, before its fault made it wait.
            if not request.scope.get(FAULTED):
                stats.count_request(label)
            return await serve(request)

        return endpoint

    def idempotent(route: WriteRoute, store: IdempotencyStore) -> Endpoint:
        async def endpoint(request: Request) -> Response:
            decision = request.scope.get(IDEMPOTENCY)
            if isinstance(decision, Refusal):
                raise ApiError(decision.status, decision.message, decision.headers)
            if isinstance(decision, Replay):
                stats.count_keys(1)
                return _stored_reply(decision.response, replayed=True)
            if not isinstance(decision, Claim):
                raise RuntimeError(f"{route.label} was reached without the idempotency middleware")
            write = await route.prepare(request)
            # One key per write, counted once the request is known to be well-formed, as a
            # read counts its keys once they parse.
            stats.count_keys(1)
            outcome = store.run(decision, write)
            if isinstance(outcome, Refusal):
                raise ApiError(outcome.status, outcome.message, outcome.headers)
            if isinstance(outcome, Replay):
                return _stored_reply(outcome.response, replayed=True)
            return _stored_reply(outcome, replayed=False)

        return endpoint

    faults = FaultState()

    async def faults_endpoint(request: Request) -> Response:
        if request.method == "PUT":
            body = await read_json_object(request, fields=FAULT_FIELDS)
            try:
                faults.set(parse_fault(body))
            except FaultSpecError as exc:
                raise BadRequest(str(exc)) from None
        elif request.method == "DELETE":
            faults.clear()
        return JSONResponse(faults.snapshot())

    async def stats_endpoint(request: Request) -> Response:
        if request.method == "DELETE":
            stats.reset()
        return JSONResponse(stats.snapshot())

    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok", "system": system})

    async def openapi_document(request: Request) -> Response:
        return JSONResponse(openapi)

    # One Starlette route per path, serving each of its methods: a wrong method then gets a
    # 405 whose Allow header lists every method of the path, not just the first route's.
    by_path: dict[str, dict[str, tuple[str, Endpoint]]] = {}
    for route in routes:
        stats.register(route.label)
        if isinstance(route, WriteRoute):
            assert store is not None
            serve = idempotent(route, store)
        else:
            serve = route.endpoint
        by_path.setdefault(route.path, {})[route.method] = (
            route.label,
            counted(route.label, serve),
        )
    business: list[tuple[Route, dict[str, tuple[str, Endpoint]]]] = []
    for path, methods in by_path.items():
        table = dict(methods)
        if "GET" in table:
            # Starlette answers HEAD wherever it answers GET, as the same route.
            table.setdefault("HEAD", table["GET"])
        business.append((Route(path, _dispatch(table), methods=list(methods)), table))

    def label_of(scope: Scope) -> str | None:
        """The route label the router will serve ``scope`` with (the first full match)."""
        for starlette_route, table in business:
            if starlette_route.matches(scope)[0] is Match.FULL:
                return table[scope["method"]][0]
        return None

    def count_faulted(scope: Scope) -> None:
        # A faulted request counts on arrival, whether or not it ever reaches its endpoint,
        # on the route the router will pick: tests read the counters to prove the gateway
        # did or did not call the owner.
        label = label_of(scope)
        if label is not None:
            stats.count_request(label)

    write_labels = frozenset(route.label for route in writes)

    def is_write(scope: Scope) -> bool:
        return label_of(scope) in write_labels

    all_routes = [starlette_route for starlette_route, _table in business]
    all_routes += [
        Route("/_faults", faults_endpoint, methods=["GET", "PUT", "DELETE"]),
        Route("/_stats", stats_endpoint, methods=["GET", "DELETE"]),
        Route("/healthz", health, methods=["GET"]),
        Route("/openapi.json", openapi_document, methods=["GET"]),
    ]

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            close()

    async def api_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ApiError)
        return JSONResponse(exc.body(), status_code=exc.status_code, headers=exc.headers)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        return JSONResponse(
            {"error": _http_error_message(request, exc, system)},
            status_code=exc.status_code,
            headers=exc.headers,
        )

    async def server_error(request: Request, exc: Exception) -> Response:
        # Never leak a traceback or a file path: integrators only need to know whose fault.
        return JSONResponse({"error": f"internal error in the {system} demo owner"}, 500)

    # Outermost first: latency is paid before a fault acts, as on a slow network. A write
    # claims its idempotency key before a fault acts, so a write held by a `slow` fault is
    # "in progress" to a retry, as a slow write is in a real system.
    middleware = [Middleware(LatencyMiddleware, latency_ms=latency_ms)]
    if store is not None and writes:
        middleware.append(
            Middleware(
                IdempotencyMiddleware,
                store=store,
                applies=is_write,
                max_body_bytes=MAX_BODY_BYTES,
            )
        )
    middleware.append(
        Middleware(FaultMiddleware, faults=faults, count=count_faulted, exempt=OPERATIONAL_PATHS)
    )
    return Starlette(
        routes=all_routes,
        middleware=middleware,
        exception_handlers={
            ApiError: api_error,
            HTTPException: http_error,
            Exception: server_error,
        },
        lifespan=lifespan,
    )


def _dispatch(table: Mapping[str, tuple[str, Endpoint]]) -> Endpoint:
    async def endpoint(request: Request) -> Response:
        # The route only lets through the methods in the table.
        return await table[request.method][1](request)

    return endpoint


def _stored_reply(stored: Stored, *, replayed: bool) -> Response:
    headers = dict(stored.headers)
    if replayed:
        headers[REPLAYED_HEADER] = "true"
    return Response(
        stored.body, status_code=stored.status, headers=headers, media_type="application/json"
    )


def _http_error_message(request: Request, exc: HTTPException, system: str) -> str:
    method, path = request.method, request.url.path
    if exc.status_code == 404:
        return f"no route {method} {path} in the {system} API; see /openapi.json for its routes"
    if exc.status_code == 405:
        allowed = (exc.headers or {}).get("Allow", "")
        return f"method {method} is not allowed on {path}; allowed: {allowed}"
    return str(exc.detail)


# --------------------------------------------------------------------------- parsing


def parse_key_list(values: Sequence[str], *, param: str, what: str) -> list[str]:
    """The keys of ``?param=a,b``, ``?param=a&param=b`` or a mix: distinct, in order.

    ``values`` are every value the parameter was given (``query_params.getlist``). Both
    forms are how clients batch keys in a query string: comma lists (OpenAPI's ``explode:
    false``) and the parameter repeated (``explode: true``, what Tailcall and many HTTP
    clients send). The limit is on the distinct keys of all values together. Given but
    empty (``?param=``) is an empty batch; never given is a 400.
    """
    if not values:
        raise BadRequest(
            f"query parameter {param!r} is required: a comma-separated list of {what}, "
            f"or the parameter repeated once per key (at most {MAX_BATCH})"
        )
    return _check_batch((key.strip() for value in values for key in value.split(",")), param)


def _check_batch(keys: Iterable[str], param: str) -> list[str]:
    distinct = [key for key in dict.fromkeys(keys) if key]
    if len(distinct) > MAX_BATCH:
        raise BadRequest(
            f"too many keys in {param!r}: {len(distinct)} given, at most {MAX_BATCH} per "
            "request; split the batch"
        )
    return distinct


def parse_limit(raw: str | None) -> int:
    """The per-key ``limit`` query parameter: an integer from 1 to 100, 20 when absent."""
    if raw is None:
        return DEFAULT_LIMIT
    try:
        limit = int(raw)
    except ValueError:
        limit = 0
    if not MIN_LIMIT <= limit <= MAX_LIMIT:
        raise BadRequest(
            f"query parameter 'limit' must be an integer from {MIN_LIMIT} to {MAX_LIMIT}, "
            f"got {raw!r}"
        )
    return limit


def parse_choice(raw: str | None, *, param: str, allowed: Sequence[str]) -> str | None:
    """An optional enumerated filter: absent is ``None``, anything outside ``allowed`` is a 400."""
    if raw is None or raw in allowed:
        return raw
    raise BadRequest(f"{param} must be one of {', '.join(allowed)}; got {raw!r}")


async def read_json_object(request: Request, *, fields: Collection[str]) -> JSONObject:
    """The request body as a JSON object with no fields outside ``fields`` (typos fail loudly)."""
    raw = await _read_body(request)
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadRequest(f"request body is not valid JSON: {exc}") from None
    if not isinstance(body, dict):
        raise BadRequest(f"request body must be a JSON object, got {type(body).__name__}")
    unknown = sorted(set(body) - set(fields))
    if unknown:
        raise BadRequest(
            f"unknown field {unknown[0]!r} in request body; allowed: {', '.join(sorted(fields))}"
        )
    return body


async def _read_body(request: Request) -> bytes:
    # Checked here rather than by Starlette's body limit, whose 413 is plain text, not JSON.
    too_large = ApiError(413, body_too_large(MAX_BODY_BYTES))
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise too_large
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            raise too_large
    return bytes(body)


def body_key_list(body: JSONObject, field: str, *, what: str) -> list[str]:
    """A required array of string keys in a JSON body, at most ``MAX_BATCH`` of them."""
    if field not in body:
        raise BadRequest(
            f"field {field!r} is required: an array of {what} (at most {MAX_BATCH})", field=field
        )
    value = body[field]
    if not isinstance(value, list) or not all(isinstance(key, str) for key in value):
        raise BadRequest(f"field {field!r} must be an array of strings ({what})", field=field)
    return _check_batch(value, field)


def body_limit(body: JSONObject) -> int:
    """The optional per-key ``limit`` of a JSON body: an integer from 1 to 100, 20 when absent."""
    value = body.get("limit", DEFAULT_LIMIT)
    # bool is an int in Python, but `true` is not a limit anyone meant.
    if isinstance(value, bool) or not isinstance(value, int) or not MIN_LIMIT <= value <= MAX_LIMIT:
        raise BadRequest(
            f"field 'limit' must be an integer from {MIN_LIMIT} to {MAX_LIMIT}, "
            f"got {json.dumps(value)}",
            field="limit",
        )
    return value


def body_choice(
    body: JSONObject, field: str, *, allowed: Sequence[str], required: bool = False
) -> str | None:
    """An enumerated field of a JSON body; ``null`` counts as absent, which only a
    ``required`` field refuses.
    """
    value = body.get(field)
    if value is None and required:
        raise BadRequest(f"field {field!r} is required: one of {', '.join(allowed)}", field=field)
    if value is None or (isinstance(value, str) and value in allowed):
        return value
    raise BadRequest(
        f"field {field!r} must be one of {', '.join(allowed)}; got {_preview(value)}", field=field
    )


def body_text(
    body: JSONObject, field: str, *, max_length: int, required: bool = True
) -> str | None:
    """A text field of a JSON body, trimmed: not blank, at most ``max_length`` characters.

    Absent or ``null`` is a 400 if ``required``, otherwise ``None``.
    """
    value = body.get(field)
    rule = f"a string of 1 to {max_length} characters"
    if value is None:
        if required:
            raise BadRequest(f"field {field!r} is required: {rule}", field=field)
        return None
    if not isinstance(value, str):
        raise BadRequest(f"field {field!r} must be {rule}; got {_preview(value)}", field=field)
    text = value.strip()
    if not text:
        raise BadRequest(f"field {field!r} must not be blank: {rule}", field=field)
    if len(text) > max_length:
        raise BadRequest(
            f"field {field!r} is too long: {len(text)} characters, at most {max_length}",
            field=field,
        )
    return text


def body_string_list(body: JSONObject, field: str, *, what: str, max_items: int) -> list[str]:
    """A required array of strings in a JSON body (possibly empty), at most ``max_items``."""
    value = body.get(field)
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise BadRequest(
            f"field {field!r} must be an array of {what}; got {_preview(value)}", field=field
        )
    if len(value) > max_items:
        raise BadRequest(
            f"field {field!r} has {len(value)} items; at most {max_items} allowed", field=field
        )
    return value


def body_count(body: JSONObject, field: str, *, what: str) -> int | None:
    """An optional whole number of something, 0 or more; absent or ``null`` is ``None``."""
    value = body.get(field)
    if value is None:
        return None
    # bool is an int in Python, but `true` is not a number anyone meant.
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise BadRequest(
            f"field {field!r} must be null or an integer number of {what}, 0 or more; "
            f"got {_preview(value)}",
            field=field,
        )
    return value


def _preview(value: object) -> str:
    """``value`` as JSON for an error message, cut short: echoing a megabyte helps nobody."""
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 80 else f"{text[:77]}..."


def now_rfc3339() -> str:
    """The current time as the owners write timestamps: UTC, whole seconds, ``Z``."""
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def parse_phone(raw: str, *, param: str = "phone") -> str:
    """A phone number written any way people write one, as E.164 (``+390212345678``).

    Owners store numbers as typed, so a search compares normalised forms on both sides;
    anything that is not a valid number is refused rather than silently finding nothing.
    """
    try:
        number = phonenumbers.parse(raw, PHONE_REGION)
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        raise BadRequest(
            f"{param} {raw!r} is not a valid phone number (numbers without a country code "
            "are read as Italian)",
            field=param,
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


# Deliberately loose: the owners only need to tell an address from a typo'd parameter, and
# a stricter pattern would refuse real addresses the CRM holds.
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]+")


def parse_email(raw: str, *, param: str = "email") -> str:
    """An e-mail address as the owners index it: trimmed and lower-cased."""
    email = raw.strip().lower()
    if not _EMAIL.fullmatch(email):
        raise BadRequest(
            f"{param} {raw!r} is not an e-mail address (expected name@domain)", field=param
        )
    return email


def parse_contact_point(request: Request) -> tuple[str | None, str | None]:
    """The ``phone`` and ``email`` query parameters of a search, normalised.

    At least one is required; with both, a record matching either is found, so a caller
    screen can ask once with everything it knows.
    """
    raw_phone = request.query_params.get("phone")
    raw_email = request.query_params.get("email")
    if raw_phone is None and raw_email is None:
        raise BadRequest(
            "give the query parameter 'phone' (any format) or 'email', or both; got neither"
        )
    phone = parse_phone(raw_phone) if raw_phone is not None else None
    email = parse_email(raw_email) if raw_email is not None else None
    return phone, email


def placeholders(count: int) -> str:
    """``?, ?, ?`` for an SQL ``IN (...)`` over ``count`` values."""
    return ", ".join("?" * count)


# --------------------------------------------------------------------------- OpenAPI helpers


def ref(name: str) -> JSONObject:
    return {"$ref": f"#/components/schemas/{name}"}


def nullable(schema: JSONObject) -> JSONObject:
    """OpenAPI 3.1 spelling of "this or null"."""
    return {"anyOf": [schema, {"type": "null"}]}


def json_body(schema: JSONObject, description: str) -> JSONObject:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def error(description: str) -> JSONObject:
    return json_body(ref("Error"), description)


def query_param(
    name: str, description: str, schema: JSONObject, *, required: bool = False
) -> JSONObject:
    return {
        "name": name,
        "in": "query",
        "required": required,
        "description": description,
        "schema": schema,
    }


def path_param(name: str, description: str, schema: JSONObject) -> JSONObject:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": description,
        "schema": schema,
    }


def idempotency_key_param() -> JSONObject:
    """The ``Idempotency-Key`` header every write requires."""
    return {
        "name": KEY_HEADER,
        "in": "header",
        "required": True,
        "description": (
            f"One key per intended write, 1 to {MAX_KEY_LENGTH} printable ASCII characters "
            "(a UUID is a good key), sent again only to retry that same write. The same key "
            "with the same request (method, path and JSON body, key order and whitespace "
            "aside) gets the first response again, with nothing written twice; with a "
            f"different request it is a 422; while the first is still running, a 409. Keys "
            f"are kept {KEY_TTL_S // 3600} hours. Only a write that committed is "
            "remembered: after a 4xx or 5xx the key is free again, as it is "
            f"{IN_FLIGHT_LEASE_S:.0f} s after its request was cut short by a crash."
        ),
        "schema": {"type": "string", "minLength": 1, "maxLength": MAX_KEY_LENGTH},
    }


def write_responses(success: str, reply: JSONObject, description: str) -> JSONObject:
    """The responses of an idempotent write: ``success`` with ``reply``, and the refusals."""
    replayed = {
        REPLAYED_HEADER: {
            "description": "true when this is the stored response of an earlier request "
            "with the same key; absent on the first response.",
            "schema": {"const": "true"},
        }
    }
    return {
        success: {**json_body(reply, description), "headers": replayed},
        "400": error(
            f"Bad body (the message names the field) or a missing or malformed {KEY_HEADER}."
        ),
        "409": error(
            f"A request with this {KEY_HEADER} is still in progress; retry after it "
            "(Retry-After: 1)."
        ),
        "413": error("Body over 1 MiB."),
        "422": error(f"This {KEY_HEADER} was used with a different request."),
    }


def contact_point_params() -> list[JSONObject]:
    """The ``phone`` and ``email`` parameters every contact-point search takes."""
    return [
        query_param(
            "phone",
            "A phone number written any way (+39 02 1234 5678, 0039 02..., (02) 1234 5678, "
            "02.1234.5678, 390212345678...); without a country code it is read as Italian. "
            "Compared in E.164.",
            {"type": "string", "examples": ["+39 02 1234 5678"]},
        ),
        query_param(
            "email",
            "An e-mail address; surrounding spaces and case are ignored.",
            {"type": "string", "examples": ["s.messina@example.com"]},
        ),
    ]


def key_list_param(name: str, what: str) -> JSONObject:
    return query_param(
        name,
        f"Comma-separated {what} (`{name}=a,b`), or the parameter repeated once per key "
        f"(`{name}=a&{name}=b`), or a mix of both; at most {MAX_BATCH} distinct keys in all. "
        "Unknown keys are simply absent from the reply.",
        {"type": "string"},
        required=True,
    )


def limit_param() -> JSONObject:
    return query_param(
        "limit",
        "Most records returned per key, newest first.",
        {"type": "integer", "minimum": MIN_LIMIT, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT},
    )


_FAULTS_DESCRIPTION = (
    "Sets this owner's fault, replacing any other. It applies to business requests only "
    "(never to /_faults, /_stats, /healthz or /openapi.json), after latency_ms. Modes: "
    "slow (wait ms, then answer); hang (never answer: wait for the client to disconnect, at "
    f'most {HANG_LIMIT_S:.0f} s); status (answer status with {{"error": "injected fault"}} '
    "and Retry-After if retry_after is given); malformed (200, application/json, a body that "
    "is not JSON); truncate (the real reply with every top-level list of its object cut to "
    "its first half); flap (odd-numbered requests fail like status, even ones answer "
    f"normally; status defaults to {DEFAULT_FLAP_STATUS}); drop (run the endpoint, send its "
    "headers and half its body, then break the connection). times limits the fault to that "
    "many requests, after which it clears itself; paths to requests whose path starts with "
    "one of the prefixes. Faulted requests still count in /_stats."
)

_FAULT_PROPERTIES: JSONObject = {
    "mode": {"enum": list(FAULT_MODES)},
    "ms": {
        "type": "integer",
        "minimum": 0,
        "description": "slow only (required): milliseconds to wait before answering.",
    },
    "status": {
        "type": "integer",
        "minimum": 400,
        "maximum": 599,
        "description": (
            f"status (required) and flap (default {DEFAULT_FLAP_STATUS}): the status to answer."
        ),
    },
    "retry_after": {
        **nullable({"type": "integer", "minimum": 0}),
        "description": "status and flap only: seconds for a Retry-After header.",
    },
    "times": {
        **nullable({"type": "integer", "minimum": 1}),
        "description": "Apply to this many business requests, then clear; null: until cleared.",
    },
    "paths": {
        **nullable({"type": "array", "minItems": 1, "items": {"type": "string"}}),
        "description": "Apply only to paths starting with one of these; null: all.",
    },
}
_FAULT_SPEC_SCHEMA: JSONObject = {
    "type": "object",
    "required": ["mode"],
    "properties": _FAULT_PROPERTIES,
    "additionalProperties": False,
}
_FAULT_SCHEMA: JSONObject = {
    "description": "The current fault with its defaults filled in, or {mode: null}.",
    "anyOf": [
        {
            "type": "object",
            "required": ["mode"],
            "properties": {"mode": {"type": "null"}},
            "additionalProperties": False,
        },
        {
            "type": "object",
            "required": ["mode", "times", "paths", "applied", "remaining"],
            "properties": {
                **_FAULT_PROPERTIES,
                "applied": {
                    "type": "integer",
                    "description": "Business requests this fault has applied to.",
                },
                "remaining": {
                    **nullable({"type": "integer"}),
                    "description": "Requests left before it clears itself; null: until cleared.",
                },
            },
            "additionalProperties": False,
        },
    ],
}


def openapi_document(
    *,
    system: str,
    title: str,
    description: str,
    paths: JSONObject,
    schemas: JSONObject,
) -> JSONObject:
    """An owner's OpenAPI 3.1 document: its own paths plus the operational ones all share."""
    stats_reply = json_body(ref("Stats"), "Counters of business requests since the last reset.")
    fault_reply = json_body(ref("Fault"), 'The fault now set, or {"mode": null} if none.')
    operational: JSONObject = {
        "/_faults": {
            "get": {
                "operationId": "getFault",
                "summary": "The fault injected into this owner's business requests, if any.",
                "responses": {"200": fault_reply},
            },
            "put": {
                "operationId": "setFault",
                "summary": "Make this owner misbehave on purpose, for resilience tests.",
                "description": _FAULTS_DESCRIPTION,
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": ref("FaultSpec")}},
                },
                "responses": {
                    "200": fault_reply,
                    "400": error("Not a fault: the message names the field and its values."),
                },
            },
            "delete": {
                "operationId": "clearFault",
                "summary": "Clear the fault; the owner behaves normally again.",
                "responses": {"200": fault_reply},
            },
        },
        "/_stats": {
            "get": {
                "operationId": "getStats",
                "summary": "Business requests and keys served since start or the last reset.",
                "responses": {"200": stats_reply},
            },
            "delete": {
                "operationId": "resetStats",
                "summary": "Reset the counters; returns them zeroed.",
                "responses": {"200": stats_reply},
            },
        },
        "/healthz": {
            "get": {
                "operationId": "getHealth",
                "summary": "Liveness probe.",
                "responses": {"200": json_body(ref("Health"), "The owner is up.")},
            }
        },
        "/openapi.json": {
            "get": {
                "operationId": "getOpenApi",
                "summary": "This document.",
                "responses": {"200": json_body({"type": "object"}, "OpenAPI 3.1 document.")},
            }
        },
    }
    common_schemas: JSONObject = {
        "FaultSpec": _FAULT_SPEC_SCHEMA,
        "Fault": _FAULT_SCHEMA,
        "Error": {
            "type": "object",
            "required": ["error"],
            "properties": {
                "error": {"type": "string", "description": "What is wrong and why."},
                "field": {
                    "type": "string",
                    "description": "The body field or parameter at fault, when one is.",
                },
            },
        },
        "Health": {
            "type": "object",
            "required": ["status", "system"],
            "properties": {"status": {"const": "ok"}, "system": {"const": system}},
        },
        "Stats": {
            "type": "object",
            "required": ["system", "requests", "keys", "routes"],
            "properties": {
                "system": {"const": system},
                "requests": {"type": "integer", "description": "Business requests served."},
                "keys": {
                    "type": "integer",
                    "description": "Keys asked for: every key of a batch, 1 per single read.",
                },
                "routes": {
                    "type": "object",
                    "description": 'Requests per route, keyed like "GET /path".',
                    "additionalProperties": {"type": "integer"},
                },
            },
        },
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": "1.0.0", "description": description},
        "paths": {**paths, **operational},
        "components": {"schemas": {**schemas, **common_schemas}},
    }
