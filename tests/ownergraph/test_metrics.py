"""/metrics: labels come from names the map declares, never from values a request carries."""

from __future__ import annotations

import re
import sqlite3
import uuid
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from ownergraph import create_app

from .test_app import client_for, owner_transports, settings

CUSTOMER_ID = re.compile(r"C\d{5}")
READ = "query Read($id: ID!) { customer(id: $id) { displayName tickets(first: 2) { id } } }"
TICKET = (
    "mutation Ticket($id: ID!, $key: String!) { openTicket(input: "
    '{customerId: $id, subject: "Metrics"}, idempotencyKey: $key) { ticket { id } } }'
)
CONTACT = (
    "mutation Contact($id: ID!, $name: String!, $key: String!) { updateContact("
    "input: {customerId: $id, displayName: $name}, idempotencyKey: $key) { customer { id } } }"
)


def requesters(demo_data: Path) -> list[str]:
    """Customers the helpdesk knows (a ticket needs a requester), past those other tests use."""
    with sqlite3.connect(demo_data / "helpdesk.sqlite3") as db:
        rows = db.execute(
            "SELECT external_id FROM requesters ORDER BY external_id LIMIT 30 OFFSET 3000"
        )
        return [row[0] for row in rows]


def series(page: str) -> set[tuple[str, tuple[tuple[str, str], ...]]]:
    return {
        (sample.name, tuple(sorted(sample.labels.items())))
        for family in text_string_to_metric_families(page)
        for sample in family.samples
    }


async def test_reads_and_writes_for_many_customers_add_no_series(demo_data: Path) -> None:
    app = create_app(settings(), transports=owner_transports(demo_data))
    async with client_for(app) as client:

        async def touch(customers: list[str]) -> set[tuple[str, tuple[tuple[str, str], ...]]]:
            for n, customer in enumerate(customers):
                for document, variables in (
                    (READ, {"id": customer}),
                    (TICKET, {"id": customer, "key": f"metrics-{uuid.uuid4().hex}"}),
                    (
                        CONTACT,
                        {"id": customer, "name": f"Name {n}", "key": f"metrics-{uuid.uuid4().hex}"},
                    ),
                ):
                    response = await client.post(
                        "/graphql", json={"query": document, "variables": variables}
                    )
                    assert "errors" not in response.json(), response.text
            page = await client.get("/metrics")
            return series(page.text)

        known = requesters(demo_data)
        first = await touch(known[:10])
        second = await touch(known[10:30])
    labels = {value for _, pairs in first | second for _, value in pairs}
    assert not [value for value in labels if CUSTOMER_ID.search(value)], labels
    # The mutations are named as the map names them.
    assert {"updateContact", "openTicket"} <= labels
    # Twice as many customers, the same series (counts go up, labels do not multiply).
    assert {name for name, _ in second} == {name for name, _ in first}
    assert len(second) == len(first)
