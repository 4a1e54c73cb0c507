"""How a value is written before owners are asked for it: a fixed library of normalisers.

A lookup names one (`normalise: e164`), and so may a mutation's input
(`format: phone`): a value that cannot be written so is BAD_USER_INPUT
naming the argument, and no owner is asked.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import phonenumbers

from .errors import BadUserInput

Normaliser = Callable[[str, str], str]
"""(argument, value) -> the value as owners index it; raises BadUserInput."""


def e164(region: str | None) -> Normaliser:
    """A phone number written any way, as E.164; without a country code, in `region`."""

    def normalise(argument: str, value: str) -> str:
        try:
            number = phonenumbers.parse(value, region)
        except phonenumbers.NumberParseException:
            number = None
        if number is None or not phonenumbers.is_possible_number(number):
            hint = "" if region else " (write it with its country code, e.g. +44...)"
            raise BadUserInput(argument, f"{value!r} is not a phone number{hint}")
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)

    return normalise


_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def email(argument: str, value: str) -> str:
    """Trimmed and lower-cased; BAD_USER_INPUT naming it when it is not an address."""
    address = value.strip().lower()
    if len(address) > 254 or not _EMAIL.match(address):
        raise BadUserInput(argument, f"{value!r} is not an e-mail address")
    return address


def trim(argument: str, value: str) -> str:
    """Spaces at either end removed; a blank value is refused."""
    text = value.strip()
    if not text:
        raise BadUserInput(argument, "cannot be blank")
    return text


def upper(argument: str, value: str) -> str:
    """A code: trimmed, inner spaces removed and upper-cased (`ct-0001 ` -> `CT-0001`)."""
    return "".join(trim(argument, value).split()).upper()


def none(argument: str, value: str) -> str:
    """The value as given."""
    return value


def normaliser(name: str, region: str | None) -> Normaliser:
    """The normaliser the map names (`e164`, `email`, `trim`, `upper`, `none`)."""
    if name == "e164":
        return e164(region)
    return {"email": email, "trim": trim, "upper": upper, "none": none}[name]
