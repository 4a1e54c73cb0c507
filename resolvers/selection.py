"""What a document selects under a field, through fragments, in time linear in its size.

strawberry's `info.selected_fields` converts a fragment again wherever it is
spread: fragments spreading each other twice over 30 levels (a 1 kB
document) expand to 2^30 copies. Here fields are collected as graphql-core's
executor collects them: each fragment at most once per selection set, with
`@skip` and `@include` applied, so every node of the text is visited at most
once per collection.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLArgument,
    GraphQLBoolean,
    GraphQLField,
    GraphQLNonNull,
    InlineFragmentNode,
    SelectionNode,
    Undefined,
    value_from_ast,
)
from graphql.language import DirectiveNode

_BOOLEAN = GraphQLNonNull(GraphQLBoolean)


class Selections:
    """The fields under some field nodes of one operation, fragments followed.

    `visited` counts the selection nodes walked, for tests that check a walk
    stays linear.
    """

    def __init__(
        self, fragments: Mapping[str, FragmentDefinitionNode], variables: Mapping[str, Any]
    ) -> None:
        self.fragments = fragments
        self.variables = dict(variables)
        self.visited = 0

    def children(self, nodes: Iterable[FieldNode]) -> list[FieldNode]:
        """The fields directly under `nodes`' selection sets (one field may appear in several)."""
        found: list[FieldNode] = []
        spread: set[str] = set()
        stack: list[SelectionNode] = []
        for node in nodes:
            if node.selection_set is not None:
                stack.extend(reversed(node.selection_set.selections))
        while stack:
            selection = stack.pop()
            self.visited += 1
            if not self._included(selection.directives):
                continue
            if isinstance(selection, FieldNode):
                found.append(selection)
            elif isinstance(selection, InlineFragmentNode):
                stack.extend(reversed(selection.selection_set.selections))
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = self.fragments.get(name)
                if fragment is not None and name not in spread:
                    spread.add(name)
                    stack.extend(reversed(fragment.selection_set.selections))
        return found

    def under(self, nodes: Iterable[FieldNode], *path: str) -> list[FieldNode]:
        """The field nodes reached from `nodes` by the field names of `path`."""
        current = list(nodes)
        for name in path:
            current = [node for node in self.children(current) if node.name.value == name]
        return current

    def arguments(self, definition: GraphQLField, node: FieldNode) -> dict[str, Any]:
        """The arguments written on `node`, as values (variables read); defaults left out.

        An argument that cannot be read is left out too: the field's own
        resolver gets it from the executor and reports it, with its path.
        """
        values: dict[str, Any] = {}
        for argument in node.arguments or ():
            name = argument.name.value
            spec = definition.args.get(name)
            if spec is None:
                continue
            value = value_from_ast(argument.value, spec.type, self.variables)
            if value is not Undefined:
                values[name] = value
        return values

    def defaults(self, definition: GraphQLField) -> dict[str, Any]:
        """The default of each argument of `definition` that has one."""
        return {
            name: value
            for name, spec in definition.args.items()
            if (value := argument_default(spec)) is not None
        }

    def _included(self, directives: Sequence[DirectiveNode] | None) -> bool:
        for directive in directives or ():
            name = directive.name.value
            if name not in ("skip", "include"):
                continue
            condition = next(
                (arg.value for arg in directive.arguments or () if arg.name.value == "if"), None
            )
            value = (
                value_from_ast(condition, _BOOLEAN, self.variables)
                if condition is not None
                else Undefined
            )
            if value is Undefined:
                continue  # an invalid condition is refused by validation
            if (name == "skip") == bool(value):
                return False
        return True


def argument_default(argument: GraphQLArgument) -> Any:
    """The default value of `argument` as a resolver gets it (None when it has none).

    graphql-core 3.3 keeps an SDL default as its literal (`argument.default`);
    earlier releases as the value (`argument.default_value`).
    """
    if argument.default_value is not Undefined:
        return argument.default_value
    default = getattr(argument, "default", None)
    if default is None:
        return None
    if getattr(default, "value", Undefined) is not Undefined:
        return default.value
    literal = getattr(default, "literal", None)
    if literal is None:
        return None
    value = value_from_ast(literal, argument.type)
    return None if value is Undefined else value
