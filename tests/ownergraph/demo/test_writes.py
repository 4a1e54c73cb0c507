"""Writes: the CRM's PATCH, the helpdesk's and the contact center's POSTs, and the
``Idempotency-Key`` contract they share (replay, conflict, in progress, expiry, concurrency,
a dropped reply).

Every test writes to its own copy of the seeded data, never to the suite's shared data dir,
which other tests read as the seed left it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import sqlite3
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.requests import ClientDisconnect
from starlette.types import Message, Scope

from ownergraph.demo import SYSTEMS, create_owner_app, ensure_seeded
from ownergraph.demo._faults import InjectedDrop
from ownergraph.demo._idempotency import (
    IN_FLIGHT_LEASE_S,
    KEY_TTL_S,
    Claim,
    IdempotencyStore,
    Refusal,
    Written,
    create_tables,
    fingerprint,
)
from ownergraph.demo.seed import db_path

from ._owners import owner_client, served

#: Has tickets, so the helpdesk knows it as a requester (see the README's examples).
KNOWN_REQUESTER = "C00246"
#: Has never contacted support: the helpdesk has no requester for it.
UNKNOWN_REQUESTER = "C00001"


@pytest.fixture(scope="module")
def pristine(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A snapshot of the seeded data, taken once, that nothing writes to."""
    directory = tmp_path_factory.mktemp("pristine")
    for system in SYSTEMS:
        # The backup API copies a consistent snapshot, whatever mode the file is in (the
        # owners switch theirs to WAL) and whoever else has it open.
        with (
            contextlib.closing(sqlite3.connect(db_path(data_dir, system))) as source,
            contextlib.closing(sqlite3.connect(db_path(directory, system))) as copy,
        ):
            source.backup(copy)
    return directory


@pytest.fixture
def write_dir(pristine: Path, tmp_path: Path) -> Path:
    """A private copy of the seeded data, for one test to write to."""
    # A plain file copy: the snapshot is closed and has no log beside it.
    for system in SYSTEMS:
        shutil.copyfile(db_path(pristine, system), db_path(tmp_path, system))
    return tmp_path


@pytest.fixture
async def crm(write_dir: Path) -> AsyncIterator[httpx.AsyncClient]:
    async with owner_client(create_owner_app("crm", write_dir)) as client:
        yield client


@pytest.fixture
async def helpdesk(write_dir: Path) -> AsyncIterator[httpx.AsyncClient]:
    async with owner_client(create_owner_app("helpdesk", write_dir)) as client:
        yield client


@pytest.fixture
async def contactcenter(write_dir: Path) -> AsyncIterator[httpx.AsyncClient]:
    async with owner_client(create_owner_app("contactcenter", write_dir)) as client:
        yield client


def new_key() -> str:
    return str(uuid.uuid4())


def query(directory: Path, system: str, sql: str, *params: object) -> list[tuple[Any, ...]]:
    """Rows straight from an owner's file, read-only, beside the running owner."""
    uri = f"{db_path(directory, system).resolve().as_uri()}?mode=ro"
    with contextlib.closing(sqlite3.connect(uri, uri=True)) as conn:
        return conn.execute(sql, params).fetchall()


def execute(directory: Path, system: str, sql: str, *params: object) -> None:
    with contextlib.closing(sqlite3.connect(db_path(directory, system))) as conn:
        conn.execute(sql, params)
        conn.commit()


def ticket(subject: str, **overrides: Any) -> dict[str, Any]:
    return {
        "requester_external_id": KNOWN_REQUESTER,
        "subject": subject,
        "description": "The customer called about it.",
        "priority": "high",
        "via": "phone",
        **overrides,
    }


def interaction(summary: str, **overrides: Any) -> dict[str, Any]:
    return {
        "customer_id": "C00042",
        "channel": "voice",
        "direction": "inbound",
        "summary": summary,
        "duration_s": 125,
        **overrides,
    }


def tickets_with(directory: Path, subject: str) -> int:
    count: int = query(
        directory, "helpdesk", "SELECT COUNT(*) FROM tickets WHERE subject = ?", subject
    )[0][0]
    return count


def is_recent(moment: datetime) -> bool:
    return abs((datetime.now(UTC) - moment).total_seconds()) < 60


# --------------------------------------------------------------------------- crm


async def test_patch_changes_the_contact_data_and_answers_the_record(
    crm: httpx.AsyncClient,
) -> None:
    before = (await crm.get("/customers/C00246")).json()
    reply = await crm.patch(
        "/customers/C00246",
        json={
            "display_name": "  Silvia   De Angelis ",
            "emails": ["Silvia.DeAngelis@Example.com", "silvia.deangelis@example.com"],
            "phones": ["+393471234567", "059 817 6021"],
        },
        headers={"Idempotency-Key": new_key()},
    )
    assert reply.status_code == 200, reply.text
    record = reply.json()
    assert record == (await crm.get("/customers/C00246")).json()
    assert record["display_name"] == "Silvia De Angelis"
    # The first word is the first name: two-word Italian surnames stay whole.
    assert (record["first_name"], record["last_name"]) == ("Silvia", "De Angelis")
    # The same address twice (in another case) is kept once, as first written.
    assert record["emails"] == ["Silvia.DeAngelis@Example.com"]
    assert record["phones"] == ["+393471234567", "059 817 6021"]
    unchanged = ("erp_code", "segment", "address", "created_at")
    assert {f: record[f] for f in unchanged} == {f: before[f] for f in unchanged}
    assert record["updated_at"] != before["updated_at"]
    assert is_recent(datetime.fromisoformat(record["updated_at"]))
    assert reply.headers["content-type"] == "application/json"
    assert "idempotent-replayed" not in reply.headers


async def test_patch_leaves_the_fields_it_does_not_name(crm: httpx.AsyncClient) -> None:
    before = (await crm.get("/customers/C00246")).json()
    reply = await crm.patch(
        "/customers/C00246", json={"emails": []}, headers={"Idempotency-Key": new_key()}
    )
    assert reply.status_code == 200
    after = reply.json()
    assert after["emails"] == []
    assert (after["display_name"], after["phones"]) == (before["display_name"], before["phones"])


async def test_an_empty_patch_changes_nothing(crm: httpx.AsyncClient) -> None:
    before = (await crm.get("/customers/C00246")).json()
    reply = await crm.patch("/customers/C00246", json={}, headers={"Idempotency-Key": new_key()})
    assert (reply.status_code, reply.json()) == (200, before)


async def test_the_searches_see_a_patched_phone_and_email(crm: httpx.AsyncClient) -> None:
    async def found(**params: str) -> list[str]:
        reply = await crm.get("/customers/search", params=params)
        return [customer["id"] for customer in reply.json()["customers"]]

    assert "C00246" in await found(phone="059 817 6021")
    reply = await crm.patch(
        "/customers/C00246",
        json={"phones": ["0039 347 765 4321"], "emails": ["s.messina@newmail.example"]},
        headers={"Idempotency-Key": new_key()},
    )
    assert reply.status_code == 200
    # The new number is found however it is written; the old one no longer finds her.
    assert await found(phone="+39 347 7654321") == ["C00246"]
    assert await found(phone="3477654321") == ["C00246"]
    assert "C00246" not in await found(phone="059 817 6021")
    assert await found(email="S.Messina@NewMail.example") == ["C00246"]
    assert "C00246" not in await found(email="s.messina@example.com")


async def test_patching_an_unknown_customer_is_a_404(crm: httpx.AsyncClient) -> None:
    reply = await crm.patch(
        "/customers/C99999", json={"display_name": "Nobody"}, headers={"Idempotency-Key": new_key()}
    )
    assert (reply.status_code, reply.json()) == (404, {"error": "customer 'C99999' not found"})


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"segment": "vip"}, "unknown field 'segment' in request body; allowed: display_name,"),
        ({"display_name": 42}, "field 'display_name' must be a string of 1 to 200 characters"),
        ({"display_name": None}, "field 'display_name' is required: a string of 1 to 200"),
        ({"display_name": "   "}, "field 'display_name' must not be blank"),
        ({"display_name": "x" * 201}, "field 'display_name' is too long: 201 characters"),
        ({"emails": "a@example.com"}, "field 'emails' must be an array of e-mail addresses"),
        ({"emails": ["a@example.com", "nope"]}, "emails[1] 'nope' is not an e-mail address"),
        ({"phones": ["12"]}, "phones[0] '12' is not a valid phone number"),
        ({"phones": [3471234567]}, "field 'phones' must be an array of phone numbers"),
        ({"phones": ["+393471234567"] * 21}, "field 'phones' has 21 items; at most 20"),
        (["display_name"], "request body must be a JSON object, got list"),
    ],
)
async def test_a_bad_patch_is_a_400_naming_the_field(
    crm: httpx.AsyncClient, body: Any, message: str
) -> None:
    before = (await crm.get("/customers/C00246")).json()
    reply = await crm.patch("/customers/C00246", json=body, headers={"Idempotency-Key": new_key()})
    assert reply.status_code == 400
    assert reply.json()["error"].startswith(message)
    assert (await crm.get("/customers/C00246")).json() == before


# --------------------------------------------------------------------------- helpdesk


async def test_post_ticket_opens_a_ticket(helpdesk: httpx.AsyncClient, write_dir: Path) -> None:
    subject = f"Router not working {uuid.uuid4()}"
    reply = await helpdesk.post(
        "/tickets", json=ticket(subject), headers={"Idempotency-Key": new_key()}
    )
    assert reply.status_code == 201, reply.text
    created = reply.json()
    assert reply.headers["location"] == f"/tickets/{created['id']}"
    assert created == (await helpdesk.get(f"/tickets/{created['id']}")).json()
    assert created["requester"]["external_id"] == KNOWN_REQUESTER
    assert (created["subject"], created["status"], created["priority"], created["via"]) == (
        subject,
        "open",
        "high",
        "phone",
    )
    assert created["created_at"] == created["updated_at"]
    assert is_recent(datetime.fromisoformat(created["created_at"]))
    # Ticket ids continue the seeded ones.
    assert created["id"] > 24_933
    # The description is the ticket's first comment, not a field of the ticket record.
    comments = query(
        write_dir, "helpdesk", "SELECT body FROM ticket_comments WHERE ticket_id = ?", created["id"]
    )
    assert comments == [("The customer called about it.",)]
    # It is found like any other ticket of the requester.
    listed = await helpdesk.get("/tickets", params={"requester_ids": KNOWN_REQUESTER, "limit": 1})
    assert listed.json()["tickets"] == [created]


async def test_a_ticket_without_a_description_has_no_comment(
    helpdesk: httpx.AsyncClient, write_dir: Path
) -> None:
    body = ticket("No details", description=None)
    reply = await helpdesk.post("/tickets", json=body, headers={"Idempotency-Key": new_key()})
    assert reply.status_code == 201
    ticket_id = reply.json()["id"]
    sql = "SELECT COUNT(*) FROM ticket_comments WHERE ticket_id = ?"
    assert query(write_dir, "helpdesk", sql, ticket_id) == [(0,)]


async def test_a_ticket_for_an_unknown_requester_is_a_404(
    helpdesk: httpx.AsyncClient, write_dir: Path
) -> None:
    sql = "SELECT COUNT(*) FROM requesters WHERE external_id = ?"
    assert query(write_dir, "helpdesk", sql, UNKNOWN_REQUESTER) == [(0,)]
    subject = f"Lost {uuid.uuid4()}"
    reply = await helpdesk.post(
        "/tickets",
        json=ticket(subject, requester_external_id=UNKNOWN_REQUESTER),
        headers={"Idempotency-Key": new_key()},
    )
    assert (reply.status_code, reply.json()) == (404, {"error": "requester 'C00001' not found"})
    assert tickets_with(write_dir, subject) == 0


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"status": "open"}, "unknown field 'status' in request body; allowed: description,"),
        ({"requester_external_id": None}, "field 'requester_external_id' is required"),
        ({"requester_external_id": 42}, "field 'requester_external_id' is required"),
        ({"subject": None}, "field 'subject' is required: a string of 1 to 200 characters"),
        ({"subject": ""}, "field 'subject' must not be blank"),
        ({"description": "  "}, "field 'description' must not be blank"),
        ({"description": "x" * 5001}, "field 'description' is too long: 5001 characters"),
        (
            {"priority": "asap"},
            "field 'priority' must be one of low, normal, high, urgent; got \"asap\"",
        ),
        ({"priority": None}, "field 'priority' is required: one of low, normal, high, urgent"),
        ({"via": "fax"}, "field 'via' must be one of email, phone, web, chat"),
    ],
)
async def test_a_bad_ticket_is_a_400_naming_the_field(
    helpdesk: httpx.AsyncClient, write_dir: Path, change: dict[str, Any], message: str
) -> None:
    subject = f"Bad {uuid.uuid4()}"
    reply = await helpdesk.post(
        "/tickets", json=ticket(subject) | change, headers={"Idempotency-Key": new_key()}
    )
    assert reply.status_code == 400
    assert reply.json()["error"].startswith(message)
    assert tickets_with(write_dir, subject) == 0


# --------------------------------------------------------------------------- contact center


async def test_post_interaction_logs_a_contact(contactcenter: httpx.AsyncClient) -> None:
    summary = f"Asked about an invoice {uuid.uuid4()}"
    started = int(time.time())
    reply = await contactcenter.post(
        "/interactions", json=interaction(summary), headers={"Idempotency-Key": new_key()}
    )
    assert reply.status_code == 201, reply.text
    created = reply.json()
    assert reply.headers["location"] == f"/interactions/{created['id']}"
    assert created == (await contactcenter.get(f"/interactions/{created['id']}")).json()
    # Ids continue the seeded ones, which end at I-0031466.
    assert created["id"] == "I-0031467"
    assert created | {"id": None, "started_at": None} == {
        "id": None,
        "customer_id": "C00042",
        "channel": "voice",
        "direction": "inbound",
        "started_at": None,
        "duration_s": 125,
        "summary": summary,
        "agent": "gateway",
        "caller_number": None,
    }
    assert started <= created["started_at"] <= time.time() + 1
    search = await contactcenter.post(
        "/interactions/search", json={"customer_ids": ["C00042"], "limit": 1}
    )
    assert search.json()["data"] == [created]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"customer_id": "42"}, "field 'customer_id' is required: a customer id like C00042"),
        ({"channel": "fax"}, "field 'channel' must be one of voice, email, chat, sms"),
        ({"direction": None}, "field 'direction' is required: one of inbound, outbound"),
        ({"summary": " "}, "field 'summary' must not be blank"),
        ({"duration_s": -1}, "field 'duration_s' must be null or an integer number of seconds"),
        ({"duration_s": "60"}, "field 'duration_s' must be null or an integer number of seconds"),
        ({"duration_s": True}, "field 'duration_s' must be null or an integer number of seconds"),
        ({"channel": "email"}, "field 'duration_s' must be null for channel 'email'"),
        ({"agent": "Chiara M."}, "unknown field 'agent' in request body; allowed: channel,"),
    ],
)
async def test_a_bad_interaction_is_a_400_naming_the_field(
    contactcenter: httpx.AsyncClient, write_dir: Path, change: dict[str, Any], message: str
) -> None:
    summary = f"Bad {uuid.uuid4()}"
    reply = await contactcenter.post(
        "/interactions", json=interaction(summary) | change, headers={"Idempotency-Key": new_key()}
    )
    assert reply.status_code == 400
    assert reply.json()["error"].startswith(message)
    sql = "SELECT COUNT(*) FROM interactions WHERE summary = ?"
    assert query(write_dir, "contactcenter", sql, summary) == [(0,)]


async def test_an_email_interaction_has_no_duration(contactcenter: httpx.AsyncClient) -> None:
    body = interaction("Sent the contract", channel="email", direction="outbound", duration_s=None)
    reply = await contactcenter.post(
        "/interactions", json=body, headers={"Idempotency-Key": new_key()}
    )
    assert (reply.status_code, reply.json()["duration_s"]) == (201, None)


# --------------------------------------------------------------------------- idempotency

# One write per owner: (system, method, path, body, the same body said another way, a
# different body, SQL counting the records the body creates).
_SUBJECT, _SUMMARY = "Idempotent ticket", "Idempotent call"
WRITES = {
    "crm": (
        "PATCH",
        "/customers/C00246",
        {"display_name": "Silvia Rossi", "phones": ["+393471234567"]},
        b'{ "phones": ["+393471234567"],\n  "display_name": "Silvia Rossi" }',
        {"display_name": "Silvia Bianchi"},
        None,
    ),
    "helpdesk": (
        "POST",
        "/tickets",
        ticket(_SUBJECT),
        json.dumps(dict(reversed(ticket(_SUBJECT).items())), indent=2).encode(),
        ticket(_SUBJECT, priority="low"),
        ("SELECT COUNT(*) FROM tickets WHERE subject = ?", _SUBJECT),
    ),
    "contactcenter": (
        "POST",
        "/interactions",
        interaction(_SUMMARY),
        json.dumps(dict(reversed(interaction(_SUMMARY).items())), indent=2).encode(),
        interaction(_SUMMARY, duration_s=126),
        ("SELECT COUNT(*) FROM interactions WHERE summary = ?", _SUMMARY),
    ),
}
WRITING = pytest.mark.parametrize("system", list(WRITES))


@contextlib.asynccontextmanager
async def owner(system: str, directory: Path) -> AsyncIterator[httpx.AsyncClient]:
    async with owner_client(create_owner_app(system, directory)) as client:
        yield client


def records(directory: Path, system: str) -> int | None:
    counting = WRITES[system][5]
    if counting is None:
        return None
    sql, marker = counting
    count: int = query(directory, system, sql, marker)[0][0]
    return count


@WRITING
async def test_the_same_key_and_request_replays_the_first_response(
    system: str, write_dir: Path
) -> None:
    method, path, body, same_body_reworded, _other, _counting = WRITES[system]
    key = new_key()
    async with owner(system, write_dir) as client:
        first = await client.request(method, path, json=body, headers={"Idempotency-Key": key})
        assert first.status_code in (200, 201), first.text
        again = await client.request(
            method,
            path,
            content=same_body_reworded,
            headers={"Idempotency-Key": key, "content-type": "application/json"},
        )
        stats = (await client.get("/_stats")).json()
    assert again.status_code == first.status_code
    assert again.content == first.content
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert again.headers.get("location") == first.headers.get("location")
    assert records(write_dir, system) in (1, None)
    # Two requests, one key each: a replay serves the record as much as the original did.
    assert (stats["requests"], stats["keys"]) == (2, 2)


async def test_a_replayed_patch_is_not_applied_again(crm: httpx.AsyncClient) -> None:
    key = new_key()
    first = await crm.patch(
        "/customers/C00246", json={"display_name": "Silvia Rossi"}, headers={"Idempotency-Key": key}
    )
    changed = await crm.patch(
        "/customers/C00246",
        json={"display_name": "Silvia Verdi"},
        headers={"Idempotency-Key": new_key()},
    )
    assert changed.json()["display_name"] == "Silvia Verdi"
    again = await crm.patch(
        "/customers/C00246", json={"display_name": "Silvia Rossi"}, headers={"Idempotency-Key": key}
    )
    # The first response again, and the later change stands: nothing was written.
    assert again.json() == first.json()
    assert (await crm.get("/customers/C00246")).json()["display_name"] == "Silvia Verdi"


@WRITING
async def test_the_same_key_with_another_request_is_a_422(system: str, write_dir: Path) -> None:
    method, path, body, _reworded, other_body, _counting = WRITES[system]
    key = new_key()
    async with owner(system, write_dir) as client:
        first = await client.request(method, path, json=body, headers={"Idempotency-Key": key})
        other = await client.request(
            method, path, json=other_body, headers={"Idempotency-Key": key}
        )
        stats = (await client.get("/_stats")).json()
    assert first.status_code in (200, 201)
    assert other.status_code == 422
    assert other.json() == {
        "error": f"Idempotency-Key '{key}' was used with a different request (another method, "
        "path or body); a key stands for one write: use a new key for a new request"
    }
    assert records(write_dir, system) in (1, None)
    # Refused before anything was served: a request, but no key.
    assert (stats["requests"], stats["keys"]) == (2, 1)


async def test_a_key_belongs_to_one_path(crm: httpx.AsyncClient) -> None:
    key = new_key()
    body = {"display_name": "Silvia Rossi"}
    assert (
        await crm.patch("/customers/C00246", json=body, headers={"Idempotency-Key": key})
    ).status_code == 200
    other = await crm.patch("/customers/C00247", json=body, headers={"Idempotency-Key": key})
    assert other.status_code == 422


@WRITING
async def test_a_write_without_a_key_is_a_400(system: str, write_dir: Path) -> None:
    method, path, body, _reworded, _other, _counting = WRITES[system]
    async with owner(system, write_dir) as client:
        missing = await client.request(method, path, json=body)
        blank = await client.request(method, path, json=body, headers={"Idempotency-Key": ""})
        long = await client.request(method, path, json=body, headers={"Idempotency-Key": "k" * 256})
    assert missing.status_code == 400
    assert missing.json()["error"] == (
        f"header 'Idempotency-Key' is required on {method} {path}: one key per intended "
        "write, sent again only to retry that same write (a UUID is a good key)"
    )
    for reply in (blank, long):
        assert reply.status_code == 400
        assert reply.json()["error"].startswith(
            "header 'Idempotency-Key' must be 1 to 255 printable ASCII characters"
        )
    assert records(write_dir, system) in (0, None)


async def test_a_refused_request_leaves_its_key_free(
    helpdesk: httpx.AsyncClient, write_dir: Path
) -> None:
    # Nothing was written for a 400 or a 404, so the corrected request may use the key.
    key = new_key()
    subject = f"Corrected {uuid.uuid4()}"
    bad = await helpdesk.post(
        "/tickets", json=ticket(subject, priority="asap"), headers={"Idempotency-Key": key}
    )
    unknown = await helpdesk.post(
        "/tickets",
        json=ticket(subject, requester_external_id=UNKNOWN_REQUESTER),
        headers={"Idempotency-Key": key},
    )
    good = await helpdesk.post("/tickets", json=ticket(subject), headers={"Idempotency-Key": key})
    assert [bad.status_code, unknown.status_code, good.status_code] == [400, 404, 201]
    assert "idempotent-replayed" not in good.headers
    assert tickets_with(write_dir, subject) == 1


async def test_a_key_in_flight_is_a_409(helpdesk: httpx.AsyncClient, write_dir: Path) -> None:
    # The slow fault holds the first request after it has claimed its key.
    faulted = await helpdesk.put(
        "/_faults", json={"mode": "slow", "ms": 400, "times": 1, "paths": ["/tickets"]}
    )
    assert faulted.status_code == 200
    key = new_key()
    subject = f"Slow {uuid.uuid4()}"
    first = asyncio.create_task(
        helpdesk.post("/tickets", json=ticket(subject), headers={"Idempotency-Key": key})
    )
    # The fault clears itself once it has taken the first request (times=1).
    while (await helpdesk.get("/_faults")).json()["mode"] is not None:
        await asyncio.sleep(0.01)
    retry = await helpdesk.post("/tickets", json=ticket(subject), headers={"Idempotency-Key": key})
    other = await helpdesk.post(
        "/tickets", json=ticket(subject, priority="low"), headers={"Idempotency-Key": key}
    )
    assert not first.done()
    assert retry.status_code == 409
    assert retry.headers["retry-after"] == "1"
    assert retry.json() == {
        "error": f"a request with Idempotency-Key '{key}' is still in progress; retry it "
        "with the same key once that one has finished"
    }
    # A different request is a 422 even while the first runs.
    assert other.status_code == 422
    assert (await first).status_code == 201
    after = await helpdesk.post("/tickets", json=ticket(subject), headers={"Idempotency-Key": key})
    assert (after.status_code, after.headers["idempotent-replayed"]) == (201, "true")
    assert tickets_with(write_dir, subject) == 1


@pytest.mark.parametrize(
    "fault",
    [{"mode": "status", "status": 503}, {"mode": "malformed"}, {"mode": "flap"}],
)
async def test_a_fault_that_stops_the_write_frees_its_key(
    helpdesk: httpx.AsyncClient, write_dir: Path, fault: dict[str, Any]
) -> None:
    await helpdesk.put("/_faults", json={**fault, "times": 1})
    key = new_key()
    subject = f"Faulted {uuid.uuid4()}"
    failed = await helpdesk.post("/tickets", json=ticket(subject), headers={"Idempotency-Key": key})
    assert failed.status_code >= 500 or fault["mode"] == "malformed"
    retry = await helpdesk.post("/tickets", json=ticket(subject), headers={"Idempotency-Key": key})
    assert retry.status_code == 201
    assert "idempotent-replayed" not in retry.headers
    assert tickets_with(write_dir, subject) == 1


async def test_a_cancelled_request_frees_its_key(
    helpdesk: httpx.AsyncClient, write_dir: Path
) -> None:
    # A hang ends when the client gives up; in process, when its task is cancelled.
    await helpdesk.put("/_faults", json={"mode": "hang", "times": 1})
    key = new_key()
    hung = asyncio.create_task(
        helpdesk.post("/tickets", json=ticket("Hung"), headers={"Idempotency-Key": key})
    )
    while (await helpdesk.get("/_faults")).json()["mode"] is not None:
        await asyncio.sleep(0.01)
    assert query(
        write_dir, "helpdesk", "SELECT state FROM idempotency_keys WHERE key = ?", key
    ) == [("in_flight",)]
    hung.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await hung
    assert query(write_dir, "helpdesk", "SELECT * FROM idempotency_keys WHERE key = ?", key) == []
    retry = await helpdesk.post("/tickets", json=ticket("Hung"), headers={"Idempotency-Key": key})
    assert retry.status_code == 201


async def test_a_client_gone_before_its_body_claims_no_key(write_dir: Path) -> None:
    app = create_owner_app("helpdesk", write_dir)
    messages: Iterator[Message] = iter(
        [
            {"type": "http.request", "body": b'{"requester_external_id": "C0', "more_body": True},
            {"type": "http.disconnect"},
        ]
    )

    async def receive() -> Message:
        return next(messages)

    async def send(message: Message) -> None:
        pass

    scope: Scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/tickets",
        "raw_path": b"/tickets",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"idempotency-key", b"cut-short"), (b"content-type", b"application/json")],
        "server": ("owner.test", 80),
        "client": ("127.0.0.1", 50000),
    }
    async with app.router.lifespan_context(app):
        # As with Starlette's own body reader: nothing to serve, nobody to answer.
        with pytest.raises(ClientDisconnect):
            await app(scope, receive, send)
    sql = "SELECT COUNT(*) FROM idempotency_keys WHERE key = 'cut-short'"
    assert query(write_dir, "helpdesk", sql) == [(0,)]


async def test_drop_in_process_keeps_the_committed_write(
    helpdesk: httpx.AsyncClient, write_dir: Path
) -> None:
    await helpdesk.put("/_faults", json={"mode": "drop", "times": 1, "paths": ["/tickets"]})
    key = new_key()
    subject = f"Dropped in process {uuid.uuid4()}"
    with pytest.raises(InjectedDrop):
        await helpdesk.post("/tickets", json=ticket(subject), headers={"Idempotency-Key": key})
    retry = await helpdesk.post("/tickets", json=ticket(subject), headers={"Idempotency-Key": key})
    assert (retry.status_code, retry.headers["idempotent-replayed"]) == (201, "true")
    assert tickets_with(write_dir, subject) == 1


async def test_keys_expire_after_24_hours(helpdesk: httpx.AsyncClient, write_dir: Path) -> None:
    key = new_key()
    first = await helpdesk.post("/tickets", json=ticket("Old"), headers={"Idempotency-Key": key})
    assert first.status_code == 201
    execute(
        write_dir,
        "helpdesk",
        "UPDATE idempotency_keys SET created_at = ? WHERE key = ?",
        time.time() - KEY_TTL_S - 1,
        key,
    )
    # Forgotten: the key is free for a new request, which is not a conflict but a new write.
    reply = await helpdesk.post(
        "/tickets", json=ticket("New", priority="low"), headers={"Idempotency-Key": key}
    )
    assert reply.status_code == 201
    assert reply.json()["id"] != first.json()["id"]
    assert tickets_with(write_dir, "New") == 1


async def test_a_claim_abandoned_by_a_crash_is_taken_over(
    helpdesk: httpx.AsyncClient, write_dir: Path
) -> None:
    # Left "in flight" by an owner that died mid-request: nothing of it was committed.
    body = ticket("Taken over")
    request = fingerprint("POST", "/tickets", json.dumps(body).encode())
    stale, recent = new_key(), new_key()
    for key, claimed_at in ((stale, time.time() - IN_FLIGHT_LEASE_S - 1), (recent, time.time())):
        execute(
            write_dir,
            "helpdesk",
            "INSERT INTO idempotency_keys (key, fingerprint, state, claim, created_at, "
            "claimed_at) VALUES (?, ?, 'in_flight', 'crashed', ?, ?)",
            key,
            request,
            claimed_at,
            claimed_at,
        )
    # Within its lease a claim may still be a live request: the retry has to wait.
    busy = await helpdesk.post("/tickets", json=body, headers={"Idempotency-Key": recent})
    assert busy.status_code == 409
    taken = await helpdesk.post("/tickets", json=body, headers={"Idempotency-Key": stale})
    assert taken.status_code == 201
    assert tickets_with(write_dir, "Taken over") == 1


async def test_keys_survive_a_restart(write_dir: Path) -> None:
    key = new_key()
    async with owner("contactcenter", write_dir) as client:
        first = await client.post(
            "/interactions", json=interaction("Before restart"), headers={"Idempotency-Key": key}
        )
    # Seeding again must not regenerate (and wipe) a data dir the owners have written to.
    ensure_seeded(write_dir)
    async with owner("contactcenter", write_dir) as client:
        again = await client.post(
            "/interactions", json=interaction("Before restart"), headers={"Idempotency-Key": key}
        )
    assert (again.status_code, again.content) == (201, first.content)
    assert again.headers["idempotent-replayed"] == "true"


# --------------------------------------------------------------------------- concurrency


async def test_fifty_concurrent_requests_with_one_key_create_one_ticket(write_dir: Path) -> None:
    # Two servers over one file, as two owner processes would be: only the database can
    # tell them a key is taken. A short `slow` fault holds whichever request claims the key,
    # so the others really arrive while it is in flight.
    key = new_key()
    subject = f"Concurrent {uuid.uuid4()}"
    slow = {"mode": "slow", "ms": 150, "paths": ["/tickets"]}
    async with (
        served(create_owner_app("helpdesk", write_dir)) as (first_url, _first),
        served(create_owner_app("helpdesk", write_dir)) as (second_url, _second),
        httpx.AsyncClient(limits=httpx.Limits(max_connections=50)) as client,
    ):
        for url in (first_url, second_url):
            assert (await client.put(f"{url}/_faults", json=slow)).status_code == 200
        replies = await asyncio.gather(
            *(
                client.post(
                    f"{(first_url, second_url)[n % 2]}/tickets",
                    json=ticket(subject),
                    headers={"Idempotency-Key": key},
                )
                for n in range(50)
            )
        )
        later = [
            await client.post(
                f"{url}/tickets", json=ticket(subject), headers={"Idempotency-Key": key}
            )
            for url in (first_url, second_url)
        ]
    assert {reply.status_code for reply in replies} <= {201, 409}
    created = [reply for reply in replies if reply.status_code == 201]
    # Exactly one of them ran the write; the others found it in progress (or, arriving
    # after it finished, got its response again).
    assert sum("idempotent-replayed" not in reply.headers for reply in created) == 1
    assert len({reply.content for reply in created}) == 1
    # Once it is done, both servers replay it.
    assert [reply.status_code for reply in later] == [201, 201]
    assert all(reply.headers["idempotent-replayed"] == "true" for reply in later)
    assert {reply.content for reply in later} == {created[0].content}
    assert tickets_with(write_dir, subject) == 1


def test_concurrent_claims_across_connections_yield_one_claim(tmp_path: Path) -> None:
    # As if 50 owner processes shared the file: each thread has its own connection, and
    # only SQLite's write lock stands between them.
    path = tmp_path / "keys.sqlite3"
    with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as conn:
        conn.execute("PRAGMA journal_mode = WAL")
        create_tables(conn)
    barrier = threading.Barrier(50)
    decisions: list[object] = []

    def claim() -> None:
        with contextlib.closing(
            sqlite3.connect(path, isolation_level=None, timeout=30, check_same_thread=False)
        ) as conn:
            store = IdempotencyStore(conn)
            barrier.wait()
            decisions.append(store.decide("one-key", "same-request"))

    threads = [threading.Thread(target=claim) for _ in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(isinstance(decision, Claim) for decision in decisions) == 1
    refusals = [decision for decision in decisions if isinstance(decision, Refusal)]
    assert [refusal.status for refusal in refusals] == [409] * 49


def test_a_write_that_fails_keeps_nothing(tmp_path: Path) -> None:
    path = tmp_path / "keys.sqlite3"
    with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as conn:
        create_tables(conn)
        conn.execute("CREATE TABLE records (name TEXT)")
        store = IdempotencyStore(conn)
        claim = store.decide("key", "request")
        assert isinstance(claim, Claim)

        def failing(db: sqlite3.Connection) -> Written:
            db.execute("INSERT INTO records VALUES ('half done')")
            raise RuntimeError("the write failed after its first statement")

        with pytest.raises(RuntimeError):
            store.run(claim, failing)
        assert conn.execute("SELECT COUNT(*) FROM records").fetchone() == (0,)
        store.release(claim)
        assert conn.execute("SELECT COUNT(*) FROM idempotency_keys").fetchone() == (0,)
        assert not conn.in_transaction


async def test_a_dropped_reply_then_a_retry_with_the_key_gets_the_committed_ticket(
    write_dir: Path,
) -> None:
    key = new_key()
    subject = f"Dropped {uuid.uuid4()}"
    async with (
        served(create_owner_app("helpdesk", write_dir)) as (url, _server),
        httpx.AsyncClient(base_url=url) as client,
    ):
        faulted = await client.put(
            "/_faults", json={"mode": "drop", "times": 1, "paths": ["/tickets"]}
        )
        assert faulted.status_code == 200
        with pytest.raises(httpx.RemoteProtocolError):
            await client.post("/tickets", json=ticket(subject), headers={"Idempotency-Key": key})
        # The write committed before the cut: the outcome was unknown to the client only.
        assert tickets_with(write_dir, subject) == 1
        retry = await client.post(
            "/tickets", json=ticket(subject), headers={"Idempotency-Key": key}
        )
    assert (retry.status_code, retry.headers["idempotent-replayed"]) == (201, "true")
    (ticket_id,) = query(
        write_dir, "helpdesk", "SELECT id FROM tickets WHERE subject = ?", subject
    )[0]
    assert retry.json()["id"] == ticket_id
    assert tickets_with(write_dir, subject) == 1


# --------------------------------------------------------------------------- the API


async def test_the_erp_takes_no_writes(data_dir: Path) -> None:
    async with owner_client(create_owner_app("erp", data_dir)) as erp:
        assert (await erp.patch("/accounts/K-100144", json={})).status_code == 405
        assert (await erp.post("/accounts", json={})).status_code == 404
        document = (await erp.get("/openapi.json")).json()
    business = {
        (path, method)
        for path, item in document["paths"].items()
        if not path.startswith("/_")
        for method in item
        if method != "get"
    }
    # Its one POST is the batch read.
    assert business == {("/accounts/batch", "post")}


async def test_a_wrong_method_lists_every_allowed_one(crm: httpx.AsyncClient) -> None:
    reply = await crm.delete("/customers/C00246")
    assert reply.status_code == 405
    assert set(reply.headers["allow"].split(", ")) == {"GET", "HEAD", "PATCH"}


@pytest.mark.parametrize(
    ("system", "path", "method", "success", "schema"),
    [
        ("crm", "/customers/{id}", "patch", "200", "CustomerContactPatch"),
        ("helpdesk", "/tickets", "post", "201", "NewTicket"),
        ("contactcenter", "/interactions", "post", "201", "NewInteraction"),
    ],
)
async def test_the_writes_are_documented(
    system: str, path: str, method: str, success: str, schema: str, data_dir: Path
) -> None:
    async with owner_client(create_owner_app(system, data_dir)) as client:
        document = (await client.get("/openapi.json")).json()
    operation = document["paths"][path][method]
    headers = [p for p in operation["parameters"] if p["in"] == "header"]
    assert [(p["name"], p["required"]) for p in headers] == [("Idempotency-Key", True)]
    assert {success, "400", "409", "422"} <= set(operation["responses"])
    assert "Idempotent-Replayed" in operation["responses"][success]["headers"]
    body = operation["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": f"#/components/schemas/{schema}"}
    assert document["components"]["schemas"][schema]["additionalProperties"] is False
