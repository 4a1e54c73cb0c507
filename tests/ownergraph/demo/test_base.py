"""Behaviour every demo owner shares: stats, latency, errors, health and OpenAPI."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.routing import Route

from ownergraph.demo import SYSTEMS, create_owner_app
from ownergraph.demo._base import MAX_BATCH, LatencyMiddleware
from ownergraph.demo.seed import db_path

from ._owners import owner_client


async def test_stats_count_business_requests_and_keys(crm: httpx.AsyncClient) -> None:
    await crm.get("/customers", params={"ids": "C00001,C00002,C00003"})
    await crm.get("/customers/C00004")
    await crm.get("/customers/C99999")  # a 404 is still a request for one key
    await crm.get("/healthz")
    await crm.get("/openapi.json")
    await crm.get("/_stats")

    stats = (await crm.get("/_stats")).json()
    assert stats == {
        "system": "crm",
        "requests": 3,
        "keys": 5,
        "routes": {
            "GET /customers": 1,
            "GET /customers/search": 0,
            "GET /customers/{id}": 2,
            "PATCH /customers/{id}": 0,
        },
    }


async def test_stats_reset(erp: httpx.AsyncClient) -> None:
    await erp.post("/accounts/batch", json={"codes": ["K-100001", "K-100002"]})
    reset = await erp.delete("/_stats")
    assert reset.json() == {
        "system": "erp",
        "requests": 0,
        "keys": 0,
        "routes": {"POST /accounts/batch": 0, "GET /accounts/{code}": 0, "GET /invoices": 0},
    }
    await erp.get("/invoices", params={"customer_codes": "K-100001"})
    after = (await erp.get("/_stats")).json()
    assert (after["requests"], after["keys"], after["routes"]["GET /invoices"]) == (1, 1, 1)


async def test_rejected_requests_count_but_ask_for_no_keys(
    helpdesk: httpx.AsyncClient,
) -> None:
    await helpdesk.get("/tickets", params={"requester_ids": "C00001", "status": "nope"})
    stats = (await helpdesk.get("/_stats")).json()
    assert (stats["requests"], stats["keys"]) == (1, 0)


# Every batch GET: its key parameter, the reply's list, and SQL for keys (`k`) with records.
_BATCH_GETS = {
    "crm": ("/customers", "ids", "customers", "SELECT id AS k FROM customers"),
    "erp": ("/invoices", "customer_codes", "invoices", "SELECT customer_code AS k FROM invoices"),
    "helpdesk": (
        "/tickets",
        "requester_ids",
        "tickets",
        "SELECT r.external_id AS k FROM requesters AS r JOIN tickets AS t ON t.requester_id = r.id",
    ),
}


def _keys_with_records(data_dir: Path, system: str, count: int) -> list[str]:
    query = f"SELECT DISTINCT k FROM ({_BATCH_GETS[system][3]}) ORDER BY k LIMIT ?"
    with contextlib.closing(sqlite3.connect(db_path(data_dir, system))) as conn:
        return [row[0] for row in conn.execute(query, (count,))]


@pytest.mark.parametrize("system", sorted(_BATCH_GETS))
async def test_batch_keys_repeated_or_comma_separated_read_the_same(
    system: str, data_dir: Path
) -> None:
    path, param, field, _ = _BATCH_GETS[system]
    a, b, c = _keys_with_records(data_dir, system, 3)
    async with owner_client(create_owner_app(system, data_dir)) as client:
        comma = await client.get(path, params={param: f"{a},{b},{c}"})
        repeated = await client.get(path, params=[(param, a), (param, b), (param, c)])
        mixed = await client.get(path, params=[(param, f"{a},{b}"), (param, c), (param, a)])
        stats = (await client.get("/_stats")).json()
    assert comma.status_code == repeated.status_code == mixed.status_code == 200
    assert comma.json()[field]  # something to compare
    assert repeated.json() == comma.json()
    assert mixed.json() == comma.json()
    # A key given twice, in either form, is asked for once.
    assert (stats["requests"], stats["keys"]) == (3, 9)


@pytest.mark.parametrize("system", sorted(_BATCH_GETS))
async def test_repeated_batch_keys_have_the_same_limit_and_errors(
    system: str, data_dir: Path
) -> None:
    path, param, _, _ = _BATCH_GETS[system]
    keys = [f"X{n:05d}" for n in range(MAX_BATCH + 1)]
    async with owner_client(create_owner_app(system, data_dir)) as client:
        too_many = await client.get(path, params=[(param, key) for key in keys])
        too_many_mixed = await client.get(
            path, params=[(param, ",".join(keys[:100])), *((param, key) for key in keys[100:])]
        )
        exactly_max = await client.get(path, params=[(param, key) for key in keys[:-1]])
        # The same key many times over is one key.
        repeats = await client.get(path, params=[(param, keys[0])] * (MAX_BATCH + 5))
        missing = await client.get(path)
        blank = await client.get(path, params=[(param, ""), (param, " ")])
    for reply in (too_many, too_many_mixed):
        assert reply.status_code == 400
        assert reply.json()["error"] == (
            f"too many keys in {param!r}: {MAX_BATCH + 1} given, at most {MAX_BATCH} per "
            "request; split the batch"
        )
    assert (exactly_max.status_code, repeats.status_code, blank.status_code) == (200, 200, 200)
    assert missing.status_code == 400
    assert f"{param!r} is required" in missing.json()["error"]
    assert "repeated" in missing.json()["error"]


@pytest.mark.parametrize("system", sorted(_BATCH_GETS))
async def test_openapi_says_batch_keys_may_be_repeated(system: str, data_dir: Path) -> None:
    path, param, _, _ = _BATCH_GETS[system]
    async with owner_client(create_owner_app(system, data_dir)) as client:
        document = (await client.get("/openapi.json")).json()
    (declared,) = [p for p in document["paths"][path]["get"]["parameters"] if p["name"] == param]
    assert f"`{param}=a,b`" in declared["description"]
    assert f"`{param}=a&{param}=b`" in declared["description"]


@pytest.mark.parametrize("system", SYSTEMS)
async def test_health(system: str, data_dir: Path) -> None:
    async with owner_client(create_owner_app(system, data_dir)) as client:
        reply = await client.get("/healthz")
    assert reply.json() == {"status": "ok", "system": system}


async def test_unknown_route_and_wrong_method_answer_json(crm: httpx.AsyncClient) -> None:
    unknown = await crm.get("/orders")
    assert unknown.status_code == 404
    assert unknown.json()["error"].startswith("no route GET /orders in the crm API")

    wrong = await crm.post("/customers")
    assert wrong.status_code == 405
    assert wrong.json()["error"].startswith("method POST is not allowed on /customers")
    assert "GET" in wrong.headers["allow"]


async def test_latency_middleware_delays_business_routes_only() -> None:
    delays: list[float] = []

    async def record(seconds: float) -> None:
        delays.append(seconds)

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    delayed = LatencyMiddleware(app, latency_ms=250, sleep=record)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=delayed), base_url="http://owner.test"
    ) as client:
        for path in ("/customers", "/healthz", "/_stats", "/openapi.json", "/tickets/1"):
            await client.get(path)
    assert delays == [0.25, 0.25]


def test_latency_must_not_be_negative() -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        raise AssertionError("never called")

    with pytest.raises(ValueError, match="latency_ms must be zero or positive, got -1"):
        LatencyMiddleware(app, latency_ms=-1)


async def test_latency_ms_really_delays_the_owner(data_dir: Path) -> None:
    # An hour of latency: the business request cannot finish while the test looks at it,
    # yet the operational routes still answer at once.
    app = create_owner_app("crm", data_dir, latency_ms=3_600_000)
    async with owner_client(app) as client:
        slow = asyncio.create_task(client.get("/customers/C00001"))
        assert (await client.get("/healthz")).status_code == 200
        done, _pending = await asyncio.wait({slow}, timeout=0.2)
        assert done == set()
        slow.cancel()
        with pytest.raises(asyncio.CancelledError):
            await slow


@pytest.mark.parametrize("system", SYSTEMS)
async def test_openapi_lists_every_route(system: str, data_dir: Path) -> None:
    app = create_owner_app(system, data_dir)
    async with owner_client(app) as client:
        document = (await client.get("/openapi.json")).json()
    assert document["openapi"].startswith("3.1")
    routes = {
        (route.path, method.lower())
        for route in app.routes
        if isinstance(route, Route)
        for method in route.methods or ()
        if method != "HEAD"
    }
    documented = {(path, method) for path, item in document["paths"].items() for method in item}
    assert routes == documented
    for path, item in document["paths"].items():
        for operation in item.values():
            # A read answers 200; a write that creates a record, 201.
            assert {"200", "201"} & set(operation["responses"]), path
            # Every path parameter is declared.
            declared = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
            assert declared == {part[1:-1] for part in path.split("/") if part.startswith("{")}


def _invoiced_erp_code(data_dir: Path) -> str:
    with contextlib.closing(sqlite3.connect(db_path(data_dir, "erp"))) as conn:
        code: str = conn.execute("SELECT MIN(customer_code) FROM invoices").fetchone()[0]
    return code


async def _sample(client: httpx.AsyncClient, schema: str, data_dir: Path) -> Any:
    """One real record of the shape ``schema`` documents."""
    record: Any
    if schema in ("Customer", "Address"):
        reply = await client.get("/customers", params={"ids": "C00001,C00002,C00003,C00004"})
        record = next(c for c in reply.json()["customers"] if c["address"])
        return record if schema == "Customer" else record["address"]
    if schema == "Account":
        codes = [_invoiced_erp_code(data_dir)]
        record = (await client.post("/accounts/batch", json={"codes": codes})).json()
        return record["accounts"][0]
    if schema == "Invoice":
        params = {"customer_codes": _invoiced_erp_code(data_dir)}
        record = (await client.get("/invoices", params=params)).json()
        return record["invoices"][0]
    if schema in ("Ticket", "Requester"):
        record = (await client.get("/tickets/10001")).json()
        return record if schema == "Ticket" else record["requester"]
    record = (await client.get("/interactions/I-0000001")).json()
    return record


@pytest.mark.parametrize(
    ("system", "schema"),
    [
        ("crm", "Customer"),
        ("crm", "Address"),
        ("erp", "Account"),
        ("erp", "Invoice"),
        ("helpdesk", "Ticket"),
        ("helpdesk", "Requester"),
        ("contactcenter", "Interaction"),
    ],
)
async def test_openapi_schema_matches_a_real_record(
    system: str, schema: str, data_dir: Path
) -> None:
    async with owner_client(create_owner_app(system, data_dir)) as client:
        document = (await client.get("/openapi.json")).json()
        record = await _sample(client, schema, data_dir)
    documented = document["components"]["schemas"][schema]
    assert set(documented["properties"]) == set(record)
    assert set(documented["required"]) == set(record)


async def test_oversized_body_is_refused(contactcenter: httpx.AsyncClient) -> None:
    body = b'{"customer_ids": ["' + b"C" * (2 << 20) + b'"]}'
    reply = await contactcenter.post(
        "/interactions/search", content=body, headers={"content-type": "application/json"}
    )
    assert reply.status_code == 413
    assert reply.json() == {"error": "request body too large: at most 1048576 bytes"}
