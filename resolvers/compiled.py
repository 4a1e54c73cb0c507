"""Compile a query operation and the map into a tree of steps: what to read, and from whom.

graphql-core's executor resolves a document field by field: for every field
of every entity it builds an info object, calls a resolver, awaits it and
completes its value, about 50 k instructions a field. Every field here is a
lookup in a record an owner sent, so an operation is compiled instead, once
per document (and set of roles, and values of the `@skip`/`@include`
variables), as Grafast plans a whole operation and graphql-jit turns a
document into code:

- the fields are collected once, fragments and directives applied, so a
  request never walks the document again;
- every step knows its kind (the entity's key, a field read from its owner,
  a record's field, a part of a lookup's answer, a root), the field plan it
  reads with, its arguments when they are constant, and how its value is
  completed (null checks, lists, the scalar's or enum's output coercion);
- a selection under an entity says which of its steps need owner calls, for
  the waves (`waves`) to start them all before anything is shaped.

What this does not take — introspection, mutations, a directive other than
`@skip`/`@include`, fragment arguments — `compile_operation` answers with an
`Unsupported` reason, and graphql-core's executor runs the operation.
Compiling is linear in the document: each (type, set of field nodes) is
compiled once however often fragments spread it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

from graphql import (
    BooleanValueNode,
    DirectiveNode,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLEnumType,
    GraphQLError,
    GraphQLField,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLScalarType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    VariableNode,
    get_argument_values,
)
from graphql.language import Node

from ownergraph.ownership import Lookup, Ownership, RootField, TypeKind

from .plan import FieldPlan, Plan
from .roots import Shape

_CONDITIONS = frozenset({"skip", "include"})


class Kind(IntEnum):
    """What a step's value is, and so how the shaper finds it."""

    TYPENAME = 0
    KEY = 1
    """An entity's own key field: the key it is known by."""
    OWNED = 2
    """A field of an entity read from its owner's record (a link: the entities it names)."""
    COMPOSED = 3
    """A field of an entity composed from lookups by its own values."""
    VALUE = 4
    """A field of a value type: read from the record it is a view of."""
    PART = 5
    """A part of a lookup's answer or match."""
    ROOT_ONE = 6
    ROOT_MANY = 7
    ROOT_LOOKUP = 8


@dataclass(frozen=True)
class RootSpec:
    """How a root field of Query answers, as the map declares it (wired by the schema)."""

    root: RootField
    many: bool = False
    lookup: Lookup | None = None
    shape: Shape | None = None


class Unsupported(Exception):
    """The operation holds something only graphql-core's executor runs."""


@dataclass(eq=False)
class Output:
    """How a value of one GraphQL output type is completed."""

    non_null: bool
    list_of: Output | None = None
    selection: Selection | None = None
    """For an object type: its compiled selection."""
    leaf: GraphQLScalarType | GraphQLEnumType | None = None
    fast: type | None = None
    """A Python type whose values the leaf's coercion returns as they are (str for String)."""


@dataclass(eq=False)
class Step:
    """One response key of one selection."""

    key: str
    name: str
    kind: Kind
    nodes: tuple[FieldNode, ...]
    parent: str
    """The type the field belongs to, as error messages name it."""
    definition: GraphQLField | None
    output: Output
    plan: FieldPlan | None = None
    args: Mapping[str, Any] | None = None
    """The coerced arguments when they are constant; None when they need variables."""
    needs_variables: bool = False
    attribute: str = ""
    """For a part: the attribute of the answer or match that holds its value."""
    spec: RootSpec | None = None
    own_key: bool = False
    """For an owned field: its owner knows the entity by the entity's own key (no crosswalk)."""
    getter: Callable[[Any], Any] | None = None
    """For a value type's field: the plan's getter of its value from the record."""
    index: int = 0
    """Unique within the compiled operation: per-request values of this step are kept by it."""


@dataclass(eq=False)
class Selection:
    """The steps under one object type, in response order."""

    type_name: str
    steps: list[Step] = field(default_factory=list)
    loads: list[Step] = field(default_factory=list)
    """The steps whose values owners must be asked for (fields of an entity)."""
    entities: list[Selection] = field(default_factory=list)
    """For an answer or match: the entity selections under it, through its parts."""


@dataclass(eq=False)
class CompiledOperation:
    """A query operation compiled for one set of roles and condition values."""

    root: Selection
    steps: int
    """How many steps there are (their `index` runs from 0)."""


def conditions_of(document: DocumentNode, definition: OperationDefinitionNode) -> tuple[str, ...]:
    """The variables the operation's `@skip`/`@include` read: the compiled tree depends on them.

    One pass over the operation and every fragment definition of the document.
    """
    names: dict[str, None] = {}
    stack: list[Node] = [definition.selection_set]
    stack.extend(d for d in document.definitions if isinstance(d, FragmentDefinitionNode))
    while stack:
        node = stack.pop()
        if isinstance(node, FragmentDefinitionNode):
            stack.append(node.selection_set)
            continue
        assert isinstance(node, SelectionSetNode)
        for selection in node.selections:
            for directive in selection.directives or ():
                if directive.name.value in _CONDITIONS:
                    for argument in directive.arguments or ():
                        if isinstance(argument.value, VariableNode):
                            names[argument.value.name.value] = None
            selection_set = getattr(selection, "selection_set", None)
            if selection_set is not None:
                stack.append(selection_set)
    return tuple(names)


class Compiler:
    """Compiles query operations over one graph (its schema, map and root wiring)."""

    def __init__(
        self, schema: GraphQLSchema, ownership: Ownership, roots: Mapping[str, RootSpec]
    ) -> None:
        self.schema = schema
        self.ownership = ownership
        self.roots = dict(roots)
        self._leaves: dict[str, tuple[Any, type | None]] = {}

    def compile(
        self,
        document: DocumentNode,
        definition: OperationDefinitionNode,
        plan: Plan,
        conditions: Mapping[str, Any],
    ) -> CompiledOperation:
        """The operation's tree for `plan`'s roles; `Unsupported` when it must not be compiled."""
        if definition.operation is not OperationType.QUERY:
            raise Unsupported(f"a {definition.operation.value}")
        query = self.schema.query_type
        assert query is not None
        run = _Compilation(self, document, plan, conditions)
        root = run.selection(query, [definition.selection_set])
        return CompiledOperation(root, run.count)


class _Compilation:
    """One compile: the document's fragments, the memo of selections compiled, the step count."""

    def __init__(
        self,
        compiler: Compiler,
        document: DocumentNode,
        plan: Plan,
        conditions: Mapping[str, Any],
    ) -> None:
        self.compiler = compiler
        self.ownership = compiler.ownership
        self.plan = plan
        self.conditions = conditions
        self.fragments: dict[str, FragmentDefinitionNode] = {}
        for node in document.definitions:
            if isinstance(node, FragmentDefinitionNode):
                if node.variable_definitions:
                    raise Unsupported("fragment arguments")
                self.fragments[node.name.value] = node
        self.memo: dict[tuple[str, tuple[int, ...]], Selection] = {}
        self.count = 0

    # -- collecting fields, as graphql-core's `collect_fields` does ----------------------

    def collect(
        self, gql_type: GraphQLObjectType, selection_sets: Iterable[SelectionSetNode]
    ) -> dict[str, list[FieldNode]]:
        grouped: dict[str, list[FieldNode]] = {}
        visited: set[str] = set()
        for selection_set in selection_sets:
            self._collect(gql_type, selection_set, grouped, visited)
        return grouped

    def _collect(
        self,
        gql_type: GraphQLObjectType,
        selection_set: SelectionSetNode,
        grouped: dict[str, list[FieldNode]],
        visited: set[str],
    ) -> None:
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                if not self.included(selection.directives):
                    continue
                key = selection.alias.value if selection.alias else selection.name.value
                grouped.setdefault(key, []).append(selection)
            elif isinstance(selection, InlineFragmentNode):
                if not self.included(selection.directives):
                    continue
                self.matches(gql_type, selection.type_condition)
                self._collect(gql_type, selection.selection_set, grouped, visited)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                if getattr(selection, "arguments", None):
                    raise Unsupported("fragment arguments")
                if name in visited or not self.included(selection.directives):
                    continue
                visited.add(name)
                fragment = self.fragments.get(name)
                if fragment is None:
                    continue
                self.matches(gql_type, fragment.type_condition)
                self._collect(gql_type, fragment.selection_set, grouped, visited)

    def matches(self, gql_type: GraphQLObjectType, condition: Any) -> None:
        # Every type of a graph is an object type: a condition valid for it names it.
        if condition is not None and condition.name.value != gql_type.name:
            raise Unsupported("a type condition on another type")

    def included(self, directives: Iterable[DirectiveNode] | None) -> bool:
        for directive in directives or ():
            name = directive.name.value
            if name not in _CONDITIONS:
                raise Unsupported(f"the directive @{name}")
            value = self.condition(directive)
            if (name == "skip") is value:
                return False
        return True

    def condition(self, directive: DirectiveNode) -> bool:
        for argument in directive.arguments or ():
            if argument.name.value != "if":
                continue
            value = argument.value
            if isinstance(value, BooleanValueNode):
                return value.value
            if isinstance(value, VariableNode):
                given = self.conditions.get(value.name.value)
                if isinstance(given, bool):
                    return given
        raise Unsupported(f"@{directive.name.value} without a boolean")

    # -- steps ---------------------------------------------------------------------------

    def selection(
        self, gql_type: GraphQLObjectType, selection_sets: list[SelectionSetNode]
    ) -> Selection:
        memo_key = (gql_type.name, tuple(id(s) for s in selection_sets))
        known = self.memo.get(memo_key)
        if known is not None:
            return known
        selection = Selection(gql_type.name)
        self.memo[memo_key] = selection
        entry = self.ownership.types.get(gql_type.name)
        for key, nodes in self.collect(gql_type, selection_sets).items():
            step = self.step(gql_type, entry, key, tuple(nodes))
            selection.steps.append(step)
            if step.kind in (Kind.OWNED, Kind.COMPOSED):
                selection.loads.append(step)
        if entry is not None and entry.kind in (TypeKind.LOOKUP, TypeKind.MATCH):
            selection.entities = _entities_under(selection, self.ownership)
        return selection

    def step(
        self, gql_type: GraphQLObjectType, entry: Any, key: str, nodes: tuple[FieldNode, ...]
    ) -> Step:
        name = nodes[0].name.value
        index = self.count
        self.count += 1
        if name == "__typename":
            return Step(
                key, name, Kind.TYPENAME, nodes, gql_type.name, None, _TYPENAME, index=index
            )
        if name.startswith("__"):
            raise Unsupported("introspection")
        definition = gql_type.fields[name]
        output = self.output(definition.type, nodes)
        step = Step(key, name, Kind.TYPENAME, nodes, gql_type.name, definition, output, index=index)
        self.arguments(step)
        if gql_type is self.compiler.schema.query_type:
            spec = self.compiler.roots.get(name)
            if spec is None:
                raise Unsupported(f"the root field {name!r}, not in the map")
            step.spec = spec
            step.kind = (
                Kind.ROOT_LOOKUP
                if spec.lookup is not None
                else Kind.ROOT_MANY
                if spec.many
                else Kind.ROOT_ONE
            )
            return step
        if entry is None:
            raise Unsupported(f"the type {gql_type.name!r}, not in the map")
        if entry.kind is TypeKind.ENTITY:
            ownership = entry.fields[name]
            step.plan = self.plan.field(gql_type.name, name)
            if name == entry.key:
                step.kind = Kind.KEY
            elif ownership.lookup is not None:
                step.kind = Kind.COMPOSED
            else:
                step.kind = Kind.OWNED
                step.own_key = ownership.key == entry.key
        elif entry.kind is TypeKind.VALUE:
            step.kind = Kind.VALUE
            step.getter = self.plan.view(gql_type.name)[name]
        else:
            step.kind = Kind.PART
            step.attribute = entry.parts[name].part
        return step

    def arguments(self, step: Step) -> None:
        definition = step.definition
        assert definition is not None
        node = step.nodes[0]
        if not definition.args and not node.arguments:
            step.args = {}
            return
        if any(_has_variable(argument.value) for argument in node.arguments or ()):
            step.needs_variables = True
            return
        try:
            step.args = get_argument_values(definition, node)
        except GraphQLError:
            step.needs_variables = True  # the error is raised again, at the field, per request

    def output(self, gql_type: GraphQLOutputType, nodes: tuple[FieldNode, ...]) -> Output:
        non_null = isinstance(gql_type, GraphQLNonNull)
        inner: Any = gql_type.of_type if non_null else gql_type  # type: ignore[union-attr]
        if isinstance(inner, GraphQLList):
            return Output(non_null, list_of=self.output(inner.of_type, nodes))
        if isinstance(inner, GraphQLObjectType):
            selection_sets = [n.selection_set for n in nodes if n.selection_set is not None]
            return Output(non_null, selection=self.selection(inner, selection_sets))
        if isinstance(inner, GraphQLScalarType | GraphQLEnumType):
            return Output(non_null, leaf=inner, fast=_FAST.get(inner.name))
        raise Unsupported(f"a field of the abstract type {inner}")


_FAST: dict[str, type] = {"String": str, "ID": str, "Boolean": bool}
"""Built-in scalars whose output coercion returns a value of this Python type unchanged."""

_TYPENAME = Output(non_null=True, fast=str)


def _has_variable(value: Any) -> bool:
    """Whether a literal value holds a variable anywhere (in a list or an object)."""
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, VariableNode):
            return True
        stack.extend(getattr(node, "values", ()) or ())
        stack.extend(f.value for f in getattr(node, "fields", ()) or ())
    return False


def _entities_under(selection: Selection, ownership: Ownership) -> list[Selection]:
    """The entity selections under an answer or a match, through its parts."""
    found: list[Selection] = []
    seen: set[int] = set()
    stack = [selection]
    while stack:
        current = stack.pop()
        for step in current.steps:
            output = step.output
            while output.list_of is not None:
                output = output.list_of
            sub = output.selection
            if sub is None or id(sub) in seen:
                continue
            seen.add(id(sub))
            entry = ownership.types.get(sub.type_name)
            if entry is not None and entry.kind is TypeKind.ENTITY:
                found.append(sub)
            elif entry is not None and entry.kind in (TypeKind.LOOKUP, TypeKind.MATCH):
                stack.append(sub)
    return found
