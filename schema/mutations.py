"""The mutations: each writes to the one system that owns what it changes.

Which owner, which endpoint and who may write are in `ownership.yaml`; every
mutation takes an `idempotencyKey`, forwarded to the owner, so a retried
write is applied once. Each payload is read back fresh from the owner.
"""

from __future__ import annotations

from typing import Annotated

import strawberry

from ownergraph import resolvers
from ownergraph.resolvers import Info

from .types import Channel, Customer, Direction, Interaction, Ticket, TicketPriority

IdempotencyKey = Annotated[
    str,
    strawberry.argument(
        description=(
            "Chosen by the client, unique per intended write (8 to 128 letters, digits, - _ : .). "
            "Retrying with the same key after an OUTCOME_UNKNOWN gets the single result."
        )
    ),
]


@strawberry.input(description="What to change in a customer's contact data (the CRM's).")
class UpdateContactInput:
    customer_id: strawberry.ID = strawberry.field(description="The customer to change.")
    display_name: str | None = strawberry.field(
        default=None, description="New name to show (1 to 200 characters)."
    )
    emails: list[str] | None = strawberry.field(
        default=None, description="The e-mail addresses, preferred first: replaces the list."
    )
    phones: list[str] | None = strawberry.field(
        default=None,
        description="The phone numbers, written any way: stored in E.164. Replaces the list.",
    )


@strawberry.type(description="The customer as the CRM holds it after the change.")
class UpdateContactPayload:
    customer: Customer | None = strawberry.field(description="Read back from its owners.")


@strawberry.input(description="A new support ticket (the helpdesk's).")
class OpenTicketInput:
    customer_id: strawberry.ID = strawberry.field(description="Who the ticket is for.")
    subject: str = strawberry.field(description="One line, 1 to 200 characters.")
    description: str | None = strawberry.field(
        default=None, description="Details, at most 5,000 characters."
    )
    priority: TicketPriority = strawberry.field(
        default=TicketPriority.NORMAL, description="How urgent it is."
    )
    channel: Channel = strawberry.field(default=Channel.PHONE, description="How it came in.")


@strawberry.type(description="The ticket as the helpdesk created it.")
class OpenTicketPayload:
    ticket: Ticket | None = strawberry.field(description="Read back from the helpdesk.")
    customer: Customer | None = strawberry.field(description="The customer it is for.")


@strawberry.input(description="A contact with the customer to record (the contact center's).")
class LogInteractionInput:
    customer_id: strawberry.ID = strawberry.field(description="Who the contact was with.")
    channel: Channel = strawberry.field(description="How it happened.")
    direction: Direction = strawberry.field(description="Who started it.")
    summary: str = strawberry.field(description="What it was about, 1 to 2,000 characters.")
    duration_seconds: int | None = strawberry.field(
        default=None, description="How long it lasted, 0 or more."
    )


@strawberry.type(description="The contact as the contact center recorded it.")
class LogInteractionPayload:
    interaction: Interaction | None = strawberry.field(
        description="Read back from the contact center."
    )
    customer: Customer | None = strawberry.field(description="The customer it was with.")


@strawberry.type(description="Change the customer graph. Each write goes to its owner only.")
class Mutation:
    @strawberry.mutation(description="Change a customer's name, e-mails or phones, in the CRM.")
    async def update_contact(
        self, info: Info, input: UpdateContactInput, idempotency_key: IdempotencyKey
    ) -> UpdateContactPayload:
        return await resolvers.write(info, input, idempotency_key)  # type: ignore[return-value]

    @strawberry.mutation(description="Open a support ticket for a customer, in the helpdesk.")
    async def open_ticket(
        self, info: Info, input: OpenTicketInput, idempotency_key: IdempotencyKey
    ) -> OpenTicketPayload:
        return await resolvers.write(info, input, idempotency_key)  # type: ignore[return-value]

    @strawberry.mutation(
        description="Record a call, chat, e-mail or message, in the contact center."
    )
    async def log_interaction(
        self, info: Info, input: LogInteractionInput, idempotency_key: IdempotencyKey
    ) -> LogInteractionPayload:
        return await resolvers.write(info, input, idempotency_key)  # type: ignore[return-value]


PAYLOAD_TYPES = frozenset({"UpdateContactPayload", "OpenTicketPayload", "LogInteractionPayload"})
