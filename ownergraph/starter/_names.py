"""Names for a starter graph, from the words owners use: camelCase, PascalCase, snake_case.

GraphQL names must match ``[_A-Za-z][_0-9A-Za-z]*``, a system's name
``[a-z][a-z0-9_]*``; an owner's words (``display_name``, ``Work-Orders``,
``customerIds``) are cut into words first, then joined the way each needs.
"""

from __future__ import annotations

import re
from collections.abc import Collection

_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+[a-z]*")
_GRAPHQL_NAME = re.compile(r"^[_A-Za-z][_0-9A-Za-z]*$")


def words(text: str) -> list[str]:
    """The words of `text`, lower-cased: ``"customerIds"`` and ``"customer_ids"`` alike."""
    return [word.lower() for word in _WORD.findall(text)]


def snake(text: str) -> str:
    """``display_name`` from ``displayName``, ``Display Name`` or ``display-name``."""
    return "_".join(words(text))


def camel(text: str) -> str:
    """``displayName`` from ``display_name``; a leading digit gets an underscore."""
    parts = words(text)
    if not parts:
        return "_"
    joined = parts[0] + "".join(part.capitalize() for part in parts[1:])
    return f"_{joined}" if joined[0].isdigit() else joined


def pascal(text: str) -> str:
    """``WorkOrder`` from ``work_order``; a leading digit gets an underscore."""
    joined = "".join(part.capitalize() for part in words(text))
    if not joined:
        return "_"
    return f"_{joined}" if joined[0].isdigit() else joined


def constant(text: str) -> str:
    """An enum value's name: ``IN_PROGRESS`` from ``in-progress`` or ``inProgress``."""
    joined = "_".join(words(text)).upper()
    if not joined:
        return ""
    return f"_{joined}" if joined[0].isdigit() else joined


def slug(text: str) -> str:
    """A system's name, ``^[a-z][a-z0-9_]*$``: ``demo_billing`` from ``Demo Billing``."""
    joined = "_".join(re.findall(r"[a-z0-9]+", text.lower()))
    if not joined:
        return "system"
    return f"s_{joined}" if joined[0].isdigit() else joined


def singular(word: str) -> str:
    """``invoice`` from ``invoices``, ``entry`` from ``entries``: good enough for names."""
    lowered = word.lower()
    if lowered.endswith("ies") and len(word) > 3:
        return word[:-3] + ("Y" if word[-3].isupper() else "y")
    if lowered.endswith(("sses", "xes", "ches", "shes", "zes")):
        return word[:-2]
    if lowered.endswith("s") and not lowered.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def plural(word: str) -> str:
    """``invoices`` from ``invoice``, ``entries`` from ``entry``."""
    lowered = word.lower()
    if lowered.endswith("y") and len(word) > 1 and lowered[-2] not in "aeiou":
        return word[:-1] + "ies"
    if lowered.endswith(("s", "x", "ch", "sh", "z")):
        return word + "es"
    return word + "s"


def is_graphql_name(name: str) -> bool:
    return bool(_GRAPHQL_NAME.match(name)) and not name.startswith("__")


def unique(name: str, taken: Collection[str]) -> str:
    """`name`, or `name2`, `name3`... the first not in `taken`."""
    if name not in taken:
        return name
    number = 2
    while f"{name}{number}" in taken:
        number += 1
    return f"{name}{number}"
