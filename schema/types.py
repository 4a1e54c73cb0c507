"""The types of the customer graph.

The shapes and descriptions live here; who owns each field, and where its value
is in the owner's record, lives in `ownership.yaml`. Customer fields resolve
through `resolvers.owned_value`, which asks the owner named in the map; fields
of value types (Invoice, Ticket...) are read from the owner's record that their
parent field fetched, so they stay synchronous and cheap.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import Enum
from typing import Annotated, Any

import strawberry

from ownergraph import resolvers
from ownergraph.resolvers import owned_value

from .scalars import Money

MAX_LIST = 100


@strawberry.enum(description="Where an invoice stands in the ERP.")
class InvoiceStatus(Enum):
    UNPAID = "unpaid"
    PAID = "paid"
    CANCELLED = "cancelled"


@strawberry.enum(description="Where a ticket stands in the helpdesk.")
class TicketStatus(Enum):
    OPEN = "open"
    PENDING = "pending"
    SOLVED = "solved"
    CLOSED = "closed"


@strawberry.enum(description="How urgent the helpdesk considers a ticket.")
class TicketPriority(Enum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


@strawberry.enum(description="The medium a contact went through.")
class Channel(Enum):
    PHONE = "phone"
    EMAIL = "email"
    CHAT = "chat"
    SMS = "sms"
    WEB = "web"


@strawberry.enum(description="Who started a contact.")
class Direction(Enum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"


@strawberry.type(description="A customer's postal address.")
class Address:
    street: str | None = strawberry.field(description="Street and number.")
    city: str | None = strawberry.field(description="City.")
    postcode: str | None = strawberry.field(description="Postal code.")
    country: str | None = strawberry.field(description="ISO 3166-1 alpha-2 country code.")


@strawberry.type(description="The customer's credit standing, as the ERP holds it now.")
class CreditStatus:
    credit_limit: Money | None = strawberry.field(description="Credit the customer is allowed.")
    balance: Money | None = strawberry.field(description="Sum of unpaid invoices.")
    overdue: Money | None = strawberry.field(description="Sum of unpaid invoices past due.")
    currency: str | None = strawberry.field(description="ISO 4217 currency of the amounts.")
    blocked: bool | None = strawberry.field(
        description="True when the ERP blocks new orders for this customer."
    )


@strawberry.type(description="An invoice issued to the customer.")
class Invoice:
    number: str | None = strawberry.field(description="Invoice number as printed.")
    status: InvoiceStatus | None = strawberry.field(description="Paid, unpaid or cancelled.")
    amount: Money | None = strawberry.field(description="Total amount due.")
    currency: str | None = strawberry.field(description="ISO 4217 currency of the amount.")
    issued_on: date | None = strawberry.field(description="Day the invoice was issued.")
    due_date: date | None = strawberry.field(description="Day payment is due.")
    paid_at: datetime | None = strawberry.field(description="When payment was recorded.")
    overdue: bool | None = strawberry.field(description="Unpaid and past its due date.")


@strawberry.type(description="A support ticket the customer raised.")
class Ticket:
    id: strawberry.ID | None = strawberry.field(description="The helpdesk's ticket number.")
    subject: str | None = strawberry.field(description="The ticket's subject line.")
    status: TicketStatus | None = strawberry.field(description="Where the ticket stands.")
    priority: TicketPriority | None = strawberry.field(description="How urgent it is.")
    channel: Channel | None = strawberry.field(description="How the ticket came in.")
    created_at: datetime | None = strawberry.field(description="When it was opened.")
    updated_at: datetime | None = strawberry.field(description="When it last changed.")


@strawberry.type(description="A call, chat, e-mail or message with the customer.")
class Interaction:
    id: strawberry.ID | None = strawberry.field(description="The contact center's id.")
    channel: Channel | None = strawberry.field(description="How the contact happened.")
    direction: Direction | None = strawberry.field(description="Who started it.")
    at: datetime | None = strawberry.field(description="When it started.")
    duration_seconds: int | None = strawberry.field(description="How long it lasted.")
    summary: str | None = strawberry.field(description="The agent's summary.")
    agent: str | None = strawberry.field(description="The agent who handled it.")


First = Annotated[
    int,
    strawberry.argument(description=f"How many to return, newest first (1 to {MAX_LIST})."),
]


@strawberry.type(
    description=(
        "A customer, as every owning system knows them right now. Each field is read from "
        "its owner when queried; a field whose owner fails is null with an error naming it."
    )
)
class Customer:
    id: strawberry.ID = strawberry.field(
        description='The universal customer id that links the systems, e.g. "C00042".'
    )

    @strawberry.field(description="The name to show for the customer.")
    async def display_name(self, info: strawberry.Info) -> str | None:
        return await owned_value(self, info)

    @strawberry.field(description="Given name.")
    async def first_name(self, info: strawberry.Info) -> str | None:
        return await owned_value(self, info)

    @strawberry.field(description="Family name.")
    async def last_name(self, info: strawberry.Info) -> str | None:
        return await owned_value(self, info)

    @strawberry.field(description="E-mail addresses, preferred first.")
    async def emails(self, info: strawberry.Info) -> list[str] | None:
        return await owned_value(self, info)

    @strawberry.field(description="Phone numbers in E.164 form, e.g. +390212345678.")
    async def phones(self, info: strawberry.Info) -> list[str] | None:
        return await owned_value(self, info)

    @strawberry.field(description="Customer segment: retail, business or vip.")
    async def segment(self, info: strawberry.Info) -> str | None:
        return await owned_value(self, info)

    @strawberry.field(description="Postal address.")
    async def address(self, info: strawberry.Info) -> Address | None:
        return await owned_value(self, info)

    @strawberry.field(description="The customer's code in the ERP: the crosswalk to it.")
    async def erp_code(self, info: strawberry.Info) -> str | None:
        return await owned_value(self, info)

    @strawberry.field(description="Credit standing. Null for customers the ERP does not know.")
    async def credit(self, info: strawberry.Info) -> CreditStatus | None:
        return await owned_value(self, info)

    @strawberry.field(description="Invoices, newest first. Null for customers not in the ERP.")
    async def invoices(
        self,
        info: strawberry.Info,
        status: Annotated[
            InvoiceStatus | None, strawberry.argument(description="Only invoices in this status.")
        ] = None,
        first: First = 20,
    ) -> list[Invoice] | None:
        return await owned_value(self, info, status=status, first=first)

    @strawberry.field(description="Support tickets, newest first.")
    async def tickets(
        self,
        info: strawberry.Info,
        status: Annotated[
            TicketStatus | None, strawberry.argument(description="Only tickets in this status.")
        ] = None,
        first: First = 20,
    ) -> list[Ticket] | None:
        return await owned_value(self, info, status=status, first=first)

    @strawberry.field(description="Calls, chats, e-mails and messages, newest first.")
    async def interactions(
        self,
        info: strawberry.Info,
        channel: Annotated[
            Channel | None, strawberry.argument(description="Only contacts on this channel.")
        ] = None,
        first: First = 20,
    ) -> list[Interaction] | None:
        return await owned_value(self, info, channel=channel, first=first)

    @strawberry.field(
        description=(
            "Other records of the identity owner that share a phone number or an e-mail "
            "address with this customer: probably the same person, entered twice. Asked of "
            "the owner now, never kept."
        )
    )
    async def possible_duplicates(self, info: strawberry.Info) -> list[CustomerMatch] | None:
        return await resolvers.possible_duplicates(self, info)  # type: ignore[arg-type, return-value]


@strawberry.type(description="A customer a lookup found, how sure it is, and why.")
class CustomerMatch:
    customer: Customer = strawberry.field(description="The customer found.")
    confidence: float = strawberry.field(
        description=(
            "From 0 to 1: higher when more owners independently agree, lower when one owner "
            "found several people for the same value."
        )
    )
    matched_by: list[str] = strawberry.field(
        description='Which owner and datum matched, e.g. "crm.phone", "helpdesk.requester_phone".'
    )


@strawberry.type(description="Who is calling: every owner's answer for one phone number.")
class CallerLookup:
    phone: str | None = strawberry.field(description="The number asked about, in E.164.")
    matches: list[CustomerMatch] = strawberry.field(
        description="Every customer any owner knows under this number, most likely first."
    )
    best: Customer | None = strawberry.field(
        description="The match that is clearly the caller; null when none clearly is."
    )


# Types whose values the gateway composes itself rather than reads from an owner.
COMPOSED_TYPES: frozenset[str] = frozenset(
    {
        "Query",
        "Mutation",
        "CallerLookup",
        "CustomerMatch",
        "UpdateContactPayload",
        "OpenTicketPayload",
        "LogInteractionPayload",
    }
)

ALL_TYPES: tuple[Any, ...] = (Customer, Address, CreditStatus, Invoice, Ticket, Interaction)
