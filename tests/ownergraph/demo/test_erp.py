"""The demo ERP: accounts and invoices by the ERP's own code, overdue computed at read time."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from ownergraph.demo.erp import create_app
from ownergraph.demo.seed import db_path

from ._owners import owner_client


def _busy_codes(data_dir: Path, count: int) -> list[str]:
    """ERP codes with many invoices, some unpaid: the interesting ones to test with."""
    query = """
        SELECT customer_code FROM invoices GROUP BY customer_code
        HAVING COUNT(*) >= 6 AND SUM(status = 'unpaid') >= 2 AND SUM(status = 'paid') >= 2
        ORDER BY customer_code LIMIT ?
    """
    with contextlib.closing(sqlite3.connect(db_path(data_dir, "erp"))) as conn:
        return [row[0] for row in conn.execute(query, (count,))]


@pytest.fixture
async def erp_in_2030(
    data_dir: Path,
) -> AsyncIterator[httpx.AsyncClient]:
    """An ERP whose clock says 2030: every unpaid invoice is overdue by then."""
    async with owner_client(
        create_app(db_path(data_dir, "erp"), today=lambda: date(2030, 1, 1))
    ) as c:
        yield c


@pytest.fixture
async def erp_in_2020(
    data_dir: Path,
) -> AsyncIterator[httpx.AsyncClient]:
    """An ERP whose clock says 2020: nothing is due yet."""
    async with owner_client(
        create_app(db_path(data_dir, "erp"), today=lambda: date(2020, 1, 1))
    ) as c:
        yield c


async def test_batch_returns_only_existing_accounts(erp: httpx.AsyncClient, data_dir: Path) -> None:
    code = _busy_codes(data_dir, 1)[0]
    reply = await erp.post("/accounts/batch", json={"codes": [code, "K-000000", code]})
    assert reply.status_code == 200
    (account,) = reply.json()["accounts"]
    assert set(account) == {
        "code",
        "name",
        "credit_limit_cents",
        "balance_cents",
        "overdue_cents",
        "currency",
        "blocked",
    }
    assert account["code"] == code
    assert account["currency"] == "EUR"
    assert isinstance(account["blocked"], bool)


async def test_single_account_and_404(erp: httpx.AsyncClient, data_dir: Path) -> None:
    code = _busy_codes(data_dir, 1)[0]
    assert (await erp.get(f"/accounts/{code}")).json()["code"] == code
    missing = await erp.get("/accounts/K-000000")
    assert missing.status_code == 404
    assert missing.json() == {"error": "account 'K-000000' not found"}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{not json", "request body is not valid JSON"),
        (b"[]", "request body must be a JSON object, got list"),
        (b"{}", "field 'codes' is required"),
        (b'{"codes": "K-100001"}', "field 'codes' must be an array of strings"),
        (b'{"codes": [1, 2]}', "field 'codes' must be an array of strings"),
        (b'{"codes": [], "code": []}', "unknown field 'code'"),
    ],
)
async def test_bad_batch_bodies_are_400(erp: httpx.AsyncClient, body: bytes, message: str) -> None:
    reply = await erp.post(
        "/accounts/batch", content=body, headers={"content-type": "application/json"}
    )
    assert reply.status_code == 400
    assert reply.json()["error"].startswith(message)


async def test_too_many_codes_is_400(erp: httpx.AsyncClient) -> None:
    codes = [f"K-{n}" for n in range(100_000, 100_201)]
    reply = await erp.post("/accounts/batch", json={"codes": codes})
    assert reply.status_code == 400
    assert "201 given, at most 200" in reply.json()["error"]


async def test_invoices_limit_is_per_customer_and_newest_first(
    erp: httpx.AsyncClient, data_dir: Path
) -> None:
    codes = _busy_codes(data_dir, 3)
    reply = await erp.get("/invoices", params={"customer_codes": ",".join(codes), "limit": 2})
    invoices = reply.json()["invoices"]
    assert sorted(i["customer_code"] for i in invoices) == sorted(codes * 2)

    everything = await erp.get("/invoices", params={"customer_codes": codes[0], "limit": 100})
    all_of_one = everything.json()["invoices"]
    issued = [i["issued_on"] for i in all_of_one]
    assert issued == sorted(issued, reverse=True)
    newest_two = [i["number"] for i in all_of_one[:2]]
    assert [i["number"] for i in invoices if i["customer_code"] == codes[0]] == newest_two


async def test_invoices_status_filter(erp: httpx.AsyncClient, data_dir: Path) -> None:
    codes = ",".join(_busy_codes(data_dir, 5))
    reply = await erp.get("/invoices", params={"customer_codes": codes, "status": "unpaid"})
    invoices = reply.json()["invoices"]
    assert len(invoices) >= 10
    assert {i["status"] for i in invoices} == {"unpaid"}
    assert all(i["paid_at"] is None for i in invoices)


async def test_invoice_errors_name_the_allowed_values(erp: httpx.AsyncClient) -> None:
    bad_status = await erp.get("/invoices", params={"customer_codes": "K-1", "status": "open"})
    assert bad_status.status_code == 400
    assert bad_status.json()["error"] == (
        "status must be one of unpaid, paid, cancelled; got 'open'"
    )
    for limit in ("0", "101", "ten"):
        bad_limit = await erp.get("/invoices", params={"customer_codes": "K-1", "limit": limit})
        assert bad_limit.status_code == 400
        assert "from 1 to 100" in bad_limit.json()["error"]
    missing = await erp.get("/invoices")
    assert "'customer_codes' is required" in missing.json()["error"]


async def test_overdue_is_computed_against_today(
    erp_in_2030: httpx.AsyncClient, erp_in_2020: httpx.AsyncClient, data_dir: Path
) -> None:
    codes = _busy_codes(data_dir, 5)
    later = (await erp_in_2030.post("/accounts/batch", json={"codes": codes})).json()
    earlier = (await erp_in_2020.post("/accounts/batch", json={"codes": codes})).json()
    for account in later["accounts"]:
        assert account["balance_cents"] > 0
        assert account["overdue_cents"] == account["balance_cents"]
    for account in earlier["accounts"]:
        assert account["balance_cents"] > 0
        assert account["overdue_cents"] == 0

    params: dict[str, str | int] = {
        "customer_codes": ",".join(codes),
        "status": "unpaid",
        "limit": 100,
    }
    late = (await erp_in_2030.get("/invoices", params=params)).json()["invoices"]
    early = (await erp_in_2020.get("/invoices", params=params)).json()["invoices"]
    assert late and all(i["overdue"] for i in late)
    assert early and not any(i["overdue"] for i in early)


async def test_balance_and_overdue_add_up_the_unpaid_invoices(
    erp: httpx.AsyncClient, data_dir: Path
) -> None:
    codes = _busy_codes(data_dir, 20)
    accounts = (await erp.post("/accounts/batch", json={"codes": codes})).json()["accounts"]
    params: dict[str, str | int] = {"customer_codes": ",".join(codes), "limit": 100}
    invoices: list[dict[str, Any]] = (await erp.get("/invoices", params=params)).json()["invoices"]
    for account in accounts:
        mine = [i for i in invoices if i["customer_code"] == account["code"]]
        unpaid = [i for i in mine if i["status"] == "unpaid"]
        assert account["balance_cents"] == sum(i["amount_cents"] for i in unpaid)
        assert account["overdue_cents"] == sum(i["amount_cents"] for i in unpaid if i["overdue"])
        assert all(
            i["overdue"] == (i["due_on"] < datetime.now(UTC).date().isoformat()) for i in unpaid
        )
        assert not any(i["overdue"] for i in mine if i["status"] != "unpaid")


def test_invoice_history_looks_like_a_ledger(data_dir: Path) -> None:
    with contextlib.closing(sqlite3.connect(db_path(data_dir, "erp"))) as conn:
        accounts = conn.execute("SELECT COUNT(*) FROM accounts").fetchone()[0]
        shares = dict(conn.execute("SELECT status, COUNT(*) FROM invoices GROUP BY status"))
        most = conn.execute(
            "SELECT MAX(n) FROM (SELECT COUNT(*) AS n FROM invoices GROUP BY customer_code)"
        ).fetchone()[0]
        first, last = conn.execute("SELECT MIN(issued_on), MAX(issued_on) FROM invoices").fetchone()
    total = sum(shares.values())
    assert 3.5 < total / accounts < 5
    assert most <= 10
    assert 0.05 < shares["unpaid"] / total < 0.3
    assert 0.01 < shares["cancelled"] / total < 0.06
    assert first >= "2024-11-01"
    assert last < "2026-11-01"
