"""Query limits: refuse, before any owner is called, a query that could bring them down.

Depth, aliases and root fields are counted through fragments; the cost adds up
what the query could make the owners do, with every list at the size it may
reach (the argument the map says sizes it, a root's list of keys, or the most
a variable may ask for), so it is known from the document alone. Each limit
refuses with BAD_USER_INPUT naming the limit, its maximum and the query's value.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from graphql import (
    ASTValidationRule,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    InlineFragmentNode,
    IntValueNode,
    ListValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationContext,
    ValidationRule,
    VariableNode,
)

from ownergraph.ownership import Ownership
from ownergraph.resolvers.selection import argument_default

OWNER_FIELD_COST = 10
"""What an owner-backed field costs per parent object; any other field costs 1."""
UNBOUNDED_LIST = 20
"""The size assumed for a list of objects with no argument bounding it."""
VARIABLE_LIST = 100
"""The size assumed for a list sized by a variable, when the map gives it no maximum."""


@dataclass(frozen=True)
class Limits:
    max_tokens: int = 2_000
    max_depth: int = 8
    max_aliases: int = 15
    max_root_fields: int = 10
    max_cost: int = 25_000


def limit_rules(limits: Limits, ownership: Ownership) -> list[type[ASTValidationRule]]:
    """The validation rules enforcing `limits` (the token limit is the parser's)."""
    return [_operation_rule(limits, Costs.of(ownership))]


@dataclass(frozen=True)
class Costs:
    """What the map says a document's fields cost: which call owners, which size lists."""

    owner_backed: frozenset[tuple[str, str]]
    """The (type, field) pairs whose value costs an owner call: `OWNER_FIELD_COST` each."""
    sizes: Mapping[tuple[str, str], tuple[str, int]]
    """For a list field: the argument giving its size, and the most a variable may give."""

    @classmethod
    def of(cls, ownership: Ownership) -> Costs:
        owner_backed = frozenset(
            (entry.name, name)
            for entry in ownership.entity_types()
            for name, field in entry.fields.items()
            if (field.entity is not None or field.lookup is not None) and name != entry.key
        )
        sizes: dict[tuple[str, str], tuple[str, int]] = {}
        for entry in ownership.entity_types():
            for name, field in entry.fields.items():
                for arg in field.args.values():
                    if arg.size:
                        sizes[(entry.name, name)] = (arg.name, arg.maximum or VARIABLE_LIST)
        for name, root in ownership.queries.items():
            if root.entity is not None:
                sizes[("Query", name)] = (root.by, root.maximum or VARIABLE_LIST)
        return cls(owner_backed, MappingProxyType(sizes))


def owner_backed(ownership: Ownership) -> frozenset[tuple[str, str]]:
    """The (type, field) pairs whose value costs an owner call."""
    return Costs.of(ownership).owner_backed


def _refuse(
    context: ValidationContext, node: Any, limit: str, maximum: int, value: int, hint: str
) -> None:
    amount = f"{value} or more" if value >= SATURATED else str(value)
    context.report_error(
        GraphQLError(
            f"Query {limit} {amount} exceeds the limit of {maximum}: {hint}.",
            node,
            extensions={"code": "BAD_USER_INPUT", "limit": limit, "max": maximum, "value": value},
        )
    )


def _operation_rule(limits: Limits, costs: Costs) -> type[ValidationRule]:
    class OperationLimits(ValidationRule):
        def enter_operation_definition(self, node: OperationDefinitionNode, *_args: Any) -> None:
            context = self.context
            root = context.schema.get_root_type(node.operation)
            if root is None:
                return
            walk = Walk(context.document, costs)
            measures = walk.operation(node.selection_set, root)
            checks: list[tuple[str, int, int, str]] = [
                ("depth", limits.max_depth, measures.depth, "nest fewer levels"),
                ("aliases", limits.max_aliases, measures.aliases, "use fewer aliases"),
                (
                    "root fields",
                    limits.max_root_fields,
                    measures.fields,
                    "split it into several queries",
                ),
                (
                    "cost",
                    limits.max_cost,
                    measures.cost,
                    "ask for fewer entities, fields or list items",
                ),
            ]
            for limit, maximum, value, hint in checks:
                if value > maximum:
                    _refuse(context, node, limit, maximum, value, hint)

    return OperationLimits


SATURATED = 2**53 - 1
"""Measures stop growing here: every JSON reader holds it exactly, and any limit is passed."""


@dataclass(frozen=True)
class Measures:
    """What a selection set asks for: its depth, aliases, fields and cost (per parent object)."""

    depth: int = 0
    aliases: int = 0
    fields: int = 0
    """Fields directly in the set, through fragments (the root fields, for an operation)."""
    cost: int = 0


class Walk:
    """Measures the selection sets of one document, in time linear in its size.

    A fragment is measured once per parent type and its measures reused
    wherever it is spread: `fragment F0 { ...F1 ...F1 }` costs twice F1,
    found by adding, not by walking F1 twice. So fragments spreading each
    other 2 or 3 times over 30 levels (a 1 kB document whose expansion has
    10^14 fields) are measured by visiting each node of the text once, and
    refused on their cost. Numbers saturate at `SATURATED`. `visited`
    counts the selection nodes walked.
    """

    def __init__(self, document: DocumentNode, costs: Costs | frozenset[tuple[str, str]]) -> None:
        if not isinstance(costs, Costs):
            costs = Costs(costs, MappingProxyType({}))
        self.costs = costs
        self.fragments: dict[str, FragmentDefinitionNode] = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        self._measured: dict[tuple[str, str], Measures] = {}
        self._measuring: set[str] = set()
        self.visited = 0

    def operation(self, selection_set: SelectionSetNode, root: GraphQLObjectType) -> Measures:
        """The measures of an operation: depth counts its root fields as 1."""
        return self.selection(selection_set, root)

    def selection(self, selection_set: SelectionSetNode, parent: GraphQLObjectType) -> Measures:
        depth = aliases = fields = cost = 0
        for selection in selection_set.selections:
            self.visited += 1
            if isinstance(selection, FieldNode):
                name = selection.name.value
                if name.startswith("__"):
                    continue  # introspection asks no owner
                fields += 1
                aliases += selection.alias is not None
                definition = parent.fields.get(name)
                if definition is None:
                    depth = max(depth, 1)
                    continue  # reported by graphql-core's own rules
                owned = (parent.name, name) in self.costs.owner_backed
                cost += OWNER_FIELD_COST if owned else 1
                named, size = _unwrap(
                    definition, selection, self.costs.sizes.get((parent.name, name))
                )
                child_depth = 0
                if selection.selection_set is not None and isinstance(named, GraphQLObjectType):
                    child = self.selection(selection.selection_set, named)
                    cost += _saturate(size * child.cost)
                    aliases += child.aliases
                    child_depth = child.depth
                depth = max(depth, 1 + child_depth)
                continue
            if isinstance(selection, InlineFragmentNode):
                # The graph's types with fields are all object types: a fragment
                # is measured against the type it is spread in.
                inner = self.selection(selection.selection_set, parent)
            elif isinstance(selection, FragmentSpreadNode):
                inner = self.fragment(selection.name.value, parent)
            else:
                continue
            depth = max(depth, inner.depth)
            aliases += inner.aliases
            fields += inner.fields
            cost += inner.cost
        return Measures(depth, _saturate(aliases), _saturate(fields), _saturate(cost))

    def fragment(self, name: str, parent: GraphQLObjectType) -> Measures:
        """A named fragment's measures where `parent` is the type it is spread in."""
        key = (name, parent.name)
        measured = self._measured.get(key)
        if measured is not None:
            return measured
        definition = self.fragments.get(name)
        if definition is None or name in self._measuring:
            return Measures()  # unknown or cyclic: graphql-core's own rules refuse it
        self._measuring.add(name)
        try:
            measured = self.selection(definition.selection_set, parent)
        finally:
            self._measuring.discard(name)
        self._measured[key] = measured
        return measured


def _saturate(value: int) -> int:
    return value if value < SATURATED else SATURATED


def _unwrap(
    definition: GraphQLField, node: FieldNode, sized_by: tuple[str, int] | None
) -> tuple[Any, int]:
    """The field's named type and how many items it may return (1 when not a list)."""
    gql_type: Any = definition.type
    is_list = False
    while isinstance(gql_type, GraphQLNonNull | GraphQLList):
        is_list = is_list or isinstance(gql_type, GraphQLList)
        gql_type = gql_type.of_type
    if not is_list:
        return gql_type, 1
    if sized_by is None:
        return gql_type, UNBOUNDED_LIST
    name, variable_bound = sized_by
    given = {argument.name.value: argument.value for argument in node.arguments or ()}
    value = given.get(name)
    if isinstance(value, VariableNode):
        # Limits are checked from the document alone: a list size given by a
        # variable is taken at the most that variable may ask for.
        return gql_type, variable_bound
    if isinstance(value, IntValueNode):
        return gql_type, _saturate(max(int(value.value), 0))
    if isinstance(value, ListValueNode):
        return gql_type, len(value.values)
    default = argument_default(definition.args[name]) if name in definition.args else None
    if isinstance(default, int):
        return gql_type, default
    return gql_type, UNBOUNDED_LIST
