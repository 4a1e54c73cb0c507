"""Writes: checked here, sent once to the one owner, read back fresh from it.

Everything the map lets the gateway check is checked before the owner is
called (roles, the idempotency key, each input's declared checks), and a
problem is BAD_USER_INPUT naming the input field. The write goes to the
mutation's owner with the client's idempotency key and is never retried
here; an answer that never came is OUTCOME_UNKNOWN. The payload is read back
from the owner: the client sees the owner's truth, not an echo of its input.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from ownergraph.ownership import (
    FieldOwnership,
    InputMapping,
    MutationOwnership,
    Ownership,
    TypeKind,
)
from ownergraph.sources import OwnerError, OwnerRejected, dig

from .context import Context
from .errors import BadUserInput, Forbidden
from .normalise import email, normaliser
from .owned import EntityRef, Info
from .roots import MAX_KEY_LENGTH

_KEY = re.compile(r"^[A-Za-z0-9_\-:.]{8,128}$")
_PLACEHOLDER = re.compile(r"\{(\w+)\}")

Resolver = Callable[..., Coroutine[Any, Any, Any]]


@dataclass(frozen=True)
class Write:
    """What the schema builder knows of a mutation beyond the map: its SDL names and types."""

    mutation: MutationOwnership
    input_argument: str
    key_argument: str
    enums: frozenset[str]
    """The input fields that are enums: their values go to the owner in its words."""
    payload: Mapping[str, str]
    """Each payload field and the type it returns (an entity or a value type)."""


def write_root(write: Write) -> Resolver:
    """The resolver of a mutation, as the map declares it."""

    async def resolve(_source: Any, info: Info, **args: Any) -> dict[str, Any]:
        return await _write(info, write, args[write.input_argument], args[write.key_argument])

    return resolve


async def _write(
    info: Info, write: Write, values: Mapping[str, Any], idempotency_key: str
) -> dict[str, Any]:
    context: Context = info.context
    mutation = write.mutation
    name = mutation.name
    ownership = context.gateway.ownership
    if not mutation.writable_by(context.viewer.roles):
        raise Forbidden(f"Mutation.{name}", "call")
    if not _KEY.match(idempotency_key):
        raise BadUserInput(
            write.key_argument, "must be 8 to 128 letters, digits or - _ : . characters"
        )
    given = {field: value for field, value in values.items() if value is not None}
    checked = {
        field: _checked(mapping, given[field], given, ownership, context.gateway.phone_region)
        for field, mapping in mutation.inputs.items()
        if field in given
    }
    body: dict[str, Any] = {}
    for field, mapping in mutation.inputs.items():
        if field in checked and mapping.to is not None:
            body[mapping.to] = _owner_value(mapping, checked[field], field in write.enums)
    path = _PLACEHOLDER.sub(lambda m: quote(str(checked[m.group(1)]), safe=""), mutation.path)
    context.entities.update(
        str(checked[field])
        for field, mapping in mutation.inputs.items()
        if mapping.id_of is not None and field in checked
    )
    source = context.gateway.sources[mutation.owner]
    try:
        reply = await source.write(
            mutation.method,
            path,
            body,
            idempotency_key,
            context.report,
            context.deadline,
            name=name,
            route=mutation.path,
        )
    except OwnerRejected as error:
        raise error.naming(_input_named(mutation, error.field)) from None
    # Whatever this request read before the write is not the owner's truth any more.
    context.forget()
    return await _read_back(context, write, checked, reply)


async def _read_back(
    context: Context, write: Write, values: Mapping[str, Any], reply: Any
) -> dict[str, Any]:
    payload: dict[str, Any] = {}
    reads = []
    ownership = context.gateway.ownership
    for name, result in write.mutation.results.items():
        origin, _, field = result.key_from.partition(".")
        key = values.get(field) if origin == "input" else dig(reply, field.split("."))
        type_name = write.payload.get(name)
        if key is None or type_name is None:
            payload[name] = None
            continue
        entry = ownership.types[type_name]
        if entry.kind is TypeKind.ENTITY:
            payload[name] = EntityRef(type_name, str(key))
            continue
        assert result.entity is not None  # the binder saw to it
        reads.append((name, type_name, result.entity, str(key)))
    source = context.gateway.sources[write.mutation.owner]
    fetched = await asyncio.gather(
        *(
            source.fetch(entity, [key], None, context.report, context.deadline)
            for _, _, entity, key in reads
        )
    )
    for (name, type_name, _, _), [record] in zip(reads, fetched, strict=True):
        if isinstance(record, OwnerError):
            raise record
        payload[name] = None if record is None else context.plan.record(type_name, record)
    return payload


def _checked(
    mapping: InputMapping,
    value: Any,
    values: Mapping[str, Any],
    ownership: Ownership,
    region: str | None,
) -> Any:
    """`value` as the owner must get it, or BAD_USER_INPUT naming the input field."""
    where = f"input.{mapping.name}"
    if mapping.id_of is not None:
        entry = ownership.types[mapping.id_of]
        _check_key(where, str(value), entry.fields[entry.key])
    if mapping.max_length is not None and not 0 < len(str(value).strip()) <= mapping.max_length:
        raise BadUserInput(where, f"must be 1 to {mapping.max_length} characters")
    if mapping.max_items is not None and len(value) > mapping.max_items:
        raise BadUserInput(where, f"holds {len(value)} items; at most {mapping.max_items}")
    if mapping.minimum is not None and value < mapping.minimum:
        raise BadUserInput(where, f"must be {mapping.minimum} or more")
    if mapping.pattern is not None:
        for at, item in _items(where, value):
            if not re.fullmatch(mapping.pattern, str(item)):
                raise BadUserInput(at, f"must match {mapping.pattern}")
    for other, allowed in mapping.only_when.items():
        chosen = values.get(other)
        if chosen not in allowed:
            raise BadUserInput(
                where,
                f"is only given with {other} {' or '.join(sorted(allowed))}, "
                f"not with {other} {chosen}",
            )
    if mapping.values is not None and isinstance(value, str) and value not in mapping.values:
        owner_knows = ", ".join(mapping.values)
        raise BadUserInput(where, f"{value} is not one the owner knows ({owner_knows})")
    if mapping.format is None:
        return value
    normalise = normaliser("e164", region) if mapping.format == "phone" else email
    if isinstance(value, list):
        return [normalise(at, item) for at, item in _items(where, value)]
    return normalise(where, value)


def _check_key(where: str, value: str, key_field: FieldOwnership) -> None:
    text = value.strip()
    if not 0 < len(text) <= MAX_KEY_LENGTH:
        raise BadUserInput(where, f"must be a key of 1 to {MAX_KEY_LENGTH} characters")
    if key_field.pattern is not None and not re.fullmatch(key_field.pattern, text):
        raise BadUserInput(
            where,
            f"{value!r} is not a {key_field.type_name} key (they match {key_field.pattern})",
        )


def _items(where: str, value: Any) -> list[tuple[str, Any]]:
    if isinstance(value, list):
        return [(f"{where}[{i}]", item) for i, item in enumerate(value)]
    return [(where, value)]


def _owner_value(mapping: InputMapping, value: Any, is_enum: bool) -> Any:
    """An input value in the owner's words: an enum as the map says, or its name in lower case."""
    if not is_enum:
        return value
    words = mapping.values or {}
    return words.get(value, str(value).lower())


_INDEXED = re.compile(r"^(?P<name>[^\[\]]+)(?P<index>(?:\[\d+\])*)$")


def _input_named(mutation: MutationOwnership, owner_field: str | None) -> str | None:
    """The input field (`input.phones[2]`) the owner's field (`phones[2]`) came from."""
    if owner_field is None:
        return None
    match = _INDEXED.match(owner_field)
    if match is None:
        return None
    for name, mapping in mutation.inputs.items():
        if mapping.to == match.group("name"):
            return f"input.{name}{match.group('index')}"
    return None
