"""Query limits: refuse, before any owner is called, a query that could bring them down.

Depth, aliases and root fields are counted through fragments; the cost adds up
what the query could make the owners do, with every list at the size it may
reach (`first`, `ids`, or the most a variable may ask for), so it is known
from the document alone. Each limit refuses with BAD_USER_INPUT naming the
limit, its maximum and the query's value.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from graphql import (
    ASTValidationRule,
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
from strawberry.extensions import AddValidationRules, MaxTokensLimiter, SchemaExtension

from ownergraph.resolvers import MAX_LIST
from ownergraph.schema import Ownership

OWNER_FIELD_COST = 10
"""What an owner-backed field costs per parent object; any other field costs 1."""
UNBOUNDED_LIST = 20
"""The size assumed for a list of objects with no argument bounding it."""


@dataclass(frozen=True)
class Limits:
    max_tokens: int = 2_000
    max_depth: int = 8
    max_aliases: int = 15
    max_root_fields: int = 10
    max_cost: int = 25_000


def limit_extensions(limits: Limits, ownership: Ownership) -> list[type[SchemaExtension]]:
    """The schema extensions enforcing `limits`, as classes (one instance per request)."""
    owner_fields = frozenset(
        (type_name, name)
        for type_name, entry in ownership.types.items()
        if entry.owner is None
        for name, field in entry.fields.items()
        if field.entity is not None and name != "id"
    )
    rules: list[type[ASTValidationRule]] = [_operation_rule(limits, owner_fields)]

    class TokenLimit(MaxTokensLimiter):
        def __init__(self) -> None:
            super().__init__(max_token_count=limits.max_tokens)

    class DocumentLimits(AddValidationRules):
        def __init__(self) -> None:
            super().__init__(rules)

    return [TokenLimit, DocumentLimits]


def _refuse(
    context: ValidationContext, node: Any, limit: str, maximum: int, value: int, hint: str
) -> None:
    context.report_error(
        GraphQLError(
            f"Query {limit} {value} exceeds the limit of {maximum}: {hint}.",
            node,
            extensions={"code": "BAD_USER_INPUT", "limit": limit, "max": maximum, "value": value},
        )
    )


def _operation_rule(
    limits: Limits, owner_fields: frozenset[tuple[str, str]]
) -> type[ValidationRule]:
    class OperationLimits(ValidationRule):
        def enter_operation_definition(self, node: OperationDefinitionNode, *_args: Any) -> None:
            context = self.context
            root = context.schema.get_root_type(node.operation)
            if root is None:
                return
            walk = _Walk(context, owner_fields)
            measures = walk.selection(node.selection_set, root, multiplier=1, depth=1)
            roots = sum(1 for _ in walk.fields(node.selection_set))
            checks: list[tuple[str, int, int, str]] = [
                ("depth", limits.max_depth, measures.depth, "nest fewer levels"),
                ("aliases", limits.max_aliases, measures.aliases, "use fewer aliases"),
                ("root fields", limits.max_root_fields, roots, "split it into several queries"),
                (
                    "cost",
                    limits.max_cost,
                    measures.cost,
                    "ask for fewer customers, fields or list items",
                ),
            ]
            for limit, maximum, value, hint in checks:
                if value > maximum:
                    _refuse(context, node, limit, maximum, value, hint)

    return OperationLimits


@dataclass
class _Measures:
    depth: int = 0
    aliases: int = 0
    cost: int = 0

    def add(self, other: _Measures) -> None:
        self.depth = max(self.depth, other.depth)
        self.aliases += other.aliases
        self.cost += other.cost


class _Walk:
    """Measures one operation, fragments expanded (each spread counted where it stands)."""

    def __init__(
        self, context: ValidationContext, owner_fields: frozenset[tuple[str, str]]
    ) -> None:
        self.context = context
        self.owner_fields = owner_fields
        self.fragments: dict[str, FragmentDefinitionNode] = {
            d.name.value: d
            for d in context.document.definitions
            if isinstance(d, FragmentDefinitionNode)
        }
        self._expanding: set[str] = set()

    def fields(self, selection_set: SelectionSetNode) -> Iterable[FieldNode]:
        """The fields of a selection set, through fragments, without introspection."""
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                if not selection.name.value.startswith("__"):
                    yield selection
            elif isinstance(selection, InlineFragmentNode):
                yield from self.fields(selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode):
                fragment = self.fragments.get(selection.name.value)
                if fragment is not None and fragment.name.value not in self._expanding:
                    self._expanding.add(fragment.name.value)
                    yield from self.fields(fragment.selection_set)
                    self._expanding.discard(fragment.name.value)

    def selection(
        self,
        selection_set: SelectionSetNode,
        parent: GraphQLObjectType,
        multiplier: int,
        depth: int,
    ) -> _Measures:
        measures = _Measures(depth=depth)
        for node in self.fields(selection_set):
            measures.aliases += node.alias is not None
            definition = parent.fields.get(node.name.value)
            if definition is None:
                continue  # reported by graphql-core's own rules
            owner_backed = (parent.name, node.name.value) in self.owner_fields
            measures.cost += multiplier * (OWNER_FIELD_COST if owner_backed else 1)
            named, size = _unwrap(definition, node, self._variable_bound)
            if node.selection_set is not None and isinstance(named, GraphQLObjectType):
                measures.add(
                    self.selection(node.selection_set, named, multiplier * size, depth + 1)
                )
        return measures

    def _variable_bound(self, name: str) -> int:
        # Limits are checked from the document alone: a list size given by a
        # variable is taken at the most that variable may ask for.
        return MAX_LIST


def _unwrap(
    definition: GraphQLField, node: FieldNode, variable_bound: Callable[[str], int]
) -> tuple[Any, int]:
    """The field's named type and how many items it may return (1 when not a list)."""
    gql_type: Any = definition.type
    is_list = False
    while isinstance(gql_type, GraphQLNonNull | GraphQLList):
        is_list = is_list or isinstance(gql_type, GraphQLList)
        gql_type = gql_type.of_type
    if not is_list:
        return gql_type, 1
    given = {argument.name.value: argument.value for argument in node.arguments or ()}
    for name in ("first", "ids"):
        if name not in definition.args:
            continue
        value = given.get(name)
        if isinstance(value, VariableNode):
            return gql_type, variable_bound(value.name.value)
        if isinstance(value, IntValueNode):
            return gql_type, max(int(value.value), 0)
        if isinstance(value, ListValueNode):
            return gql_type, len(value.values)
        default = definition.args[name].default_value
        if isinstance(default, int):
            return gql_type, default
    return gql_type, UNBOUNDED_LIST
