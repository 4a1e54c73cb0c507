"""Custom scalars of the customer graph."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import NewType

import strawberry
from strawberry.types.scalar import ScalarDefinition


def _serialize_money(value: Decimal) -> str:
    return f"{value:.2f}"


def _parse_money(value: object) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValueError(f'Money must be a decimal string like "12.50", not {value!r}')
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise ValueError(f'Money must be a decimal string like "12.50", not {value!r}') from None
    if not amount.is_finite():
        raise ValueError(f"Money must be a finite amount, not {value!r}")
    return amount


Money = NewType("Money", Decimal)
"""An exact amount of money; a `Decimal` in Python, a decimal string on the wire."""

SCALAR_MAP: dict[object, ScalarDefinition] = {
    Money: strawberry.scalar(
        name="Money",
        description=(
            'An exact amount of money as a decimal string with two decimals, e.g. "1250.00". '
            "Never a float. The currency is on the object that holds the amount."
        ),
        serialize=_serialize_money,
        parse_value=_parse_money,
    )
}
