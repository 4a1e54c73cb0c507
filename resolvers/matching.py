"""Lookups: merge what each owner found into ranked matches.

Matches from different owners pointing to the same key are one match. Its
confidence grows with every independent owner that agrees
(1 - the product of each owner's doubt) and shrinks when an owner found
several people for the same value: two CRM records sharing a number are two
matches of lower confidence, so the agent sees the ambiguity. `best` is the
top match only when it is clearly ahead.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from ownergraph.sources import OwnerError, dig

BEST_AT_LEAST = 0.5
"""A match must be at least this sure to be `best`..."""
BEST_MARGIN = 0.2
"""...and this far ahead of the next one."""


@dataclass(frozen=True)
class Evidence:
    """What one owner's lookup said: the ids it found for the value."""

    owner: str
    datum: str
    weight: float
    ids: tuple[str, ...]


@dataclass(frozen=True)
class Match:
    key: str
    confidence: float
    matched_by: tuple[str, ...]


def evidence(
    owner: str, datum: str, weight: float, id_field: Sequence[str], found: list[Any] | OwnerError
) -> Evidence | None:
    """The ids an owner's reply names, once each; None for a failed owner."""
    if isinstance(found, OwnerError):
        return None
    ids: dict[str, None] = {}
    for record in found:
        value = dig(record, id_field)
        if value is not None:
            ids[str(value)] = None
    return Evidence(owner, datum, weight, tuple(ids))


def merge(found: Iterable[Evidence]) -> list[Match]:
    """One match per entity, most confident first (ties by key, for a stable order)."""
    doubt: dict[str, float] = {}
    matched_by: dict[str, set[str]] = {}
    for item in found:
        if not item.ids:
            continue
        # An owner that found several people for one value vouches less for each.
        share = item.weight / len(item.ids)
        for key in item.ids:
            doubt[key] = doubt.get(key, 1.0) * (1.0 - share)
            matched_by.setdefault(key, set()).add(f"{item.owner}.{item.datum}")
    matches = [
        Match(key, round(1.0 - remaining, 4), tuple(sorted(matched_by[key])))
        for key, remaining in doubt.items()
    ]
    return sorted(matches, key=lambda m: (-m.confidence, m.key))


def best(matches: Sequence[Match]) -> Match | None:
    """The top match when it is clearly the one; None when it is not clear."""
    if not matches or matches[0].confidence < BEST_AT_LEAST:
        return None
    if len(matches) > 1 and matches[0].confidence - matches[1].confidence < BEST_MARGIN:
        return None
    return matches[0]
