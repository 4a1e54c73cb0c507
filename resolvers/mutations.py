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
from dataclasses import dataclass
from enum import Enum
from typing import Any
from urllib.parse import quote

from ownergraph.sources import OwnerError, dig

from .errors import BadUserInput, Forbidden
from .lookups import CUSTOMER, MAX_ID_LENGTH, normalise_email, normalise_phone
from .owned import EntityRef, Info

_KEY = re.compile(r"^[A-Za-z0-9_\-:.]{8,128}$")
_PLACEHOLDER = re.compile(r"\{(\w+)\}")
# Longest text each input field may carry, in characters.
MAX_LENGTH = {"displayName": 200, "subject": 200, "description": 5_000, "summary": 2_000}


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
    mutation = context.gateway.ownership.mutations[name]
    if not mutation.writable_by(context.viewer.roles):
        raise Forbidden(f"Mutation.{name}", "call")
    if not _KEY.match(idempotency_key):
        raise BadUserInput(
            "idempotencyKey", "must be 8 to 128 letters, digits or - _ : . characters"
        )
    names = info.schema.config.name_converter
    values = _checked(_graphql_values(input, names.get_graphql_name), context.gateway.phone_region)
    body: dict[str, Any] = {}
    for field, mapping in mutation.inputs.items():
        if field in values and mapping.to is not None:
            value = values[field]
            if isinstance(value, Enum):
                words = mapping.values or {}
                value = words.get(value.name, value.name.lower())
            body[mapping.to] = value
    path = _PLACEHOLDER.sub(lambda m: quote(str(values[m.group(1)]), safe=""), mutation.path)
    if "customerId" in values:
        context.customers.add(str(values["customerId"]))
    source = context.gateway.sources[mutation.owner]
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
    # Whatever this request read before the write is not the owner's truth any more.
    context.forget()
    return await _read_back(info, mutation.results, values, reply)


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


def _checked(values: dict[str, Any], region: str) -> dict[str, Any]:
    """Values as the owner must get them, or BAD_USER_INPUT naming the field."""
    checked = dict(values)
    customer_id = values.get("customerId")
    if customer_id is not None and not (0 < len(str(customer_id).strip()) <= MAX_ID_LENGTH):
        raise BadUserInput("input.customerId", "must be a customer id of 1 to 64 characters")
    for field, longest in MAX_LENGTH.items():
        text = values.get(field)
        if text is not None and not 0 < len(text.strip()) <= longest:
            raise BadUserInput(f"input.{field}", f"must be 1 to {longest} characters")
    if "emails" in values:
        checked["emails"] = [
            _at(f"input.emails[{i}]", normalise_email, value)
            for i, value in enumerate(values["emails"])
        ]
    if "phones" in values:
        checked["phones"] = [
            _at(f"input.phones[{i}]", lambda v: normalise_phone(v, region), value)
            for i, value in enumerate(values["phones"])
        ]
    duration = values.get("durationSeconds")
    if duration is not None and duration < 0:
        raise BadUserInput("input.durationSeconds", "must be 0 or more")
    return checked


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
