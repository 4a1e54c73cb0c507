"""The demo helpdesk: tickets by requester external id (the universal customer id)."""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path
from typing import Any

import httpx
import phonenumbers

from ownergraph.demo.seed import db_path


def _busy_requesters(data_dir: Path, count: int) -> list[str]:
    """Customer ids with several tickets, some closed and some not."""
    query = """
        SELECT r.external_id FROM requesters AS r JOIN tickets AS t ON t.requester_id = r.id
        GROUP BY r.id HAVING COUNT(*) >= 4 AND SUM(t.status = 'closed') >= 1
        ORDER BY r.external_id LIMIT ?
    """
    with contextlib.closing(sqlite3.connect(db_path(data_dir, "helpdesk"))) as conn:
        return [row[0] for row in conn.execute(query, (count,))]


async def test_tickets_of_several_requesters(helpdesk: httpx.AsyncClient, data_dir: Path) -> None:
    ids = _busy_requesters(data_dir, 3)
    reply = await helpdesk.get("/tickets", params={"requester_ids": ",".join([*ids, "C99999"])})
    assert reply.status_code == 200
    tickets = reply.json()["tickets"]
    assert {t["requester"]["external_id"] for t in tickets} == set(ids)
    ticket = tickets[0]
    assert set(ticket) == {
        "id",
        "requester",
        "subject",
        "status",
        "priority",
        "via",
        "created_at",
        "updated_at",
    }
    assert set(ticket["requester"]) == {"external_id", "name", "email", "phone"}
    assert isinstance(ticket["id"], int)


async def test_limit_is_per_requester_and_newest_first(
    helpdesk: httpx.AsyncClient, data_dir: Path
) -> None:
    ids = _busy_requesters(data_dir, 3)
    limited = await helpdesk.get("/tickets", params={"requester_ids": ",".join(ids), "limit": 2})
    tickets = limited.json()["tickets"]
    assert sorted(t["requester"]["external_id"] for t in tickets) == sorted(ids * 2)

    everything = await helpdesk.get("/tickets", params={"requester_ids": ids[0], "limit": 100})
    all_of_one = everything.json()["tickets"]
    created = [t["created_at"] for t in all_of_one]
    assert created == sorted(created, reverse=True)
    mine = [t["id"] for t in tickets if t["requester"]["external_id"] == ids[0]]
    assert mine == [t["id"] for t in all_of_one[:2]]


async def test_status_filter(helpdesk: httpx.AsyncClient, data_dir: Path) -> None:
    ids = ",".join(_busy_requesters(data_dir, 5))
    reply = await helpdesk.get("/tickets", params={"requester_ids": ids, "status": "closed"})
    tickets = reply.json()["tickets"]
    assert len(tickets) >= 5
    assert {t["status"] for t in tickets} == {"closed"}


async def test_bad_parameters_are_400(helpdesk: httpx.AsyncClient) -> None:
    bad_status = await helpdesk.get("/tickets", params={"requester_ids": "C1", "status": "done"})
    assert bad_status.status_code == 400
    assert bad_status.json()["error"] == (
        "status must be one of open, pending, solved, closed; got 'done'"
    )
    bad_limit = await helpdesk.get("/tickets", params={"requester_ids": "C1", "limit": "0"})
    assert bad_limit.status_code == 400
    missing = await helpdesk.get("/tickets")
    assert "'requester_ids' is required" in missing.json()["error"]


async def test_single_ticket(helpdesk: httpx.AsyncClient) -> None:
    reply = await helpdesk.get("/tickets/10001")
    assert reply.status_code == 200
    assert reply.json()["id"] == 10001

    missing = await helpdesk.get("/tickets/1")
    assert missing.status_code == 404
    assert missing.json() == {"error": "ticket 1 not found"}

    not_a_number = await helpdesk.get("/tickets/abc")
    assert not_a_number.status_code == 400
    assert not_a_number.json() == {"error": "ticket id must be an integer, got 'abc'"}


def test_ticket_counts_per_customer(data_dir: Path) -> None:
    with contextlib.closing(sqlite3.connect(db_path(data_dir, "helpdesk"))) as conn:
        counts = [n for (n,) in conn.execute("SELECT COUNT(*) FROM tickets GROUP BY requester_id")]
    assert max(counts) <= 6
    assert 1.3 < sum(counts) / 10_000 < 1.8


def test_a_few_requester_phones_are_unknown_to_the_crm(
    data_dir: Path, all_customers: list[dict[str, Any]]
) -> None:
    def e164(phone: str) -> str:
        parsed = phonenumbers.parse(phone, "IT")
        return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)

    crm_phones = {c["id"]: {e164(p) for p in c["phones"]} for c in all_customers}
    with contextlib.closing(sqlite3.connect(db_path(data_dir, "helpdesk"))) as conn:
        requesters = conn.execute(
            "SELECT external_id, phone FROM requesters WHERE phone IS NOT NULL"
        ).fetchall()
    unknown = [cid for cid, phone in requesters if e164(phone) not in crm_phones[cid]]
    assert 0 < len(unknown) < len(requesters) * 0.05
