"""The custom scalars of a graph: what each is on the wire, from a fixed library.

The SDL declares a scalar (`scalar Money`); the map says which kind it is
(`scalars: {Money: {kind: decimal, places: 2}}`). Values reach a scalar
already converted by the plan (a `Decimal`, a `datetime`, a `date`), from
whatever the owner sent (`format: cents`, `format: epoch`...), so a scalar
only writes and reads its one wire form.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from graphql import GraphQLError, GraphQLScalarType, StringValueNode, ValueNode
from graphql.language import FloatValueNode, IntValueNode

from ownergraph.ownership import Scalar


def configure(scalar: GraphQLScalarType, spec: Scalar) -> None:
    """Give `scalar` (as the SDL declared it) the wire form of its kind."""
    serialize, parse = _KINDS[spec.kind](spec)
    # graphql-core 3.3 reads the coerce_* names; earlier releases, the others.
    scalar.serialize = serialize  # type: ignore[method-assign,assignment]
    scalar.coerce_output_value = serialize
    scalar.parse_value = parse  # type: ignore[method-assign,assignment]
    scalar.coerce_input_value = parse

    def parse_literal(node: ValueNode, _variables: Any = None) -> Any:
        if isinstance(node, StringValueNode | IntValueNode | FloatValueNode):
            text: Any = node.value
            if isinstance(node, IntValueNode):
                text = int(node.value)
            return parse(text)
        raise GraphQLError(f"{scalar.name} cannot represent a literal of this kind")

    scalar.parse_literal = parse_literal  # type: ignore[method-assign,assignment]


Codec = tuple[Callable[[Any], Any], Callable[[Any], Any]]


def _decimal(spec: Scalar) -> Codec:
    places = spec.places
    step = Decimal(1).scaleb(-places) if places is not None else None

    def serialize(value: Any) -> str:
        amount = value if isinstance(value, Decimal) else Decimal(str(value))
        return f"{amount.quantize(step):f}" if step is not None else f"{amount:f}"

    def parse(value: Any) -> Decimal:
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise GraphQLError(f'{spec.name} must be a decimal string like "12.50", not {value!r}')
        try:
            amount = Decimal(str(value))
        except InvalidOperation:
            raise GraphQLError(
                f'{spec.name} must be a decimal string like "12.50", not {value!r}'
            ) from None
        if not amount.is_finite():
            raise GraphQLError(f"{spec.name} must be a finite amount, not {value!r}")
        return amount

    return serialize, parse


def _datetime(spec: Scalar) -> Codec:
    def serialize(value: Any) -> str:
        if isinstance(value, datetime):
            return value.isoformat()
        return str(value)

    def parse(value: Any) -> datetime:
        try:
            moment = datetime.fromisoformat(value)
        except (TypeError, ValueError):
            raise GraphQLError(
                f"{spec.name} must be an ISO 8601 date-time, not {value!r}"
            ) from None
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)

    return serialize, parse


def _date(spec: Scalar) -> Codec:
    def serialize(value: Any) -> str:
        return value.isoformat() if isinstance(value, date) else str(value)

    def parse(value: Any) -> date:
        try:
            return date.fromisoformat(value)
        except (TypeError, ValueError):
            raise GraphQLError(f"{spec.name} must be an ISO date, not {value!r}") from None

    return serialize, parse


def _plain(kind: type) -> Callable[[Scalar], Codec]:
    def codec(spec: Scalar) -> Codec:
        def convert(value: Any) -> Any:
            if kind is not str and isinstance(value, bool) and kind is not bool:
                raise GraphQLError(f"{spec.name} cannot represent {value!r}")
            try:
                return kind(value)
            except (TypeError, ValueError):
                raise GraphQLError(f"{spec.name} cannot represent {value!r}") from None

        return convert, convert

    return codec


_KINDS: dict[str, Callable[[Scalar], Codec]] = {
    "decimal": _decimal,
    "datetime": _datetime,
    "date": _date,
    "string": _plain(str),
    "int": _plain(int),
    "float": _plain(float),
    "boolean": _plain(bool),
}
