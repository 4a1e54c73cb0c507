"""The ownership model: a checked map, as the schema builder and the resolvers read it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from types import MappingProxyType

from ownergraph.sources import SystemConfig

from ._problems import Problem


def _empty() -> Mapping[str, object]:
    return MappingProxyType({})


@dataclass(frozen=True)
class ArgMapping:
    """How a GraphQL argument of an owned field is passed to the owner."""

    name: str
    param: str
    values: Mapping[str, str] | None = None
    line: int = 0
    minimum: int | None = None
    maximum: int | None = None
    size: bool = False
    """The argument says how many items the field's list returns, at most."""


class TypeKind(Enum):
    """What a type of the graph is to the gateway."""

    ENTITY = "entity"
    """Known by a key; each field names the owner and entity it is read from."""
    VALUE = "value"
    """Read whole from the record of the field that returns it (one owner)."""
    LOOKUP = "lookup"
    """Composed by the gateway: a lookup's answer (the value, the matches, the best)."""
    MATCH = "match"
    """Composed by the gateway: one match of a lookup (the entity, how sure, why)."""


@dataclass(frozen=True)
class FieldOwnership:
    """Who owns one field, and where its value lives in the owner's record.

    On an entity type, a field names the `entity` it is read from and the
    field of the same type whose value keys that entity (`key`: the type's
    key field, or a crosswalk such as an ERP code). On a value type, the
    owner and entity are the parent field's; only `source` matters.
    """

    type_name: str
    name: str
    owner: str
    entity: str | None
    source: tuple[str, ...] | None
    key: str
    data_class: str
    read: frozenset[str]
    max_age: float
    stale_if_error: float
    lookup: Mapping[str, str] | None
    """Composed from the owner's lookups: lookup name -> the field whose values it asks."""
    format: str | None
    values: Mapping[str, str] | None
    args: Mapping[str, ArgMapping]
    line: int
    pattern: str | None = None
    """On a key field: the regular expression every key matches; None if any."""

    @property
    def coordinate(self) -> str:
        return f"{self.type_name}.{self.name}"

    def readable_by(self, roles: frozenset[str]) -> bool:
        """Whether any of `roles` may read this field.

        `read:` decides when given. Without it, a field classed `none` is open
        to every role (anonymous included) and any other class to none: deny
        by default, so a new personal field is never exposed by omission.
        """
        if self.read:
            return not self.read.isdisjoint(roles)
        return self.data_class == "none"


@dataclass(frozen=True)
class ComposedField:
    """A field of a composed type: which part of a lookup's answer it is."""

    type_name: str
    name: str
    part: str
    line: int


@dataclass(frozen=True)
class TypeOwnership:
    """The ownership entries of one GraphQL type.

    `owner` is set for value types, whose whole record comes from one system;
    `key` for entity types: the field that holds the entity's key.
    """

    name: str
    kind: TypeKind
    owner: str | None
    fields: Mapping[str, FieldOwnership]
    line: int
    key: str = "id"
    parts: Mapping[str, ComposedField] = field(default_factory=_empty)  # type: ignore[arg-type]


@dataclass(frozen=True)
class LookupOwner:
    """How one owner finds entities by a value: its search entity, what matched, how sure."""

    owner: str
    entity: str
    """The search entity the loader adds to the owner (`<lookup> lookup`)."""
    datum: str
    weight: float
    line: int


@dataclass(frozen=True)
class Lookup:
    """Finding entities of type `finds` by a value, asked of every owner at once."""

    name: str
    normalise: str
    finds: str
    owners: tuple[LookupOwner, ...]
    line: int


@dataclass(frozen=True)
class RootField:
    """A field of the Query root: an entity by its key, by a list of keys, or a lookup."""

    name: str
    entity: str | None
    lookup: str | None
    by: str
    maximum: int | None
    line: int


@dataclass(frozen=True)
class InputMapping:
    """Where one input field of a mutation goes in the owner's request, and what it writes.

    The checks are made before the owner is called; a value that fails one
    is BAD_USER_INPUT naming the input field, and nothing is sent.
    """

    name: str
    to: str | None
    """The owner's body field; None for the field that fills the path's placeholder."""
    writes: str | None
    """The coordinate it changes (`Type.field`): its owner must be the mutation's."""
    values: Mapping[str, str] | None
    line: int
    max_length: int | None = None
    """Text: at most this many characters once trimmed, and not blank."""
    max_items: int | None = None
    """A list: at most this many items."""
    format: str | None = None
    """`email` or `phone`, applied to the value (or to each item of a list)."""
    pattern: str | None = None
    """A regular expression the whole value must match."""
    minimum: int | None = None
    """A number: at least this (`min:` in the map)."""
    id_of: str | None = None
    """The value is a key of this entity type: its key field's `pattern` applies."""
    only_when: Mapping[str, frozenset[str]] = field(default_factory=_empty)  # type: ignore[arg-type]
    """Given only when each named input field holds one of these enum values."""


@dataclass(frozen=True)
class ResultMapping:
    """How a payload field is read back, fresh, from the owner after the write."""

    name: str
    key_from: str
    """`input.<field>` or `reply.<path>`: where the key of the record to read is."""
    entity: str | None
    """For a value type: the owner's entity to read it from; None for an entity type."""
    line: int


@dataclass(frozen=True)
class MutationOwnership:
    """A mutation: the one owner it writes to, how, who may, and what it reads back."""

    name: str
    owner: str
    method: str
    path: str
    write: frozenset[str]
    inputs: Mapping[str, InputMapping]
    results: Mapping[str, ResultMapping]
    line: int

    def writable_by(self, roles: frozenset[str]) -> bool:
        return not self.write.isdisjoint(roles)


@dataclass(frozen=True)
class Scalar:
    """A custom scalar of the SDL and what it is on the wire."""

    name: str
    kind: str
    places: int | None
    line: int


@dataclass(frozen=True)
class Ownership:
    """A loaded, self-consistent ownership map."""

    path: Path
    roles: frozenset[str]
    systems: Mapping[str, SystemConfig]
    types: Mapping[str, TypeOwnership]
    system_lines: Mapping[str, int] = field(default_factory=_empty)  # type: ignore[arg-type]
    lookups: Mapping[str, Lookup] = field(default_factory=_empty)  # type: ignore[arg-type]
    queries: Mapping[str, RootField] = field(default_factory=_empty)  # type: ignore[arg-type]
    mutations: Mapping[str, MutationOwnership] = field(default_factory=_empty)  # type: ignore[arg-type]
    scalars: Mapping[str, Scalar] = field(default_factory=_empty)  # type: ignore[arg-type]
    phone_region: str | None = None
    sample: str | None = None
    """The query GraphiQL opens with, if the map gives one."""
    broken: frozenset[str] = frozenset()
    """Types and coordinates whose entries had problems (a map read despite problems)."""

    def field(self, type_name: str, name: str) -> FieldOwnership:
        return self.types[type_name].fields[name]

    def problem(self, line: int, message: str, suggestion: str | None = None) -> Problem:
        return Problem(str(self.path), line, message, suggestion)

    def entity_types(self) -> list[TypeOwnership]:
        return [t for t in self.types.values() if t.kind is TypeKind.ENTITY]
