"""The whole role x field matrix, read from the ownership map itself.

For every role the map names and every owned field, a query asks for that
field: a readable field comes back without FORBIDDEN; a denied one is null
with FORBIDDEN at its path, and its owner is not called for it.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from graphql import GraphQLList, GraphQLNonNull, GraphQLObjectType

from ownergraph import Settings, create_app
from ownergraph.auth import DEMO_KEYS
from ownergraph.demo import SYSTEMS, create_owner_app
from ownergraph.ownership import FieldOwnership, load_ownership

from ..conftest import shipped_graph

ROOT = Path(__file__).resolve().parents[2]
OWNERSHIP = load_ownership(ROOT / "ownership.yaml")
CUSTOMER = "C00002"  # has an address, an ERP account, invoices, tickets and contacts
KEY_OF_ROLE = {role: key for key, role in DEMO_KEYS.items()}
ROLES = sorted(OWNERSHIP.roles)

# One gateway for the whole matrix, on one event loop.
pytestmark = pytest.mark.asyncio(loop_scope="module")


class Counting(httpx.AsyncBaseTransport):
    """Passes requests to an owner's app, counting them per system."""

    def __init__(self, system: str, inner: httpx.AsyncBaseTransport, counts: Counter[str]):
        self.system = system
        self.inner = inner
        self.counts = counts

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.counts[self.system] += 1
        return await self.inner.handle_async_request(request)


@pytest.fixture(scope="module")
def counts() -> Counter[str]:
    return Counter()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def client(demo_data: Path, counts: Counter[str]) -> AsyncIterator[httpx.AsyncClient]:
    transports: dict[str, httpx.AsyncBaseTransport] = {
        name: Counting(name, httpx.ASGITransport(app=create_owner_app(name, demo_data)), counts)
        for name in SYSTEMS
    }
    settings = Settings(ownership_path=ROOT / "ownership.yaml", demo_keys=True, audit_log="off")
    app = create_app(settings, transports=transports)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://og") as http:
            yield http


def selection(field: FieldOwnership) -> str:
    """The query text selecting `field` of the customer, through its parent if needed."""
    schema = _graph_types()
    if field.type_name == "Customer":
        return field.name + _leaf(schema["Customer"].fields[field.name].type)
    parent = next(
        name
        for name, gql_field in schema["Customer"].fields.items()
        if _named(gql_field.type).name == field.type_name
    )
    return f"{parent} {{ {field.name}{_leaf(schema[field.type_name].fields[field.name].type)} }}"


@functools.cache
def _graph_types() -> dict[str, GraphQLObjectType]:

    schema = shipped_graph(OWNERSHIP).schema
    return {name: t for name, t in schema.type_map.items() if isinstance(t, GraphQLObjectType)}


def _named(gql_type: Any) -> Any:
    while isinstance(gql_type, GraphQLNonNull | GraphQLList):
        gql_type = gql_type.of_type
    return gql_type


def _leaf(gql_type: Any) -> str:
    return " { __typename }" if isinstance(_named(gql_type), GraphQLObjectType) else ""


CASES = [
    pytest.param(role, field, id=f"{role}-{field.coordinate}")
    for role in ROLES
    for entry in OWNERSHIP.types.values()
    for field in entry.fields.values()
]


@pytest.mark.parametrize(("role", "field"), CASES)
async def test_role_field_matrix(
    client: httpx.AsyncClient, counts: Counter[str], role: str, field: FieldOwnership
) -> None:
    key = KEY_OF_ROLE.get(role)
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    counts.clear()
    response = await client.post(
        "/graphql",
        json={"query": f'{{ customer(id: "{CUSTOMER}") {{ {selection(field)} }} }}'},
        headers=headers,
    )
    body = response.json()
    forbidden = {
        tuple(e["path"]) for e in body.get("errors", []) if e["extensions"]["code"] == "FORBIDDEN"
    }
    identity = OWNERSHIP.field("Customer", "id")
    if not identity.readable_by(frozenset({role})):
        # Looking a customer up at all needs Customer.id: nothing is asked of anyone.
        assert body["data"] == {"customer": None}
        assert forbidden == {("customer",)}
        assert sum(counts.values()) == 0
        return

    customer = body["data"]["customer"]
    parent_name = selection(field).split(" ", 1)[0]
    parent = OWNERSHIP.field("Customer", parent_name)
    parent_path = ("customer", parent_name)
    if not parent.readable_by(frozenset({role})):
        assert customer[parent_name] is None
        assert parent_path in forbidden
        if parent.owner != identity.owner:
            assert counts[parent.owner] == 0, f"{parent.owner} was called for a denied field"
        return
    assert parent_path not in forbidden
    if field.type_name == "Customer":
        return
    value = customer[parent_name]
    items = value if isinstance(value, list) else [value]
    assert items, f"{CUSTOMER} has no {parent_name}: the matrix needs one to check"
    child_paths = {p for p in forbidden if p[:2] == parent_path}
    if field.readable_by(frozenset({role})):
        assert not child_paths
    else:
        assert child_paths and all(p[-1] == field.name for p in child_paths)
        assert all(item[field.name] is None for item in items)


async def test_an_intern_sees_name_and_tickets_but_no_money(
    client: httpx.AsyncClient, counts: Counter[str]
) -> None:
    counts.clear()
    response = await client.post(
        "/graphql",
        json={
            "query": f'{{ customer(id: "{CUSTOMER}") {{ displayName tickets {{ id }} '
            "invoices { number } credit { balance } } }"
        },
        headers={"Authorization": "Bearer demo-intern"},
    )
    body = response.json()
    customer = body["data"]["customer"]
    assert customer["displayName"] and customer["tickets"] is not None
    assert customer["invoices"] is None and customer["credit"] is None
    assert {(tuple(e["path"]), e["extensions"]["code"]) for e in body["errors"]} == {
        (("customer", "invoices"), "FORBIDDEN"),
        (("customer", "credit"), "FORBIDDEN"),
    }
    assert counts["erp"] == 0
    assert "erp" not in body["extensions"]["owners"]


async def test_a_partner_sees_only_what_its_role_lists(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/graphql",
        json={"query": f'{{ customer(id: "{CUSTOMER}") {{ id displayName segment phones }} }}'},
        headers={"Authorization": "Bearer demo-partner"},
    )
    body = response.json()
    assert body["data"]["customer"]["displayName"]
    assert body["data"]["customer"]["segment"]
    assert body["data"]["customer"]["phones"] is None
    assert [e["path"] for e in body["errors"]] == [["customer", "phones"]]
