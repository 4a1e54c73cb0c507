"""Root lookups: find customers by id, ask their identity owner that they exist."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import phonenumbers
from graphql import GraphQLObjectType

from ownergraph.sources import OwnerError

from .context import Context
from .errors import BadUserInput, Forbidden
from .freshness import Stale
from .matching import Evidence, Match, best, evidence, merge
from .owned import MAX_LIST, EntityRef, Info, load_record, prefetch, selections_of
from .plan import FieldPlan

if TYPE_CHECKING:
    from ownergraph.schema.ownership import Lookup

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
    identity = _identity(context)
    # An id that cannot be one (the map's pattern) is no customer: no owner is asked.
    pattern = identity.ownership.pattern
    possible = [i for i in ids if pattern is None or re.fullmatch(pattern, i)]
    refs = [EntityRef(CUSTOMER, i) for i in possible]
    context.customers.update(possible)
    prefetch(context, refs, selections_of(info), info._raw_info.field_nodes, _customer_type(info))
    loader = context.loader(identity)
    records = await asyncio.gather(*(loader.load(i) for i in possible), return_exceptions=True)
    found: dict[str, EntityRef | None] = {}
    for ref, record in zip(refs, records, strict=True):
        found[ref.id] = _existing(ref, record)
    return [found.get(i) for i in ids]


def _existing(ref: EntityRef, record: Any) -> EntityRef | None:
    """`ref` if the identity owner's `record` says the customer exists (or cannot say)."""
    if isinstance(record, OwnerError):
        # The identity owner failed, so whether the customer exists is unknown:
        # answer with what the other owners know, and its own fields carry the error.
        return ref
    if isinstance(record, BaseException):
        raise record
    return ref if record is not None else None


def _check_id(argument: str, value: str) -> str:
    value = value.strip()
    if not value:
        raise BadUserInput(argument, "a customer id cannot be empty")
    if len(value) > MAX_ID_LENGTH:
        raise BadUserInput(argument, f"a customer id has at most {MAX_ID_LENGTH} characters")
    return value


def _customer_type(info: Info) -> GraphQLObjectType:
    gql_type = info.schema._schema.type_map[CUSTOMER]
    assert isinstance(gql_type, GraphQLObjectType)
    return gql_type


def _identity(context: Context) -> FieldPlan:
    identity = context.plan.field(CUSTOMER, "id")
    if not identity.allowed:
        # Whether a customer exists is itself personal data: no lookup at all.
        raise Forbidden(identity.ownership.coordinate)
    return identity


@dataclass(frozen=True)
class CustomerMatch:
    """A customer a lookup found: how sure, and which owner's datum matched."""

    customer: EntityRef
    confidence: float
    matched_by: list[str]


@dataclass(frozen=True)
class CallerLookup:
    phone: str
    matches: list[CustomerMatch]
    best: EntityRef | None


async def customer_by_phone(info: Info, phone: str) -> CallerLookup:
    """Who owns this number, asked at once of every owner with a phone lookup."""
    context = info.context
    _identity(context)
    e164 = normalise_phone(phone, context.gateway.phone_region)
    found = await _look_up(
        context, "phone", e164, context.gateway.ownership.lookups.get("phone", ())
    )
    matches = [_as_match(m) for m in merge(found)]
    top = best(merge(found))
    selections = selections_of(info)
    nodes = info._raw_info.field_nodes
    refs = [m.customer for m in matches]
    prefetch(
        context,
        refs,
        selections,
        [*selections.under(nodes, "best"), *selections.under(nodes, "matches", "customer")],
        _customer_type(info),
    )
    return CallerLookup(
        phone=e164,
        matches=matches,
        best=next((m.customer for m in matches if top and m.customer.id == top.customer_id), None),
    )


async def customers_by_email(info: Info, email: str) -> list[CustomerMatch]:
    """Who has this e-mail address, asked at once of every owner with an e-mail lookup."""
    context = info.context
    _identity(context)
    address = normalise_email(email)
    found = await _look_up(
        context, "email", address, context.gateway.ownership.lookups.get("email", ())
    )
    matches = [_as_match(m) for m in merge(found)]
    selections = selections_of(info)
    prefetch(
        context,
        [m.customer for m in matches],
        selections,
        selections.under(info._raw_info.field_nodes, "customer"),
        _customer_type(info),
    )
    return matches


async def possible_duplicates(root: EntityRef, info: Info) -> list[CustomerMatch] | None:
    """Other records of the field's owner sharing a phone number or e-mail with `root`."""
    context = info.context
    plan = context.plan.field(root.type_name, info.field_name)
    if not plan.allowed:
        raise Forbidden(plan.ownership.coordinate)
    owner = plan.owner
    kinds = plan.ownership.lookup or ()
    values: list[tuple[str, str]] = []
    for kind, field_name in (("phone", "phones"), ("email", "emails")):
        if kind not in kinds:
            continue
        source_plan = context.plan.field(root.type_name, field_name)
        record = await load_record(context, source_plan, root, ())
        if isinstance(record, Stale):
            record = record.value
        for value in (source_plan.value(record) if record is not None else None) or ():
            values.append((kind, value if kind == "phone" else normalise_email(value)))
    lookups = context.gateway.ownership.lookups
    searches = [
        _look_up(context, kind, value, [lk for lk in lookups.get(kind, ()) if lk.owner == owner])
        for kind, value in dict.fromkeys(values)
    ]
    found = [item for batch in await asyncio.gather(*searches) for item in batch]
    others = [m for m in merge(found) if m.customer_id != root.id]
    context.customers.update(m.customer_id for m in others)
    return [_as_match(m) for m in others]


async def _look_up(
    context: Context, kind: str, value: str, lookups: Sequence[Lookup]
) -> list[Evidence]:
    """Ask every owner in `lookups` for `value` at once; failed owners add nothing."""
    sources = context.gateway.sources
    replies = await asyncio.gather(
        *(
            sources[lookup.owner].search(lookup.entity, value, context.report, context.deadline)
            for lookup in lookups
        )
    )
    found = [
        evidence(
            lookup.owner,
            lookup.datum,
            lookup.weight,
            sources[lookup.owner].config.entities[lookup.entity].key_field,
            reply,
        )
        for lookup, reply in zip(lookups, replies, strict=True)
    ]
    return [item for item in found if item is not None]


def _as_match(match: Match) -> CustomerMatch:
    return CustomerMatch(
        customer=EntityRef(CUSTOMER, match.customer_id),
        confidence=match.confidence,
        matched_by=list(match.matched_by),
    )


def normalise_phone(phone: str, region: str) -> str:
    """E.164 for a number written any way; BAD_USER_INPUT naming it otherwise."""
    try:
        number = phonenumbers.parse(phone, region)
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_possible_number(number):
        raise BadUserInput("phone", f"{phone!r} is not a phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def normalise_email(email: str) -> str:
    """Trimmed and lower-cased; BAD_USER_INPUT naming it when it is not an address."""
    address = email.strip().lower()
    if len(address) > 254 or not _EMAIL.match(address):
        raise BadUserInput("email", f"{email!r} is not an e-mail address")
    return address
