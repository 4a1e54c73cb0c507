"""The committed SDL is what clients generate code from: it must match the graph's files."""

from __future__ import annotations

import re
from pathlib import Path

from graphql import GraphQLObjectType

from ..conftest import shipped_graph

ROOT = Path(__file__).resolve().parents[2]


def test_the_committed_sdl_matches_the_graph() -> None:
    committed = (ROOT / "schema" / "schema.graphql").read_text()
    assert shipped_graph().sdl() == committed, (
        "schema/schema.graphql is out of date: run `make schema` and commit the result"
    )


def test_every_owned_field_carries_its_owner_in_the_sdl() -> None:
    graph = shipped_graph()
    sdl = graph.sdl()
    assert "directive @owner(system: String!) on FIELD_DEFINITION" in sdl
    for type_name, entry in graph.ownership.types.items():
        block = re.search(rf"\ntype {type_name} {{\n(.*?)\n}}", sdl, re.S)
        assert block is not None, type_name
        for name, field in entry.fields.items():
            pattern = rf"\n  {name}(\(.*?\))?: [^\n]*@owner\(system: \"{field.owner}\"\)"
            assert re.search(pattern, "\n" + block.group(1), re.S), f"{type_name}.{name}"


def test_the_docs_name_each_fields_owner() -> None:
    schema = shipped_graph().schema
    customer = schema.type_map["Customer"]
    assert isinstance(customer, GraphQLObjectType)
    assert customer.fields["credit"].description.endswith("Owner: erp.")
    assert customer.fields["tickets"].description.endswith("Owner: helpdesk.")


def test_the_public_contract_is_in_the_sdl() -> None:
    sdl = shipped_graph().sdl()
    for line in [
        "customer(id: ID!): Customer",
        "customers(ids: [ID!]!): [Customer]!",
        "id: ID!",
        "displayName: String",
        "emails: [String!]",
        "phones: [String!]",
        "erpCode: String",
        "credit: CreditStatus",
        "scalar Money",
        "scalar DateTime",
    ]:
        assert line in sdl, line
