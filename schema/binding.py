"""Check the ownership map against the SDL: every field one owner, every entry a field.

The map is checked on its own when it is loaded; this checks what needs both
files: that every type and field of the SDL is declared in the map and every
entry of the map names something the SDL has, that formats, keys, enum
values, arguments and scalars fit the SDL's types, that every root and
mutation is declared and fits its field. A problem is reported in the file
that is wrong (or, for what is missing from one, where it would go), with
its line; all are reported at once.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from graphql import (
    GraphQLEnumType,
    GraphQLField,
    GraphQLInputField,
    GraphQLInputObjectType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
)

from ownergraph.ownership import (
    FieldOwnership,
    InputMapping,
    MutationOwnership,
    Ownership,
    Problem,
    RootField,
    TypeKind,
    TypeOwnership,
    suggest,
)

from .sdl import line_of

BUILT_IN_SCALARS = frozenset({"String", "ID", "Int", "Float", "Boolean"})
_TEXT = frozenset({"String", "ID"})
# Which kind of scalar each format of the map writes.
_FORMAT_KINDS = {
    "cents": "decimal",
    "decimal": "decimal",
    "epoch": "datetime",
    "iso": "datetime",
    "date": "date",
    "e164": "string",
}
# What each part of a composed type must be in the SDL.
_PARTS = {
    "value": "a String",
    "matches": "a list of the lookup's match type",
    "best": "the entity type the lookup finds",
    "entity": "the entity type the lookup finds",
    "confidence": "a Float",
    "matched_by": "a list of String",
}


def check_binding(schema: GraphQLSchema, ownership: Ownership, sdl: Path) -> list[Problem]:
    """Every problem binding `ownership` to the SDL at `sdl` (parsed into `schema`)."""
    return list(_Binder(schema, ownership, sdl).problems())


def scalar_kind(ownership: Ownership, name: str) -> str | None:
    """What the scalar `name` is on the wire: built-in, or as the map's `scalars:` says."""
    built_in = {"String": "string", "ID": "string", "Int": "int", "Float": "float"}
    if name in built_in:
        return built_in[name]
    if name == "Boolean":
        return "boolean"
    scalar = ownership.scalars.get(name)
    return scalar.kind if scalar is not None else None


def payload_types(schema: GraphQLSchema) -> dict[str, str]:
    """Each mutation's payload type (the named type it returns), by mutation."""
    root = schema.mutation_type
    return {name: _named(field.type).name for name, field in (root.fields if root else {}).items()}


class _Binder:
    def __init__(self, schema: GraphQLSchema, ownership: Ownership, sdl: Path) -> None:
        self.schema = schema
        self.ownership = ownership
        self.sdl = str(sdl)
        self.roots = {
            t.name for t in (schema.query_type, schema.mutation_type, schema.subscription_type) if t
        }
        self.payloads = set(payload_types(schema).values())

    def in_map(self, line: int, message: str, suggestion: str | None = None) -> Problem:
        return self.ownership.problem(line, message, suggestion)

    def in_sdl(self, node: Any, message: str, suggestion: str | None = None) -> Problem:
        return Problem(self.sdl, line_of(node), message, suggestion)

    def problems(self) -> Iterator[Problem]:
        types = self.ownership.types
        objects = {
            name: t
            for name, t in self.schema.type_map.items()
            if isinstance(t, GraphQLObjectType)
            and not name.startswith("__")
            and name not in self.roots
            and name not in self.payloads
        }
        broken = self.ownership.broken
        for name in sorted(set(objects) - set(types) - broken):
            yield self.in_sdl(
                objects[name].ast_node,
                f"type {name} has no entry in the map's types:",
                f"add '{name}:' to {self.ownership.path.name}, with an owner for each field",
            )
        for name, entry in types.items():
            gql_type = objects.get(name)
            if gql_type is None:
                yield self.in_map(
                    entry.line,
                    f"type {name} is not an object type of the SDL",
                    suggest(name, objects),
                )
                continue
            if entry.kind in (TypeKind.LOOKUP, TypeKind.MATCH):
                yield from self.check_composed(entry, gql_type)
            else:
                yield from self.check_type(entry, gql_type)
        yield from self.check_scalars()
        yield from self.check_queries()
        yield from self.check_mutations()

    # -- scalars -------------------------------------------------------------------------

    def check_scalars(self) -> Iterator[Problem]:
        custom = {
            name: t
            for name, t in self.schema.type_map.items()
            if isinstance(t, GraphQLScalarType)
            and name not in BUILT_IN_SCALARS
            and not name.startswith("__")
        }
        for name in sorted(set(custom) - set(self.ownership.scalars)):
            yield self.in_sdl(
                custom[name].ast_node,
                f"scalar {name} has no kind in the map's scalars:",
                f"add scalars: {{{name}: decimal}} (or datetime, date, string, int, float...)",
            )
        for name, scalar in self.ownership.scalars.items():
            if name not in custom:
                yield self.in_map(
                    scalar.line, f"scalars.{name} is not a scalar of the SDL", suggest(name, custom)
                )

    # -- object types --------------------------------------------------------------------

    def check_type(self, entry: TypeOwnership, gql_type: GraphQLObjectType) -> Iterator[Problem]:
        if entry.name in self.ownership.broken:
            return
        for name, gql_field in gql_type.fields.items():
            if name not in entry.fields and f"{entry.name}.{name}" not in self.ownership.broken:
                hint = "owner: and entity:" if entry.kind is TypeKind.ENTITY else "an entry"
                yield self.in_sdl(
                    gql_field.ast_node,
                    f"{entry.name}.{name} has no owner in the map",
                    f"add it under types.{entry.name}.fields with {hint}",
                )
        for name, field in entry.fields.items():
            gql_field = gql_type.fields.get(name)
            if gql_field is None:
                yield self.in_map(
                    field.line,
                    f"{field.coordinate} is not a field of the SDL",
                    suggest(name, gql_type.fields),
                )
                continue
            yield from self.check_field(entry, field, gql_field)
        if entry.kind is TypeKind.ENTITY and entry.key in gql_type.fields:
            key_type = gql_type.fields[entry.key].type
            named = _named(key_type)
            if _is_list(key_type) or scalar_kind(self.ownership, named.name) not in (
                "string",
                "int",
            ):
                yield self.in_map(
                    entry.line,
                    f"type {entry.name}: its key {entry.key} must be an ID, String or Int, "
                    f"not {key_type}",
                )

    def check_field(
        self, entry: TypeOwnership, field: FieldOwnership, gql_field: GraphQLField
    ) -> Iterator[Problem]:
        named = _named(gql_field.type)
        where = field.coordinate
        target = self.ownership.types.get(getattr(named, "name", ""))
        if entry.kind is TypeKind.ENTITY:
            yield from self.check_entity_field(entry, field, gql_field, target)
        elif isinstance(named, GraphQLObjectType) and (
            target is None or target.kind is not TypeKind.VALUE
        ):
            yield self.in_map(
                field.line,
                f"{where} returns {named.name}: a value type's fields can only hold "
                "value types (read from the same record)",
            )
        if (
            isinstance(named, GraphQLObjectType)
            and target is not None
            and target.kind is TypeKind.VALUE
            and target.owner != field.owner
        ):
            yield self.in_map(
                field.line,
                f"{where} is owned by '{field.owner}' but its type {named.name} "
                f"is read from '{target.owner}'",
                "a value type's fields come from the record of the field that returns it",
            )
        elif isinstance(named, GraphQLScalarType) and field.lookup is None:
            kind = scalar_kind(self.ownership, named.name)
            if field.format is not None and kind is not None:
                wanted = _FORMAT_KINDS[field.format]
                if kind != wanted:
                    yield self.in_map(
                        field.line,
                        f"{where}: format '{field.format}' reads a {wanted}, "
                        f"and {named.name} is a {kind}",
                        "remove format:, or give the field a scalar of that kind",
                    )
        if field.values is not None:
            if not isinstance(named, GraphQLEnumType):
                yield self.in_map(field.line, f"{where}: values: is only for enum fields")
            else:
                for owner_value, enum_name in field.values.items():
                    if enum_name not in named.values:
                        yield self.in_map(
                            field.line,
                            f"{where}: values maps {owner_value!r} to {enum_name!r}, "
                            f"which is not a value of {named.name}",
                            suggest(enum_name, named.values),
                        )
        yield from self.check_args(field, gql_field)
        if field.pattern is not None and (
            entry.kind is not TypeKind.ENTITY or field.name != entry.key
        ):
            yield self.in_map(field.line, f"{where}: pattern: is only for an entity's key field")

    def check_entity_field(
        self,
        entry: TypeOwnership,
        field: FieldOwnership,
        gql_field: GraphQLField,
        target: TypeOwnership | None,
    ) -> Iterator[Problem]:
        where = field.coordinate
        named = _named(gql_field.type)
        is_list = _is_list(gql_field.type)
        if field.lookup is not None:
            match = target is not None and target.kind is TypeKind.MATCH
            if not (is_list and match):
                yield self.in_map(
                    field.line,
                    f"{where} is composed from lookups, so it must return a list of a "
                    f"match type (composed: match), not {gql_field.type}",
                )
            return
        if field.entity is None:
            return  # reported by the loader
        entity = self.ownership.systems[field.owner].entities[field.entity]
        if target is not None and target.kind is TypeKind.ENTITY:
            if field.source is None and field.name == entry.key:
                return
            return  # a link: it reads the keys of the entities it returns
        if target is not None and target.kind in (TypeKind.LOOKUP, TypeKind.MATCH):
            yield self.in_map(
                field.line,
                f"{where} returns {named.name}, which the gateway composes from lookups",
                "give it lookup: instead of entity:",
            )
        if entity.many:
            if not (is_list and isinstance(named, GraphQLObjectType)):
                yield self.in_map(
                    field.line,
                    f"{where} reads the one-to-many entity '{field.entity}' "
                    "but is not a list of objects",
                )
            if field.source is not None:
                yield self.in_map(
                    field.line,
                    f"{where}: from: cannot be used with a one-to-many entity",
                    "each record becomes one item of the list; remove from:",
                )
        if field.key != entry.key:
            key_field = entry.fields.get(field.key)
            if key_field is not None:
                key_gql = self.schema.type_map[entry.name]
                assert isinstance(key_gql, GraphQLObjectType)
                gql_key = key_gql.fields.get(field.key)
                if gql_key is not None and _is_list(gql_key.type) and not is_list:
                    yield self.in_map(
                        field.line,
                        f"{where} is keyed by {entry.name}.{field.key}, a list of keys, "
                        f"so it must be a list, not {gql_field.type}",
                    )

    def check_composed(
        self, entry: TypeOwnership, gql_type: GraphQLObjectType
    ) -> Iterator[Problem]:
        for name, gql_field in gql_type.fields.items():
            if name not in entry.parts:
                yield self.in_sdl(
                    gql_field.ast_node,
                    f"{entry.name}.{name} is not a part of the composed {entry.kind.value}",
                    f"add it under types.{entry.name}.fields with is:",
                )
        for name, part in entry.parts.items():
            gql_field = gql_type.fields.get(name)
            if gql_field is None:
                yield self.in_map(
                    part.line,
                    f"{entry.name}.{name} is not a field of the SDL",
                    suggest(name, gql_type.fields),
                )
                continue
            if not self.part_fits(part.part, gql_field.type):
                yield self.in_map(
                    part.line,
                    f"{entry.name}.{name} is the {part.part}, so it must be "
                    f"{_PARTS[part.part]}, not {gql_field.type}",
                )

    def part_fits(self, part: str, gql_type: Any) -> bool:
        named = _named(gql_type)
        kind = self.ownership.types.get(getattr(named, "name", ""))
        if part == "value":
            return not _is_list(gql_type) and getattr(named, "name", "") in _TEXT
        if part == "confidence":
            return getattr(named, "name", "") == "Float" and not _is_list(gql_type)
        if part == "matched_by":
            return _is_list(gql_type) and getattr(named, "name", "") == "String"
        if part == "matches":
            return _is_list(gql_type) and kind is not None and kind.kind is TypeKind.MATCH
        # best, entity: an entity type
        return not _is_list(gql_type) and kind is not None and kind.kind is TypeKind.ENTITY

    def check_args(self, field: FieldOwnership, gql_field: GraphQLField) -> Iterator[Problem]:
        where = field.coordinate
        for arg_name, gql_arg in gql_field.args.items():
            mapping = field.args.get(arg_name)
            if mapping is None:
                yield self.in_sdl(
                    gql_arg.ast_node,
                    f"{where}: argument '{arg_name}' is not passed to the owner",
                    f"add args: {{{arg_name}: <owner's parameter>}} to the map",
                )
                continue
            named = _named(gql_arg.type)
            if mapping.values is not None:
                if not isinstance(named, GraphQLEnumType):
                    yield self.in_map(
                        mapping.line, f"{where}: argument '{arg_name}' takes no values:"
                    )
                    continue
                for enum_name in mapping.values:
                    if enum_name not in named.values:
                        yield self.in_map(
                            mapping.line,
                            f"{where}: argument '{arg_name}' maps {enum_name!r}, "
                            f"which is not a value of {named.name}",
                            suggest(enum_name, named.values),
                        )
            if (mapping.size or mapping.maximum is not None) and getattr(
                named, "name", ""
            ) != "Int":
                yield self.in_map(
                    mapping.line,
                    f"{where}: argument '{arg_name}' has max:/size:, which fit an Int only",
                )
            if mapping.size and not _is_list(gql_field.type):
                yield self.in_map(
                    mapping.line,
                    f"{where}: argument '{arg_name}' says the size of a list, and {where} is "
                    "not a list",
                )
        for arg_name, mapping in field.args.items():
            if arg_name not in gql_field.args:
                yield self.in_map(
                    mapping.line,
                    f"{where} has no argument '{arg_name}' in the SDL",
                    suggest(arg_name, gql_field.args),
                )

    # -- roots ---------------------------------------------------------------------------

    def check_queries(self) -> Iterator[Problem]:
        root = self.schema.query_type
        fields = root.fields if root is not None else {}
        queries = self.ownership.queries
        for name, gql_field in fields.items():
            if name not in queries:
                yield self.in_sdl(
                    gql_field.ast_node,
                    f"Query.{name} has no entry in the map's queries:",
                    "add it: {entity: T, by: <argument>} or {lookup: L, by: <argument>}",
                )
        for name, query in queries.items():
            gql_field = fields.get(name)
            if gql_field is None:
                yield self.in_map(
                    query.line, f"queries.{name} is not a field of Query", suggest(name, fields)
                )
                continue
            yield from self.check_query(query, gql_field)

    def check_query(self, query: RootField, gql_field: GraphQLField) -> Iterator[Problem]:
        where = f"queries.{query.name}"
        arg = gql_field.args.get(query.by)
        if arg is None:
            yield self.in_map(
                query.line,
                f"{where}: Query.{query.name} has no argument '{query.by}'",
                suggest(query.by, gql_field.args),
            )
            return
        for other in gql_field.args:
            if other != query.by:
                yield self.in_sdl(
                    gql_field.args[other].ast_node,
                    f"Query.{query.name}: argument '{other}' means nothing to the map "
                    f"(it reads only '{query.by}')",
                )
        named = _named(gql_field.type)
        if query.entity is not None:
            many = _is_list(arg.type)
            if many != _is_list(gql_field.type) or getattr(named, "name", "") != query.entity:
                shape = f"[{query.entity}]" if many else query.entity
                yield self.in_map(
                    query.line,
                    f"{where}: reads {query.entity} by '{query.by}' ({arg.type}), so "
                    f"Query.{query.name} must return {shape}, not {gql_field.type}",
                )
            if query.maximum is not None and not many:
                yield self.in_map(query.line, f"{where}: max: is for a list of keys only")
            return
        lookup = self.ownership.lookups.get(query.lookup or "")
        if lookup is None:
            return  # reported by the loader
        if _is_list(arg.type) or getattr(_named(arg.type), "name", "") not in _TEXT:
            yield self.in_map(
                query.line, f"{where}: the lookup's argument '{query.by}' must be a String"
            )
        if shape_of(self.ownership, gql_field.type, lookup.finds) is None:
            yield self.in_map(
                query.line,
                f"{where}: a lookup answers its composed lookup type, a list of its match "
                f"type, {lookup.finds} or [{lookup.finds}], not {gql_field.type}",
            )

    # -- mutations -----------------------------------------------------------------------

    def check_mutations(self) -> Iterator[Problem]:
        root = self.schema.mutation_type
        fields = root.fields if root is not None else {}
        mutations = self.ownership.mutations
        for name, gql_field in fields.items():
            if name not in mutations:
                yield self.in_sdl(
                    gql_field.ast_node,
                    f"mutation {name} has no entry in the map's mutations:",
                    "add it, with its owner, request and input",
                )
        for name, mutation in mutations.items():
            gql_field = fields.get(name)
            if gql_field is None:
                yield self.in_map(
                    mutation.line,
                    f"mutation {name} is not a field of Mutation",
                    suggest(name, fields),
                )
                continue
            yield from self.check_mutation(mutation, gql_field)

    def check_mutation(
        self, mutation: MutationOwnership, gql_field: GraphQLField
    ) -> Iterator[Problem]:
        where = f"mutation {mutation.name}"
        input_arg = gql_field.args.get("input")
        key_arg = gql_field.args.get("idempotencyKey")
        if input_arg is None or not isinstance(_named(input_arg.type), GraphQLInputObjectType):
            yield self.in_sdl(
                gql_field.ast_node,
                f"{where} must take its fields as 'input', an input object",
            )
            return
        if key_arg is None or getattr(_named(key_arg.type), "name", "") != "String":
            yield self.in_sdl(
                gql_field.ast_node,
                f"{where} must take 'idempotencyKey: String!' (the owner's Idempotency-Key)",
            )
        input_type = _named(input_arg.type)
        input_fields: Mapping[str, GraphQLInputField] = input_type.fields
        for name, gql_input in input_fields.items():
            if name not in mutation.inputs:
                yield self.in_sdl(
                    gql_input.ast_node,
                    f"{where}: input.{name} is not sent to the owner",
                    f"add it under mutations.{mutation.name}.input",
                )
        for name, mapping in mutation.inputs.items():
            if name not in input_fields:
                yield self.in_map(
                    mapping.line,
                    f"{where}: input.{name} is not a field of {input_type}",
                    suggest(name, input_fields),
                )
            else:
                yield from self.check_input(mutation, mapping, input_fields)
        for placeholder in _placeholders(mutation.path):
            placed = mutation.inputs.get(placeholder)
            if placed is None or placed.to is not None:
                yield self.in_map(
                    mutation.line,
                    f"{where}: the request path needs input.{placeholder} with path: true",
                )
        payload = _named(gql_field.type)
        payload_fields = getattr(payload, "fields", {})
        for name, gql_payload in payload_fields.items():
            result = mutation.results.get(name)
            if result is None:
                yield self.in_sdl(
                    gql_payload.ast_node,
                    f"{where}: result.{name} is not read back",
                    f"add it under mutations.{mutation.name}.result",
                )
                continue
            target = self.ownership.types.get(_named(gql_payload.type).name)
            if target is None or target.kind not in (TypeKind.ENTITY, TypeKind.VALUE):
                yield self.in_map(
                    result.line,
                    f"{where}: result.{name} must return an entity or a value type",
                )
            elif target.kind is TypeKind.VALUE and result.entity is None:
                yield self.in_map(
                    result.line,
                    f"{where}: result.{name} is a value type: name the owner's entity it is "
                    "read from with entity:",
                )
        for name, result in mutation.results.items():
            if name not in payload_fields:
                yield self.in_map(
                    result.line,
                    f"{where}: result.{name} is not a field of {payload}",
                    suggest(name, payload_fields),
                )

    def check_input(
        self,
        mutation: MutationOwnership,
        mapping: InputMapping,
        input_fields: Mapping[str, GraphQLInputField],
    ) -> Iterator[Problem]:
        """The checks of one input field fit its type, and name what exists."""
        where = f"mutation {mutation.name}: input.{mapping.name}"
        gql_type = input_fields[mapping.name].type
        is_list, named = _is_list(gql_type), _named(gql_type)
        kind = getattr(named, "name", "")
        texts = kind in _TEXT
        wrong: list[tuple[str, bool]] = [
            ("max_length", mapping.max_length is not None and not texts),
            ("pattern", mapping.pattern is not None and not texts),
            ("format", mapping.format is not None and kind != "String"),
            ("max_items", mapping.max_items is not None and not is_list),
            ("min", mapping.minimum is not None and kind not in ("Int", "Float")),
            ("id_of", mapping.id_of is not None and (is_list or not texts)),
        ]
        for key, bad in wrong:
            if bad:
                shape = f"a list of {kind}" if is_list else kind
                yield self.in_map(mapping.line, f"{where}: {key} does not fit {shape}")
        if mapping.values is not None:
            if not isinstance(named, GraphQLEnumType):
                yield self.in_map(mapping.line, f"{where}: values: is only for enum inputs")
            else:
                for enum_name in mapping.values:
                    if enum_name not in named.values:
                        yield self.in_map(
                            mapping.line,
                            f"{where}: values maps {enum_name!r}, which is not a value of {kind}",
                            suggest(enum_name, named.values),
                        )
        for other, allowed in mapping.only_when.items():
            other_field = input_fields.get(other)
            if other_field is None:
                continue  # reported by the loader
            other_type = _named(other_field.type)
            if not isinstance(other_type, GraphQLEnumType):
                yield self.in_map(mapping.line, f"{where}: only_when.{other} is not an enum input")
                continue
            for value in sorted(allowed - set(other_type.values)):
                yield self.in_map(
                    mapping.line,
                    f"{where}: only_when.{other} lists {value!r}, "
                    f"which is not a value of {other_type.name}",
                    suggest(value, other_type.values),
                )


def shape_of(ownership: Ownership, gql_type: Any, finds: str) -> str | None:
    """What a lookup root answers, from its SDL type: answer, matches, best or entities."""
    named = _named(gql_type)
    entry = ownership.types.get(getattr(named, "name", ""))
    if entry is None:
        return None
    many = _is_list(gql_type)
    if entry.kind is TypeKind.LOOKUP and not many:
        return "answer"
    if entry.kind is TypeKind.MATCH and many:
        return "matches"
    if entry.kind is TypeKind.ENTITY and entry.name == finds:
        return "entities" if many else "best"
    return None


def _placeholders(path: str) -> list[str]:
    return re.findall(r"\{(\w+)\}", path)


def _is_list(gql_type: Any) -> bool:
    while isinstance(gql_type, GraphQLNonNull):
        gql_type = gql_type.of_type
    return isinstance(gql_type, GraphQLList)


def _named(gql_type: Any) -> Any:
    while isinstance(gql_type, GraphQLNonNull | GraphQLList):
        gql_type = gql_type.of_type
    return gql_type
