"""Writes: checked here, sent once to the one owner, read back fresh from it.

Everything the gateway can check is checked before the owner is called
(roles, the idempotency key, e-mail syntax, phone numbers, lengths), and a
problem is BAD_USER_INPUT naming the input field. The write goes to the
mutation's owner with the client's idempotency key and is never retried
here; an answer that never came is OUTCOME_UNKNOWN. The payload is read back
from the owner: the client sees the owner's truth, not an echo of its input.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from ownergraph.sources import OwnerError, OwnerRejected, dig

from .errors import BadUserInput, Forbidden
from .lookups import CUSTOMER, MAX_ID_LENGTH, normalise_email, normalise_phone
from .owned import EntityRef, Info

if TYPE_CHECKING:
    from ownergraph.schema.ownership import (
        FieldOwnership,
        InputMapping,
        MutationOwnership,
        Ownership,
    )

_KEY = re.compile(r"^[A-Za-z0-9_\-:.]{8,128}$")
_PLACEHOLDER = re.compile(r"\{(\w+)\}")


@dataclass
class Payload:
    """A mutation's answer: its fields by python name, as strawberry reads them."""

    customer: Any = None
    ticket: Any = None
    interaction: Any = None


async def write(info: Info, input: Any, idempotency_key: str) -> Payload:
    """Run the mutation `info` points at, as the ownership map declares it."""
    context = info.context
    name = info.field_name
    ownership = context.gateway.ownership
    mutation = ownership.mutations[name]
    if not mutation.writable_by(context.viewer.roles):
        raise Forbidden(f"Mutation.{name}", "call")
    if not _KEY.match(idempotency_key):
        raise BadUserInput(
            "idempotencyKey", "must be 8 to 128 letters, digits or - _ : . characters"
        )
    names = info.schema.config.name_converter
    values = _graphql_values(input, names.get_graphql_name)
    checked = {
        field: _checked(mapping, values[field], values, ownership, context.gateway.phone_region)
        for field, mapping in mutation.inputs.items()
        if field in values
    }
    body: dict[str, Any] = {}
    for field, mapping in mutation.inputs.items():
        if field in checked and mapping.to is not None:
            body[mapping.to] = _owner_value(mapping, checked[field])
    path = _PLACEHOLDER.sub(lambda m: quote(str(checked[m.group(1)]), safe=""), mutation.path)
    context.customers.update(
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
    return await _read_back(info, mutation.results, checked, reply)


async def _read_back(info: Info, results: Any, values: dict[str, Any], reply: Any) -> Payload:
    context = info.context
    payload = Payload()
    payload_type = info.schema._schema.type_map[info.return_type.__strawberry_definition__.name]  # type: ignore[union-attr]
    reads = []
    for name, result in results.items():
        origin, _, field = result.key_from.partition(".")
        key = values.get(field) if origin == "input" else dig(reply, field.split("."))
        if key is None:
            continue
        if result.entity is None:
            setattr(payload, name, EntityRef(CUSTOMER, str(key)))
            continue
        type_name = _named(payload_type.fields[name].type).name  # type: ignore[attr-defined]
        reads.append((name, type_name, result.entity, str(key)))
    owner = context.gateway.ownership.mutations[info.field_name].owner
    source = context.gateway.sources[owner]
    fetched = await asyncio.gather(
        *(
            source.fetch(entity, [key], None, context.report, context.deadline)
            for _, _, entity, key in reads
        )
    )
    for (name, type_name, _, _), [record] in zip(reads, fetched, strict=True):
        if isinstance(record, OwnerError):
            raise record
        setattr(payload, name, None if record is None else context.plan.record(type_name, record))
    return payload


def _graphql_values(input: Any, graphql_name: Any) -> dict[str, Any]:
    """The input object's given fields by GraphQL name (as the map names them)."""
    values = {}
    for field in input.__strawberry_definition__.fields:
        value = getattr(input, field.python_name)
        if value is not None:
            values[graphql_name(field)] = value
    return values


def _checked(
    mapping: InputMapping,
    value: Any,
    values: Mapping[str, Any],
    ownership: Ownership,
    region: str,
) -> Any:
    """`value` as the owner must get it, or BAD_USER_INPUT naming the input field."""
    where = f"input.{mapping.name}"
    if mapping.id_of is not None:
        _check_id(where, str(value), ownership.types[mapping.id_of].fields["id"])
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
        chosen_name = chosen.name if isinstance(chosen, Enum) else chosen
        if chosen_name not in allowed:
            raise BadUserInput(
                where,
                f"is only given with {other} {' or '.join(sorted(allowed))}, "
                f"not with {other} {chosen_name}",
            )
    if isinstance(value, Enum) and mapping.values is not None and value.name not in mapping.values:
        owner_knows = ", ".join(mapping.values)
        raise BadUserInput(where, f"{value.name} is not one the owner knows ({owner_knows})")
    if mapping.format is None:
        return value
    normalise = _NORMALISERS[mapping.format]
    if isinstance(value, list):
        return [_at(at, lambda v: normalise(v, region), item) for at, item in _items(where, value)]
    return _at(where, lambda v: normalise(v, region), value)


def _check_id(where: str, value: str, identity: FieldOwnership) -> None:
    text = value.strip()
    if not 0 < len(text) <= MAX_ID_LENGTH:
        raise BadUserInput(where, f"must be an id of 1 to {MAX_ID_LENGTH} characters")
    if identity.pattern is not None and not re.fullmatch(identity.pattern, text):
        raise BadUserInput(
            where, f"{value!r} is not a {identity.type_name} id (they match {identity.pattern})"
        )


def _items(where: str, value: Any) -> list[tuple[str, Any]]:
    if isinstance(value, list):
        return [(f"{where}[{i}]", item) for i, item in enumerate(value)]
    return [(where, value)]


_NORMALISERS: dict[str, Callable[[str, str], str]] = {
    "email": lambda value, region: normalise_email(value),
    "phone": normalise_phone,
}


def _owner_value(mapping: InputMapping, value: Any) -> Any:
    """An input value in the owner's words: an enum as the map says, or its name in lower case."""
    if isinstance(value, Enum):
        words = mapping.values or {}
        return words.get(value.name, value.name.lower())
    return value


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


def _at(argument: str, check: Any, value: str) -> str:
    try:
        result: str = check(value)
    except BadUserInput as error:
        raise BadUserInput(argument, str(error).split(": ", 1)[-1]) from None
    return result


def _named(gql_type: Any) -> Any:
    while hasattr(gql_type, "of_type"):
        gql_type = gql_type.of_type
    return gql_type
