"""A real GraphQL client, `gql`, against the gateway over HTTP, validating with its schema.

The schema comes once from introspection and once from the committed SDL
(`GET /schema.graphql`): either way, a document that does not fit the schema
is refused by the client before anything is sent.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
from gql import Client, GraphQLRequest, gql
from gql.client import SyncClientSession
from gql.transport.httpx import HTTPXTransport
from graphql import GraphQLError, GraphQLSchema

from ..conftest import sample_query

SAMPLE_QUERY = sample_query()


SCREEN = """query Screen($phone: String!) {
  customerByPhone(phone: $phone) {
    phone
    matches { customer { id } confidence matchedBy }
    best { id displayName tickets(status: OPEN) { id subject } credit { balance overdue } }
  }
}"""
OPEN_TICKET = """mutation Open($input: OpenTicketInput!, $key: String!) {
  openTicket(input: $input, idempotencyKey: $key) {
    ticket { id subject status priority }
    customer { id displayName }
  }
}"""
# `creditScore` is no field of Customer: a typo the schema must catch.
TYPO = '{ customer(id: "C00013") { displayName creditScore } }'


class Sent:
    """Counts the HTTP requests a transport sends."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, request: httpx.Request) -> None:
        self.count += 1


@contextmanager
def session(
    gateway: str, *, schema: str | None = None, introspect: bool = False
) -> Iterator[tuple[SyncClientSession, Sent]]:
    sent = Sent()
    transport = HTTPXTransport(
        url=f"{gateway}/graphql",
        headers={"Authorization": "Bearer demo-agent"},
        event_hooks={"request": [sent]},
        timeout=30,
    )
    client = Client(transport=transport, schema=schema, fetch_schema_from_transport=introspect)
    with client as connected:
        assert isinstance(connected, SyncClientSession)
        yield connected, sent


def test_gql_validates_with_the_schema_it_introspected(demo_gateway: str) -> None:
    with session(demo_gateway, introspect=True) as (client, sent):
        result = client.execute(gql(SAMPLE_QUERY))
        assert isinstance(client.client.schema, GraphQLSchema)
        customer = result["customer"]
        assert customer["displayName"]
        assert {"balance", "overdue", "currency"} <= set(customer["credit"])
        assert isinstance(customer["tickets"], list)

        before = sent.count
        with pytest.raises(GraphQLError, match="Cannot query field 'creditScore' on type"):
            client.execute(gql(TYPO))
        assert sent.count == before  # refused by the client: nothing went out


def test_gql_validates_with_the_committed_sdl(demo_gateway: str) -> None:
    sdl = httpx.get(f"{demo_gateway}/schema.graphql").text
    with session(demo_gateway, schema=sdl) as (client, sent):
        screen = client.execute(GraphQLRequest(SCREEN, variable_values={"phone": "02-4223-7058"}))
        lookup = screen["customerByPhone"]
        assert lookup["phone"] == "+390242237058"
        assert lookup["best"]["id"] == "C00002"

        subject = f"gql client {uuid.uuid4().hex[:8]}"
        variables = {
            "input": {"customerId": "C00004", "subject": subject, "priority": "HIGH"},
            "key": f"gql-{uuid.uuid4().hex}",
        }
        opened = client.execute(GraphQLRequest(OPEN_TICKET, variable_values=variables))
        ticket = opened["openTicket"]["ticket"]
        assert (ticket["subject"], ticket["priority"]) == (subject, "HIGH")
        assert opened["openTicket"]["customer"]["id"] == "C00004"
        assert sent.count == 2  # no introspection: the SDL was the schema

        with pytest.raises(GraphQLError, match="Cannot query field 'creditScore' on type"):
            client.execute(gql(TYPO))
        # A variable of the wrong type is caught as well.
        with pytest.raises(GraphQLError, match="Variable '\\$phone' of type 'Int!'"):
            client.execute(
                gql("query Q($phone: Int!) { customerByPhone(phone: $phone) { phone } }")
            )
        assert sent.count == 2
