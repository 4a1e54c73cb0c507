"""From what the owners' documents say to a graph: its types, fields, enums and roots.

Every entity read one record per key becomes an entity type, read by the
Query roots ``thing(id:)`` and (with a batch read) ``things(ids:)``. The
records of a one-to-many entity become a value type, listed on the entity
type whose key they are keyed by: found by the key's `pattern` (the same
on both sides), else by its name (``buyer_id`` for a type ``Buyer``). A
field of an entity whose pattern is another entity type's key becomes a
link to it. Nested objects are value types of their owner, string enums
GraphQL enums, dates the `Date` and `DateTime` scalars.

What was guessed is kept beside each part as a TODO for the map.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from ._names import camel, constant, is_graphql_name, pascal, plural, singular, unique
from ._openapi import Entity, Reading, Record, Search
from ._schemas import Schemas, Shape

SCALARS = {"Date": "date", "DateTime": "datetime"}
"""The custom scalars a starter graph may use, and their kinds in the map."""
ROOT_MAX = 100
"""Keys a plural root takes at most."""
_RESERVED = frozenset(
    {"Query", "Mutation", "Subscription", "String", "Int", "Float", "Boolean", "ID", *SCALARS}
)
_SIZE_NAMES = frozenset({"limit", "first", "size", "count", "max", "top", "per_key"})
_SIZE_NAMES_TOO = frozenset({"page_size", "per_page", "max_results"})
_INT32 = 2**31 - 1


class _Skip(Exception):
    """A property the graph cannot hold; the message says why."""


@dataclass
class Arg:
    name: str
    gql: str
    spec: Any
    """What the map says of it: the owner's parameter, or an ArgSpec mapping."""
    default: str | None = None
    description: str | None = None


@dataclass
class Field:
    name: str
    gql: str
    spec: dict[str, Any]
    description: str | None = None
    todo: str | None = None
    args: list[Arg] = field(default_factory=list)


@dataclass
class ObjectType:
    name: str
    system: str
    description: str | None
    fields: list[Field] = field(default_factory=list)
    entity: Entity | None = None
    """For an entity type: the entity its key is read from. None: a value type."""
    key: str = "id"
    reading: Reading | None = None

    @property
    def is_entity(self) -> bool:
        return self.entity is not None

    def field_names(self) -> set[str]:
        return {f.name for f in self.fields}


@dataclass
class EnumType:
    name: str
    values: list[str]
    description: str | None = None


@dataclass
class Root:
    name: str
    arg: str
    arg_type: str
    returns: str
    description: str
    spec: dict[str, Any]


@dataclass
class Lookup:
    """A search an owner publishes, as a lookup the company may declare."""

    name: str
    normalise: str
    finds: str
    owners: list[tuple[str, Search, str]]
    """(system, search, where each record holds the found key)."""


@dataclass
class Graph:
    readings: list[Reading]
    types: list[ObjectType]
    enums: list[EnumType]
    scalars: dict[str, str]
    roots: list[Root]
    lookups: list[Lookup]
    sample: str | None
    unused: dict[tuple[str, str], str]
    """Entities no type reads, by (system, entity), and why."""
    skipped: list[str]
    """Properties left out of the graph: 'Type.property: why'."""


def build(readings: list[Reading]) -> Graph:
    """The graph of the owners' readings."""
    return _Builder(readings).build()


class _Builder:
    def __init__(self, readings: list[Reading]) -> None:
        self.readings = readings
        self.types: dict[str, ObjectType] = {}
        self.enums: dict[str, EnumType] = {}
        self.scalars: dict[str, str] = {}
        self.values: dict[tuple[str, str], str] = {}
        """Value type names by (system, record identity)."""
        self.skipped: list[str] = []
        self.used: set[tuple[str, str]] = set()

    # -- the whole -----------------------------------------------------------------------

    def build(self) -> Graph:
        parents = self.parents()
        attached = self.attachments(parents)
        # Named first, so a nested object of the same name is the one renamed.
        shells = [self.entity_shell(reading, entity) for reading, entity in parents]
        for shell in shells:
            self.entity_type(shell)
        for (reading, entity), parent in attached:
            self.attach(reading, entity, parent)
        for entity_type in self.entity_types():
            self.links(entity_type)
        roots = [root for entity_type in self.entity_types() for root in self.roots(entity_type)]
        unused = {
            (reading.owner.name, entity.name): self.why_unused(entity)
            for reading in self.readings
            for entity in reading.entities
            if (reading.owner.name, entity.name) not in self.used
        }
        return Graph(
            readings=self.readings,
            types=list(self.types.values()),
            enums=list(self.enums.values()),
            scalars=dict(sorted(self.scalars.items())),
            roots=roots,
            lookups=self.lookups(),
            sample=self.sample(),
            unused=unused,
            skipped=self.skipped,
        )

    def entity_types(self) -> list[ObjectType]:
        return [t for t in self.types.values() if t.is_entity]

    def why_unused(self, entity: Entity) -> str:
        if entity.many:
            return (
                f"no entity type was found whose key its records' {'.'.join(entity.key)} "
                "holds: add a list field that reads it (key: names the field holding its keys)"
            )
        return "its records are read as another entity's list; kept to read one back after a write"

    def parents(self) -> list[tuple[Reading, Entity]]:
        """The entities read one record per key that become entity types.

        Records that are also read one-to-many, and listed on a parent so,
        become a value type instead: a type is either keyed or a list item.
        """
        keyed = [(r, e) for r in self.readings for e in r.entities if not e.many]
        listed = {
            (reading.owner.name, entity.record.identity)
            for (reading, entity), _ in self.attachments(keyed)
        }
        return [(r, e) for r, e in keyed if (r.owner.name, e.record.identity) not in listed]

    def attachments(
        self, parents: list[tuple[Reading, Entity]]
    ) -> list[tuple[tuple[Reading, Entity], tuple[Reading, Entity, str]]]:
        """Each one-to-many entity with the parent it is listed on, and why it was chosen."""
        found = []
        for reading in self.readings:
            for entity in reading.entities:
                if not entity.many:
                    continue
                parent = self.parent_of(reading, entity, parents)
                if parent is not None:
                    found.append(((reading, entity), parent))
        return found

    def parent_of(
        self, reading: Reading, entity: Entity, parents: list[tuple[Reading, Entity]]
    ) -> tuple[Reading, Entity, str] | None:
        pattern = key_pattern(reading.schemas, entity.record, entity.key)
        key_words = "_".join(entity.key).split("_")
        best: tuple[float, int, Reading, Entity, str] | None = None
        for order, (other, parent) in enumerate(parents):
            if other is reading and parent.record.identity == entity.record.identity:
                continue
            score, why = 0.0, ""
            theirs = key_pattern(other.schemas, parent.record, parent.key)
            if pattern is not None and pattern == theirs:
                score, why = 3.0, f"the same pattern as {other.owner.name}'s {parent.name} key"
            elif pattern is not None and theirs is not None:
                continue  # both say what their keys look like, and they differ
            elif len(key_words) > 1 and "_".join(key_words[:-1]) == parent.name:
                score, why = 2.0, f"its name says it is a {parent.name}"
            elif other is reading and sum(1 for e in reading.entities if not e.many) == 1:
                score, why = 1.0, f"{parent.name} is the only entity of {reading.owner.name}"
            if score == 0:
                continue
            score += 0.5 if other is reading else 0.0
            if best is None or score > best[0]:
                best = (score, order, other, parent, why)
        return None if best is None else (best[2], best[3], best[4])

    # -- types ---------------------------------------------------------------------------

    def type_name(self, system: str, *wanted: str) -> str:
        """The first of the `wanted` names no type has, else one with the system's name."""
        taken = set(self.types) | set(self.enums) | _RESERVED
        for name in map(pascal, wanted):
            if name not in taken:
                return name
        return unique(pascal(system) + pascal(wanted[0]), taken)

    def entity_shell(self, reading: Reading, entity: Entity) -> ObjectType:
        """The entity type of `entity`, named and described, its fields still to come."""
        record = entity.record
        system = reading.owner.name
        name = self.type_name(system, record.shape.component or singular(record.collection))
        description = (
            record.shape.description or f"One {singular(record.collection)}, as {system} holds it."
        )
        entity_type = ObjectType(name, system, description, entity=entity, reading=reading)
        self.types[name] = entity_type
        self.used.add((system, entity.name))
        return entity_type

    def entity_type(self, entity_type: ObjectType) -> None:
        """The fields of an entity type: every property of its records, its key an ID."""
        reading, entity = entity_type.reading, entity_type.entity
        assert reading is not None and entity is not None
        record, system, name = entity.record, entity_type.system, entity_type.name
        key = entity.key
        has_key = False
        for prop, node in reading.schemas.properties(record.shape).items():
            is_key = (prop,) == key
            made = self.field(reading, name, prop, node, key=is_key)
            if made is None:
                continue
            made.spec = {"owner": system, "entity": entity.name, **made.spec}
            if is_key:
                has_key = True
                entity_type.key = made.name
                self.key_details(reading, made, record, key)
            entity_type.fields.append(made)
        if not has_key:
            # A key inside a nested object (or of no type the graph holds): a field of its
            # own, for the roots to read by.
            made = Field(
                unique(camel("_".join(key)), entity_type.field_names()),
                "ID!",
                {"owner": system, "entity": entity.name, "from": ".".join(key)},
                "The key.",
            )
            self.key_details(reading, made, record, key)
            entity_type.key = made.name
            entity_type.fields.insert(0, made)

    def key_details(
        self, reading: Reading, made: Field, record: Record, key: tuple[str, ...]
    ) -> None:
        made.gql = "ID!"
        made.spec.pop("values", None)
        made.todo = None
        pattern = key_pattern(reading.schemas, record, key)
        if pattern is not None:
            made.spec["pattern"] = pattern

    def value_type(self, reading: Reading, shape: Shape, parent: str, prop: str) -> str:
        system = reading.owner.name
        identity = shape.component or f"{parent}.{prop}"
        known = self.values.get((system, identity))
        if known is not None:
            return known
        inline = parent + pascal(singular(prop))
        name = self.type_name(system, *filter(None, (shape.component, inline)))
        value = ObjectType(name, system, shape.description)
        self.types[name] = value
        self.values[(system, identity)] = name
        own = self.own_key(reading, shape)
        for inner, node in reading.schemas.properties(shape).items():
            made = self.field(reading, name, inner, node, key=inner == own)
            if made is not None:
                if inner == own:
                    made.gql = "ID"
                    made.spec.pop("values", None)
                value.fields.append(made)
        if not value.fields:
            del self.types[name], self.values[(system, identity)]
            raise _Skip("an object none of whose properties the graph can hold")
        return name

    def own_key(self, reading: Reading, shape: Shape) -> str | None:
        """The field a record is keyed by in its own system, when a read says so."""
        if shape.component is None:
            return None
        for entity in reading.entities:
            if (
                not entity.many
                and entity.record.shape.component == shape.component
                and len(entity.key) == 1
            ):
                return entity.key[0]
        return None

    # -- fields --------------------------------------------------------------------------

    def field(
        self, reading: Reading, type_name: str, prop: str, node: Any, *, key: bool = False
    ) -> Field | None:
        """The field of a record's property, or None (noted) when the graph cannot hold it."""
        shape = reading.schemas.shape(node)
        name = camel(prop)
        try:
            if "." in prop or not is_graphql_name(name):
                raise _Skip("its name cannot be a GraphQL field's")
            gql, values = self.gql_type(reading, shape, type_name, prop)
        except _Skip as why:
            self.skipped.append(f"{type_name}.{prop}: {why}")
            return None
        spec: dict[str, Any] = {}
        # A field of an object type without from: reads the whole record, not a part.
        if name != prop or gql.strip("[]!") in self.types:
            spec["from"] = prop
        if values is not None:
            spec["values"] = values
        return Field(name, gql, spec, shape.description, _hint(prop, shape) if not key else None)

    def gql_type(
        self, reading: Reading, shape: Shape, type_name: str, prop: str
    ) -> tuple[str, dict[str, str] | None]:
        """The GraphQL type of a property, and the owner's words for its enum values."""
        kind = shape.kind
        if kind == "enum":
            return self.enum_of(shape, type_name, prop)
        if kind == "string":
            scalar = {"date": "Date", "date-time": "DateTime"}.get(str(shape.schema.get("format")))
            if scalar is not None:
                self.scalars[scalar] = SCALARS[scalar]
                return scalar, None
            return "String", None
        simple = {"integer": "Int", "number": "Float", "boolean": "Boolean"}
        if kind in simple:
            return simple[kind], None
        if kind == "array":
            items = reading.schemas.items(shape)
            assert items is not None
            if items.kind == "array":
                raise _Skip("a list of lists")
            inner, values = self.gql_type(reading, items, type_name, prop)
            return f"[{inner}{'' if items.nullable else '!'}]", values
        if kind == "object" and shape.is_record:
            return self.value_type(reading, shape, type_name, prop), None
        if kind == "object":
            raise _Skip("an object of no declared properties")
        raise _Skip("no single JSON type (a union, or none given)")

    def enum_of(self, shape: Shape, type_name: str, prop: str) -> tuple[str, dict[str, str] | None]:
        words_ = [v for v in shape.schema["enum"] if v is not None]
        if words_ and all(isinstance(v, int) and not isinstance(v, bool) for v in words_):
            return "Int", None
        if not words_ or not all(isinstance(v, str) for v in words_):
            raise _Skip("an enum of values that are not all strings")
        name, names = self.enum(shape.component or type_name + pascal(prop), words_, shape)
        mapping = dict(zip(words_, names, strict=True))
        if all(word.lower() == value.lower() for word, value in mapping.items()):
            return name, None
        return name, mapping

    def enum(self, wanted: str, words_: list[str], shape: Shape) -> tuple[str, list[str]]:
        """The enum with these owner's words (made when none has them), and its value names."""
        names: list[str] = []
        for word in words_:
            names.append(unique(constant(word) or "VALUE", names))
        base = pascal(wanted)
        existing = self.enums.get(base)
        if existing is not None and existing.values == names:
            return existing.name, names
        taken = set(self.types) | set(self.enums) | _RESERVED
        name = unique(base, taken)
        self.enums[name] = EnumType(name, names, shape.description if shape.component else None)
        return name, names

    # -- what links types ----------------------------------------------------------------

    def attach(self, reading: Reading, entity: Entity, parent: tuple[Reading, Entity, str]) -> None:
        """List the records of a one-to-many entity on the entity type they are keyed by."""
        parent_reading, parent_entity, why = parent
        host = next(
            (
                t
                for t in self.entity_types()
                if t.entity is parent_entity and t.reading is parent_reading
            ),
            None,
        )
        if host is None:
            return
        system = reading.owner.name
        item = self.value_type(reading, entity.record.shape, host.name, entity.record.collection)
        name = unique(camel(entity.name), host.field_names())
        made = Field(
            name,
            f"[{item}!]",
            {"owner": system, "entity": entity.name},
            f"{pascal(entity.record.collection)} of {system}, by this {host.name}'s {host.key}.",
            todo=f"listed here as {system}'s {entity.name} are keyed by "
            f"{'.'.join(entity.key)}, taken to hold {host.name}.{host.key} ({why})",
        )
        made.args = self.args(reading, entity, item)
        if made.args:
            made.spec["args"] = {arg.name: arg.spec for arg in made.args}
        host.fields.append(made)
        self.used.add((system, entity.name))

    def args(self, reading: Reading, entity: Entity, item: str) -> list[Arg]:
        """Arguments from the other parameters of a one-to-many read: a filter, a size."""
        made: list[Arg] = []
        item_type = self.types[item]
        for option in entity.options:
            shape = option.shape
            name = unique(camel(option.name), {a.name for a in made})
            description = option.description or shape.description
            default = option.default if option.default is not None else shape.schema.get("default")
            if (
                _is_size(option.name)
                and shape.kind == "integer"
                and not any(isinstance(a.spec, dict) and a.spec.get("size") for a in made)
            ):
                spec: dict[str, Any] = {"param": option.name, "size": True}
                maximum = shape.schema.get("maximum")
                if isinstance(maximum, int) and not isinstance(maximum, bool):
                    spec["max"] = maximum
                made.append(
                    Arg(
                        "first" if "first" not in {a.name for a in made} else name,
                        "Int",
                        spec,
                        str(default) if isinstance(default, int) else None,
                        description,
                    )
                )
            elif shape.kind == "enum":
                found = self.enum_argument(shape, item_type, option.name)
                if found is not None:
                    gql, spec_or_param = found
                    made.append(Arg(name, gql, spec_or_param, None, description))
            elif shape.kind in ("string", "integer", "number", "boolean"):
                gql = {"string": "String", "integer": "Int", "number": "Float"}.get(
                    shape.kind, "Boolean"
                )
                made.append(Arg(name, gql, option.name, None, description))
        return made

    def enum_argument(self, shape: Shape, item: ObjectType, param: str) -> tuple[str, Any] | None:
        words_ = [v for v in shape.schema["enum"] if v is not None]
        if not words_ or not all(isinstance(v, str) for v in words_):
            return None
        for existing in item.fields:
            values = existing.spec.get("values")
            owner_words = list(values) if values else None
            enum = self.enums.get(existing.gql.strip("[]!"))
            if enum is None:
                continue
            theirs = owner_words or [v.lower() for v in enum.values]
            if sorted(theirs) == sorted(words_):
                return enum.name, _arg_spec(param, values)
        name, names = self.enum(item.name + pascal(param), words_, shape)
        mapping = dict(zip(words_, names, strict=True))
        if all(word.lower() == value.lower() for word, value in mapping.items()):
            return name, param
        return name, _arg_spec(param, mapping)

    def links(self, entity_type: ObjectType) -> None:
        """A field holding another entity type's key (the same pattern) links to that type."""
        reading, entity = entity_type.reading, entity_type.entity
        assert reading is not None and entity is not None
        keys = {
            key_pattern(t.reading.schemas, t.entity.record, t.entity.key): t
            for t in self.entity_types()
            if t is not entity_type and t.reading is not None and t.entity is not None
        }
        keys.pop(None, None)
        for prop, node in reading.schemas.properties(entity.record.shape).items():
            if (prop,) == entity.key:
                continue
            shape = reading.schemas.shape(node)
            items = reading.schemas.items(shape)
            many = items is not None
            pattern = _pattern(items if items is not None else shape)
            target = keys.get(pattern)
            if target is None:
                continue
            wanted = camel(plural(target.name) if many else target.name)
            if wanted in entity_type.field_names():
                continue
            entity_type.fields.append(
                Field(
                    wanted,
                    f"[{target.name}!]" if many else target.name,
                    {"owner": entity_type.system, "entity": entity.name, "from": prop},
                    f"The {target.name} {prop} names.",
                    todo=f"a link: {prop} has the same pattern as {target.name}.{target.key}",
                )
            )

    # -- roots, lookups, sample ----------------------------------------------------------

    def roots(self, entity_type: ObjectType) -> Iterator[Root]:
        entity = entity_type.entity
        assert entity is not None
        name = entity_type.name
        system = entity_type.system
        one = camel(name)
        yield Root(
            one,
            "id",
            "ID!",
            name,
            f"The {name} with this key, or null when {system} does not know it.",
            {"entity": name, "by": "id"},
        )
        if entity.batch is not None:
            many = plural(one)
            yield Root(
                many if many != one else f"{one}List",
                "ids",
                "[ID!]!",
                f"[{name}]!",
                f"{plural(name)} by key, in the order given (at most {ROOT_MAX}); null in "
                f"the place of a key {system} does not know.",
                {"entity": name, "by": "ids", "max": ROOT_MAX},
            )

    def main_type(self) -> ObjectType | None:
        """The entity type most others point at: the first of the first document on a tie."""
        entity_types = self.entity_types()
        if not entity_types:
            return None

        def pointed_at(entity_type: ObjectType) -> int:
            return sum(
                1
                for other in self.types.values()
                for f in other.fields
                if (f.gql.strip("[]!") == entity_type.name and other is not entity_type)
                or (other is entity_type and f.spec.get("owner") not in (None, other.system))
            )

        return max(entity_types, key=pointed_at)

    def sample(self) -> str | None:
        main = self.main_type()
        if main is None or main.reading is None or main.entity is None:
            return None
        example = _example(main.reading.schemas, main.entity.record, main.entity.key)
        lines = ["{", f'  {camel(main.name)}(id: "{example or "KEY"}") {{']
        if example is None:
            lines.insert(0, "# TODO: a key the owner knows")
        for item in main.fields:
            selection = self.selection(item)
            if selection is not None:
                lines.append(f"    {item.name}{selection}")
        lines += ["  }", "}"]
        return "\n".join(lines) + "\n"

    def selection(self, item: Field) -> str | None:
        target = self.types.get(item.gql.strip("[]!"))
        if target is None:
            return ""
        inner = [f.name for f in target.fields if f.gql.strip("[]!") not in self.types][:3]
        if not inner:
            return None
        return " { " + " ".join(inner) + " }"

    def lookups(self) -> list[Lookup]:
        found: dict[tuple[str, str], Lookup] = {}
        for reading in self.readings:
            for search in reading.searches:
                target = self.finds(reading, search)
                if target is None:
                    continue
                finds, where = target
                for param in search.params:
                    kind = _lookup_kind(param)
                    entry = found.setdefault(
                        (kind, finds), Lookup(kind, _NORMALISE.get(kind, "trim"), finds, [])
                    )
                    if all(system != reading.owner.name for system, _, _ in entry.owners):
                        entry.owners.append((reading.owner.name, _one_param(search, param), where))
        return list(found.values())

    def finds(self, reading: Reading, search: Search) -> tuple[str, str] | None:
        """The entity type a search's records point at, and the field holding its key."""
        for entity_type in self.entity_types():
            entity = entity_type.entity
            assert entity is not None
            if (
                entity_type.reading is reading
                and entity.record.identity == search.record.identity
                and len(entity.key) == 1
            ):
                return entity_type.name, entity.key[0]
        patterns = {
            key_pattern(t.reading.schemas, t.entity.record, t.entity.key): t.name
            for t in self.entity_types()
            if t.reading is not None and t.entity is not None
        }
        for prop, node in reading.schemas.properties(search.record.shape).items():
            pattern = _pattern(reading.schemas.shape(node))
            if pattern is not None and pattern in patterns:
                return patterns[pattern], prop
        return None


_NORMALISE = {"phone": "e164", "email": "email"}


def _lookup_kind(param: str) -> str:
    lowered = param.lower()
    for kind in ("phone", "email"):
        if kind in lowered:
            return kind
    return "text"


def _one_param(search: Search, param: str) -> Search:
    return Search(search.path, (param,), search.record, search.records)


def _arg_spec(param: str, values: dict[str, str] | None) -> Any:
    if not values:
        return param
    return {"param": param, "values": {name: word for word, name in values.items()}}


def _is_size(name: str) -> bool:
    lowered = name.lower()
    return lowered in _SIZE_NAMES or lowered in _SIZE_NAMES_TOO


def key_pattern(schemas: Schemas, record: Record, key: tuple[str, ...]) -> str | None:
    """The pattern every key of these records matches, when the document gives one."""
    shape = record.shape
    for step in key:
        node = schemas.properties(shape).get(step)
        if node is None:
            return None
        shape = schemas.shape(node)
    return _pattern(shape)


def _pattern(shape: Shape | None) -> str | None:
    if shape is None:
        return None
    pattern = shape.schema.get("pattern")
    if not isinstance(pattern, str) or not pattern.strip("^$"):
        return None
    # The map's patterns match whole keys: anchors say nothing more.
    if pattern.startswith("^"):
        pattern = pattern[1:]
    if pattern.endswith("$") and not pattern.endswith("\\$"):
        pattern = pattern[:-1]
    try:
        re.compile(pattern)
    except re.error:
        return None
    return pattern


def _example(schemas: Schemas, record: Record, key: tuple[str, ...]) -> str | None:
    shape = record.shape
    for step in key:
        node = schemas.properties(shape).get(step)
        if node is None:
            return None
        shape = schemas.shape(node)
    examples = shape.schema.get("examples")
    if isinstance(examples, list) and examples and isinstance(examples[0], str | int):
        return str(examples[0])
    example = shape.schema.get("example")
    return str(example) if isinstance(example, str | int) else None


def _hint(prop: str, shape: Shape) -> str | None:
    """What a person should look at in a field the graph reads as the owner wrote it."""
    text = f"{prop} {shape.description or ''}".lower()
    kind = shape.kind
    if kind == "integer" and ("epoch" in text or prop.endswith(("_at", "_ts"))):
        return "seconds since the epoch? make it a DateTime with format: epoch"
    if kind == "integer" and "cents" in text:
        return "an amount in cents? make it a decimal scalar with format: cents"
    if kind == "integer" and shape.schema.get("format") == "int64":
        return f"int64: values past {_INT32} do not fit an Int"
    return None
