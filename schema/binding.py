"""Check the ownership map against the schema: every field one owner, every entry a field.

The loader (`ownership.py`) checks the map on its own; this checks what can
only be checked with the GraphQL types at hand: that every field of the graph
has exactly one owner, that every entry names a real field, that formats,
enum values and arguments fit the field's type, and that keys do not loop.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping

from graphql import (
    GraphQLEnumType,
    GraphQLField,
    GraphQLInputField,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
)

from .ownership import (
    FieldOwnership,
    InputMapping,
    MutationOwnership,
    Ownership,
    Problem,
    TypeOwnership,
    suggest,
)

SCALARS = frozenset({"String", "ID", "Int", "Float", "Boolean", "Money", "DateTime", "Date"})
_FORMAT_SCALARS = {
    "cents": "Money",
    "decimal": "Money",
    "epoch": "DateTime",
    "iso": "DateTime",
    "e164": "String",
}


def check_binding(
    schema: GraphQLSchema, ownership: Ownership, composed: frozenset[str]
) -> list[Problem]:
    """Every problem binding `ownership` to `schema`; `composed` types need no owner."""
    return list(_Binder(schema, ownership, composed).problems())


class _Binder:
    def __init__(self, schema: GraphQLSchema, ownership: Ownership, composed: frozenset[str]):
        self.schema = schema
        self.ownership = ownership
        self.object_types = {
            name: t
            for name, t in schema.type_map.items()
            if isinstance(t, GraphQLObjectType)
            and not name.startswith("__")
            and name not in composed
        }

    def problem(self, line: int, message: str, suggestion: str | None = None) -> Problem:
        return self.ownership.problem(line, message, suggestion)

    def problems(self) -> Iterator[Problem]:
        types = self.ownership.types
        for name in sorted(set(self.object_types) - set(types)):
            yield self.problem(
                1,
                f"type {name} of the schema has no entry under types:",
                f"add '{name}:' with an owner for each of its fields",
            )
        for name, entry in types.items():
            gql_type = self.object_types.get(name)
            if gql_type is None:
                yield self.problem(
                    entry.line,
                    f"type {name} is not an owned type of the schema",
                    suggest(name, self.object_types),
                )
                continue
            yield from self.check_type(entry, gql_type)
        yield from self.mutation_problems()

    def mutation_problems(self) -> Iterator[Problem]:
        """Every mutation declared, each writing only what its one owner owns."""
        root = self.schema.mutation_type
        fields = root.fields if root is not None else {}
        mutations = self.ownership.mutations
        for name in fields:
            if name not in mutations:
                yield self.problem(
                    1, f"mutation {name} of the schema has no entry under mutations:", "add it"
                )
        for name, mutation in mutations.items():
            gql_field = fields.get(name)
            if gql_field is None:
                yield self.problem(
                    mutation.line,
                    f"mutation {name} is not a mutation of the schema",
                    suggest(name, fields),
                )
                continue
            yield from self.check_mutation(mutation, gql_field)

    def check_mutation(
        self, mutation: MutationOwnership, gql_field: GraphQLField
    ) -> Iterator[Problem]:
        where = f"mutation {mutation.name}"
        input_type = _unwrap(gql_field.args["input"].type)[1]
        input_fields = getattr(input_type, "fields", {})
        for name in input_fields:
            if name not in mutation.inputs:
                yield self.problem(
                    mutation.line, f"{where}: input.{name} is not sent to the owner", "add it"
                )
        for name, mapping in mutation.inputs.items():
            if name not in input_fields:
                yield self.problem(
                    mapping.line,
                    f"{where}: input.{name} is not a field of {input_type}",
                    suggest(name, input_fields),
                )
            else:
                yield from self.check_input(mutation, mapping, input_fields)
            if mapping.writes is None:
                continue
            type_name, _, field_name = mapping.writes.partition(".")
            entry = self.ownership.types.get(type_name)
            written = entry.fields.get(field_name) if entry else None
            if written is None:
                yield self.problem(
                    mapping.line,
                    f"{where}: input.{name} writes {mapping.writes}, which has no owner",
                )
            elif written.owner != mutation.owner:
                yield self.problem(
                    mapping.line,
                    f"{where}: input.{name} writes {mapping.writes}, owned by "
                    f"'{written.owner}', but the mutation writes to '{mutation.owner}'",
                    "a mutation changes only what its one owner owns: split it",
                )
        for placeholder in re.findall(r"\{(\w+)\}", mutation.path):
            placed = mutation.inputs.get(placeholder)
            if placed is None or placed.to is not None:
                yield self.problem(
                    mutation.line,
                    f"{where}: the request path needs input.{placeholder} with path: true",
                )
        payload = _unwrap(gql_field.type)[1]
        payload_fields = getattr(payload, "fields", {})
        for name in payload_fields:
            if name not in mutation.results:
                yield self.problem(
                    mutation.line, f"{where}: result.{name} is not read back", "add it"
                )

    def check_input(
        self,
        mutation: MutationOwnership,
        mapping: InputMapping,
        input_fields: Mapping[str, GraphQLInputField],
    ) -> Iterator[Problem]:
        """The checks of one input field fit its type, and name what exists."""
        where = f"mutation {mutation.name}: input.{mapping.name}"
        is_list, named = _unwrap(input_fields[mapping.name].type)
        kind = getattr(named, "name", "")
        texts = kind in ("String", "ID")
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
                yield self.problem(mapping.line, f"{where}: {key} does not fit {shape}")
        if mapping.id_of is not None:
            target = self.ownership.types.get(mapping.id_of)
            if target is None or "id" not in target.fields:
                yield self.problem(
                    mapping.line,
                    f"{where}: id_of names {mapping.id_of!r}, which is no type with an id",
                    suggest(mapping.id_of, self.ownership.types),
                )
        if mapping.values is not None and isinstance(named, GraphQLEnumType):
            for enum_name in mapping.values:
                if enum_name not in named.values:
                    yield self.problem(
                        mapping.line,
                        f"{where}: values maps {enum_name!r}, which is not a value of {kind}",
                        suggest(enum_name, named.values),
                    )
        for other, allowed in mapping.only_when.items():
            other_field = input_fields.get(other)
            if other_field is None:
                yield self.problem(
                    mapping.line,
                    f"{where}: only_when names input.{other}, which does not exist",
                    suggest(other, input_fields),
                )
                continue
            _, other_type = _unwrap(other_field.type)
            if not isinstance(other_type, GraphQLEnumType):
                yield self.problem(mapping.line, f"{where}: only_when.{other} is not an enum input")
                continue
            for value in sorted(allowed - set(other_type.values)):
                yield self.problem(
                    mapping.line,
                    f"{where}: only_when.{other} lists {value!r}, "
                    f"which is not a value of {other_type.name}",
                    suggest(value, other_type.values),
                )

    def check_type(self, entry: TypeOwnership, gql_type: GraphQLObjectType) -> Iterator[Problem]:
        for name in gql_type.fields:
            if name not in entry.fields:
                hint = "add it with owner: and entity:" if entry.owner is None else "add it"
                yield self.problem(entry.line, f"{entry.name}.{name} has no owner", hint)
        for name, field in entry.fields.items():
            gql_field = gql_type.fields.get(name)
            if gql_field is None:
                yield self.problem(
                    field.line,
                    f"{field.coordinate} is not a field of the schema",
                    suggest(name, gql_type.fields),
                )
                continue
            yield from self.check_field(entry, field, gql_field)
        if entry.owner is None and "id" in gql_type.fields:
            identity = entry.fields.get("id")
            if identity is not None and identity.key != "id":
                yield self.problem(identity.line, f"{entry.name}.id must be keyed by id itself")

    def check_field(
        self, entry: TypeOwnership, field: FieldOwnership, gql_field: GraphQLField
    ) -> Iterator[Problem]:
        is_list, named = _unwrap(gql_field.type)
        where = field.coordinate
        if entry.owner is None:
            yield from self.check_entity_field(entry, field, is_list, named)
        if isinstance(named, GraphQLObjectType):
            target = self.ownership.types.get(named.name)
            if target is not None and target.owner is None:
                yield self.problem(
                    field.line,
                    f"{where} returns {named.name}, which is not a value type",
                    f"give type {named.name} an owner: to read it from {field.owner}'s record",
                )
            elif target is not None and target.owner != field.owner:
                yield self.problem(
                    field.line,
                    f"{where} is owned by '{field.owner}' but its type {named.name} "
                    f"is read from '{target.owner}'",
                    "a value type's fields come from the record of the field that returns it",
                )
        elif isinstance(named, GraphQLScalarType) and named.name not in SCALARS:
            yield self.problem(field.line, f"{where}: scalar {named.name} cannot be read yet")
        if field.format is not None:
            wanted = _FORMAT_SCALARS[field.format]
            if not isinstance(named, GraphQLScalarType) or named.name != wanted:
                yield self.problem(
                    field.line,
                    f"{where}: format '{field.format}' is for {wanted} fields, "
                    f"and this one is {getattr(named, 'name', named)}",
                    "remove format:",
                )
        if field.values is not None:
            if not isinstance(named, GraphQLEnumType):
                yield self.problem(field.line, f"{where}: values: is only for enum fields")
            else:
                for owner_value, enum_name in field.values.items():
                    if enum_name not in named.values:
                        yield self.problem(
                            field.line,
                            f"{where}: values maps {owner_value!r} to {enum_name!r}, "
                            f"which is not a value of {named.name}",
                            suggest(enum_name, named.values),
                        )
        yield from self.check_args(field, gql_field)

    def check_entity_field(
        self,
        entry: TypeOwnership,
        field: FieldOwnership,
        is_list: bool,
        named: object,
    ) -> Iterator[Problem]:
        where = field.coordinate
        if field.lookup is not None:
            for kind in field.lookup:
                owners = {lookup.owner for lookup in self.ownership.lookups.get(kind, ())}
                if field.owner not in owners:
                    yield self.problem(
                        field.line,
                        f"{where} is composed from the {kind} lookup of '{field.owner}', "
                        "which the map does not declare",
                        f"add lookups: {{{kind}: {{{field.owner}: ...}}}}",
                    )
            return
        if field.entity is None:
            return  # already reported by the loader
        entity = self.ownership.systems[field.owner].entities[field.entity]
        if entity.many:
            if not (is_list and isinstance(named, GraphQLObjectType)):
                yield self.problem(
                    field.line,
                    f"{where} reads the one-to-many entity '{field.entity}' "
                    "but is not a list of objects",
                )
            if field.source is not None:
                yield self.problem(
                    field.line,
                    f"{where}: from: cannot be used with a one-to-many entity",
                    "each record becomes one item of the list; remove from:",
                )
        if field.key != "id":
            key_entry = entry.fields.get(field.key)
            if key_entry is None:
                yield self.problem(
                    field.line,
                    f"{where} is keyed by {entry.name}.{field.key}, which has no owner",
                    suggest(field.key, entry.fields),
                )
                return
            seen = [field.name]
            while key_entry is not None and key_entry.key != "id":
                if key_entry.name in seen:
                    chain = " -> ".join([*seen, key_entry.name])
                    yield self.problem(field.line, f"{where}: keys go round in a loop: {chain}")
                    return
                seen.append(key_entry.name)
                key_entry = entry.fields.get(key_entry.key)

    def check_args(self, field: FieldOwnership, gql_field: GraphQLField) -> Iterator[Problem]:
        where = field.coordinate
        for arg_name, gql_arg in gql_field.args.items():
            mapping = field.args.get(arg_name)
            if mapping is None:
                yield self.problem(
                    field.line,
                    f"{where}: argument '{arg_name}' is not passed to the owner",
                    f"add args: {{{arg_name}: <owner's parameter>}}",
                )
                continue
            _, named = _unwrap(gql_arg.type)
            if mapping.values is not None:
                if not isinstance(named, GraphQLEnumType):
                    yield self.problem(
                        mapping.line, f"{where}: argument '{arg_name}' takes no values:"
                    )
                    continue
                for enum_name in mapping.values:
                    if enum_name not in named.values:
                        yield self.problem(
                            mapping.line,
                            f"{where}: argument '{arg_name}' maps {enum_name!r}, "
                            f"which is not a value of {named.name}",
                            suggest(enum_name, named.values),
                        )
        for arg_name, mapping in field.args.items():
            if arg_name not in gql_field.args:
                yield self.problem(
                    mapping.line,
                    f"{where} has no argument '{arg_name}'",
                    suggest(arg_name, gql_field.args),
                )


def _unwrap(gql_type: object) -> tuple[bool, object]:
    is_list = False
    while isinstance(gql_type, GraphQLNonNull | GraphQLList):
        is_list = is_list or isinstance(gql_type, GraphQLList)
        gql_type = gql_type.of_type
    return is_list, gql_type
