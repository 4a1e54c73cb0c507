"""The GraphQL-over-HTTP endpoint: media types, status codes, limits and refusals."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from graphql import GraphQLError, GraphQLScalarType, GraphQLSchema, build_schema
from starlette.requests import Request
from starlette.types import Message

from ownergraph.errors import Unauthenticated
from ownergraph.execution import Executor, Operation
from ownergraph.graphql_http import GRAPHQL_RESPONSE_JSON, JSON, GraphQLEndpoint, negotiate

GRAPHQL_CT = "application/graphql-response+json; charset=utf-8"
JSON_CT = "application/json; charset=utf-8"
BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
GRAPHIQL = "<!doctype html><title>GraphiQL</title>"
_CONTENT_TYPE = {JSON: JSON_CT, GRAPHQL_RESPONSE_JSON: GRAPHQL_CT}


SDL = """
type Query {
  hello(name: String = "world"): String!
  help: String!
  broken: String
  crash: String!
}
type Mutation { bump: Int! }
type Subscription { ticks: Int }
"""


def _fail(message: str) -> Any:
    def resolve(*_args: Any) -> Any:
        raise ValueError(message)

    return resolve


def _refuse(message: str) -> Any:
    """A field failing with an error written for clients (an owner's), which is kept."""

    def resolve(*_args: Any) -> Any:
        raise GraphQLError(message)

    return resolve


def _bump(_source: Any, info: Any) -> int:
    info.context["bumps"].append(1)
    return len(info.context["bumps"])


def _schema() -> GraphQLSchema:
    schema = build_schema(SDL)
    assert schema.query_type is not None and schema.mutation_type is not None
    query = schema.query_type.fields
    query["hello"].resolve = lambda _source, _info, name="world": f"Hello, {name}!"
    query["help"].resolve = lambda _source, _info: "Ask an owner."
    query["broken"].resolve = _refuse("the owner did not answer")
    query["crash"].resolve = _fail("a non-null field failed")
    schema.mutation_type.fields["bump"].resolve = _bump
    return schema


SCHEMA = Executor(_schema())
SERVED = {"owners": {}}
"""What every answer carries: no owner was asked by this schema."""


class Contexts:
    """A context factory that records what it built, to prove what ran."""

    def __init__(self) -> None:
        self.built: list[dict[str, Any]] = []
        self.bumps: list[int] = []

    async def __call__(self, request: Request) -> dict[str, Any]:
        context = {"request": request, "bumps": self.bumps}
        self.built.append(context)
        return context


@asynccontextmanager
async def client_for(endpoint: GraphQLEndpoint) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=endpoint)
    async with httpx.AsyncClient(transport=transport, base_url="http://og") as client:
        # httpx sends `Accept: */*` unless told otherwise; tests name what they accept.
        del client.headers["accept"]
        yield client


async def post(
    body: Any,
    *,
    accept: str | None = None,
    content_type: str | None = "application/json",
    **options: Any,
) -> httpx.Response:
    headers = {}
    if accept is not None:
        headers["Accept"] = accept
    if content_type is not None:
        headers["Content-Type"] = content_type
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    async with client_for(GraphQLEndpoint(SCHEMA, Contexts(), **options)) as client:
        return await client.post("/graphql", content=content, headers=headers)


def error_code(response: httpx.Response) -> str:
    errors = response.json()["errors"]
    assert len(errors) == 1, errors
    code: str = errors[0]["extensions"]["code"]
    return code


def message(response: httpx.Response) -> str:
    text: str = response.json()["errors"][0]["message"]
    return text


# Negotiation


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        ("", JSON),
        ("application/json", JSON),
        ("application/graphql-response+json", GRAPHQL_RESPONSE_JSON),
        # A wildcard is not a client saying it reads the newer type (audits 47DE, 80D8).
        ("*/*", JSON),
        ("application/*", JSON),
        ("Application/JSON; charset=utf-8", JSON),
        ("application/graphql-response+json, application/json;q=0.9", GRAPHQL_RESPONSE_JSON),
        ("application/graphql-response+json, application/json", GRAPHQL_RESPONSE_JSON),
        ("application/graphql-response+json, */*", GRAPHQL_RESPONSE_JSON),
        ("application/graphql-response+json;q=0.5, */*;q=0.5", GRAPHQL_RESPONSE_JSON),
        ("application/graphql-response+json;q=0.5, */*", JSON),
        ("application/json, application/graphql-response+json;q=0.5", JSON),
        ("application/graphql-response+json;q=0, */*", JSON),
        ("text/html, application/json;q=0.1", JSON),
        (BROWSER_ACCEPT, JSON),
        ("application/json;q=oops, application/graphql-response+json", GRAPHQL_RESPONSE_JSON),
        ("text/html", None),
        ("application/json;q=0", None),
        ("application/xml, text/*", None),
    ],
)
def test_negotiate_weighs_the_accept_header(accept: str, expected: str | None) -> None:
    assert negotiate(accept) == expected


@pytest.mark.parametrize(
    ("accept", "content_type"),
    [
        (None, JSON_CT),
        ("application/json", JSON_CT),
        ("*/*", JSON_CT),
        ("application/graphql-response+json", GRAPHQL_CT),
    ],
)
async def test_a_query_is_answered_in_the_negotiated_type(
    accept: str | None, content_type: str
) -> None:
    response = await post({"query": '{ hello(name: "Ada") }'}, accept=accept)
    assert response.status_code == 200
    assert response.headers["content-type"] == content_type
    assert response.headers["vary"] == "Accept"
    assert response.json() == {"data": {"hello": "Hello, Ada!"}, "extensions": SERVED}


async def test_an_accept_header_allowing_neither_type_is_406() -> None:
    response = await post({"query": "{ hello }"}, accept="text/html")
    assert response.status_code == 406
    assert response.headers["content-type"] == JSON_CT
    assert error_code(response) == "NOT_ACCEPTABLE"


# Status codes of GraphQL responses

REQUEST_ERRORS = {
    "parse error": {"query": "{ hello"},
    "validation error": {"query": "{ nope }"},
    "missing variable": {"query": "query ($n: String!) { hello(name: $n) }"},
    "badly typed variable": {
        "query": "query ($n: String!) { hello(name: $n) }",
        "variables": {"n": 42},
    },
    "unknown operation": {"query": "query A { hello }", "operationName": "B"},
    "anonymous among several": {"query": "{ hello } query B { help }"},
    "no operation": {"query": "fragment F on Query { hello }"},
    "subscription": {"query": "subscription { ticks }"},
}


@pytest.mark.parametrize("body", REQUEST_ERRORS.values(), ids=REQUEST_ERRORS.keys())
async def test_a_request_error_is_400_in_graphql_response_json(body: dict[str, Any]) -> None:
    response = await post(body, accept=GRAPHQL_RESPONSE_JSON)
    assert response.status_code == 400
    assert response.headers["content-type"] == GRAPHQL_CT
    payload = response.json()
    assert "data" not in payload
    assert payload["errors"][0]["message"]


@pytest.mark.parametrize("body", REQUEST_ERRORS.values(), ids=REQUEST_ERRORS.keys())
async def test_a_request_error_is_200_in_application_json(body: dict[str, Any]) -> None:
    response = await post(body, accept=JSON)
    assert response.status_code == 200
    assert response.headers["content-type"] == JSON_CT
    payload = response.json()
    assert "data" not in payload
    assert payload["errors"][0]["message"]


@pytest.mark.parametrize("accept", [GRAPHQL_RESPONSE_JSON, JSON])
async def test_a_field_error_keeps_partial_data_and_200(accept: str) -> None:
    response = await post({"query": "{ hello broken }"}, accept=accept)
    assert response.status_code == 200
    payload = response.json()
    assert payload["data"] == {"hello": "Hello, world!", "broken": None}
    assert payload["errors"][0]["path"] == ["broken"]
    assert payload["errors"][0]["message"] == "the owner did not answer"


@pytest.mark.parametrize("accept", [GRAPHQL_RESPONSE_JSON, JSON])
async def test_a_failed_non_null_root_field_still_executed(accept: str) -> None:
    response = await post({"query": "{ hello crash }"}, accept=accept)
    assert response.status_code == 200
    payload = response.json()
    assert payload["data"] is None
    assert payload["errors"][0]["path"] == ["crash"]


async def test_variables_operation_name_and_extensions_reach_execution() -> None:
    response = await post(
        {
            "query": "query A { help } query B($n: String) { hello(name: $n) }",
            "operationName": "B",
            "variables": {"n": "Bo"},
            "extensions": {"client": "test"},
        },
        accept=GRAPHQL_RESPONSE_JSON,
    )
    assert response.status_code == 200
    assert response.json()["data"] == {"hello": "Hello, Bo!"}


async def test_null_optional_parameters_are_accepted() -> None:
    response = await post(
        {"query": "{ help }", "variables": None, "operationName": None, "extensions": None}
    )
    assert response.status_code == 200
    assert response.json()["data"] == {"help": "Ask an owner."}


async def test_a_mutation_runs_over_post() -> None:
    contexts = Contexts()
    async with client_for(GraphQLEndpoint(SCHEMA, contexts)) as client:
        response = await client.post("/graphql", json={"query": "mutation { bump }"})
    assert response.json()["data"] == {"bump": 1}
    assert contexts.bumps == [1]


# Malformed requests

MALFORMED = {
    "not JSON": (b"{query", "not valid JSON"),
    "not UTF-8": (b'{"query": "\xff"}', "not valid JSON"),
    "deeply nested": (b"[" * 50_000 + b"]" * 50_000, "not valid JSON"),
    "an array": (b'[{"query": "{ hello }"}]', "must be a JSON object, got an array"),
    "query missing": (b'{"variables": {}}', "no 'query'"),
    "query not a string": (b'{"query": 1}', "'query' must be a string, got a number"),
    "query empty": (b'{"query": ""}', "'query' is empty"),
    "variables a string": (
        b'{"query": "{ hello }", "variables": "{}"}',
        "'variables' must be an object or null, got a string",
    ),
    "operationName a number": (
        b'{"query": "{ hello }", "operationName": 3}',
        "'operationName' must be a string or null, got a number",
    ),
    "extensions an array": (
        b'{"query": "{ hello }", "extensions": []}',
        "'extensions' must be an object or null, got an array",
    ),
}


@pytest.mark.parametrize(("body", "problem"), MALFORMED.values(), ids=MALFORMED.keys())
@pytest.mark.parametrize(
    ("accept", "content_type"), [(None, JSON_CT), (GRAPHQL_RESPONSE_JSON, GRAPHQL_CT)]
)
async def test_a_malformed_request_is_400_naming_the_problem(
    body: bytes, problem: str, accept: str | None, content_type: str
) -> None:
    response = await post(body, accept=accept, max_body_bytes=200_000)
    assert response.status_code == 400
    assert response.headers["content-type"] == content_type
    assert error_code(response) == "BAD_REQUEST"
    assert problem in message(response)


# Content types (CSRF) and body limits


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        None,
        "application/graphql",
        "application/jsonx",
    ],
)
async def test_a_body_that_is_not_json_is_415(content_type: str | None) -> None:
    contexts = Contexts()
    async with client_for(GraphQLEndpoint(SCHEMA, contexts)) as client:
        response = await client.post(
            "/graphql",
            content=b'{"query": "mutation { bump }"}',
            headers={"Content-Type": content_type} if content_type else {},
        )
    assert response.status_code == 415
    assert response.headers["content-type"] == JSON_CT
    assert error_code(response) == "UNSUPPORTED_MEDIA_TYPE"
    assert contexts.bumps == []
    assert contexts.built == []


@pytest.mark.parametrize(
    "content_type",
    [
        "Application/JSON; Charset=UTF-8",
        'application/json;charset="utf-8"',
        "application/json; charset=utf8",
        "application/json; foo=bar",
    ],
)
async def test_the_json_content_type_is_matched_case_insensitively_in_utf8(
    content_type: str,
) -> None:
    response = await post({"query": "{ help }"}, content_type=content_type)
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("charset", "encoding"),
    [
        ("utf-16", "utf-16"),
        ("utf-16", "ascii"),  # would parse, and run, were the label ignored
        ("UTF-16LE", "utf-16-le"),
        ("iso-8859-1", "latin-1"),
        ("no-such-charset", "ascii"),
    ],
)
async def test_a_body_in_another_charset_than_utf8_is_415(charset: str, encoding: str) -> None:
    contexts = Contexts()
    async with client_for(GraphQLEndpoint(SCHEMA, contexts)) as client:
        response = await client.post(
            "/graphql",
            content='{"query": "mutation { bump }"}'.encode(encoding),
            headers={"Content-Type": f"application/json; charset={charset}"},
        )
    assert response.status_code == 415
    assert response.headers["content-type"] == JSON_CT
    assert error_code(response) == "UNSUPPORTED_MEDIA_TYPE"
    assert repr(charset) in message(response)
    assert contexts.bumps == []
    assert contexts.built == []


async def test_a_body_over_the_limit_by_content_length_is_413() -> None:
    response = await post({"query": "{ help }", "pad": "x" * 200}, max_body_bytes=100)
    assert response.status_code == 413
    assert response.headers["content-type"] == JSON_CT
    assert error_code(response) == "PAYLOAD_TOO_LARGE"


async def test_content_length_is_refused_before_the_body_is_read() -> None:
    sent: list[Message] = []

    async def receive() -> Message:
        raise AssertionError("the body was read")

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/graphql",
        "query_string": b"",
        "headers": [(b"content-type", b"application/json"), (b"content-length", b"101")],
    }
    await GraphQLEndpoint(SCHEMA, Contexts(), max_body_bytes=100)(scope, receive, send)
    assert sent[0]["status"] == 413


async def test_a_chunked_body_over_the_limit_is_413() -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"query": "{ help }", "pad": "'
        for _ in range(10):
            yield b"x" * 50
        yield b'"}'

    contexts = Contexts()
    async with client_for(GraphQLEndpoint(SCHEMA, contexts, max_body_bytes=200)) as client:
        response = await client.post(
            "/graphql", content=chunks(), headers={"Content-Type": "application/json"}
        )
    assert response.status_code == 413
    assert error_code(response) == "PAYLOAD_TOO_LARGE"
    assert contexts.built == []


async def test_a_chunked_body_within_the_limit_is_executed() -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"query": '
        yield b'"{ help }"}'

    async with client_for(GraphQLEndpoint(SCHEMA, Contexts())) as client:
        response = await client.post(
            "/graphql", content=chunks(), headers={"Content-Type": "application/json"}
        )
    assert response.json()["data"] == {"help": "Ask an owner."}


@pytest.mark.parametrize("content_length", ["many", "-1", "1_0"])
async def test_an_unreadable_content_length_is_400(content_length: str) -> None:
    sent: list[Message] = []

    async def receive() -> Message:
        raise AssertionError("the body was read")

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/graphql",
        "query_string": b"",
        "headers": [
            (b"content-type", b"application/json"),
            (b"content-length", content_length.encode()),
        ],
    }
    await GraphQLEndpoint(SCHEMA, Contexts())(scope, receive, send)
    assert sent[0]["status"] == 400


# Methods and GET


@pytest.mark.parametrize(
    ("options", "allow"),
    [
        ({}, "POST"),
        ({"allow_get": True}, "GET, POST"),
        ({"graphiql_html": GRAPHIQL}, "GET, POST"),
    ],
)
async def test_another_method_is_405_listing_the_allowed_ones(
    options: dict[str, Any], allow: str
) -> None:
    async with client_for(GraphQLEndpoint(SCHEMA, Contexts(), **options)) as client:
        response = await client.put("/graphql", json={"query": "{ help }"})
    assert response.status_code == 405
    assert response.headers["allow"] == allow
    assert response.headers["content-type"] == JSON_CT
    assert error_code(response) == "METHOD_NOT_ALLOWED"


@pytest.mark.parametrize("graphiql_html", [None, GRAPHIQL])
async def test_get_is_405_unless_enabled(graphiql_html: str | None) -> None:
    endpoint = GraphQLEndpoint(SCHEMA, Contexts(), graphiql_html=graphiql_html)
    async with client_for(endpoint) as client:
        response = await client.get("/graphql", params={"query": "{ help }"})
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert error_code(response) == "METHOD_NOT_ALLOWED"


@pytest.mark.parametrize(
    ("accept", "content_type"), [(None, JSON_CT), (GRAPHQL_RESPONSE_JSON, GRAPHQL_CT)]
)
async def test_get_runs_a_query_when_enabled(accept: str | None, content_type: str) -> None:
    params = {
        "query": "query Q($n: String) { hello(name: $n) }",
        "variables": '{"n": "Cy"}',
        "operationName": "Q",
        "extensions": "{}",
    }
    async with client_for(GraphQLEndpoint(SCHEMA, Contexts(), allow_get=True)) as client:
        response = await client.get(
            "/graphql", params=params, headers={"Accept": accept} if accept else {}
        )
    assert response.status_code == 200
    assert response.headers["content-type"] == content_type
    assert response.json()["data"] == {"hello": "Hello, Cy!"}


@pytest.mark.parametrize(
    "params",
    [
        {"query": "mutation { bump }"},
        {"query": "query Q { help } mutation M { bump }", "operationName": "M"},
        {"query": "subscription { ticks }"},
    ],
)
async def test_get_refuses_a_mutation_with_405(params: dict[str, str]) -> None:
    contexts = Contexts()
    async with client_for(GraphQLEndpoint(SCHEMA, contexts, allow_get=True)) as client:
        response = await client.get("/graphql", params=params)
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert error_code(response) == "METHOD_NOT_ALLOWED"
    assert contexts.bumps == []


async def test_get_runs_nothing_of_several_operations_none_named() -> None:
    contexts = Contexts()
    params = {"query": "mutation M { bump } query Q { help }"}
    async with client_for(GraphQLEndpoint(SCHEMA, contexts, allow_get=True)) as client:
        response = await client.get("/graphql", params=params)
    assert "Cannot tell which operation to run" in response.json()["errors"][0]["message"]
    assert contexts.bumps == []


async def test_get_picks_the_query_named_by_operation_name() -> None:
    params = {"query": "query Q { help } mutation M { bump }", "operationName": "Q"}
    async with client_for(GraphQLEndpoint(SCHEMA, Contexts(), allow_get=True)) as client:
        response = await client.get("/graphql", params=params)
    assert response.status_code == 200
    assert response.json()["data"] == {"help": "Ask an owner."}


@pytest.mark.parametrize(("accept", "status"), [(GRAPHQL_RESPONSE_JSON, 400), (JSON, 200)])
async def test_get_reports_a_parse_error_as_a_graphql_error(accept: str, status: int) -> None:
    async with client_for(GraphQLEndpoint(SCHEMA, Contexts(), allow_get=True)) as client:
        response = await client.get(
            "/graphql", params={"query": "{ help"}, headers={"Accept": accept}
        )
    assert response.status_code == status
    payload = response.json()
    assert "data" not in payload
    assert payload["errors"][0]["message"].startswith("Syntax Error")


@pytest.mark.parametrize(
    ("params", "problem"),
    [
        ({}, "no 'query'"),
        ({"query": "{ help }", "variables": "{oops"}, "'variables' is not valid JSON"),
        ({"query": "{ help }", "variables": "[]"}, "'variables' must be an object"),
        ({"query": "{ help }", "extensions": "1"}, "'extensions' must be an object"),
    ],
)
async def test_get_with_malformed_parameters_is_400(params: dict[str, str], problem: str) -> None:
    async with client_for(GraphQLEndpoint(SCHEMA, Contexts(), allow_get=True)) as client:
        response = await client.get("/graphql", params=params)
    assert response.status_code == 400
    assert error_code(response) == "BAD_REQUEST"
    assert problem in message(response)


# GraphiQL


@pytest.mark.parametrize("allow_get", [False, True])
async def test_graphiql_is_served_to_a_browser(allow_get: bool) -> None:
    endpoint = GraphQLEndpoint(SCHEMA, Contexts(), allow_get=allow_get, graphiql_html=GRAPHIQL)
    async with client_for(endpoint) as client:
        response = await client.get("/graphql", headers={"Accept": BROWSER_ACCEPT})
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.text == GRAPHIQL


async def test_graphiql_is_not_served_when_not_configured() -> None:
    async with client_for(GraphQLEndpoint(SCHEMA, Contexts())) as client:
        response = await client.get("/graphql", headers={"Accept": BROWSER_ACCEPT})
    assert response.status_code == 405


async def test_graphiql_is_not_served_to_an_api_client() -> None:
    endpoint = GraphQLEndpoint(SCHEMA, Contexts(), graphiql_html=GRAPHIQL)
    async with client_for(endpoint) as client:
        response = await client.get("/graphql", headers={"Accept": "*/*"})
    assert response.status_code == 405


async def test_a_browser_following_a_query_url_gets_the_query_run() -> None:
    endpoint = GraphQLEndpoint(SCHEMA, Contexts(), allow_get=True, graphiql_html=GRAPHIQL)
    async with client_for(endpoint) as client:
        response = await client.get(
            "/graphql", params={"query": "{ help }"}, headers={"Accept": BROWSER_ACCEPT}
        )
    assert response.status_code == 200
    assert response.headers["content-type"] == JSON_CT  # only */* names a JSON type
    assert response.json()["data"] == {"help": "Ask an owner."}


# The context factory


@pytest.mark.parametrize(
    ("accept", "content_type"), [(None, JSON_CT), (GRAPHQL_RESPONSE_JSON, GRAPHQL_CT)]
)
async def test_a_client_error_from_the_context_is_answered_and_nothing_runs(
    accept: str | None, content_type: str
) -> None:
    bumps: list[int] = []

    async def refuse(request: Request) -> dict[str, Any]:
        if request.headers.get("authorization") != "Bearer good":
            raise Unauthenticated("the API key is unknown")
        return {"bumps": bumps}

    headers = {"Authorization": "Bearer bad"} | ({"Accept": accept} if accept else {})
    async with client_for(GraphQLEndpoint(SCHEMA, refuse)) as client:
        response = await client.post(
            "/graphql", json={"query": "mutation { bump }"}, headers=headers
        )
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Bearer realm="ownergraph"'
    assert response.headers["content-type"] == content_type
    assert response.json() == {
        "errors": [
            {
                "message": "Not authenticated: the API key is unknown.",
                "extensions": {"code": "UNAUTHENTICATED"},
            }
        ]
    }
    assert bumps == []


async def test_the_context_factory_can_still_read_the_body() -> None:
    seen: list[Any] = []

    async def context(request: Request) -> dict[str, Any]:
        seen.append(await request.json())
        return {}

    async with client_for(GraphQLEndpoint(SCHEMA, context)) as client:
        response = await client.post("/graphql", json={"query": "{ help }"})
    assert response.status_code == 200
    assert seen == [{"query": "{ help }"}]


async def test_a_malformed_request_never_builds_a_context() -> None:
    contexts = Contexts()
    async with client_for(GraphQLEndpoint(SCHEMA, contexts)) as client:
        response = await client.post("/graphql", json={"variables": {}})
    assert response.status_code == 400
    assert contexts.built == []


# Suggestions

PROBES = [
    "{ hel }",  # two suggestions: 'hello' or 'help'
    "{ helo }",
    '{ hello(nam: "x") }',
]


@pytest.mark.parametrize("query", PROBES)
async def test_hide_suggestions_strips_did_you_mean(query: str) -> None:
    shown = await post({"query": query})
    assert "Did you mean" in message(shown)
    hidden = await post({"query": query}, hide_suggestions=True)
    text = message(hidden)
    assert "Did you mean" not in text
    assert text == message(shown).partition(" Did you mean")[0]
    assert text.endswith(".")


# Results the encoder cannot write as they are

BEYOND_64_BITS = 2**64  # orjson writes integers from -2**63 to 2**64 - 1 only
OUTSIZED = """
scalar Unbounded
type Query { huge: Unbounded  costly: String  fine: String! }
"""


def _outsized() -> GraphQLSchema:
    schema = build_schema(OUTSIZED)
    unbounded = schema.type_map["Unbounded"]
    assert isinstance(unbounded, GraphQLScalarType) and schema.query_type is not None
    unbounded.serialize = unbounded.coerce_output_value = lambda value: value  # type: ignore[method-assign,assignment]

    def costly(*_args: Any) -> Any:
        raise GraphQLError("Too costly.", extensions={"code": "BAD_USER_INPUT", "value": -(2**70)})

    fields = schema.query_type.fields
    fields["huge"].resolve = lambda *_args: BEYOND_64_BITS
    fields["costly"].resolve = costly
    fields["fine"].resolve = lambda *_args: "fine"
    return schema


class Carrying(Executor):
    """An executor adding `value` to every answer's extensions, as a hook of ours might."""

    def __init__(self, schema: GraphQLSchema, value: Any) -> None:
        super().__init__(schema)
        self.value = value

    def response(self, operation: Operation) -> dict[str, Any]:
        body = super().response(operation)
        body["extensions"] = {"carried": self.value}
        return body


async def post_to(executor: Executor, query: str, accept: str = JSON) -> httpx.Response:
    async with client_for(GraphQLEndpoint(executor, Contexts())) as client:
        return await client.post("/graphql", json={"query": query}, headers={"Accept": accept})


async def test_an_integer_beyond_64_bits_is_written_as_a_string_wherever_it_is(
    caplog: pytest.LogCaptureFixture,
) -> None:
    response = await post_to(Carrying(_outsized(), [1, BEYOND_64_BITS]), "{ huge costly fine }")
    assert response.status_code == 200
    assert response.headers["content-type"] == JSON_CT
    payload = response.json()
    assert payload["data"] == {"huge": str(BEYOND_64_BITS), "costly": None, "fine": "fine"}
    [error] = payload["errors"]
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "value": str(-(2**70))}
    assert payload["extensions"] == {"carried": [1, str(BEYOND_64_BITS)]}
    [record] = [r for r in caplog.records if r.name == "ownergraph"]
    assert record.levelname == "ERROR"
    assert "64-bit" in record.getMessage()
    assert str(BEYOND_64_BITS) not in record.getMessage()  # logs never carry values


@pytest.mark.parametrize(
    ("query", "accept", "status", "executed"),
    [
        ("{ fine }", JSON, 200, True),
        ("{ fine }", GRAPHQL_RESPONSE_JSON, 200, True),
        ("{ nope }", JSON, 200, False),
        ("{ nope }", GRAPHQL_RESPONSE_JSON, 400, False),
    ],
)
async def test_a_result_that_cannot_be_encoded_is_a_graphql_error(
    caplog: pytest.LogCaptureFixture, query: str, accept: str, status: int, executed: bool
) -> None:
    response = await post_to(Carrying(_outsized(), object()), query, accept)
    assert response.status_code == status
    assert response.headers["content-type"] == _CONTENT_TYPE[accept]
    error = {
        "message": "The response could not be encoded.",
        "extensions": {"code": "INTERNAL_SERVER_ERROR"},
    }
    assert response.json() == ({"data": None} if executed else {}) | {"errors": [error]}
    assert [r.levelname for r in caplog.records if r.name == "ownergraph"] == ["ERROR"]
