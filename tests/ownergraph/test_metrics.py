"""/metrics: labels come from names the map declares, never from values a request carries."""

from __future__ import annotations

import logging
import re
import sqlite3
import uuid
from dataclasses import replace
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from ownergraph import create_app

from .test_app import ROOT, client_for, owner_transports, settings

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


EVERY_FIELD = """{ customers(ids: ["C00001", "C00002", "C00013", "C00042", "C01234"]) {
  id displayName firstName lastName emails phones segment erpCode
  address { street city postcode country }
  credit { creditLimit balance overdue currency blocked }
  invoices { number status amount currency issuedOn dueDate paidAt overdue }
  tickets { id subject status priority channel createdAt updatedAt }
  interactions { id channel direction at durationSeconds summary agent }
} }"""


async def test_the_shipped_map_reads_no_path_the_demo_owners_lack(demo_data: Path) -> None:
    app = create_app(settings(), transports=owner_transports(demo_data))
    async with client_for(app) as client:
        response = await client.post("/graphql", json={"query": EVERY_FIELD})
    assert "errors" not in response.json()
    assert app.state.graph.absent.counts == {}


async def test_a_path_the_record_lacks_is_counted_and_logged_once(
    demo_data: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """`from: display_nam`: a silent null, unless somebody counts it."""
    text = (
        (ROOT / "ownership.yaml").read_text().replace("from: display_name,", "from: display_nam,")
    )
    typo = tmp_path / "ownership.yaml"
    typo.write_text(text)
    app = create_app(
        replace(settings(), ownership_path=typo), transports=owner_transports(demo_data)
    )
    document = (
        '{ a: customer(id: "C00001") { displayName } b: customer(id: "C00002") { displayName } }'
    )
    with caplog.at_level(logging.WARNING, logger="ownergraph"):
        async with client_for(app) as client:
            for _ in range(2):
                body = (await client.post("/graphql", json={"query": document})).json()
                assert body["data"] == {"a": {"displayName": None}, "b": {"displayName": None}}
                assert "errors" not in body
            page = (await client.get("/metrics")).text
    assert (
        'ownergraph_owner_field_absent_total{field="Customer.displayName",owner="crm"} 4.0' in page
    )
    warnings = [r for r in caplog.records if "display_nam" in r.getMessage()]
    assert len(warnings) == 1
    message = warnings[0].getMessage()
    assert "Customer.displayName" in message and "'crm'" in message
