"""The Query root's fields, as the map declares them: by key, by keys, by lookup.

An entity exists when the owner of its key field knows the key (the
identity owner): asked first, while every other owner the selection needs
is already being asked (`prefetch`). A lookup asks every owner that can find
by the value at once, and answers in the shape the SDL gives the field.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Coroutine, Mapping
from enum import Enum
from typing import Any

from graphql import FieldNode

from ownergraph.ownership import Lookup, RootField
from ownergraph.sources import OwnerError

from .context import Context
from .errors import BadUserInput, Forbidden
from .lookups import LookupAnswer, answer, ask, normalised
from .owned import EntityRef, Info
from .plan import FieldPlan
from .prefetch import Prefetch
from .selection import Selections

MAX_KEY_LENGTH = 64
"""The longest key an entity may have, in characters."""

Resolver = Callable[..., Coroutine[Any, Any, Any]]


class Shape(Enum):
    """What a lookup root answers, from the type the SDL gives it."""

    ANSWER = "answer"
    """The lookup's answer type: the value, the matches, the best."""
    MATCHES = "matches"
    """A list of the match type."""
    BEST = "best"
    """The entity that is clearly the one, or null."""
    ENTITIES = "entities"
    """Every entity found, most likely first."""


def entity_root(root: RootField, *, many: bool) -> Resolver:
    """The resolver of a root reading one entity by its key (or a list of them)."""
    assert root.entity is not None
    type_name = root.entity
    argument = root.by

    async def resolve(_source: Any, info: Info, **args: Any) -> Any:
        given = args[argument]
        if not many:
            found = await _find(info, type_name, [checked_key(argument, given)])
            return found[0]
        if root.maximum is not None and len(given) > root.maximum:
            raise BadUserInput(argument, f"at most {root.maximum} keys per query, got {len(given)}")
        return await _find(info, type_name, [checked_key(argument, key) for key in given])

    return resolve


def lookup_root(root: RootField, lookup: Lookup, shape: Shape, parts: dict[str, str]) -> Resolver:
    """The resolver of a root answering `lookup` for its argument, in `shape`.

    `parts` names the SDL fields of the composed types: which field of the
    answer type holds the matches and the best, which of the match type the
    entity (what the prefetch follows).
    """
    argument = root.by

    async def resolve(_source: Any, info: Info, **args: Any) -> Any:
        context: Context = info.context
        identity_plan(context, lookup.finds)
        value = normalised(context, lookup, argument, args[argument])
        result = answer(lookup, value, await ask(context, lookup, value))
        context.entities.update(match.entity.key for match in result.matches)
        _prefetch_answer(info, lookup, result, shape, parts)
        if shape is Shape.ANSWER:
            return result
        if shape is Shape.MATCHES:
            return result.matches
        if shape is Shape.BEST:
            return result.best
        return [match.entity for match in result.matches]

    return resolve


def _prefetch_answer(
    info: Info, lookup: Lookup, result: LookupAnswer, shape: Shape, parts: dict[str, str]
) -> None:
    selections = selections_of(info)
    nodes: list[FieldNode] = list(info.field_nodes)
    entity_field = parts.get("entity")
    if shape is Shape.ANSWER:
        under: list[FieldNode] = []
        if parts.get("best"):
            under += selections.under(nodes, parts["best"])
        if parts.get("matches") and entity_field:
            under += selections.under(nodes, parts["matches"], entity_field)
    elif shape is Shape.MATCHES:
        under = selections.under(nodes, entity_field) if entity_field else []
    else:
        under = nodes
    refs = [match.entity for match in result.matches]
    Prefetch(info.context, selections).entities(lookup.finds, refs, under)


async def _find(info: Info, type_name: str, keys: list[str]) -> list[EntityRef | None]:
    """The entities of `type_name` under `keys`, in order; None where none exists."""
    context: Context = info.context
    identity = identity_plan(context, type_name)
    # A key that cannot be one (the map's pattern) is no entity: no owner is asked.
    pattern = identity.ownership.pattern
    possible = [k for k in keys if pattern is None or re.fullmatch(pattern, k)]
    refs = [EntityRef(type_name, k) for k in dict.fromkeys(possible)]
    context.entities.update(possible)
    Prefetch(context, selections_of(info)).entities(type_name, refs, info.field_nodes)
    loader = context.loader(identity)
    records = await asyncio.gather(*(loader.load(r.key) for r in refs), return_exceptions=True)
    found = {ref.key: existing(ref, record) for ref, record in zip(refs, records, strict=True)}
    return [found.get(k) for k in keys]


def existing(ref: EntityRef, record: Any) -> EntityRef | None:
    """`ref` if the identity owner's `record` says the entity exists (or cannot say)."""
    if isinstance(record, OwnerError):
        # The identity owner failed, so whether the entity exists is unknown:
        # answer with what the other owners know, and its own fields carry the error.
        return ref
    if isinstance(record, BaseException):
        raise record
    return ref if record is not None else None


def checked_key(argument: str, value: Any) -> str:
    text = str(value).strip()
    if not text:
        raise BadUserInput(argument, "a key cannot be empty")
    if len(text) > MAX_KEY_LENGTH:
        raise BadUserInput(argument, f"a key has at most {MAX_KEY_LENGTH} characters")
    return text


def identity_plan(context: Context, type_name: str) -> FieldPlan:
    entry = context.gateway.ownership.types[type_name]
    identity = context.plan.field(type_name, entry.key)
    if not identity.allowed:
        # Whether an entity exists is itself personal data: no lookup at all.
        raise Forbidden(identity.ownership.coordinate)
    return identity


def selections_of(info: Info) -> Selections:
    """The document's selections as `info`'s operation runs them: fragments, variables."""
    variables: Any = info.variable_values
    coerced: Mapping[str, Any] = getattr(variables, "coerced", variables)
    return Selections(info.fragments, coerced)
