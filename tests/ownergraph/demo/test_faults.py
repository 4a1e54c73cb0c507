"""Injected faults: every owner can be made slow, hung, failing, garbled, short or cut off.

The in-process transport is enough where the reply itself shows the fault. A hang and a
dropped connection are properties of a socket, so those run against a real uvicorn server.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from ownergraph.demo import SYSTEMS, create_owner_app, runner, serve_owners
from ownergraph.demo._faults import FAULT_MODES, InjectedDrop
from ownergraph.demo.seed import db_path
from ownergraph.sources import ConnectionBroke, OwnerRequest, PooledHTTP

from ._owners import owner_client, served

FIVE_IDS = "C00001,C00002,C00003,C00004,C00005"


@pytest.fixture(scope="module")
def code(data_dir: Path) -> str:
    """An ERP account code that exists (ERP codes are random, so look one up)."""
    with contextlib.closing(sqlite3.connect(db_path(data_dir, "erp"))) as conn:
        found: str = conn.execute("SELECT MIN(code) FROM accounts").fetchone()[0]
    return found


async def put_fault(client: httpx.AsyncClient, **fault: Any) -> dict[str, Any]:
    reply = await client.put("/_faults", json=fault)
    assert reply.status_code == 200, reply.text
    body: dict[str, Any] = reply.json()
    return body


async def stats(client: httpx.AsyncClient) -> dict[str, Any]:
    body: dict[str, Any] = (await client.get("/_stats")).json()
    return body


# --------------------------------------------------------------------------- the API


@pytest.mark.parametrize("system", SYSTEMS)
async def test_every_owner_starts_without_a_fault(system: str, data_dir: Path) -> None:
    async with owner_client(create_owner_app(system, data_dir)) as client:
        assert (await client.get("/_faults")).json() == {"mode": None}


async def test_set_read_and_clear_a_fault(crm: httpx.AsyncClient) -> None:
    expected = {
        "mode": "status",
        "status": 503,
        "retry_after": None,
        "times": 2,
        "paths": ["/customers"],
        "applied": 0,
        "remaining": 2,
    }
    assert await put_fault(crm, mode="status", status=503, times=2, paths=["/customers"]) == (
        expected
    )
    assert (await crm.get("/_faults")).json() == expected

    assert (await crm.get("/customers/C00001")).status_code == 503
    assert (await crm.get("/_faults")).json() == expected | {"applied": 1, "remaining": 1}

    assert (await crm.delete("/_faults")).json() == {"mode": None}
    assert (await crm.get("/customers/C00001")).status_code == 200


async def test_a_new_fault_replaces_the_old_and_counts_afresh(
    erp: httpx.AsyncClient, code: str
) -> None:
    await put_fault(erp, mode="flap")
    await erp.get(f"/accounts/{code}")
    replaced = await put_fault(erp, mode="flap", status=502)
    assert (replaced["status"], replaced["applied"]) == (502, 0)
    # A fresh flap starts on a failing turn again.
    assert (await erp.get(f"/accounts/{code}")).status_code == 502


_MODES = "slow, hang, status, malformed, truncate, flap, drop"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"mode=hang", "request body is not valid JSON"),
        (b'["hang"]', "request body must be a JSON object, got list"),
        (b"{}", f"field 'mode' is required: one of {_MODES}"),
        (b'{"mode": "explode"}', f"field 'mode' must be one of {_MODES}; got \"explode\""),
        (b'{"mode": null}', f"field 'mode' must be one of {_MODES}; got null"),
        (b'{"mode": "slow"}', "field 'ms' is required for mode 'slow': an integer number of "),
        (b'{"mode": "slow", "ms": -1}', "field 'ms' must be an integer number of milliseconds"),
        (b'{"mode": "slow", "ms": 1.5}', "field 'ms' must be an integer number of milliseconds"),
        (b'{"mode": "status"}', "field 'status' is required for mode 'status': an integer HTTP"),
        (b'{"mode": "status", "status": 200}', "field 'status' must be an integer HTTP status"),
        (b'{"mode": "flap", "status": 600}', "field 'status' must be an integer HTTP status"),
        (
            b'{"mode": "status", "status": 503, "retry_after": "soon"}',
            "field 'retry_after' must be an integer number of seconds, 0 or more; got \"soon\"",
        ),
        (
            b'{"mode": "hang", "ms": 10}',
            "field 'ms' does not apply to mode 'hang'; mode 'hang' takes: times, paths",
        ),
        (
            b'{"mode": "slow", "ms": 5, "retry_after": 1}',
            "field 'retry_after' does not apply to mode 'slow'; mode 'slow' takes: ms, times",
        ),
        (b'{"mode": "truncate", "status": 500}', "field 'status' does not apply to mode"),
        (b'{"mode": "drop", "times": 0}', "field 'times' must be an integer number of requests"),
        (b'{"mode": "drop", "times": true}', "field 'times' must be an integer number of requests"),
        (b'{"mode": "drop", "paths": "/accounts"}', "field 'paths' must be a non-empty array"),
        (b'{"mode": "drop", "paths": []}', "field 'paths' must be a non-empty array"),
        (b'{"mode": "drop", "paths": ["accounts"]}', "field 'paths' must be a non-empty array"),
        (
            b'{"mode": "drop", "path": ["/accounts"]}',
            "unknown field 'path' in request body; allowed: mode, ms, paths, retry_after, status",
        ),
    ],
)
async def test_a_bad_fault_is_a_400_naming_the_field(
    helpdesk: httpx.AsyncClient, body: bytes, message: str
) -> None:
    await put_fault(helpdesk, mode="malformed")
    reply = await helpdesk.put(
        "/_faults", content=body, headers={"content-type": "application/json"}
    )
    assert reply.status_code == 400
    assert reply.json()["error"].startswith(message)
    # A refused fault leaves the one already set in place.
    assert (await helpdesk.get("/_faults")).json()["mode"] == "malformed"


async def test_the_fault_api_is_documented(crm: httpx.AsyncClient) -> None:
    document = (await crm.get("/openapi.json")).json()
    assert set(document["paths"]["/_faults"]) == {"get", "put", "delete"}
    spec = document["components"]["schemas"]["FaultSpec"]
    assert spec["properties"]["mode"]["enum"] == list(FAULT_MODES)
    assert set(spec["properties"]) == {"mode", "ms", "status", "retry_after", "times", "paths"}


# --------------------------------------------------------------------------- the modes


async def test_slow_waits_then_answers_normally(crm: httpx.AsyncClient) -> None:
    normal = await crm.get("/customers", params={"ids": FIVE_IDS})
    await put_fault(crm, mode="slow", ms=150)
    started = time.monotonic()
    slow = await crm.get("/customers", params={"ids": FIVE_IDS})
    assert time.monotonic() - started >= 0.15
    assert (slow.status_code, slow.json()) == (200, normal.json())


async def test_status_answers_the_injected_error(erp: httpx.AsyncClient, code: str) -> None:
    await put_fault(erp, mode="status", status=503, retry_after=7)
    reply = await erp.post("/accounts/batch", json={"codes": [code]})
    assert reply.status_code == 503
    assert reply.json() == {"error": "injected fault"}
    assert reply.headers["retry-after"] == "7"

    await put_fault(erp, mode="status", status=429)
    reply = await erp.get("/invoices", params={"customer_codes": code})
    assert reply.status_code == 429
    assert "retry-after" not in reply.headers


async def test_malformed_is_a_200_that_is_not_json(helpdesk: httpx.AsyncClient) -> None:
    await put_fault(helpdesk, mode="malformed")
    reply = await helpdesk.get("/tickets", params={"requester_ids": "C00001"})
    assert reply.status_code == 200
    assert reply.headers["content-type"] == "application/json"
    assert int(reply.headers["content-length"]) == len(reply.content)
    with pytest.raises(json.JSONDecodeError):
        reply.json()


async def test_truncate_returns_fewer_records_than_keys(crm: httpx.AsyncClient) -> None:
    full = (await crm.get("/customers", params={"ids": FIVE_IDS})).json()["customers"]
    assert len(full) == 5
    await put_fault(crm, mode="truncate")
    reply = await crm.get("/customers", params={"ids": FIVE_IDS})
    assert reply.status_code == 200
    assert int(reply.headers["content-length"]) == len(reply.content)
    # floor(5 / 2): the first half of what the owner would have sent.
    assert reply.json() == {"customers": full[:2]}


async def test_truncate_cuts_every_top_level_list(contactcenter: httpx.AsyncClient) -> None:
    search = {"customer_ids": ["C00001", "C00002", "C00003"], "limit": 5}
    full = (await contactcenter.post("/interactions/search", json=search)).json()["data"]
    await put_fault(contactcenter, mode="truncate")
    cut = (await contactcenter.post("/interactions/search", json=search)).json()["data"]
    assert cut == full[: len(full) // 2]


async def test_flap_alternates_failure_and_success(helpdesk: httpx.AsyncClient) -> None:
    await put_fault(helpdesk, mode="flap", retry_after=1)
    replies = [await helpdesk.get("/tickets/10001") for _ in range(4)]
    assert [reply.status_code for reply in replies] == [503, 200, 503, 200]
    assert replies[0].headers["retry-after"] == "1"
    assert replies[0].json() == {"error": "injected fault"}
    assert replies[1].json()["id"] == 10001


async def test_drop_in_process_raises_after_the_endpoint_ran(crm: httpx.AsyncClient) -> None:
    # In process there is no connection to break: the app's exception reaches the caller.
    await put_fault(crm, mode="drop")
    with pytest.raises(InjectedDrop, match="broke the connection of GET /customers/C00001"):
        await crm.get("/customers/C00001")
    assert (await stats(crm))["keys"] == 1


# --------------------------------------------------------------------------- scope and stats


async def test_times_applies_to_the_next_requests_then_clears(
    erp: httpx.AsyncClient, code: str
) -> None:
    await put_fault(erp, mode="status", status=500, times=2)
    codes = [(await erp.get(f"/accounts/{code}")).status_code for _ in range(3)]
    assert codes == [500, 500, 200]
    assert (await erp.get("/_faults")).json() == {"mode": None}


async def test_times_is_exact_under_concurrency(crm: httpx.AsyncClient) -> None:
    await put_fault(crm, mode="status", status=503, times=3)
    replies = await asyncio.gather(*(crm.get(f"/customers/C0000{n}") for n in range(1, 10)))
    assert sorted(reply.status_code for reply in replies) == [200] * 6 + [503] * 3


async def test_paths_limits_the_fault_to_those_prefixes(erp: httpx.AsyncClient, code: str) -> None:
    await put_fault(erp, mode="status", status=502, times=1, paths=["/accounts"])
    # Outside the prefixes: served normally, and it does not use up `times`.
    invoices = await erp.get("/invoices", params={"customer_codes": code})
    assert invoices.status_code == 200
    assert (await erp.post("/accounts/batch", json={"codes": [code]})).status_code == 502
    assert (await erp.get(f"/accounts/{code}")).status_code == 200


async def test_faulted_requests_count_in_stats(crm: httpx.AsyncClient) -> None:
    # Never served: counted as calls to their route, but no keys were asked of the database.
    await put_fault(crm, mode="status", status=503)
    await crm.get("/customers", params={"ids": FIVE_IDS})
    await crm.get("/customers/C00001")
    await crm.get("/orders")  # no such route: faulted, but there is no route to count
    await put_fault(crm, mode="malformed")
    await crm.get("/customers/search", params={"email": "x@example.com"})
    after_unserved = await stats(crm)
    assert (after_unserved["requests"], after_unserved["keys"]) == (3, 0)
    assert after_unserved["routes"] == {
        "GET /customers": 1,
        "GET /customers/search": 1,
        "GET /customers/{id}": 1,
        "PATCH /customers/{id}": 0,
    }
    # Served, then mangled: the endpoint counted them and their keys as usual.
    await put_fault(crm, mode="truncate")
    await crm.get("/customers", params={"ids": FIVE_IDS})
    await put_fault(crm, mode="flap")
    await crm.get("/customers/C00001")  # fails
    await crm.get("/customers/C00002")  # served
    served_too = await stats(crm)
    assert (served_too["requests"], served_too["keys"]) == (6, 6)


async def test_a_waiting_request_counts_on_arrival(crm: httpx.AsyncClient) -> None:
    # A test that sees the gateway give up on a slow owner must still see the call counted.
    await put_fault(crm, mode="slow", ms=3_600_000)
    waiting = asyncio.create_task(crm.get("/customers", params={"ids": FIVE_IDS}))
    try:
        await _eventually(lambda: _requests(crm))
        assert (await stats(crm))["routes"]["GET /customers"] == 1
        # Its keys count when its endpoint runs, which it has not yet.
        assert (await stats(crm))["keys"] == 0
    finally:
        waiting.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await waiting


async def test_latency_is_paid_before_the_fault_acts(data_dir: Path) -> None:
    async with owner_client(create_owner_app("helpdesk", data_dir, latency_ms=120)) as client:
        await put_fault(client, mode="status", status=500)
        started = time.monotonic()
        reply = await client.get("/tickets/10001")
        assert time.monotonic() - started >= 0.12
        assert reply.status_code == 500


@pytest.mark.parametrize("mode", ["hang", "drop", "malformed", "status", "slow"])
async def test_operational_routes_are_never_faulted(mode: str, data_dir: Path) -> None:
    # `slow` for an hour: any operational route it touched would blow the timeout below.
    extra: dict[str, Any] = {"status": {"status": 500}, "slow": {"ms": 3_600_000}}.get(mode, {})
    async with owner_client(create_owner_app("contactcenter", data_dir)) as client:
        await put_fault(client, mode=mode, **extra)

        async def operational() -> list[int]:
            return [
                (await client.get("/healthz")).status_code,
                (await client.get("/openapi.json")).status_code,
                (await client.get("/_stats")).status_code,
                (await client.delete("/_stats")).status_code,
                (await client.get("/_faults")).status_code,
            ]

        codes = await asyncio.wait_for(operational(), timeout=5)
        assert codes == [200] * 5
        assert (await client.get("/_faults")).json()["applied"] == 0


# --------------------------------------------------------------------------- real sockets


async def test_hang_times_out_the_client_and_ends_on_disconnect(data_dir: Path) -> None:
    async with (
        served(create_owner_app("crm", data_dir)) as (url, server),
        httpx.AsyncClient(base_url=url) as control,
    ):
        await put_fault(control, mode="hang")
        impatient = httpx.Timeout(5.0, read=0.3)
        async with httpx.AsyncClient(base_url=url, timeout=impatient) as client:
            with pytest.raises(httpx.ReadTimeout):
                await client.get("/customers/C00001")
            # The hung request does not hold up anyone else.
            assert (await control.get("/healthz")).status_code == 200
            # The timeout made the client close that connection (this client is still
            # open); the server notices, and the request task ends instead of lingering
            # for the hang's hour.
            await _eventually(lambda: not server.server_state.tasks)
        assert (await stats(control))["routes"]["GET /customers/{id}"] == 1


async def test_drop_breaks_the_connection_after_the_endpoint_ran(data_dir: Path) -> None:
    async with (
        served(create_owner_app("crm", data_dir)) as (url, _server),
        httpx.AsyncClient(base_url=url) as control,
    ):
        await put_fault(control, mode="drop", times=1)
        pool = PooledHTTP(url)
        try:
            request = OwnerRequest("GET", "/customers", query={"ids": "C00001,C00002,C00003"})
            with pytest.raises(ConnectionBroke):
                await pool.send(request)
            assert request.sent
            # Only that one connection broke: the next request is served.
            assert (await pool.send(OwnerRequest("GET", "/customers/C00001"))).status == 200
        finally:
            await pool.aclose()
        owner = await stats(control)
        # The endpoint did its work (it counted the three keys) before the cut.
        assert owner["routes"]["GET /customers"] == 1
        assert owner["keys"] == 3 + 1


async def test_a_hung_request_does_not_stop_the_owners_from_shutting_down(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runner, "_SHUTDOWN_GRACE_S", 0.2)
    started: asyncio.Future[dict[str, str]] = asyncio.get_running_loop().create_future()
    serving = asyncio.create_task(
        serve_owners(base_port=0, data_dir=data_dir, ready=started.set_result)
    )
    urls = await asyncio.wait_for(started, timeout=30)
    async with httpx.AsyncClient(base_url=urls["crm"], timeout=30) as client:
        await put_fault(client, mode="hang")
        hung = asyncio.create_task(client.get("/customers/C00001"))
        await _eventually(lambda: _applied(client))
        serving.cancel()
        with pytest.raises(asyncio.CancelledError):
            await asyncio.wait_for(serving, timeout=10)
        # The server cut the hung request short; what the client sees is the server's business.
        with pytest.raises(httpx.HTTPError):
            (await asyncio.wait_for(hung, timeout=10)).raise_for_status()


async def _eventually(condition: Callable[[], Any], *, timeout: float = 5.0) -> None:
    """Wait until ``condition()`` (or its awaited value) is true; fail after ``timeout``."""
    async with asyncio.timeout(timeout):
        while True:
            result = condition()
            if asyncio.iscoroutine(result):
                result = await result
            if result:
                return
            await asyncio.sleep(0.01)


async def _requests(client: httpx.AsyncClient) -> bool:
    return bool((await stats(client))["requests"])


async def _applied(client: httpx.AsyncClient) -> bool:
    fault: dict[str, Any] = (await client.get("/_faults")).json()
    return bool(fault["applied"])
