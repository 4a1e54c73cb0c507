"""Lookups: find entities by a value (a phone number, a contract number...), asking owners.

Every owner the map declares for a lookup is asked at once; nothing is
indexed locally. What each found is merged into ranked matches
(`matching`), and composed into the answer the SDL asks for: the lookup's
answer (the value as normalised, the matches, the best), the matches alone,
the best entity, or the entities in order.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

from ownergraph.ownership import Lookup, LookupOwner

from .context import Context
from .errors import BadUserInput, Forbidden
from .freshness import Stale
from .matching import Evidence, Match, best, evidence, merge
from .normalise import normaliser
from .owned import EntityRef, Info, load_record


@dataclass(frozen=True)
class MatchValue:
    """One match of a lookup: the entity found, how sure, which owner's datum matched."""

    entity: EntityRef
    confidence: float
    matched_by: list[str]


@dataclass(frozen=True)
class LookupAnswer:
    """A lookup's whole answer: the value as asked (normalised), every match, the best."""

    value: str
    matches: list[MatchValue]
    best: EntityRef | None


def normalised(context: Context, lookup: Lookup, argument: str, value: str) -> str:
    """`value` written as the lookup's owners index it, or BAD_USER_INPUT naming `argument`."""
    normalise = normaliser(lookup.normalise, context.gateway.phone_region)
    return normalise(argument, value)


async def ask(
    context: Context, lookup: Lookup, value: str, owners: Sequence[LookupOwner] | None = None
) -> list[Evidence]:
    """Ask every owner of `lookup` (or those given) for `value` at once; failed ones add nothing.

    Each (owner, lookup, value) is asked once per request, however many fields need it.
    """
    chosen = lookup.owners if owners is None else owners
    sources = context.gateway.sources
    asking = []
    for owner in chosen:
        key = (owner.owner, owner.entity, value)
        search = context.searches.get(key)
        if search is None:
            search = asyncio.ensure_future(
                sources[owner.owner].search(owner.entity, value, context.report, context.deadline)
            )
            context.searches[key] = search
        asking.append(search)
    replies = await asyncio.gather(*asking)
    found = [
        evidence(
            owner.owner,
            owner.datum,
            owner.weight,
            sources[owner.owner].config.entities[owner.entity].key_field,
            reply,
        )
        for owner, reply in zip(chosen, replies, strict=True)
    ]
    return [item for item in found if item is not None]


def answer(lookup: Lookup, value: str, found: Sequence[Evidence]) -> LookupAnswer:
    """The matches of what the owners found, most likely first, and the clear best if any."""
    merged = merge(found)
    top = best(merged)
    matches = [match_value(lookup, m) for m in merged]
    chosen = next((m.entity for m in matches if top and m.entity.key == top.key), None)
    return LookupAnswer(value=value, matches=matches, best=chosen)


async def composed_matches(root: EntityRef, info: Info) -> list[MatchValue] | None:
    """Other entities the field's owner finds by this entity's own values (likely duplicates)."""
    context: Context = info.context
    plan = context.plan.field(root.type_name, info.field_name)
    if not plan.allowed:
        raise Forbidden(plan.ownership.coordinate)
    ownership = context.gateway.ownership
    searches = []
    for name, source_field in (plan.ownership.lookup or {}).items():
        lookup = ownership.lookups[name]
        source_plan = context.plan.field(root.type_name, source_field)
        record = await load_record(context, source_plan, root, ())
        if isinstance(record, Stale):
            record = record.value
        values = source_plan.value(record) if isinstance(record, dict) else None
        owners = [owner for owner in lookup.owners if owner.owner == plan.owner]
        for value in dict.fromkeys(
            values if isinstance(values, list) else [values] if values else []
        ):
            try:
                written = normalised(context, lookup, source_field, str(value))
            except BadUserInput:
                continue  # a value its own owner holds but cannot look up: nothing to find
            searches.append((lookup, ask(context, lookup, written, owners)))
    found = [item for batch in await asyncio.gather(*(s for _, s in searches)) for item in batch]
    if not searches:
        return []
    lookup = searches[0][0]
    others = [m for m in merge(found) if m.key != root.key]
    context.entities.update(m.key for m in others)
    return [match_value(lookup, m) for m in others]


def match_value(lookup: Lookup, match: Match) -> MatchValue:
    return MatchValue(
        entity=EntityRef(lookup.finds, match.key),
        confidence=match.confidence,
        matched_by=list(match.matched_by),
    )
