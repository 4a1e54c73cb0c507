"""Every query limit: N passes, N+1 is refused with a clear message and code, no owner called."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from graphql import OperationDefinitionNode, Source, TokenKind, parse
from graphql.language.lexer import Lexer

from ownergraph import Settings, create_app
from ownergraph.demo import SYSTEMS, create_owner_app
from ownergraph.graphql_http import GRAPHQL_RESPONSE_JSON
from ownergraph.limits import OWNER_FIELD_COST, SATURATED, Limits, Walk, owner_backed
from ownergraph.ownership import load_ownership

from ..conftest import shipped_graph
from ..documents import fan_out, selection_nodes
from .test_permissions import Counting

ROOT = Path(__file__).resolve().parents[2]
LIMITS = Limits(max_tokens=60, max_depth=2, max_aliases=3, max_root_fields=3, max_cost=101)
MAX_BODY = 2_000
IDS = [f"C{n:05d}" for n in range(1, 102)]

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest.fixture(scope="module")
def counts() -> Counter[str]:
    return Counter()


@pytest.fixture(scope="module")
def transports(demo_data: Path, counts: Counter[str]) -> dict[str, httpx.AsyncBaseTransport]:
    return {
        name: Counting(name, httpx.ASGITransport(app=create_owner_app(name, demo_data)), counts)
        for name in SYSTEMS
    }


def gateway(
    transports: dict[str, httpx.AsyncBaseTransport], limits: Limits = LIMITS
) -> AbstractAsyncContextManager[httpx.AsyncClient]:
    @asynccontextmanager
    async def client() -> AsyncIterator[httpx.AsyncClient]:
        settings = Settings(
            ownership_path=ROOT / "ownership.yaml",
            demo_keys=True,
            audit_log="off",
            limits=limits,
            max_body_bytes=MAX_BODY,
        )
        app = create_app(settings, transports=transports)
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app),
                base_url="http://og",
                # The status the limits are checked by is graphql-response+json's.
                headers={
                    "Authorization": "Bearer demo-backoffice",
                    "Accept": GRAPHQL_RESPONSE_JSON,
                },
            ) as http,
        ):
            yield http

    return client()


@pytest_asyncio.fixture(loop_scope="module")
async def client(
    transports: dict[str, httpx.AsyncBaseTransport],
) -> AsyncIterator[httpx.AsyncClient]:
    async with gateway(transports) as http:
        yield http


async def ask(
    client: httpx.AsyncClient, counts: Counter[str], query: str, **variables: Any
) -> dict[str, Any]:
    counts.clear()
    response = await client.post("/graphql", json={"query": query, "variables": variables})
    # graphql-response+json: 400 when refused before execution, 200 once it ran.
    assert response.status_code == (200 if "data" in response.json() else 400), response.text
    body: dict[str, Any] = response.json()
    return body


def refused(body: dict[str, Any], counts: Counter[str], limit: str, maximum: int) -> str:
    [error] = body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    if limit != "tokens":
        assert error["extensions"]["limit"] == limit
        assert error["extensions"]["max"] == maximum
    assert "data" not in body or body["data"] is None
    assert sum(counts.values()) == 0, f"owners were called: {dict(counts)}"
    message: str = error["message"]
    return message


def passed(body: dict[str, Any]) -> None:
    assert "errors" not in body, body["errors"]


def customers(n: int) -> str:
    return " ".join(f'c{i}: customer(id: "C0000{i + 1}") {{ id }}' for i in range(n))


async def test_depth_counts_through_fragments(
    client: httpx.AsyncClient, counts: Counter[str]
) -> None:
    passed(await ask(client, counts, '{ customer(id: "C00001") { displayName } }'))
    deep = 'fragment F on Customer { address { city } } { customer(id: "C00001") { ...F } }'
    message = refused(await ask(client, counts, deep), counts, "depth", 2)
    assert message == ("Query depth 3 exceeds the limit of 2: nest fewer levels.")


async def test_aliases_count_through_fragments(
    client: httpx.AsyncClient, counts: Counter[str]
) -> None:
    passed(await ask(client, counts, "{ " + customers(3) + " }"))
    document = (
        "fragment F on Customer { a: displayName b: segment } "
        '{ customer(id: "C00001") { ...F x: id } c: customer(id: "C00002") { ...F } }'
    )
    refused(await ask(client, counts, document), counts, "aliases", 3)


async def test_root_fields(client: httpx.AsyncClient, counts: Counter[str]) -> None:
    three = "{ " + customers(3) + " }"
    passed(await ask(client, counts, three))
    four = three[:-1] + 'customers(ids: ["C00004"]) { id } }'
    refused(await ask(client, counts, four), counts, "root fields", 3)


async def test_cost_is_known_before_any_owner_is_called(
    client: httpx.AsyncClient, counts: Counter[str]
) -> None:
    # customers: 1, plus displayName (an owner-backed field, 10) per customer.
    query = "query($ids: [ID!]!) { customers(ids: $ids) { displayName } }"
    literal = "{ customers(ids: %s) { displayName } }"
    passed(await ask(client, counts, literal % json.dumps(IDS[:10])))
    message = refused(
        await ask(client, counts, literal % json.dumps(IDS[:11])), counts, "cost", 101
    )
    assert "Query cost 111 exceeds the limit of 101" in message
    # Through a variable, the list is taken at the most it may hold (100).
    refused(await ask(client, counts, query, ids=IDS[:1]), counts, "cost", 101)


def token_count(document: str) -> int:
    lexer = Lexer(Source(document))
    count = 0
    while lexer.advance().kind != TokenKind.EOF:
        count += 1
    return count


async def test_tokens(client: httpx.AsyncClient, counts: Counter[str]) -> None:
    base = '{ customer(id: "C00001") { id } }'
    padding = " __typename" * (LIMITS.max_tokens - token_count(base))
    at_limit = base[:-1] + padding + " }"
    assert token_count(at_limit) == LIMITS.max_tokens
    passed(await ask(client, counts, at_limit))
    over = at_limit[:-1] + " __typename }"
    message = refused(await ask(client, counts, over), counts, "tokens", LIMITS.max_tokens)
    assert "more than 60 tokens" in message


async def test_list_sizes(
    transports: dict[str, httpx.AsyncBaseTransport], counts: Counter[str]
) -> None:
    query = 'query($first: Int!) { customer(id: "C00002") { tickets(first: $first) { id } } }'
    async with gateway(transports, Limits()) as client:
        passed(await ask(client, counts, query, first=100))
        body = await ask(client, counts, query, first=101)
    [error] = body["errors"]
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "argument": "first"}
    assert counts["helpdesk"] == 0
    async with gateway(transports, Limits()) as client:
        ids_query = "query($ids: [ID!]!) { customers(ids: $ids) { id } }"
        passed(await ask(client, counts, ids_query, ids=IDS[:100]))
        body = await ask(client, counts, ids_query, ids=IDS[:101])
    [error] = body["errors"]
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "argument": "ids"}
    assert sum(counts.values()) == 0


async def test_body_size(client: httpx.AsyncClient) -> None:
    def body_of(size: int) -> bytes:
        text = json.dumps({"query": '{ customer(id: "C00001") { id } }', "variables": {"pad": ""}})
        return text.replace('"pad": ""', '"pad": "' + "x" * (size - len(text)) + '"').encode()

    fits = await client.post(
        "/graphql", content=body_of(MAX_BODY), headers={"Content-Type": "application/json"}
    )
    assert fits.status_code == 200
    too_big = await client.post(
        "/graphql", content=body_of(MAX_BODY + 1), headers={"Content-Type": "application/json"}
    )
    assert too_big.status_code == 413
    assert too_big.json()["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"


OWNERSHIP = load_ownership(ROOT / "ownership.yaml")
SCHEMA = shipped_graph(OWNERSHIP).schema


@pytest.mark.parametrize("spreads", [2, 3])
async def test_a_fragment_spread_many_times_is_measured_once(spreads: int) -> None:
    """30 levels of fragments spreading the next 2 or 3 times: every node walked once."""
    document = parse(fan_out(30, spreads))
    [operation, *_] = document.definitions
    assert isinstance(operation, OperationDefinitionNode)
    walk = Walk(document, owner_backed(OWNERSHIP))
    assert SCHEMA.query_type is not None
    measures = walk.operation(operation.selection_set, SCHEMA.query_type)
    assert walk.visited == selection_nodes(document)
    # customer (1) and spreads^30 displayNames, each an owner call (10): found by adding.
    assert measures.cost == 1 + OWNER_FIELD_COST * spreads**30
    assert measures.depth == 2
    assert measures.fields == 1


async def test_measures_saturate_where_every_reader_still_holds_them() -> None:
    document = parse(fan_out(60, 3))
    [operation, *_] = document.definitions
    assert isinstance(operation, OperationDefinitionNode) and SCHEMA.query_type is not None
    walk = Walk(document, owner_backed(OWNERSHIP))
    assert walk.operation(operation.selection_set, SCHEMA.query_type).cost == SATURATED


@pytest.mark.parametrize("spreads", [2, 3])
@pytest.mark.parametrize("key", ["demo-agent", None])
async def test_a_fan_out_of_fragments_is_refused_on_its_cost(
    transports: dict[str, httpx.AsyncBaseTransport],
    counts: Counter[str],
    spreads: int,
    key: str | None,
) -> None:
    async with gateway(transports, Limits()) as client:
        if key is None:
            del client.headers["Authorization"]
        else:
            client.headers["Authorization"] = f"Bearer {key}"
        # A comment makes each text new to the validation cache.
        body = await ask(client, counts, fan_out(30, spreads) + f"\n# {spreads} {key}")
    message = refused(body, counts, "cost", Limits().max_cost)
    assert f"Query cost {1 + OWNER_FIELD_COST * spreads**30} exceeds" in message


async def test_a_cost_beyond_64_bits_is_reported_as_a_number_json_holds(
    transports: dict[str, httpx.AsyncBaseTransport], counts: Counter[str]
) -> None:
    huge = '{ customer(id: "C00013") { tickets(first: 7432656011255902896128) { id } } }'
    async with gateway(transports, Limits()) as client:
        body = await ask(client, counts, huge)
    # graphql-core refuses the number too (not a 32-bit Int); the cost error must still encode.
    [error] = [e for e in body["errors"] if e["extensions"].get("limit") == "cost"]
    assert error["extensions"]["value"] == SATURATED
    assert f"Query cost {SATURATED} or more exceeds the limit" in error["message"]
    assert sum(counts.values()) == 0


async def test_a_fan_out_of_typenames_costs_nothing_and_is_answered_at_once(
    transports: dict[str, httpx.AsyncBaseTransport], counts: Counter[str]
) -> None:
    """`__typename` asks no owner, so the limits let it through: the prefetch must stay linear."""
    async with gateway(transports, Limits()) as client:
        body = await asyncio.wait_for(
            ask(client, counts, fan_out(30, 3, leaf="__typename")), timeout=60
        )
    assert body == {
        "data": {"customer": {"__typename": "Customer"}},
        "extensions": body["extensions"],
    }
