"""Root lookups: find customers by id, ask their identity owner that they exist."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from sources import OwnerError

from .errors import BadUserInput, Forbidden
from .owned import MAX_LIST, EntityRef, Info, prefetch

CUSTOMER = "Customer"
MAX_ID_LENGTH = 64


async def customer(info: Info, id: str) -> EntityRef | None:
    """The customer with universal id `id`, or None when its identity owner does not know it."""
    found = await _find(info, [_check_id("id", id)])
    return found[0]


async def customers(info: Info, ids: Sequence[str]) -> list[EntityRef | None]:
    """Customers by id, in the order asked; None where the identity owner knows no such id."""
    if len(ids) > MAX_LIST:
        raise BadUserInput("ids", f"at most {MAX_LIST} ids per query, got {len(ids)}")
    return await _find(info, [_check_id("ids", i) for i in ids])


async def _find(info: Info, ids: list[str]) -> list[EntityRef | None]:
    context = info.context
    identity = context.plan.field(CUSTOMER, "id")
    if not identity.allowed:
        # Whether a customer exists is itself personal data: no lookup at all.
        raise Forbidden(identity.ownership.coordinate)
    refs = [EntityRef(CUSTOMER, i) for i in ids]
    context.customers.update(ids)
    prefetch(context, refs, info)
    loader = context.loader(identity)
    records = await asyncio.gather(*(loader.load(i) for i in ids), return_exceptions=True)
    result: list[EntityRef | None] = []
    for ref, record in zip(refs, records, strict=True):
        if isinstance(record, OwnerError):
            # The identity owner failed, so whether the customer exists is unknown:
            # answer with what the other owners know, and its own fields carry the error.
            result.append(ref)
        elif isinstance(record, BaseException):
            raise record
        else:
            result.append(ref if record is not None else None)
    return result


def _check_id(argument: str, value: str) -> str:
    value = value.strip()
    if not value:
        raise BadUserInput(argument, "a customer id cannot be empty")
    if len(value) > MAX_ID_LENGTH:
        raise BadUserInput(argument, f"a customer id has at most {MAX_ID_LENGTH} characters")
    return value
