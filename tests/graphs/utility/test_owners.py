"""The utility company's four owner systems, in-process through ASGI, and their runner as a
real process on loopback.

Every answer of a business route in these tests is checked against the system's own OpenAPI
document (status, media type and body schema, formats included): a tool reads those
documents, so they must say what the systems do.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import jsonschema_rs
import pytest
import schemathesis
from starlette.applications import Starlette
from starlette.routing import Route
from starlette.types import Message

from tests.graphs.utility.owners import (
    KEY_HEADER,
    MAX_BATCH,
    REPLAYED_HEADER,
    SEED,
    SYSTEMS,
    create_app,
    openapi,
    utility_data,
)

ROOT = Path(__file__).resolve().parents[3]
#: The systems' clock in these tests: readings are stamped with it, past dates told by it.
NOW = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
TODAY = NOW.date()
DATA = utility_data()
OPERATIONAL = ("/healthz", "/_stats", "/_faults", "/openapi.json")
#: Statuses only an injected fault gives, which no document lists.
INJECTED = frozenset({502, 503, 504})
#: The meter of CT-0001, which has three work orders.
METER = DATA.contract("CT-0001").meter_id
STARTUP_SECONDS = 60


# --------------------------------------------------------------------------- helpers


class Documented:
    """An httpx response hook: the answer of a business route is the one its document says."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.components = document["components"]
        # Literal paths first, as the systems route them: /accounts/search is no account id.
        templates = sorted(document["paths"].items(), key=lambda item: "{" in item[0])
        self.paths = [
            (re.compile("^" + re.sub(r"\{[^/}]+\}", "[^/]+", path) + "$"), path, item)
            for path, item in templates
        ]

    def operation(self, method: str, path: str) -> dict[str, Any] | None:
        for pattern, _template, item in self.paths:
            if pattern.match(path) and method.lower() in item:
                operation: dict[str, Any] = item[method.lower()]
                return operation
        return None

    async def __call__(self, response: httpx.Response) -> None:
        await response.aread()
        request = response.request
        operation = self.operation(request.method, request.url.path)
        if operation is None or response.status_code in INJECTED:
            return  # an operational route, the router's 404 or 405, or a fault
        where = f"{request.method} {request.url.path} answered {response.status_code}"
        documented = operation["responses"].get(str(response.status_code))
        assert documented is not None, f"{where}, which its document does not list"
        ((media_type, content),) = documented["content"].items()
        assert response.headers["content-type"] == media_type, where
        validator = jsonschema_rs.Draft202012Validator(
            {**content["schema"], "components": self.components}, validate_formats=True
        )
        problems = [error.message for error in validator.iter_errors(response.json())]
        assert not problems, f"{where} off its document: {problems}"


@contextlib.asynccontextmanager
async def client_of(app: Starlette, system: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url=f"http://{system}.test",
        event_hooks={"response": [Documented(openapi(system))]},
    ) as client:
        yield client


@contextlib.asynccontextmanager
async def owner(system: str, **options: Any) -> AsyncIterator[httpx.AsyncClient]:
    """A client of a fresh ``system`` app: the seed as generated, the clock at ``NOW``."""
    options.setdefault("clock", lambda: NOW)
    async with client_of(create_app(system, **options), system) as client:
        yield client


@pytest.fixture
async def accounts() -> AsyncIterator[httpx.AsyncClient]:
    async with owner("accounts") as client:
        yield client


@pytest.fixture
async def contracts() -> AsyncIterator[httpx.AsyncClient]:
    async with owner("contracts") as client:
        yield client


@pytest.fixture
async def billing() -> AsyncIterator[httpx.AsyncClient]:
    async with owner("billing") as client:
        yield client


@pytest.fixture
async def fieldservice() -> AsyncIterator[httpx.AsyncClient]:
    async with owner("fieldservice") as client:
        yield client


def key(name: str) -> dict[str, str]:
    return {KEY_HEADER: name}


async def until(event: asyncio.Event, task: asyncio.Task[Any]) -> None:
    """Wait for ``event``, or for ``task`` to end first: a test whose request answers too
    early then fails on its next assertion instead of waiting forever.
    """
    waiter = asyncio.create_task(event.wait())
    await asyncio.wait([waiter, task], return_when=asyncio.FIRST_COMPLETED)
    waiter.cancel()


async def stats(client: httpx.AsyncClient) -> dict[str, Any]:
    reply = await client.get("/_stats")
    assert reply.status_code == 200
    body: dict[str, Any] = reply.json()
    return body


# --------------------------------------------------------------------------- seed


def test_the_seed_gives_the_same_records_every_time() -> None:
    fresh = utility_data.__wrapped__(SEED)
    assert fresh is not DATA
    assert fresh == DATA
    assert utility_data.__wrapped__(SEED + 1) != DATA


def test_the_seed_has_the_sizes_and_keys_the_graph_relies_on() -> None:
    assert [account.account_id for account in DATA.accounts] == [
        f"A-{number}" for number in range(1001, 1201)
    ]
    referenced = {number for account in DATA.accounts for number in account.contracts}
    numbers = [contract.number for contract in DATA.contracts]
    # Every contract an account holds exists, and no contract is held by nobody.
    assert set(numbers) == referenced
    assert numbers == [f"CT-{n:04d}" for n in range(1, len(numbers) + 1)]
    assert 250 <= len(numbers) <= 350
    assert all(0 <= len(account.contracts) <= 4 for account in DATA.accounts)
    meters = [contract.meter_id for contract in DATA.contracts]
    assert len(set(meters)) == len(meters)
    assert {len(DATA.bills_of(number)) for number in numbers} == set(range(7))
    assert {len(DATA.orders_of(meter)) for meter in meters} == set(range(4))
    assert set(DATA.last_readings) == set(numbers)
    bill_numbers = [bill.bill_no for bill in DATA.bills]
    assert len(set(bill_numbers)) == len(bill_numbers)


def test_the_pinned_facts_hold() -> None:
    assert DATA.account("A-1001").contracts == ("CT-0001", "CT-0002")
    assert DATA.account("A-1002").contracts == ()
    assert DATA.account("A-1003").contracts == ("CT-0003", "CT-0004", "CT-0005")
    assert "A-1002" in DATA.accounts_without_contracts()
    # Three contracts are held twice: a holder registered again, under the same name.
    assert DATA.shared_contracts() == ("CT-0006", "CT-0007", "CT-0009")
    for number, ids in [
        ("CT-0006", ("A-1004", "A-1198")),
        ("CT-0007", ("A-1005", "A-1199")),
        ("CT-0009", ("A-1006", "A-1200")),
    ]:
        assert DATA.holders(number) == ids
        first, second = (DATA.account(account_id) for account_id in ids)
        assert first.name == second.name
        assert first.email != second.email
    assert DATA.account("A-1199").email is None
    assert [bill.state for bill in DATA.bills_of("CT-0001")] == ["open"] * 2 + ["paid"] * 4
    assert DATA.bills_of("CT-0002") == ()
    assert DATA.last_readings["CT-0001"] == 12000
    assert [order.status for order in DATA.orders_of(METER)] == ["planned", "cancelled", "done"]
    assert DATA.orders_of(DATA.contract("CT-0002").meter_id) == ()


def test_the_seed_dates_are_those_of_a_running_utility() -> None:
    # Bills are issued before the seed's day and planned visits after it, so a graph test
    # reading "open bills" or "planned visits" finds both kinds.
    reference = date(2026, 11, 15)
    issued = {datetime.fromtimestamp(bill.issued, UTC).date() for bill in DATA.bills}
    assert max(issued) <= reference + timedelta(days=3)
    planned = [order.scheduled_for for order in DATA.work_orders if order.status == "planned"]
    assert min(planned) > reference
    others = [order.scheduled_for for order in DATA.work_orders if order.status != "planned"]
    assert max(others) < reference


def test_an_unknown_system_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="unknown utility system 'crm'; one of accounts, "):
        create_app("crm")


# --------------------------------------------------------------------------- accounts


async def test_accounts_are_read_in_batches(accounts: httpx.AsyncClient) -> None:
    reply = await accounts.get("/accounts", params={"ids": "A-1001,A-1002,A-9999"})
    assert reply.status_code == 200
    assert reply.json() == {
        "items": [DATA.account("A-1001").record(), DATA.account("A-1002").record()]
    }
    # The parameter repeated works too, and a key asked twice comes once.
    reply = await accounts.get("/accounts?ids=A-1003&ids=A-1001,A-1003")
    assert sorted(item["account_id"] for item in reply.json()["items"]) == ["A-1001", "A-1003"]


def test_an_account_record_has_its_documented_shape() -> None:
    record = DATA.account("A-1001").record()
    assert record == {
        "account_id": "A-1001",
        "holder": {"name": "Elif Haas", "email": "elif.haas@example.com"},
        "segment": "household",
        "contracts": ["CT-0001", "CT-0002"],
        "since": "2023-08-12",
    }


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("", "query parameter 'ids' is required: comma-separated account ids like A-1001"),
        ("?ids=", "query parameter 'ids' is required"),
        ("?ids=" + ",".join(f"A-{n}" for n in range(1, MAX_BATCH + 2)), "too many keys in 'ids'"),
        # As the document's maxItems counts them: a repeat or a blank is an item too.
        ("?ids=" + ",".join(["A-1001"] * (MAX_BATCH + 1)), "too many keys in 'ids': 101 given"),
        ("?ids=A-1001" + "," * MAX_BATCH, "too many keys in 'ids': 101 given"),
        ("?ids=,,", "query parameter 'ids' is required"),
    ],
)
async def test_a_bad_batch_is_a_problem(
    accounts: httpx.AsyncClient, query: str, message: str
) -> None:
    reply = await accounts.get(f"/accounts{query}")
    assert reply.status_code == 400
    problem = reply.json()["problem"]
    assert problem["field"] == "ids"
    assert problem["detail"].startswith(message)


async def test_one_account_or_a_404(accounts: httpx.AsyncClient) -> None:
    reply = await accounts.get("/accounts/A-1200")
    assert reply.json() == DATA.account("A-1200").record()
    reply = await accounts.get("/accounts/A-0001")
    assert reply.status_code == 404
    assert reply.json() == {"problem": {"detail": "account 'A-0001' not found", "field": None}}


async def test_a_search_by_contract_shows_both_duplicates(accounts: httpx.AsyncClient) -> None:
    reply = await accounts.get("/accounts/search", params={"contract": "CT-0007"})
    assert reply.json() == {
        "items": [DATA.account("A-1005").record(), DATA.account("A-1199").record()]
    }
    # Trimmed and upper-cased, then matched exactly.
    reply = await accounts.get("/accounts/search", params={"contract": " ct-0007 "})
    assert [item["account_id"] for item in reply.json()["items"]] == ["A-1005", "A-1199"]
    reply = await accounts.get("/accounts/search", params={"contract": "CT-0001"})
    assert [item["account_id"] for item in reply.json()["items"]] == ["A-1001"]
    for unknown in ("CT-9999", "CT-000"):
        reply = await accounts.get("/accounts/search", params={"contract": unknown})
        assert reply.json() == {"items": []}


@pytest.mark.parametrize("query", ["", "?contract=", "?contract=%20"])
async def test_a_search_needs_a_contract(accounts: httpx.AsyncClient, query: str) -> None:
    reply = await accounts.get(f"/accounts/search{query}")
    assert reply.status_code == 400
    assert reply.json()["problem"]["field"] == "contract"


async def test_a_changed_email_is_read_back_everywhere(accounts: httpx.AsyncClient) -> None:
    reply = await accounts.patch(
        "/accounts/A-1005", json={"email": " umar@new.example "}, headers=key("e1")
    )
    assert reply.status_code == 200
    changed = {**DATA.account("A-1005").record()}
    changed["holder"] = {"name": "Umar Rossi", "email": "umar@new.example"}
    assert reply.json() == changed
    assert (await accounts.get("/accounts/A-1005")).json() == changed
    assert (await accounts.get("/accounts?ids=A-1005")).json() == {"items": [changed]}
    found = (await accounts.get("/accounts/search?contract=CT-0007")).json()["items"]
    assert found[0] == changed
    # null removes the address.
    reply = await accounts.patch("/accounts/A-1005", json={"email": None}, headers=key("e2"))
    assert reply.json()["holder"] == {"name": "Umar Rossi", "email": None}


async def test_a_fresh_app_starts_from_the_seed(accounts: httpx.AsyncClient) -> None:
    await accounts.patch("/accounts/A-1001", json={"email": "x@y.example"}, headers=key("k"))
    async with owner("accounts") as other:
        assert (await other.get("/accounts/A-1001")).json() == DATA.account("A-1001").record()


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ({"email": "not-an-address"}, 'email "not-an-address" is not an e-mail address'),
        ({"email": "a@b"}, 'email "a@b" is not an e-mail address'),
        ({"email": 42}, "email must be a string (an e-mail address) or null; got 42"),
        ({}, "field 'email' is required"),
        ({"email": "a@b.example", "name": "X"}, "unknown field 'name' in the request body"),
    ],
)
async def test_a_bad_email_is_refused_and_changes_nothing(
    accounts: httpx.AsyncClient, body: dict[str, Any], detail: str
) -> None:
    reply = await accounts.patch("/accounts/A-1001", json=body, headers=key("bad"))
    assert reply.status_code == 400
    problem = reply.json()["problem"]
    assert problem["detail"].startswith(detail)
    assert problem["field"] == ("name" if "name" in body else "email")
    assert (await accounts.get("/accounts/A-1001")).json() == DATA.account("A-1001").record()


async def test_changing_an_unknown_account_is_a_404(accounts: httpx.AsyncClient) -> None:
    reply = await accounts.patch(
        "/accounts/A-0999", json={"email": "a@b.example"}, headers=key("k")
    )
    assert reply.status_code == 404
    assert reply.json()["problem"] == {"detail": "account 'A-0999' not found", "field": None}


async def test_a_wrong_method_or_route_is_told_in_the_systems_shape(
    accounts: httpx.AsyncClient,
) -> None:
    reply = await accounts.delete("/accounts/A-1001")
    assert reply.status_code == 405
    # Starlette lists them from a set: their order is not fixed.
    assert set(reply.headers["allow"].split(", ")) == {"GET", "HEAD", "PATCH"}
    assert reply.json()["problem"]["detail"].startswith("method DELETE is not allowed")
    reply = await accounts.get("/customers")
    assert reply.status_code == 404
    assert "no route GET /customers in the accounts API" in reply.json()["problem"]["detail"]


# --------------------------------------------------------------------------- contracts


async def test_contracts_are_looked_up_in_the_order_asked(contracts: httpx.AsyncClient) -> None:
    asked = ["CT-0009", "CT-0500", "CT-0001", "CT-0009"]
    reply = await contracts.post("/contracts/lookup", json={"numbers": asked})
    assert reply.status_code == 200
    assert reply.json() == {
        "contracts": [DATA.contract("CT-0009").record(), DATA.contract("CT-0001").record()]
    }
    assert reply.json()["contracts"][1] == {
        "number": "CT-0001",
        "tariff": "green",
        "status": "active",
        "meter_id": "M-00212",
        "started_on": "2024-10-20",
    }


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (b'{"numbers": []}', "field 'numbers' must be an array of 1 to 100 contract numbers"),
        (b'{"numbers": "CT-0001"}', "field 'numbers' must be an array"),
        (b'{"numbers": [1]}', "field 'numbers' must be an array"),
        (b"{}", "field 'numbers' must be an array"),
        (b'{"numbers": ["CT-0001"], "limit": 2}', "unknown field 'limit' in the request body"),
        (b"numbers=CT-0001", "request body is not valid JSON"),
        (b'["CT-0001"]', "request body must be a JSON object"),
        (
            b'{"numbers": [' + b",".join(b'"CT-%d"' % n for n in range(MAX_BATCH + 1)) + b"]}",
            "too many keys in 'numbers': 101 given",
        ),
    ],
)
async def test_a_bad_lookup_is_a_problem_document(
    contracts: httpx.AsyncClient, body: bytes, detail: str
) -> None:
    reply = await contracts.post(
        "/contracts/lookup", content=body, headers={"content-type": "application/json"}
    )
    assert reply.status_code == 400
    problem = reply.json()
    assert problem["detail"].startswith(detail)
    assert {key: problem[key] for key in ("type", "title", "status")} == {
        "type": "about:blank",
        "title": "Bad Request",
        "status": 400,
    }


async def test_one_contract_or_a_404(contracts: httpx.AsyncClient) -> None:
    assert (await contracts.get("/contracts/CT-0299")).json() == DATA.contract("CT-0299").record()
    reply = await contracts.get("/contracts/CT-0300")
    assert reply.status_code == 404
    assert reply.headers["content-type"] == "application/problem+json"
    assert reply.json() == {
        "type": "about:blank",
        "title": "Not Found",
        "status": 404,
        "detail": "contract 'CT-0300' not found",
    }


# --------------------------------------------------------------------------- billing


async def test_bills_come_newest_first_limited_per_contract(billing: httpx.AsyncClient) -> None:
    reply = await billing.get("/bills", params={"contracts": "CT-0001"})
    assert reply.json() == {"bills": [bill.record() for bill in DATA.bills_of("CT-0001")]}
    first = reply.json()["bills"][0]
    assert first == {
        "bill_no": "B-000006",
        "contract": "CT-0001",
        "total": "194.53",
        "issued": 1792216800,
        "state": "open",
    }
    reply = await billing.get("/bills", params={"contracts": "CT-0001,CT-0003,CT-0002,CT-9999"})
    bills = reply.json()["bills"]
    assert [bill["issued"] for bill in bills] == sorted((b["issued"] for b in bills), reverse=True)
    assert {bill["contract"] for bill in bills} == {"CT-0001", "CT-0003"}
    reply = await billing.get("/bills?contracts=CT-0001&contracts=CT-0003&limit=2")
    expected = [*DATA.bills_of("CT-0001")[:2], *DATA.bills_of("CT-0003")[:2]]
    assert sorted(bill["bill_no"] for bill in reply.json()["bills"]) == sorted(
        bill.bill_no for bill in expected
    )


async def test_bills_filter_by_state_before_the_limit(billing: httpx.AsyncClient) -> None:
    reply = await billing.get("/bills", params={"contracts": "CT-0001", "state": "paid"})
    paid = [bill.record() for bill in DATA.bills_of("CT-0001") if bill.state == "paid"]
    assert reply.json() == {"bills": paid}
    assert len(paid) == 4
    reply = await billing.get("/bills?contracts=CT-0001&state=paid&limit=1")
    assert reply.json() == {"bills": paid[:1]}
    reply = await billing.get("/bills?contracts=CT-0001&state=open")
    assert [bill["bill_no"] for bill in reply.json()["bills"]] == ["B-000006", "B-000005"]


@pytest.mark.parametrize(
    ("query", "param", "message"),
    [
        ("contracts=CT-0001&limit=0", "limit", "limit must be a whole number from 1 to 50"),
        ("contracts=CT-0001&limit=51", "limit", "limit must be a whole number from 1 to 50"),
        ("contracts=CT-0001&limit=ten", "limit", "limit must be a whole number from 1 to 50"),
        ("contracts=CT-0001&state=due", "state", "state must be one of open, paid; got 'due'"),
        ("limit=5", "contracts", "query parameter 'contracts' is required"),
    ],
)
async def test_a_bad_bills_query_is_an_error_naming_its_param(
    billing: httpx.AsyncClient, query: str, param: str, message: str
) -> None:
    reply = await billing.get(f"/bills?{query}")
    assert reply.status_code == 400
    error = reply.json()["error"]
    assert error["param"] == param
    assert error["message"].startswith(message)


async def test_a_reading_is_recorded_and_read_back(billing: httpx.AsyncClient) -> None:
    reply = await billing.post(
        "/readings", json={"contract": "CT-0001", "value": 12345}, headers=key("r1")
    )
    assert reply.status_code == 201
    reading = {"reading_id": "R-1", "contract": "CT-0001", "value": 12345, "at": 1796117400}
    assert reply.json() == reading
    assert reading["at"] == int(NOW.timestamp())
    assert (await billing.get("/readings/R-1")).json() == reading
    # The new reading is the last one now: the same value again is fine, a lower one is not.
    reply = await billing.post(
        "/readings", json={"contract": "CT-0001", "value": 12345}, headers=key("r2")
    )
    assert reply.json()["reading_id"] == "R-2"
    reply = await billing.post(
        "/readings", json={"contract": "CT-0001", "value": 12344}, headers=key("r3")
    )
    assert reply.status_code == 400
    assert reply.json() == {
        "error": {
            "message": "value 12344 is lower than the last reading of CT-0001 (12345); "
            "a meter only counts up",
            "param": "value",
        }
    }


@pytest.mark.parametrize(
    ("body", "status", "param"),
    [
        ({"contract": "CT-0001", "value": 11999}, 400, "value"),
        ({"contract": "CT-0001", "value": -1}, 400, "value"),
        ({"contract": "CT-0001", "value": 12000.5}, 400, "value"),
        ({"contract": "CT-0001", "value": True}, 400, "value"),
        ({"contract": "CT-0001", "value": "13000"}, 400, "value"),
        ({"contract": "CT-0001"}, 400, "value"),
        ({"value": 13000}, 400, "contract"),
        ({"contract": "CT-0001", "value": 13000, "unit": "kWh"}, 400, "unit"),
        ({"contract": "CT-9999", "value": 13000}, 404, "contract"),
    ],
)
async def test_a_bad_reading_is_refused_and_records_nothing(
    billing: httpx.AsyncClient, body: dict[str, Any], status: int, param: str
) -> None:
    reply = await billing.post("/readings", json=body, headers=key("bad"))
    assert reply.status_code == status
    assert reply.json()["error"]["param"] == param
    assert (await billing.get("/readings/R-1")).status_code == 404
    # The contract's last reading is still the seed's: 12000 itself is accepted.
    reply = await billing.post(
        "/readings", json={"contract": "CT-0001", "value": 12000}, headers=key("good")
    )
    assert reply.json()["reading_id"] == "R-1"


async def test_an_unknown_reading_is_a_404(billing: httpx.AsyncClient) -> None:
    reply = await billing.get("/readings/R-7")
    assert reply.status_code == 404
    assert reply.json() == {"error": {"message": "reading 'R-7' not found", "param": None}}


# --------------------------------------------------------------------------- fieldservice


async def test_work_orders_come_newest_first(fieldservice: httpx.AsyncClient) -> None:
    reply = await fieldservice.get("/work-orders", params={"meters": METER})
    orders = reply.json()["orders"]
    assert orders == [order.record() for order in DATA.orders_of(METER)]
    assert orders[0] == {
        "id": "W-3",
        "meter": "M-00212",
        "status": "planned",
        "reason": "reading dispute",
        "scheduled_for": "2027-01-24",
    }
    other = DATA.contract("CT-0003").meter_id
    reply = await fieldservice.get(f"/work-orders?meters={METER},{other},M-99999")
    orders = reply.json()["orders"]
    assert len(orders) == len(DATA.orders_of(METER)) + len(DATA.orders_of(other))
    days = [order["scheduled_for"] for order in orders]
    assert days == sorted(days, reverse=True)


async def test_one_work_order_or_a_404(fieldservice: httpx.AsyncClient) -> None:
    assert (await fieldservice.get("/work-orders/W-1")).json() == DATA.orders_of(METER)[1].record()
    reply = await fieldservice.get("/work-orders/W-0")
    assert reply.status_code == 404
    assert reply.json() == {"message": "work order 'W-0' not found", "field": None}


async def test_a_planned_visit_is_read_back(fieldservice: httpx.AsyncClient) -> None:
    body = {"meter": METER, "reason": "  meter replacement  ", "date": TODAY.isoformat()}
    reply = await fieldservice.post("/work-orders", json=body, headers=key("w1"))
    assert reply.status_code == 201
    order = {
        "id": f"W-{len(DATA.work_orders) + 1}",
        "meter": METER,
        "status": "planned",
        "reason": "meter replacement",
        "scheduled_for": "2026-12-01",
    }
    assert reply.json() == order
    assert (await fieldservice.get(f"/work-orders/{order['id']}")).json() == order
    listed = (await fieldservice.get("/work-orders", params={"meters": METER})).json()["orders"]
    assert order in listed
    assert len(listed) == len(DATA.orders_of(METER)) + 1


@pytest.mark.parametrize(
    ("change", "status", "field", "message"),
    [
        ({"date": "2026-11-30"}, 400, "date", "field 'date' '2026-11-30' is in the past"),
        ({"date": "2026-13-01"}, 400, "date", "field 'date' '2026-13-01' is not a calendar date"),
        ({"date": "20261220"}, 400, "date", "field 'date' must be an ISO date (YYYY-MM-DD)"),
        ({"date": "2026-12-20T10:00"}, 400, "date", "field 'date' must be an ISO date"),
        ({"date": None}, 400, "date", "field 'date' must be an ISO date"),
        ({"reason": "   "}, 400, "reason", "field 'reason' must be a text of 1 to 500"),
        ({"reason": "x" * 501}, 400, "reason", "field 'reason' is too long: 501 characters"),
        ({"reason": 7}, 400, "reason", "field 'reason' must be a text"),
        ({"meter": ""}, 400, "meter", "field 'meter' must be a meter id"),
        ({"meter": "M-99999"}, 404, "meter", "meter 'M-99999' not found"),
        ({"priority": "high"}, 400, "priority", "unknown field 'priority' in the request body"),
    ],
)
async def test_a_bad_visit_is_refused_and_plans_nothing(
    fieldservice: httpx.AsyncClient, change: dict[str, Any], status: int, field: str, message: str
) -> None:
    body = {"meter": METER, "reason": "leak check", "date": "2026-12-20", **change}
    reply = await fieldservice.post("/work-orders", json=body, headers=key("bad"))
    assert reply.status_code == status
    assert reply.json()["field"] == field
    assert reply.json()["message"].startswith(message)
    listed = (await fieldservice.get("/work-orders", params={"meters": METER})).json()["orders"]
    assert len(listed) == len(DATA.orders_of(METER))


async def test_the_past_is_told_by_the_systems_clock() -> None:
    later = NOW + timedelta(days=30)
    body = {"meter": METER, "reason": "leak check", "date": "2026-12-20"}
    async with owner("fieldservice", clock=lambda: later) as client:
        reply = await client.post("/work-orders", json=body, headers=key("w"))
    assert reply.status_code == 400
    assert "today (2026-12-31) or later" in reply.json()["message"]


# --------------------------------------------------------------------------- idempotency

WRITES = [
    ("accounts", "PATCH", "/accounts/A-1001", {"email": "a@b.example"}, {"email": "c@d.example"}),
    (
        "billing",
        "POST",
        "/readings",
        {"contract": "CT-0001", "value": 12345},
        {"contract": "CT-0001", "value": 12346},
    ),
    (
        "fieldservice",
        "POST",
        "/work-orders",
        {"meter": METER, "reason": "leak check", "date": "2026-12-20"},
        {"meter": METER, "reason": "seal inspection", "date": "2026-12-20"},
    ),
]
WRITE_IDS = [write[0] for write in WRITES]


async def written(system: str, client: httpx.AsyncClient) -> Any:
    """What the system's writes have changed, to tell one write from two."""
    if system == "accounts":
        return (await client.get("/accounts/A-1001")).json()["holder"]
    if system == "billing":
        return [(await client.get(f"/readings/R-{n}")).status_code for n in (1, 2)]
    return (await client.get("/work-orders", params={"meters": METER})).json()


@pytest.mark.parametrize(("system", "method", "path", "body", "other"), WRITES, ids=WRITE_IDS)
async def test_the_same_key_and_body_replay_the_first_answer(
    system: str, method: str, path: str, body: dict[str, Any], other: dict[str, Any]
) -> None:
    async with owner(system) as client:
        first = await client.request(method, path, json=body, headers=key("same"))
        assert first.status_code in (200, 201)
        assert REPLAYED_HEADER not in first.headers
        after_one = await written(system, client)
        # The same JSON written another way (key order, spaces) is the same request.
        again = await client.request(
            method,
            path,
            content=json.dumps(dict(reversed(body.items())), indent=2),
            headers={**key("same"), "content-type": "application/json"},
        )
        assert again.status_code == first.status_code
        assert again.content == first.content
        assert again.headers[REPLAYED_HEADER] == "true"
        assert await written(system, client) == after_one


@pytest.mark.parametrize(("system", "method", "path", "body", "other"), WRITES, ids=WRITE_IDS)
async def test_the_same_key_with_another_body_is_a_422(
    system: str, method: str, path: str, body: dict[str, Any], other: dict[str, Any]
) -> None:
    async with owner(system) as client:
        assert (await client.request(method, path, json=body, headers=key("k"))).is_success
        after_one = await written(system, client)
        reply = await client.request(method, path, json=other, headers=key("k"))
        assert reply.status_code == 422
        assert reply.json() == {
            "message": "Idempotency-Key 'k' was used for a different request; "
            "a new write needs a new key"
        }
        assert await written(system, client) == after_one
        # Another key is another write.
        assert (await client.request(method, path, json=other, headers=key("k2"))).is_success
        assert await written(system, client) != after_one


@pytest.mark.parametrize(("system", "method", "path", "body", "other"), WRITES, ids=WRITE_IDS)
@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({}, "header 'Idempotency-Key' is required on "),
        (key("x" * 256), "header 'Idempotency-Key' is malformed"),
    ],
    ids=["missing", "too-long"],
)
async def test_a_write_without_a_good_key_is_a_400_and_writes_nothing(
    system: str,
    method: str,
    path: str,
    body: dict[str, Any],
    other: dict[str, Any],
    headers: dict[str, str],
    message: str,
) -> None:
    async with owner(system) as client:
        before = await written(system, client)
        reply = await client.request(method, path, json=body, headers=headers)
        assert reply.status_code == 400
        assert list(reply.json()) == ["message"]
        assert reply.json()["message"].startswith(message)
        assert await written(system, client) == before


async def test_a_refused_write_leaves_its_key_free(billing: httpx.AsyncClient) -> None:
    bad = await billing.post(
        "/readings", json={"contract": "CT-0001", "value": 1}, headers=key("k")
    )
    assert bad.status_code == 400
    good = await billing.post(
        "/readings", json={"contract": "CT-0001", "value": 12001}, headers=key("k")
    )
    assert good.status_code == 201
    assert (await stats(billing))["keys"] == 2


async def test_a_key_in_flight_makes_a_second_request_wait_its_turn(
    billing: httpx.AsyncClient,
) -> None:
    uploading, release = asyncio.Event(), asyncio.Event()

    async def slow_body() -> AsyncIterator[bytes]:
        # The system claims the key before it reads the body: while this waits, the first
        # request holds the key, as a slow upload would.
        uploading.set()
        await release.wait()
        yield b'{"contract": "CT-0001", "value": 12345}'

    headers = {**key("k"), "content-type": "application/json"}
    first = asyncio.create_task(billing.post("/readings", content=slow_body(), headers=headers))
    await until(uploading, first)
    assert not first.done()
    body = {"contract": "CT-0001", "value": 12345}
    second = await billing.post("/readings", json=body, headers=key("k"))
    assert second.status_code == 409
    assert second.headers["retry-after"] == "1"
    assert second.json() == {
        "message": "a request with Idempotency-Key 'k' is still in progress; "
        "retry once it has answered"
    }
    release.set()
    answered = await first
    assert answered.status_code == 201
    retried = await billing.post("/readings", json=body, headers=key("k"))
    assert (retried.status_code, retried.content) == (201, answered.content)
    assert (await billing.get("/readings/R-2")).status_code == 404


# --------------------------------------------------------------------------- faults


BUSINESS_READS = {
    "accounts": "/accounts/A-1001",
    "contracts": "/contracts/CT-0001",
    "billing": "/bills?contracts=CT-0001",
    "fieldservice": f"/work-orders?meters={METER}",
}
INJECTED_ERRORS = {
    "accounts": {"problem": {"detail": "injected fault", "field": None}},
    "contracts": {
        "type": "about:blank",
        "title": "Service Unavailable",
        "status": 503,
        "detail": "injected fault",
    },
    "billing": {"error": {"message": "injected fault", "param": None}},
    "fieldservice": {"message": "injected fault", "field": None},
}


@pytest.mark.parametrize("system", SYSTEMS)
async def test_a_status_fault_fails_business_requests_until_cleared(system: str) -> None:
    async with owner(system) as client:
        path = BUSINESS_READS[system]
        reply = await client.put("/_faults", json={"mode": "status", "status": 503})
        assert reply.json() == {"mode": "status", "status": 503}
        for _ in range(2):
            reply = await client.get(path)
            assert reply.status_code == 503
            assert reply.json() == INJECTED_ERRORS[system]
        # Operational routes are never faulted.
        for operational in OPERATIONAL:
            assert (await client.get(operational)).status_code == 200
        assert (await client.get("/_faults")).json() == {"mode": "status", "status": 503}
        # Faulted requests were counted: a test can see that the gateway asked.
        assert (await stats(client))["requests"] == 2
        assert (await client.delete("/_faults")).json() == {"mode": None}
        assert (await client.get(path)).status_code == 200


async def test_a_status_fault_also_refuses_writes_before_they_run(
    billing: httpx.AsyncClient,
) -> None:
    await billing.put("/_faults", json={"mode": "status", "status": 502})
    body = {"contract": "CT-0001", "value": 12345}
    assert (await billing.post("/readings", json=body, headers=key("k"))).status_code == 502
    await billing.delete("/_faults")
    # Nothing was written, and the key was never taken.
    reply = await billing.post("/readings", json=body, headers=key("k"))
    assert reply.status_code == 201
    assert REPLAYED_HEADER not in reply.headers


async def test_a_hang_answers_nothing_until_the_client_leaves() -> None:
    app = create_app("contracts")
    async with client_of(app, "contracts") as control:
        await control.put("/_faults", json={"mode": "hang"})
        assert (await control.get("/_faults")).json() == {"mode": "hang"}
        waiting, leave = asyncio.Event(), asyncio.Event()
        requested = False
        sent: list[Message] = []

        async def receive() -> Message:
            nonlocal requested
            if not requested:
                requested = True
                return {"type": "http.request", "body": b"", "more_body": False}
            waiting.set()
            await leave.wait()
            return {"type": "http.disconnect"}

        async def send(message: Message) -> None:
            sent.append(message)

        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": "/contracts/CT-0001",
            "raw_path": b"/contracts/CT-0001",
            "query_string": b"",
            "root_path": "",
            "headers": [(b"host", b"contracts.test")],
            "client": ("127.0.0.1", 40000),
            "server": ("contracts.test", 80),
        }
        hanging = asyncio.create_task(app(scope, receive, send))
        await until(waiting, hanging)
        assert not hanging.done()
        assert sent == []
        # Counted on arrival, though not answered.
        assert (await stats(control))["routes"]["GET /contracts/{number}"] == 1
        # The fault is the system's, not one request's: others hang too, health does not.
        assert (await control.get("/healthz")).status_code == 200
        leave.set()
        await hanging
        assert sent == []  # nothing is answered to a client that has gone


async def test_a_hang_gives_up_after_its_limit() -> None:
    async with owner("billing", hang_limit_s=0) as client:
        await client.put("/_faults", json={"mode": "hang"})
        reply = await client.get("/bills?contracts=CT-0001")
    assert reply.status_code == 504
    assert reply.json() == {"error": {"message": "injected hang gave up after 0 s", "param": None}}


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({}, "mode", "field 'mode' must be one of status, hang; got null"),
        ({"mode": "slow"}, "mode", "field 'mode' must be one of status, hang; got \"slow\""),
        ({"mode": "status"}, "status", "field 'status' must be an HTTP status from 400 to 599"),
        ({"mode": "status", "status": 200}, "status", "field 'status' must be an HTTP status"),
        ({"mode": "status", "status": True}, "status", "field 'status' must be an HTTP status"),
        ({"mode": "hang", "status": 503}, "status", "field 'status' does not apply to mode"),
        ({"mode": "hang", "times": 1}, "times", "unknown field 'times' in the request body"),
    ],
)
async def test_a_bad_fault_is_refused(
    fieldservice: httpx.AsyncClient, body: dict[str, Any], field: str, message: str
) -> None:
    reply = await fieldservice.put("/_faults", json=body)
    assert reply.status_code == 400
    assert reply.json()["field"] == field
    assert reply.json()["message"].startswith(message)
    assert (await fieldservice.get("/_faults")).json() == {"mode": None}


# --------------------------------------------------------------------------- stats


async def test_stats_count_business_requests_and_keys_per_route(
    accounts: httpx.AsyncClient,
) -> None:
    zero = {
        "requests": 0,
        "routes": {
            "GET /accounts": 0,
            "GET /accounts/search": 0,
            "GET /accounts/{id}": 0,
            "PATCH /accounts/{id}": 0,
        },
        "keys": 0,
    }
    assert await stats(accounts) == zero
    await accounts.get("/accounts?ids=A-1001,A-1002,A-1001,A-9999")
    await accounts.get("/accounts/A-1003")
    await accounts.get("/accounts/search?contract=CT-0006")
    await accounts.patch("/accounts/A-1003", json={"email": "a@b.example"}, headers=key("k"))
    await accounts.get("/accounts")  # refused: counted as a request, asked for no key
    # None of these is business: the operational routes, an unknown route, a wrong method.
    for path in OPERATIONAL:
        await accounts.get(path)
    await accounts.get("/nowhere")
    await accounts.delete("/accounts/A-1001")
    assert await stats(accounts) == {
        "requests": 5,
        "routes": {
            "GET /accounts": 2,
            "GET /accounts/search": 1,
            "GET /accounts/{id}": 1,
            "PATCH /accounts/{id}": 1,
        },
        "keys": 6,
    }
    reply = await accounts.delete("/_stats")
    assert reply.json() == zero
    assert await stats(accounts) == zero


# --------------------------------------------------------------------------- OpenAPI


@pytest.mark.parametrize("system", SYSTEMS)
async def test_the_openapi_document_is_valid_and_lists_every_business_route(
    system: str,
) -> None:
    app = create_app(system)
    async with client_of(app, system) as client:
        document = (await client.get("/openapi.json")).json()
    assert document == openapi(system)
    assert document["openapi"] == "3.1.0"
    # Valid against the OpenAPI 3.1 schema itself, not only well-formed JSON.
    schemathesis.openapi.from_dict(document).validate()
    routes = {
        (route.path, method.lower())
        for route in app.routes
        if isinstance(route, Route) and route.path not in OPERATIONAL
        for method in route.methods or ()
        if method != "HEAD"
    }
    documented = {(path, method) for path, item in document["paths"].items() for method in item}
    assert routes == documented
    operation_ids = [
        op["operationId"] for item in document["paths"].values() for op in item.values()
    ]
    assert len(set(operation_ids)) == len(operation_ids)
    for path, item in document["paths"].items():
        for operation in item.values():
            declared = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
            assert declared == set(re.findall(r"\{([^}]+)\}", path)), path


def test_the_response_check_catches_a_record_off_its_document() -> None:
    # The hook every test relies on must be able to fail.
    check = Documented(openapi("billing"))
    request = httpx.Request("GET", "http://billing.test/bills?contracts=CT-0001")
    record = {**DATA.bills_of("CT-0001")[0].record(), "total": 194.53}
    response = httpx.Response(200, json={"bills": [record]}, request=request)
    with pytest.raises(AssertionError, match="off its document"):
        asyncio.run(check(response))
    response = httpx.Response(418, json={}, request=request)
    with pytest.raises(AssertionError, match="which its document does not list"):
        asyncio.run(check(response))


# --------------------------------------------------------------------------- runner


def free_ports(count: int) -> int:
    """The first of ``count`` consecutive loopback ports that are free now."""

    def free(port: int) -> bool:
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                return False
        return True

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        start = probe.getsockname()[1]
    for base in range(start, start + 2000):
        if base + count < 65535 and all(free(base + i) for i in range(count)):
            return base
    raise RuntimeError("no block of free ports on loopback")


@contextlib.contextmanager
def runner(base_port: int) -> Iterator[subprocess.Popen[str]]:
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.graphs.utility.owners", "--base-port", str(base_port)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    # A runner that never gets ready is killed, which ends its output and so the test.
    watchdog = threading.Timer(STARTUP_SECONDS, process.kill)
    watchdog.start()
    try:
        yield process
    finally:
        watchdog.cancel()
        if process.poll() is None:
            process.kill()
        process.communicate()


def test_the_runner_serves_the_four_systems_and_stops_on_sigterm() -> None:
    base = free_ports(len(SYSTEMS))
    with runner(base) as process:
        assert process.stdout is not None
        lines = [process.stdout.readline().strip() for _ in range(len(SYSTEMS) + 1)]
        assert lines == [
            *(f"{system} http://127.0.0.1:{base + i}" for i, system in enumerate(SYSTEMS)),
            "utility owners ready; Ctrl-C stops them",
        ]
        for i, system in enumerate(SYSTEMS):
            reply = httpx.get(f"http://127.0.0.1:{base + i}/healthz", timeout=10)
            assert reply.json() == {"status": "ok", "system": system}
        reply = httpx.get(f"http://127.0.0.1:{base + 1}/contracts/CT-0001", timeout=10)
        assert reply.json() == DATA.contract("CT-0001").record()
        # Over a real socket a hang is a request that is never answered; the client gives up.
        billing = f"http://127.0.0.1:{base + 2}"
        httpx.put(f"{billing}/_faults", json={"mode": "hang"}, timeout=10).raise_for_status()
        with pytest.raises(httpx.ReadTimeout):
            httpx.get(f"{billing}/bills?contracts=CT-0001", timeout=httpx.Timeout(10, read=0.2))
        assert httpx.get(f"{billing}/_stats", timeout=10).json()["routes"]["GET /bills"] == 1
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=STARTUP_SECONDS)
        assert process.returncode == 0
        assert stderr == ""


def test_a_taken_port_is_one_line_on_stderr_and_a_failure() -> None:
    base = free_ports(len(SYSTEMS))
    with (
        socket.create_server(("127.0.0.1", base + 2)) as taken,
        runner(base) as process,
    ):
        stdout, stderr = process.communicate(timeout=STARTUP_SECONDS)
        assert taken.fileno() != -1
    assert process.returncode == 1
    assert stdout == ""
    assert stderr.count("\n") == 1
    assert f"utility owner 'billing' cannot listen on 127.0.0.1:{base + 2}: " in stderr
    assert stderr.rstrip().endswith("choose another with --base-port")
