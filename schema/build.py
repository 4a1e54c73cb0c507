"""Build the executable graph from an SDL file and a checked ownership map.

The SDL gives the types clients see; the map, who owns each field. The
served schema is the SDL with `@owner(system:)` on every owned field and the
owner named in its description (GraphiQL's docs show it), built with
graphql-core and given the generic resolvers: no Python is written for any
type, field, root, lookup or mutation of a graph.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from graphql import (
    ConstArgumentNode,
    ConstDirectiveNode,
    DirectiveDefinitionNode,
    DirectiveLocation,
    DocumentNode,
    FieldDefinitionNode,
    GraphQLEnumType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    InputValueDefinitionNode,
    NamedTypeNode,
    NameNode,
    NonNullTypeNode,
    ObjectTypeDefinitionNode,
    ObjectTypeExtensionNode,
    StringValueNode,
    print_ast,
)

from ownergraph.ownership import Ownership, OwnershipError, Problem, TypeKind, read_ownership
from ownergraph.resolvers import (
    AbsentPaths,
    CompiledQueries,
    Compiler,
    Plan,
    RootSpec,
    Shape,
    Write,
    compile_plan,
    composed_matches,
    entity_root,
    key_value,
    lookup_root,
    owned_value,
    write_root,
)

from . import scalars
from .binding import check_binding, payload_types, shape_of
from .sdl import build_sdl, parse_sdl, read_sdl

OWNER_DIRECTIVE = "owner"


class Graph:
    """A graph bound to one ownership map: the executable schema, the map, the read plans.

    `plan` may read every field; `plan_for(roles)` compiles (once per role set)
    the plan of what those roles may read.
    """

    def __init__(
        self,
        schema: GraphQLSchema,
        ownership: Ownership,
        document: DocumentNode,
        phone_region: str | None,
        absent: AbsentPaths | None = None,
        roots: Mapping[str, RootSpec] | None = None,
    ) -> None:
        self.schema = schema
        self.ownership = ownership
        self.document = document
        """The served SDL's document: the SDL file with each field's owner."""
        self.phone_region = phone_region
        self.absent = absent if absent is not None else AbsentPaths()
        """Counts reads of a path the owner's record lacks (a `from:` typo, or drift)."""
        self.plan = self.plan_for(None)
        self.compiled = CompiledQueries(Compiler(schema, ownership, roots or {}))
        """The graph's query operations, compiled into owner calls and a shaper."""

    @functools.lru_cache(maxsize=64)  # noqa: B019 - one graph per app, living as long
    def plan_for(self, roles: frozenset[str] | None) -> Plan:
        return compile_plan(self.schema, self.ownership, self.phone_region, roles, self.absent)

    def sdl(self) -> str:
        """The served SDL: the SDL file's types, each owned field with `@owner`."""
        return print_ast(self.document) + "\n"


def load_graph(
    sdl: str | Path,
    ownership: Ownership,
    *,
    phone_region: str | None = None,
    absent: AbsentPaths | None = None,
) -> Graph:
    """The graph of the SDL file at `sdl` and `ownership` (see `build_graph`)."""
    text, path = read_sdl(sdl)
    return build_graph(text, path, ownership, phone_region=phone_region, absent=absent)


def load_files(
    sdl: str | Path,
    ownership: str | Path,
    env: Mapping[str, str],
    *,
    phone_region: str | None = None,
    absent: AbsentPaths | None = None,
) -> Graph:
    """The graph of its two files, or `OwnershipError` naming every problem in both at once.

    Each file is read as far as it can be, and what was read of one is
    checked against the other: a typo in the map and a field missing from
    the SDL are reported together, each with its file and line.
    """
    problems: list[Problem] = []
    map_path = Path(ownership)
    model = None
    try:
        map_text = map_path.read_text(encoding="utf-8")
    except OSError as error:
        reason = error.strerror or str(error)
        problems.append(Problem(str(map_path), 0, f"cannot read the file: {reason}"))
    else:
        model, found = read_ownership(map_text, map_path, env)
        problems.extend(found)
    schema = None
    try:
        text, path = read_sdl(sdl)
        schema = build_sdl(parse_sdl(text, path), path)
    except OwnershipError as error:
        problems.extend(error.problems)
    if model is not None and schema is not None:
        problems.extend(check_binding(schema, model, path))
    if problems or model is None:
        raise OwnershipError(problems)
    return build_graph(text, path, model, phone_region=phone_region, absent=absent)


def build_graph(
    text: str,
    path: Path,
    ownership: Ownership,
    *,
    phone_region: str | None = None,
    absent: AbsentPaths | None = None,
) -> Graph:
    """The executable graph, or `OwnershipError` naming every problem in either file.

    `phone_region` overrides the map's; `absent` hears every read of a path an
    owner's record lacks (metrics).
    """
    document = parse_sdl(text, path)
    checked = build_sdl(document, path)
    problems = check_binding(checked, ownership, path)
    if problems:
        raise OwnershipError(problems)
    served = _with_owners(document, ownership)
    schema = build_sdl(served, path)
    region = phone_region or ownership.phone_region
    roots = _wire(schema, ownership)
    return Graph(schema, ownership, served, region, absent, roots)


def _wire(schema: GraphQLSchema, ownership: Ownership) -> dict[str, RootSpec]:
    """Give every field of the schema its resolver, and every custom scalar its kind.

    Returns how each root field answers, for the compiler.
    """
    roots: dict[str, RootSpec] = {}
    for name, spec in ownership.scalars.items():
        scalar = schema.type_map[name]
        assert isinstance(scalar, GraphQLScalarType)
        scalars.configure(scalar, spec)
    for entry in ownership.types.values():
        gql_type = schema.type_map[entry.name]
        assert isinstance(gql_type, GraphQLObjectType)
        if entry.kind is TypeKind.ENTITY:
            for name, field in entry.fields.items():
                resolver: Callable[..., Any]
                if name == entry.key:
                    resolver = key_value
                elif field.lookup is not None:
                    resolver = composed_matches
                else:
                    resolver = owned_value
                gql_type.fields[name].resolve = resolver
        elif entry.kind is TypeKind.VALUE:
            for name in entry.fields:
                gql_type.fields[name].resolve = _record_value(name)
        else:
            for name, part in entry.parts.items():
                gql_type.fields[name].resolve = _part(part.part)
    query = schema.query_type
    for name, root in ownership.queries.items():
        assert query is not None
        gql_field = query.fields[name]
        if root.entity is not None:
            many = _is_list(gql_field.args[root.by].type)
            gql_field.resolve = entity_root(root, many=many)
            roots[name] = RootSpec(root, many=many)
        else:
            lookup = ownership.lookups[root.lookup or ""]
            shape = Shape(shape_of(ownership, gql_field.type, lookup.finds))
            gql_field.resolve = lookup_root(root, lookup, shape, _parts(ownership))
            roots[name] = RootSpec(root, lookup=lookup, shape=shape)
    mutation_type = schema.mutation_type
    payloads = payload_types(schema)
    for name, mutation in ownership.mutations.items():
        assert mutation_type is not None
        gql_field = mutation_type.fields[name]
        input_type = _named(gql_field.args["input"].type)
        payload = schema.type_map[payloads[name]]
        assert isinstance(payload, GraphQLObjectType)
        write = Write(
            mutation=mutation,
            input_argument="input",
            key_argument="idempotencyKey",
            enums=frozenset(
                field_name
                for field_name, field in input_type.fields.items()
                if isinstance(_named(field.type), GraphQLEnumType)
            ),
            payload={
                field_name: _named(field.type).name for field_name, field in payload.fields.items()
            },
        )
        gql_field.resolve = write_root(write)
    return roots


def _parts(ownership: Ownership) -> dict[str, str]:
    """The SDL names of the composed types' parts: best, matches, entity."""
    found: dict[str, str] = {}
    for entry in ownership.types.values():
        for name, part in entry.parts.items():
            if part.part in ("best", "matches", "entity"):
                found.setdefault(part.part, name)
    return found


def _record_value(name: str) -> Callable[..., Any]:
    def resolve(record: Any, _info: Any) -> Any:
        return record.value(name)

    return resolve


def _part(part: str) -> Callable[..., Any]:
    def resolve(composed: Any, _info: Any) -> Any:
        return getattr(composed, part)

    return resolve


def _with_owners(document: DocumentNode, ownership: Ownership) -> DocumentNode:
    """The SDL document with `@owner(system:)` and an owner note on every owned field."""
    definitions: list[Any] = []
    has_directive = False
    for definition in document.definitions:
        if (
            isinstance(definition, DirectiveDefinitionNode)
            and definition.name.value == OWNER_DIRECTIVE
        ):
            has_directive = True
        if isinstance(definition, ObjectTypeDefinitionNode | ObjectTypeExtensionNode):
            entry = ownership.types.get(definition.name.value)
            if entry is not None and entry.kind in (TypeKind.ENTITY, TypeKind.VALUE):
                fields = tuple(
                    _owned(node, entry.fields[node.name.value].owner)
                    if node.name.value in entry.fields
                    else node
                    for node in definition.fields or ()
                )
                definition = definition.__class__(
                    **{**{k: getattr(definition, k) for k in definition.keys}, "fields": fields}
                )
        definitions.append(definition)
    if not has_directive:
        definitions.insert(0, _OWNER_DEFINITION)
    return DocumentNode(definitions=tuple(definitions))


def _owned(node: FieldDefinitionNode, owner: str) -> FieldDefinitionNode:
    note = f"Owner: {owner}."
    said = node.description.value if node.description is not None else None
    description = StringValueNode(value=f"{said}\n\n{note}" if said else note, block=True)
    directive = ConstDirectiveNode(
        name=NameNode(value=OWNER_DIRECTIVE),
        arguments=(
            ConstArgumentNode(name=NameNode(value="system"), value=StringValueNode(value=owner)),
        ),
    )
    kept = tuple(d for d in node.directives or () if d.name.value != OWNER_DIRECTIVE)
    return FieldDefinitionNode(
        description=description,
        name=node.name,
        arguments=node.arguments,
        type=node.type,
        directives=(*kept, directive),
        loc=node.loc,
    )


_OWNER_DEFINITION = DirectiveDefinitionNode(
    description=StringValueNode(
        value=(
            "The system that owns this field: its value is read from that system when the "
            "field is queried, and only that system may change it."
        ),
        block=True,
    ),
    name=NameNode(value=OWNER_DIRECTIVE),
    arguments=(
        InputValueDefinitionNode(
            name=NameNode(value="system"),
            type=NonNullTypeNode(type=NamedTypeNode(name=NameNode(value="String"))),
            directives=(),
        ),
    ),
    repeatable=False,
    locations=(NameNode(value=DirectiveLocation.FIELD_DEFINITION.name),),
)


def _is_list(gql_type: Any) -> bool:
    while isinstance(gql_type, GraphQLNonNull):
        gql_type = gql_type.of_type
    return isinstance(gql_type, GraphQLList)


def _named(gql_type: Any) -> Any:
    while isinstance(gql_type, GraphQLNonNull | GraphQLList):
        gql_type = gql_type.of_type
    return gql_type
