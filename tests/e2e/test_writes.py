"""Writes go to the owner, once: over real sockets, against the demo owners' databases."""

from __future__ import annotations

import sqlite3
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from .conftest import Owners, query

OPEN_TICKET = """mutation Open($input: OpenTicketInput!, $key: String!) {
  openTicket(input: $input, idempotencyKey: $key) {
    ticket { id subject status priority channel }
    customer { id displayName }
  }
}"""
UPDATE_CONTACT = """mutation Update($input: UpdateContactInput!, $key: String!) {
  updateContact(input: $input, idempotencyKey: $key) { customer { id displayName emails phones } }
}"""


def tickets_with(demo_data: Path, subject: str) -> list[int]:
    with sqlite3.connect(demo_data / "helpdesk.sqlite3") as db:
        return [
            row[0] for row in db.execute("SELECT id FROM tickets WHERE subject = ?", (subject,))
        ]


def open_ticket(gateway: str, subject: str, key: str, who: str = "demo-agent") -> dict[str, Any]:
    variables = {
        "input": {"customerId": "C00004", "subject": subject, "priority": "HIGH"},
        "key": key,
    }
    return query(gateway, OPEN_TICKET, variables, key=who)


def test_fifty_concurrent_submissions_with_one_key_make_one_ticket(
    gateway: str, demo_data: Path
) -> None:
    subject = f"Router keeps rebooting {uuid.uuid4().hex[:8]}"
    key = f"call-{uuid.uuid4().hex}"
    with ThreadPoolExecutor(max_workers=25) as pool:
        bodies = list(pool.map(lambda _: open_ticket(gateway, subject, key), range(50)))
    [ticket_id] = tickets_with(demo_data, subject)
    succeeded = [b for b in bodies if b.get("data") and b["data"]["openTicket"]]
    assert succeeded
    for body in bodies:
        if body in succeeded:
            assert body["data"]["openTicket"]["ticket"]["id"] == str(ticket_id)
        else:
            # Still in flight at the owner when this one arrived: retry with the key.
            assert body["errors"][0]["extensions"]["code"] == "OUTCOME_UNKNOWN"
    ticket = succeeded[0]["data"]["openTicket"]
    assert ticket["ticket"] == {
        "id": str(ticket_id),
        "subject": subject,
        "status": "OPEN",
        "priority": "HIGH",
        "channel": "PHONE",
    }
    assert ticket["customer"]["id"] == "C00004" and ticket["customer"]["displayName"]


def test_a_dropped_reply_is_an_unknown_outcome_and_the_retry_gets_the_one_ticket(
    gateway: str, owners: dict[str, str], demo_data: Path
) -> None:
    subject = f"Invoice twice {uuid.uuid4().hex[:8]}"
    key = f"call-{uuid.uuid4().hex}"
    httpx.put(
        f"{owners['helpdesk']}/_faults", json={"mode": "drop", "paths": ["/tickets"], "times": 1}
    ).raise_for_status()
    try:
        lost = open_ticket(gateway, subject, key)
    finally:
        httpx.delete(f"{owners['helpdesk']}/_faults")
    [error] = lost["errors"]
    assert error["extensions"] == {"code": "OUTCOME_UNKNOWN", "owner": "helpdesk"}
    assert "retry with the same idempotencyKey" in error["message"]
    [ticket_id] = tickets_with(demo_data, subject)  # the owner did commit it

    retried = open_ticket(gateway, subject, key)
    assert retried["data"]["openTicket"]["ticket"]["id"] == str(ticket_id)
    assert tickets_with(demo_data, subject) == [ticket_id]


def test_the_same_key_with_another_payload_is_refused(gateway: str) -> None:
    key = f"call-{uuid.uuid4().hex}"
    first = open_ticket(gateway, f"First {uuid.uuid4().hex[:8]}", key)
    assert first["data"]["openTicket"]["ticket"]["id"]
    other = open_ticket(gateway, f"Other {uuid.uuid4().hex[:8]}", key)
    [error] = other["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "different request" in error["message"]


def test_a_role_without_write_access_causes_no_owner_call(
    gateway: str, owner_stats: Owners
) -> None:
    body = open_ticket(gateway, "Not allowed", f"call-{uuid.uuid4().hex}", who="demo-partner")
    [error] = body["errors"]
    assert error["extensions"]["code"] == "FORBIDDEN"
    assert "Mutation.openTicket" in error["message"]
    assert all(s["requests"] == 0 for s in owner_stats.stats().values())


def test_a_bad_email_never_reaches_the_crm(gateway: str, owner_stats: Owners) -> None:
    variables = {
        "input": {"customerId": "C00777", "emails": ["ok@example.com", "not-an-address"]},
        "key": f"call-{uuid.uuid4().hex}",
    }
    body = query(gateway, UPDATE_CONTACT, variables, key="demo-agent")
    [error] = body["errors"]
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "argument": "input.emails[1]"}
    assert owner_stats.stats()["crm"]["requests"] == 0


def test_an_update_reads_the_owners_truth_back(gateway: str) -> None:
    name = f"Renata Test {uuid.uuid4().hex[:6]}"
    variables = {
        "input": {"customerId": "C00777", "displayName": name, "phones": ["02-9999-0777"]},
        "key": f"call-{uuid.uuid4().hex}",
    }
    body = query(gateway, UPDATE_CONTACT, variables, key="demo-agent")
    assert "errors" not in body, body["errors"]
    customer = body["data"]["updateContact"]["customer"]
    assert customer["displayName"] == name
    assert customer["phones"] == ["+390299990777"]
    again = query(gateway, '{ customer(id: "C00777") { displayName } }', key="demo-agent")
    assert again["data"]["customer"]["displayName"] == name


LOG_INTERACTION = """mutation Log($input: LogInteractionInput!, $key: String!) {
  logInteraction(input: $input, idempotencyKey: $key) { interaction { id } }
}"""


@pytest.mark.parametrize(
    ("document", "given", "argument"),
    [
        # An e-mail has no duration: the map says which channels do.
        (
            LOG_INTERACTION,
            {"channel": "EMAIL", "direction": "INBOUND", "summary": "Hi", "durationSeconds": 30},
            "input.durationSeconds",
        ),
        # The contact center knows no web contacts.
        (
            LOG_INTERACTION,
            {"channel": "WEB", "direction": "INBOUND", "summary": "Hi"},
            "input.channel",
        ),
        # Not what a customer id looks like (the map's pattern for Customer.id).
        (OPEN_TICKET, {"customerId": "nope", "subject": "Router"}, "input.customerId"),
        # The CRM keeps at most 20 e-mail addresses.
        (
            UPDATE_CONTACT,
            {"emails": [f"a{n}@example.com" for n in range(21)]},
            "input.emails",
        ),
    ],
)
def test_what_the_map_can_check_is_refused_before_any_owner_is_called(
    gateway: str, owner_stats: Owners, document: str, given: dict[str, Any], argument: str
) -> None:
    variables = {"input": {"customerId": "C00004", **given}, "key": f"check-{uuid.uuid4().hex}"}
    body = query(gateway, document, variables, key="demo-agent")
    [error] = body["errors"]
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "argument": argument}, error
    assert all(stats["requests"] == 0 for stats in owner_stats.stats().values())


def test_an_owners_refusal_says_why_and_names_the_input(gateway: str, demo_data: Path) -> None:
    """A number that could be one but is no real number: the CRM, not the map, knows that."""
    key = f"refused-{uuid.uuid4().hex}"
    variables = {
        "input": {"customerId": "C00004", "phones": ["+39 02 4223 7058", "+390000000000"]},
        "key": key,
    }
    body = query(gateway, UPDATE_CONTACT, variables, key="demo-agent")
    [error] = body["errors"]
    assert error["extensions"] == {
        "code": "BAD_USER_INPUT",
        "owner": "crm",
        "httpStatus": 400,
        "argument": "input.phones[1]",
    }
    assert error["message"].startswith("Owner 'crm' refused the write: phones[1] ")
    assert "is not a valid phone number" in error["message"]
