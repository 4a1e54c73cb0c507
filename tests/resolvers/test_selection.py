"""Fields under a field, through fragments: collected in time linear in the document."""

from __future__ import annotations

from typing import Any

import pytest
from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    GraphQLObjectType,
    OperationDefinitionNode,
    parse,
)

from ownergraph.resolvers.selection import Selections

from ..conftest import shipped_graph
from ..documents import fan_out, selection_nodes

SCHEMA = shipped_graph().schema


def root_nodes(
    text: str, variables: dict[str, Any] | None = None
) -> tuple[Selections, list[FieldNode]]:
    document = parse(text)
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    [operation] = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    nodes = [s for s in operation.selection_set.selections if isinstance(s, FieldNode)]
    return Selections(fragments, variables or {}), nodes


@pytest.mark.parametrize("spreads", [2, 3])
def test_fragments_spread_many_times_are_walked_once(spreads: int) -> None:
    text = fan_out(30, spreads)
    selections, nodes = root_nodes(text)
    found = selections.children(nodes)
    # As the executor collects them: F30's one field, once, however often it is spread.
    assert [node.name.value for node in found] == ["displayName"]
    assert selections.visited <= selection_nodes(parse(text))


def test_a_path_through_fragments_and_inline_fragments() -> None:
    text = """
    query { customerByPhone(phone: "+390200000000") {
      ... on CallerLookup { best { ...B } }
      matches { customer { tickets(first: 3) { id } } }
    } }
    fragment B on Customer { displayName ... { credit { balance } } }
    """
    selections, nodes = root_nodes(text)
    best = selections.under(nodes, "best")
    assert [n.name.value for n in selections.children(best)] == ["displayName", "credit"]
    customers = selections.under(nodes, "matches", "customer")
    assert [n.name.value for n in selections.children(customers)] == ["tickets"]


def test_skip_and_include_are_applied_with_variables() -> None:
    text = """query($yes: Boolean!, $no: Boolean!) { customer(id: "C00001") {
      a: displayName @include(if: $yes)
      b: emails @include(if: $no)
      c: phones @skip(if: $yes)
      d: segment @skip(if: false)
      ...F @skip(if: true)
    } }
    fragment F on Customer { credit { balance } }"""
    selections, nodes = root_nodes(text, {"yes": True, "no": False})
    assert [n.name.value for n in selections.children(nodes)] == ["displayName", "segment"]


def test_arguments_are_read_as_the_resolver_gets_them() -> None:
    text = (
        'query($n: Int!) { customer(id: "C00001") { '
        "tickets(first: 5, status: OPEN) { id } invoices(first: $n) { number } } }"
    )
    selections, nodes = root_nodes(text, {"n": 7})
    customer = SCHEMA.type_map["Customer"]
    assert isinstance(customer, GraphQLObjectType)
    tickets, invoices = selections.children(nodes)
    ticket_args = selections.arguments(customer.fields["tickets"], tickets)
    # A literal number is a number, not its source text.
    assert ticket_args["first"] == 5
    assert ticket_args["status"] == "OPEN"
    assert selections.arguments(customer.fields["invoices"], invoices) == {"first": 7}
