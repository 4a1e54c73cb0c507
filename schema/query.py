"""The root query type: where a client starts in the customer graph."""

from __future__ import annotations

import strawberry

from ownergraph import resolvers
from ownergraph.resolvers import MAX_LIST, Info

from .types import CallerLookup, Customer, CustomerMatch


@strawberry.type(description="Read the customer graph. Every value comes from its owner, now.")
class Query:
    @strawberry.field(
        description="The customer with this universal id, or null when no system knows it."
    )
    async def customer(self, info: Info, id: strawberry.ID) -> Customer | None:
        return await resolvers.customer(info, id)  # type: ignore[return-value]

    @strawberry.field(
        description=(
            f"Customers by universal id, in the order given (at most {MAX_LIST}); "
            "null in the place of an id no system knows."
        )
    )
    async def customers(self, info: Info, ids: list[strawberry.ID]) -> list[Customer | None]:
        return await resolvers.customers(info, ids)  # type: ignore[return-value]

    @strawberry.field(
        description=(
            "Who is calling: the number written any way (+39 02 1234 5678, 0039 02..., "
            "02-1234-5678), asked at once of every owner that can look a number up. "
            "Duplicates are shown, not hidden."
        )
    )
    async def customer_by_phone(self, info: Info, phone: str) -> CallerLookup:
        return await resolvers.customer_by_phone(info, phone)  # type: ignore[return-value]

    @strawberry.field(
        description=(
            "Customers with this e-mail address (trimmed, any case), asked at once of every "
            "owner that can look an address up."
        )
    )
    async def customers_by_email(self, info: Info, email: str) -> list[CustomerMatch]:
        return await resolvers.customers_by_email(info, email)  # type: ignore[return-value]
