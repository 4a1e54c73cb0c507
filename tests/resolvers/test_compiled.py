"""Compiling operations: what is taken, what is handed to graphql-core, and in what time."""

from __future__ import annotations

import time
from typing import Any

import pytest
from graphql import DocumentNode, OperationDefinitionNode, parse

from ownergraph.resolvers.compiled import CompiledOperation, Kind, Selection, Unsupported
from ownergraph.resolvers.compiled import conditions_of as conditions

from ..conftest import shipped_graph
from ..documents import fan_out, selection_nodes

GRAPH = shipped_graph()
PLAN = GRAPH.plan_for(frozenset({"agent"}))


def operation(text: str) -> tuple[DocumentNode, OperationDefinitionNode]:
    document = parse(text)
    definition = next(d for d in document.definitions if isinstance(d, OperationDefinitionNode))
    return document, definition


def compile_text(text: str, **condition_values: Any) -> CompiledOperation:
    document, definition = operation(text)
    return GRAPH.compiled.compiler.compile(document, definition, PLAN, condition_values)


def steps(selection: Selection) -> dict[str, Kind]:
    return {step.key: step.kind for step in selection.steps}


def test_each_field_gets_the_step_its_map_entry_says() -> None:
    compiled = compile_text(
        """{ customer(id: "C00002") {
              __typename id name: displayName address { city } credit { balance }
              tickets(first: 2) { subject } possibleDuplicates { confidence customer { id } }
            }
            customerByPhone(phone: "+390242237058") { phone best { id } } }"""
    )
    root = compiled.root
    assert steps(root) == {"customer": Kind.ROOT_ONE, "customerByPhone": Kind.ROOT_LOOKUP}
    customer = root.steps[0].output.selection
    assert customer is not None
    assert steps(customer) == {
        "__typename": Kind.TYPENAME,
        "id": Kind.KEY,
        "name": Kind.OWNED,
        "address": Kind.OWNED,
        "credit": Kind.OWNED,
        "tickets": Kind.OWNED,
        "possibleDuplicates": Kind.COMPOSED,
    }
    # The owner calls are the owned and composed steps; the key needs none.
    assert [s.key for s in customer.loads] == [
        "name",
        "address",
        "credit",
        "tickets",
        "possibleDuplicates",
    ]
    by_key = {s.key: s for s in customer.steps}
    assert by_key["name"].own_key and not by_key["credit"].own_key  # the ERP via the crosswalk
    assert by_key["tickets"].args == {"first": 2, "status": None}
    lookup = root.steps[1].output.selection
    assert lookup is not None and [s.type_name for s in lookup.entities] == ["Customer"]


def test_fields_under_one_key_merge_and_fragments_apply() -> None:
    compiled = compile_text(
        """query { customer(id: "C00002") { ...A ... on Customer { address { city } } } }
        fragment A on Customer { address { street } displayName }"""
    )
    customer = compiled.root.steps[0].output.selection
    assert customer is not None
    assert [s.key for s in customer.steps] == ["address", "displayName"]
    address = customer.steps[0].output.selection
    assert address is not None and [s.key for s in address.steps] == ["street", "city"]


def test_skip_and_include_are_applied_when_compiling() -> None:
    text = """query Q($on: Boolean!) { customer(id: "C00002") {
        id @skip(if: true) displayName @include(if: $on) segment @skip(if: $on) } }"""
    document, definition = operation(text)
    assert conditions(document, definition) == ("on",)
    shown = compile_text(text, on=True).root.steps[0].output.selection
    hidden = compile_text(text, on=False).root.steps[0].output.selection
    assert shown is not None and hidden is not None
    assert [s.key for s in shown.steps] == ["displayName"]
    assert [s.key for s in hidden.steps] == ["segment"]


def test_arguments_with_variables_are_left_for_each_request() -> None:
    compiled = compile_text(
        'query Q($n: Int!) { customer(id: "C00002") { tickets(first: $n) { id } } }'
    )
    customer = compiled.root.steps[0].output.selection
    assert customer is not None
    assert customer.steps[0].args is None and customer.steps[0].needs_variables


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("{ __schema { queryType { name } } }", "introspection"),
        ('{ customer(id: "C1") { __type: id } }', None),  # an alias, not introspection
        ('mutation { openTicket(input: {}, idempotencyKey: "k") { __typename } }', "mutation"),
        ('{ customer(id: "C1") { id @defer } }', "@defer"),
    ],
)
def test_what_is_not_compiled_says_why(text: str, reason: str | None) -> None:
    if reason is None:
        compile_text(text)
        return
    with pytest.raises(Unsupported, match=reason):
        compile_text(text)


def test_compiling_is_linear_in_the_text() -> None:
    # Each level selects the next twice under two aliases: 2^24 positions in an
    # answer, which the limits refuse to run; compiled, each fragment's fields once.
    levels = 24
    parts = ['{ customer(id: "C00002") { ...F0 } }']
    for level in range(levels):
        next_ = f"customer {{ ...F{level + 1} }}"
        parts.append(
            f"fragment F{level} on Customer {{ "
            f"a: possibleDuplicates {{ {next_} }} b: possibleDuplicates {{ {next_} }} }}"
        )
    parts.append(f"fragment F{levels} on Customer {{ displayName }}")
    text = "\n".join(parts)
    started = time.perf_counter()
    compiled = compile_text(text)
    assert time.perf_counter() - started < 0.5
    assert compiled.steps <= 2 * selection_nodes(parse(text))


def test_fragments_spread_again_in_one_selection_are_collected_once() -> None:
    text = fan_out(25, 2, root='{ customer(id: "C00002") { ...F0 } }')
    compiled = compile_text(text)
    customer = compiled.root.steps[0].output.selection
    assert customer is not None and [s.key for s in customer.steps] == ["displayName"]


async def test_a_compiled_tree_is_kept_per_document_roles_and_conditions() -> None:
    from ownergraph.resolvers import Context, Gateway, Viewer

    gateway = Gateway(GRAPH.ownership, GRAPH.plan_for, {}, schema=GRAPH.schema)
    agent = Context(gateway, viewer=Viewer("a", frozenset({"agent"})))
    intern = Context(gateway, viewer=Viewer("i", frozenset({"intern"})))
    document, definition = operation(
        'query Q($on: Boolean!) { customer(id: "C1") { id @include(if: $on) } }'
    )
    queries = GRAPH.compiled
    first = queries.compiled(document, definition, agent, {"on": True})
    assert first is queries.compiled(document, definition, agent, {"on": True})
    assert first is not queries.compiled(document, definition, agent, {"on": False})
    assert first is not queries.compiled(document, definition, intern, {"on": True})
    schema_query, schema_definition = operation("{ __schema { queryType { name } } }")
    assert queries.compiled(schema_query, schema_definition, agent, {}) is None
