"""The read plan: for each owned field, how to turn the owner's record into its value.

Compiled once per schema from the ownership map and the GraphQL types, so that
at query time a field costs a dictionary walk and a conversion, nothing more.
A value the owner sends in the wrong shape raises `OwnerBadResponse` for that
field alone (its path is the field's), never a crash.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import phonenumbers
from cachetools import TTLCache
from graphql import (
    GraphQLEnumType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLScalarType,
    GraphQLSchema,
)

from ownergraph.ownership import FieldOwnership, Ownership, TypeKind
from ownergraph.sources import ABSENT, OwnerBadResponse, find

from .errors import Forbidden
from .selection import argument_default

PHONES_REMEMBERED = 4096
"""Conversions to E.164 a field remembers..."""
PHONE_SECONDS = 600.0
"""...and for how long at most."""
_clock = time.monotonic

Getter = Callable[[Any], Any]
Absent = Callable[[str, str, str], None]
"""Hears a read that found no value at a field's path: (owner, coordinate, path)."""


class Record:
    """An owner's record seen through one value type: each field's getter, by field name."""

    __slots__ = ("raw", "view")

    def __init__(self, raw: Mapping[str, Any], view: Mapping[str, Getter]) -> None:
        self.raw = raw
        self.view = view

    def value(self, name: str) -> Any:
        return self.view[name](self.raw)

    def __repr__(self) -> str:
        return f"Record({self.raw!r})"


@dataclass(frozen=True)
class FieldPlan:
    """How to read one field of an entity type from its owner."""

    ownership: FieldOwnership
    value: Getter
    """The owner's record -> the field's value (for a link: the key or keys it holds)."""
    allowed: bool
    """Whether the roles this plan was compiled for may read the field."""
    arg_defaults: Mapping[str, Any]
    enum_args: frozenset[str]
    link: str | None = None
    """The entity type the field returns, when it returns entities (by their keys)."""
    size_arg: str | None = None
    """The argument (`size: true` in the map) that bounds how many items it returns."""

    @property
    def owner(self) -> str:
        return self.ownership.owner


class Plan:
    """Every field plan of a schema, by type and field name, and each value type's view."""

    def __init__(
        self,
        fields: Mapping[tuple[str, str], FieldPlan],
        views: Mapping[str, Mapping[str, Getter]] | None = None,
    ) -> None:
        self._views = dict(views or {})
        self._fields = dict(fields)

    def field(self, type_name: str, name: str) -> FieldPlan:
        return self._fields[(type_name, name)]

    def view(self, type_name: str) -> Mapping[str, Getter]:
        """The getters of a value type's fields, as the records of this plan read them."""
        return self._views[type_name]

    def record(self, type_name: str, raw: Mapping[str, Any]) -> Record:
        """An owner's record read as the value type `type_name`."""
        return Record(raw, self._views[type_name])

    def fields_of(self, type_name: str) -> list[FieldPlan]:
        return [plan for (t, _), plan in self._fields.items() if t == type_name]


def compile_plan(
    schema: GraphQLSchema,
    ownership: Ownership,
    phone_region: str | None,
    roles: frozenset[str] | None = None,
    absent: Absent | None = None,
) -> Plan:
    """Compile the getters of every owned field, as `roles` may read them.

    The map must already be bound to `schema`. A field `roles` may not read
    gets a getter that raises `Forbidden`, so permissions cost nothing per
    field at query time. `roles=None` compiles a plan that may read all.
    """
    compiler = _Compiler(schema, ownership, phone_region, roles, absent or _ignore)
    fields: dict[tuple[str, str], FieldPlan] = {}
    for entry in ownership.entity_types():
        gql_type = schema.type_map[entry.name]
        assert isinstance(gql_type, GraphQLObjectType)
        for name, field in entry.fields.items():
            gql_field = gql_type.fields[name]
            target = _named(gql_field.type)
            link = None
            if isinstance(target, GraphQLObjectType):
                target_entry = ownership.types.get(target.name)
                if target_entry is not None and target_entry.kind is TypeKind.ENTITY:
                    link = target.name
            fields[(entry.name, name)] = FieldPlan(
                ownership=field,
                value=_composed
                if field.lookup is not None
                else compiler.getter(field, gql_field.type, link=link is not None),
                allowed=compiler.allows(field),
                arg_defaults={arg: argument_default(spec) for arg, spec in gql_field.args.items()},
                enum_args=frozenset(
                    arg
                    for arg, spec in gql_field.args.items()
                    if isinstance(_named(spec.type), GraphQLEnumType)
                ),
                link=link,
                size_arg=next((a.name for a in field.args.values() if a.size), None),
            )
    for entry in ownership.types.values():
        value_type = schema.type_map.get(entry.name)
        if entry.kind is TypeKind.VALUE and isinstance(value_type, GraphQLObjectType):
            compiler.view(value_type)
    return Plan(fields, compiler.views)


class _Compiler:
    def __init__(
        self,
        schema: GraphQLSchema,
        ownership: Ownership,
        phone_region: str | None,
        roles: frozenset[str] | None,
        absent: Absent,
    ) -> None:
        self.schema = schema
        self.ownership = ownership
        self.phone_region = phone_region
        self.roles = roles
        self.absent = absent
        self.views: dict[str, dict[str, Getter]] = {}

    def allows(self, field: FieldOwnership) -> bool:
        return self.roles is None or field.readable_by(self.roles)

    def getter(
        self, field: FieldOwnership, gql_type: GraphQLOutputType, *, link: bool = False
    ) -> Getter:
        """Record of the field's owner -> the field's value (a link: the keys it holds)."""
        named = _named(gql_type)
        if field.source is not None:
            source = field.source
        elif isinstance(named, GraphQLObjectType) and not link:
            source = ()  # the whole record
        else:
            source = (field.name,)
        convert = self.keys(field, gql_type) if link else self.converter(field, gql_type)
        absent = self.absent
        owner, coordinate, dotted = field.owner, field.coordinate, ".".join(source)

        if len(source) == 1:
            # Most fields are one name in the record: read it without walking a path.
            (name,) = source

            def get_named(record: Any) -> Any:
                if not isinstance(record, dict):
                    return None
                value = record.get(name, ABSENT)
                if value is ABSENT:
                    absent(owner, coordinate, dotted)
                    return None
                return None if value is None else convert(value)

            return get_named

        def get(record: Any) -> Any:
            value = find(record, source) if source else record
            if value is ABSENT:
                absent(owner, coordinate, dotted)
                return None
            return None if value is None else convert(value)

        return get

    def keys(self, field: FieldOwnership, gql_type: GraphQLOutputType) -> Getter:
        """A link's value: the key (or, for a list, the keys) of the entities it returns."""
        is_list = isinstance(_strip(gql_type), GraphQLList)

        def key(value: Any) -> str:
            if isinstance(value, str | int) and not isinstance(value, bool):
                return str(value)
            raise _bad(field, "a key", value)

        def convert(value: Any) -> Any:
            if not is_list:
                return key(value)
            if not isinstance(value, list):
                raise _bad(field, "a list of keys", value)
            return [key(v) for v in value if v is not None]

        return convert

    def converter(self, field: FieldOwnership, gql_type: GraphQLOutputType) -> Getter:
        if isinstance(gql_type, GraphQLNonNull):
            return self.converter(field, gql_type.of_type)
        if isinstance(gql_type, GraphQLList):
            item = self.converter(field, gql_type.of_type)

            def convert_list(value: Any) -> Any:
                if not isinstance(value, list):
                    raise _bad(field, "a list", value)
                return [None if v is None else item(v) for v in value]

            return convert_list
        if isinstance(gql_type, GraphQLObjectType):
            view = self.view(gql_type)

            def convert_object(value: Any) -> Any:
                if not isinstance(value, dict):
                    raise _bad(field, "an object", value)
                return Record(value, view)

            return convert_object
        if isinstance(gql_type, GraphQLEnumType):
            return self.enum(field, gql_type)
        assert isinstance(gql_type, GraphQLScalarType)
        return self.scalar(field, gql_type.name)

    def view(self, gql_type: GraphQLObjectType) -> Mapping[str, Getter]:
        """Getters of a value type's fields, by field name."""
        if gql_type.name not in self.views:
            view: dict[str, Getter] = {}
            self.views[gql_type.name] = view
            entry = self.ownership.types[gql_type.name]
            for name, field in entry.fields.items():
                getter = self.getter(field, gql_type.fields[name].type)
                view[name] = getter if self.allows(field) else _forbidden(field.coordinate)
        return self.views[gql_type.name]

    def enum(self, field: FieldOwnership, gql_type: GraphQLEnumType) -> Getter:
        by_name = {name: value.value for name, value in gql_type.values.items()}
        lookup: dict[str, Any] = {}
        if field.values:
            lookup = {owner_value: by_name[name] for owner_value, name in field.values.items()}
        else:
            lookup = {name.lower(): member for name, member in by_name.items()}
        case_blind = not field.values

        def convert_enum(value: Any) -> Any:
            key = value.lower() if case_blind and isinstance(value, str) else value
            try:
                return lookup[key]
            except (KeyError, TypeError):
                raise _bad(field, f"one of {sorted(lookup)}", value) from None

        return convert_enum

    def scalar(self, field: FieldOwnership, name: str) -> Getter:
        kind = _BUILT_IN.get(name)
        if kind is None:
            scalar = self.ownership.scalars[name]  # the binder saw to it
            kind = scalar.kind
        return self.of_kind(field, kind)

    def of_kind(self, field: FieldOwnership, kind: str) -> Getter:
        fmt = field.format
        if kind == "string":
            if fmt == "e164":
                return self.e164(field)

            def convert_string(value: Any) -> Any:
                if isinstance(value, str):
                    return value
                if isinstance(value, int | float) and not isinstance(value, bool):
                    return str(value)
                raise _bad(field, "a string", value)

            return convert_string
        if kind == "int":

            def convert_int(value: Any) -> Any:
                if isinstance(value, int) and not isinstance(value, bool):
                    return value
                if isinstance(value, float) and value.is_integer():
                    return int(value)
                raise _bad(field, "a whole number", value)

            return convert_int
        if kind == "float":

            def convert_float(value: Any) -> Any:
                if isinstance(value, int | float) and not isinstance(value, bool):
                    return float(value)
                raise _bad(field, "a number", value)

            return convert_float
        if kind == "boolean":

            def convert_bool(value: Any) -> Any:
                if isinstance(value, bool):
                    return value
                raise _bad(field, "true or false", value)

            return convert_bool
        if kind == "decimal":
            return self.decimal(field)
        if kind == "datetime":
            return self.datetime(field)
        assert kind == "date", kind

        def convert_date(value: Any) -> Any:
            try:
                return date.fromisoformat(value)
            except (TypeError, ValueError):
                raise _bad(field, "an ISO date", value) from None

        return convert_date

    def decimal(self, field: FieldOwnership) -> Getter:
        cents = field.format == "cents"

        def convert_decimal(value: Any) -> Any:
            if isinstance(value, bool) or not isinstance(value, int | float | str):
                raise _bad(field, "an amount", value)
            if cents and not isinstance(value, int):
                raise _bad(field, "a whole number of cents", value)
            try:
                amount = Decimal(value) / 100 if cents else Decimal(str(value))
            except InvalidOperation:
                raise _bad(field, "an amount", value) from None
            if not amount.is_finite():
                raise _bad(field, "a finite amount", value)
            return amount

        return convert_decimal

    def datetime(self, field: FieldOwnership) -> Getter:
        if field.format == "epoch":

            def convert_epoch(value: Any) -> Any:
                if isinstance(value, bool) or not isinstance(value, int | float):
                    raise _bad(field, "seconds since the epoch", value)
                try:
                    return datetime.fromtimestamp(value, UTC)
                except (OverflowError, OSError, ValueError):
                    raise _bad(field, "seconds since the epoch", value) from None

            return convert_epoch

        def convert_iso(value: Any) -> Any:
            try:
                moment = datetime.fromisoformat(value)
            except (TypeError, ValueError):
                raise _bad(field, "an ISO 8601 date-time", value) from None
            # A time without a zone is ambiguous: the owners' contract is UTC.
            return moment if moment.tzinfo else moment.replace(tzinfo=UTC)

        return convert_iso

    def e164(self, field: FieldOwnership) -> Getter:
        region = self.phone_region
        # Parsing a number is phonenumbers' pure Python: about 200 k instructions
        # each, two per caller screen, a tenth of the request. The same numbers
        # come back all day, so a conversion is remembered, but for ten minutes
        # at most: a number the owner sent is not kept longer than that.
        remembered: TTLCache[str, str] = TTLCache(
            maxsize=PHONES_REMEMBERED, ttl=PHONE_SECONDS, timer=lambda: _clock()
        )

        def convert_phone(value: Any) -> Any:
            if not isinstance(value, str):
                raise _bad(field, "a phone number", value)
            known = remembered.get(value)
            if known is not None:
                return known
            try:
                number = phonenumbers.parse(value, region)
            except phonenumbers.NumberParseException:
                raise _bad(field, "a phone number", value) from None
            if not phonenumbers.is_possible_number(number):
                raise _bad(field, "a phone number", value)
            written = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
            remembered[value] = written
            return written

        return convert_phone


_BUILT_IN = {
    "String": "string",
    "ID": "string",
    "Int": "int",
    "Float": "float",
    "Boolean": "boolean",
}


def _ignore(owner: str, coordinate: str, path: str) -> None:
    pass


def _composed(record: Any) -> Any:
    raise AssertionError("a field composed from lookups is not read from a record")


def _forbidden(coordinate: str) -> Getter:
    def deny(record: Any) -> Any:
        raise Forbidden(coordinate)

    return deny


def _strip(gql_type: Any) -> Any:
    return gql_type.of_type if isinstance(gql_type, GraphQLNonNull) else gql_type


def _named(gql_type: Any) -> Any:
    while isinstance(gql_type, GraphQLNonNull | GraphQLList):
        gql_type = gql_type.of_type
    return gql_type


def _bad(field: FieldOwnership, expected: str, value: Any) -> OwnerBadResponse:
    # The kind of value, never the value itself: it may be personal data.
    kind = type(value).__name__
    return OwnerBadResponse(field.owner, f"{field.coordinate} should be {expected}, got a {kind}")
