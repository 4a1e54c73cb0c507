"""GraphQL over HTTP as the spec says: media types, status codes and request limits.

`GraphQLEndpoint` is the ASGI app behind ``/graphql``. It answers
``application/graphql-response+json`` (400 when nothing was executed) or
``application/json`` (200 for any GraphQL response), refuses what the spec
forbids with its own status codes, and runs the operation with an `Executor`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Mapping
from functools import lru_cache
from typing import Any

import orjson
from graphql import OperationType
from starlette.requests import ClientDisconnect, Request
from starlette.types import Receive, Scope, Send

from .asgi import request_headers
from .errors import HTTPClientError
from .execution import Executor, NotAllowed

__all__ = ["GRAPHQL_RESPONSE_JSON", "JSON", "GraphQLEndpoint"]

GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"
JSON = "application/json"

_CONTENT_TYPES = {
    GRAPHQL_RESPONSE_JSON: b"application/graphql-response+json; charset=utf-8",
    JSON: b"application/json; charset=utf-8",
}
_HTML = b"text/html; charset=utf-8"
# The name and its common misspelling; not a codec lookup, which would import
# whichever codec module a client names.
_UTF8 = frozenset({"utf-8", "utf8"})
_VARY = (b"vary", b"Accept")

# Subscriptions need a stream; a single HTTP answer cannot carry one.
_POST_OPERATIONS = frozenset({OperationType.QUERY, OperationType.MUTATION})
# Over GET a mutation could be triggered by a link or an image tag.
_GET_OPERATIONS = frozenset({OperationType.QUERY})

# graphql-core appends " Did you mean 'a', 'b', or 'c'?" (or "... the enum
# value 'X'?", "... to use an inline fragment on 'T'?"); names cannot hold '?'.
_SUGGESTION = re.compile(r" Did you mean [^?]*\?")


# orjson writes integers in this range and refuses any other.
_MIN_INT, _MAX_INT = -(2**63), 2**64 - 1
_INTERNAL = "INTERNAL_SERVER_ERROR"

logger = logging.getLogger("ownergraph")


def _encode(payload: Any) -> bytes:
    """Compact UTF-8 JSON. orjson: encoding the response was a tenth of the work
    of a small query with the standard library's encoder."""
    return orjson.dumps(payload)


_JSON_TYPES: dict[type, str] = {
    dict: "an object",
    list: "an array",
    str: "a string",
    int: "a number",
    float: "a number",
    bool: "a boolean",
    type(None): "null",
}


class GraphQLEndpoint:
    """The GraphQL-over-HTTP endpoint: an ASGI app executing `schema`.

    `context` builds the per-request context from the Starlette request; an
    `HTTPClientError` it raises is answered with its status and headers and
    nothing is executed. Queries are accepted over GET only with `allow_get`;
    `graphiql_html`, when given, is served to browsers asking for the endpoint
    with GET. A body larger than `max_body_bytes` is refused with 413.
    `hide_suggestions` strips graphql-core's "Did you mean ...?" from error
    messages, so that a schema without introspection cannot be probed by typos.
    """

    def __init__(
        self,
        executor: Executor,
        context: Callable[[Request], Awaitable[Any]],
        *,
        allow_get: bool = False,
        graphiql_html: str | None = None,
        max_body_bytes: int = 100_000,
        hide_suggestions: bool = False,
    ) -> None:
        self.executor = executor
        self.context = context
        self.allow_get = allow_get
        self.graphiql = graphiql_html.encode() if graphiql_html is not None else None
        self.max_body_bytes = max_body_bytes
        self.hide_suggestions = hide_suggestions
        self.allowed_methods = "GET, POST" if allow_get or graphiql_html is not None else "POST"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            if scope["type"] == "websocket":
                # Subscriptions are not served: refuse the handshake, don't leave it hanging.
                await send({"type": "websocket.close", "code": 1008})
            return
        request = Request(scope, receive)
        method = scope["method"]
        headers = request_headers(scope)
        accept = headers.get("accept") or ""
        # Refusals decided on the request line and headers alone are answered
        # in plain JSON: nothing says yet what the client can read.
        if method == "POST":
            refusal = self._check_post_headers(headers)
        elif method == "GET":
            if self.graphiql is not None and self._wants_graphiql(request, accept):
                await _send(send, 200, self.graphiql, _HTML)
                return
            refusal = None if self.allow_get else _method_not_allowed("POST")
        else:
            refusal = _method_not_allowed(self.allowed_methods)
        if refusal is not None:
            await _send_error(send, refusal, JSON)
            return

        media_type = negotiate(accept)
        if media_type is None:
            await _send_error(send, _not_acceptable(), JSON)
            return
        try:
            if method == "POST":
                query, variables, operation_name, _ = await self._read_post(request)
                allowed = _POST_OPERATIONS
            else:
                query, variables, operation_name, _ = _read_get(request)
                allowed = _GET_OPERATIONS
                if self.executor.operation_type(query, operation_name) not in (
                    None,
                    OperationType.QUERY,
                ):
                    raise _get_mutation()
            context = await self.context(request)
        except HTTPClientError as error:
            await _send_error(send, error, media_type)
            return
        except ClientDisconnect:
            return  # Nobody is left to answer.

        try:
            _, body = await self.executor.run(query, variables, operation_name, context, allowed)
        except NotAllowed as error:
            if method == "GET" and error.operation_type is OperationType.MUTATION:
                await _send_error(send, _get_mutation(), media_type)
                return
            kind = error.operation_type.value
            body = {
                "errors": [
                    {
                        "message": f"A {kind} cannot be sent with {method} to this endpoint.",
                        "extensions": {"code": "BAD_REQUEST"},
                    }
                ],
                "extensions": {"owners": {}},
            }
        status, encoded = self._encode_result(body, media_type)
        await _send(send, status, encoded, _CONTENT_TYPES[media_type])

    def _check_post_headers(self, headers: Mapping[str, str]) -> HTTPClientError | None:
        # Only a JSON body is accepted: the "simple" types a cross-site form
        # can send without a CORS preflight (text/plain, urlencoded,
        # multipart) must never reach a mutation.
        content_type = headers.get("content-type")
        kind, _, params = (content_type or "").partition(";")
        if content_type is None or kind.strip().lower() != JSON:
            sent = f"Content-Type {content_type!r}" if content_type else "no Content-Type"
            return HTTPClientError(
                415,
                "UNSUPPORTED_MEDIA_TYPE",
                f"The request has {sent}: send the body as 'application/json'.",
            )
        charset = _charset(params)
        if charset is not None and charset.lower() not in _UTF8:
            # JSON is UTF-8 (RFC 8259): a body labelled otherwise would be
            # read as something its sender did not write.
            return HTTPClientError(
                415,
                "UNSUPPORTED_MEDIA_TYPE",
                f"The request body has charset {charset!r}: send it in UTF-8.",
            )
        length = headers.get("content-length")
        if length is not None:
            # Digits only: `int()` would also take "1_0", " 1" or "-1".
            if not (length.isascii() and length.isdigit()):
                return _bad_request(f"Content-Length {length!r} is not a byte count.")
            if int(length) > self.max_body_bytes:
                return self._too_large()
        return None

    def _wants_graphiql(self, request: Request, accept: str) -> bool:
        # A browser names text/html; API clients sending only */* want JSON.
        # With GET queries allowed, a URL carrying a query is a query.
        return _explicit_quality(_media_ranges(accept), "text/html") > 0 and not (
            self.allow_get and "query" in request.query_params
        )

    def _too_large(self) -> HTTPClientError:
        return HTTPClientError(
            413,
            "PAYLOAD_TOO_LARGE",
            f"The request body is larger than {self.max_body_bytes} bytes.",
        )

    async def _read_post(
        self, request: Request
    ) -> tuple[str, dict[str, Any] | None, str | None, dict[str, Any] | None]:
        # Counted as it arrives: a chunked body has no Content-Length to check.
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > self.max_body_bytes:
                raise self._too_large()
            chunks.append(chunk)
        body = b"".join(chunks)
        # Let a context factory still read the body it cannot stream again.
        request._body = body
        try:
            params = orjson.loads(body)
        except (ValueError, RecursionError) as error:
            raise _bad_request(f"The request body is not valid JSON: {error}.") from None
        if not isinstance(params, dict):
            raise _bad_request(f"The request body must be a JSON object, got {_json_type(params)}.")
        return _check_params(params)

    def _encode_result(self, payload: dict[str, Any], media_type: str) -> tuple[int, bytes]:
        executed = "data" in payload
        if "errors" in payload:
            formatted = [_with_code(entry) for entry in payload["errors"]]
            if self.hide_suggestions:
                for entry in formatted:
                    entry["message"] = _SUGGESTION.sub("", entry["message"])
            payload["errors"] = formatted
        status = 200 if executed or media_type == JSON else 400
        try:
            return status, _encode(payload)
        except orjson.JSONEncodeError as error:
            return status, _encode_anyway(payload, executed, error)


def _encode_anyway(payload: dict[str, Any], executed: bool, error: Exception) -> bytes:
    """The answer to a result orjson refused: never a plain-text 500.

    Integers beyond 64 bits (a cost computed from a huge number in the
    document, say) are written as decimal strings, exact; anything else
    orjson cannot write makes the whole answer one masked error, since
    quoting an unknown object could leak it. Both are a bug to fix, so both
    are logged as unexpected, naming what orjson said and never a value.
    """
    try:
        body = _encode(_big_ints_as_strings(payload))
    except (orjson.JSONEncodeError, RecursionError):
        pass
    else:
        logger.error("unencodable response (%s): integers beyond 64 bits sent as strings", error)
        return body
    logger.error("unencodable response (%s): answered INTERNAL_SERVER_ERROR", error)
    masked: dict[str, Any] = {"data": None} if executed else {}
    masked["errors"] = [
        {"message": "The response could not be encoded.", "extensions": {"code": _INTERNAL}}
    ]
    return _encode(masked)


def _big_ints_as_strings(value: Any) -> Any:
    """`value` with every integer orjson cannot write as its decimal string."""
    if isinstance(value, int) and not _MIN_INT <= value <= _MAX_INT:
        return str(value)
    if isinstance(value, dict):
        return {key: _big_ints_as_strings(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_big_ints_as_strings(item) for item in value]
    return value


_TOKEN_LIMIT = re.compile(r"Document contains more than (\d+) tokens")


def _with_code(entry: dict[str, Any]) -> dict[str, Any]:
    """Give graphql-core's own errors, which carry none, a code like every other error."""
    extensions = entry.get("extensions") or {}
    if "code" in extensions:
        return entry
    message = entry["message"]
    if message.startswith("Syntax Error"):
        limit = _TOKEN_LIMIT.search(message)
        code: dict[str, Any] = (
            {"code": "BAD_USER_INPUT", "limit": "tokens", "max": int(limit.group(1))}
            if limit
            else {"code": "GRAPHQL_PARSE_FAILED"}
        )
    elif "path" in entry:
        code = {"code": _INTERNAL}
    else:
        code = {"code": "GRAPHQL_VALIDATION_FAILED"}
    entry["extensions"] = {**extensions, **code}
    return entry


@lru_cache(maxsize=256)
def negotiate(accept: str) -> str | None:
    """The response media type for an Accept header, or None when it allows neither.

    The higher weight wins. A tie goes to the newer
    ``application/graphql-response+json`` only when the client names it: a
    wildcard (``*/*``, ``application/*``) or no header at all means
    ``application/json``, as the spec recommends, since such a client may not
    know the newer type. Cached: clients send the same few headers.
    """
    if not accept.strip():
        return JSON
    ranges = _media_ranges(accept)
    graphql_quality = _quality(ranges, GRAPHQL_RESPONSE_JSON)
    json_quality = _quality(ranges, JSON)
    if graphql_quality <= 0 and json_quality <= 0:
        return None
    if graphql_quality > json_quality or (
        graphql_quality == json_quality and _explicit_quality(ranges, GRAPHQL_RESPONSE_JSON) > 0
    ):
        return GRAPHQL_RESPONSE_JSON
    return JSON


@lru_cache(maxsize=256)
def _media_ranges(accept: str) -> tuple[tuple[str, float], ...]:
    ranges: list[tuple[str, float]] = []
    for media_range in accept.split(","):
        kind, _, params = media_range.partition(";")
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = -1.0
        # A range whose weight cannot be read is ignored, as RFC 9110 allows.
        if 0 <= quality <= 1:
            ranges.append((kind.strip().lower(), quality))
    return tuple(ranges)


def _quality(ranges: tuple[tuple[str, float], ...], media_type: str) -> float:
    """The weight of `media_type`, taken from the most specific range naming it."""
    family = media_type.partition("/")[0] + "/*"
    best_rank, best_quality = 0, 0.0
    for kind, quality in ranges:
        rank = 3 if kind == media_type else 2 if kind == family else 1 if kind == "*/*" else 0
        if rank > best_rank or (rank == best_rank and rank and quality > best_quality):
            best_rank, best_quality = rank, quality
    return best_quality


def _charset(params: str) -> str | None:
    """The charset parameter of a media type's parameters (``; charset=x; ...``)."""
    for param in params.split(";"):
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset":
            return value.strip().strip('"')
    return None


def _explicit_quality(ranges: tuple[tuple[str, float], ...], media_type: str) -> float:
    return max((quality for kind, quality in ranges if kind == media_type), default=0.0)


def _read_get(
    request: Request,
) -> tuple[str, dict[str, Any] | None, str | None, dict[str, Any] | None]:
    params: dict[str, Any] = dict(request.query_params)
    for name in ("variables", "extensions"):
        if name in params:
            try:
                params[name] = orjson.loads(params[name])
            except (ValueError, RecursionError) as error:
                raise _bad_request(f"'{name}' is not valid JSON: {error}.") from None
    return _check_params(params)


def _get_mutation() -> HTTPClientError:
    # Over GET a mutation could be triggered by a link or an image tag.
    return HTTPClientError(
        405,
        "METHOD_NOT_ALLOWED",
        "Only queries can be sent with GET: send mutations with POST.",
        {"Allow": "POST"},
    )


def _check_params(
    params: dict[str, Any],
) -> tuple[str, dict[str, Any] | None, str | None, dict[str, Any] | None]:
    query = params.get("query")
    if query is None:
        raise _bad_request("The request has no 'query': send the GraphQL document in it.")
    if not isinstance(query, str):
        raise _bad_request(f"'query' must be a string, got {_json_type(query)}.")
    if not query:
        raise _bad_request("'query' is empty: send the GraphQL document in it.")
    variables = params.get("variables")
    if variables is not None and not isinstance(variables, dict):
        raise _bad_request(f"'variables' must be an object or null, got {_json_type(variables)}.")
    operation_name = params.get("operationName")
    if operation_name is not None and not isinstance(operation_name, str):
        raise _bad_request(
            f"'operationName' must be a string or null, got {_json_type(operation_name)}."
        )
    extensions = params.get("extensions")
    if extensions is not None and not isinstance(extensions, dict):
        raise _bad_request(f"'extensions' must be an object or null, got {_json_type(extensions)}.")
    return query, variables, operation_name, extensions


def _json_type(value: Any) -> str:
    return _JSON_TYPES.get(type(value), "an unexpected value")


def _bad_request(message: str) -> HTTPClientError:
    return HTTPClientError(400, "BAD_REQUEST", message)


def _method_not_allowed(allowed: str) -> HTTPClientError:
    return HTTPClientError(
        405,
        "METHOD_NOT_ALLOWED",
        f"Method not allowed: use {' or '.join(allowed.split(', '))}.",
        {"Allow": allowed},
    )


def _not_acceptable() -> HTTPClientError:
    return HTTPClientError(
        406,
        "NOT_ACCEPTABLE",
        f"The Accept header allows no media type served here: accept "
        f"'{GRAPHQL_RESPONSE_JSON}' or '{JSON}'.",
    )


async def _send_error(send: Send, error: HTTPClientError, media_type: str) -> None:
    body = _encode({"errors": [{"message": str(error), "extensions": {"code": error.code}}]})
    await _send(send, error.status, body, _CONTENT_TYPES[media_type], error.headers)


async def _send(
    send: Send,
    status: int,
    body: bytes,
    content_type: bytes,
    headers: Mapping[str, str] | None = None,
) -> None:
    # Vary: the same URL answers HTML or either JSON type, so caches must key on Accept.
    raw = [
        (b"content-type", content_type),
        (b"content-length", str(len(body)).encode()),
        _VARY,
    ]
    if headers:
        raw.extend(
            (name.lower().encode("latin-1"), value.encode("latin-1"))
            for name, value in headers.items()
        )
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})
