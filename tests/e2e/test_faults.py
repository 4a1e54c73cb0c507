"""Owners fail, the graph holds: a fault matrix over real sockets.

Each demo owner is broken on demand through its `/_faults` API (or, for a
refused connection, replaced by a port where nothing listens); the gateway
runs in-process with a fresh set of breakers per case and talks real HTTP to
the owners. Each case asks the caller-profile query with a deadline and
checks that the answer comes in time, that the other owners' fields are
there, and that the broken owner's fields are null with code, owner and path.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from ownergraph import Settings, create_app

from .conftest import Owners, free_ports

ROOT = Path(__file__).resolve().parents[2]
CUSTOMER = "C00002"  # known to every owner: ERP account, unpaid invoices, tickets, contacts
DEADLINE_MS = 600
# The answer must come by the deadline; this covers the gateway's own work and the
# test client, on a loaded two-core machine.
SLACK = 0.4
CALLER_PROFILE = f"""{{
  customer(id: "{CUSTOMER}") {{
    id displayName phones
    credit {{ balance }}
    invoices(status: UNPAID) {{ number }}
    tickets {{ id }}
    interactions {{ channel }}
  }}
}}"""
FIELDS = {
    "crm": ["displayName", "phones"],
    "erp": ["credit", "invoices"],
    "helpdesk": ["tickets"],
    "contactcenter": ["interactions"],
}
FIRST_ROUTE = {
    "crm": "/customers",
    "erp": "/accounts",
    "helpdesk": "/tickets",
    "contactcenter": "/interactions",
}
# The ERP is keyed by the CRM's erpCode: when the CRM fails, the ERP cannot be asked.
DEPENDS = {"crm": ["erp"]}


def fault_map(tmp_path: Path, **breaker: Any) -> Path:
    """The shipped map with short timeouts, so that every fault case stays quick.

    The breaker stays open for a fixed second: these cases are about the faults, and
    how its open time grows is tested on the breaker itself.
    """
    settings = {
        "failures": 3,
        "window": 20,
        "open_first": "1s",
        "open_for": "1s",
        "slow": "100ms",
        **breaker,
    }
    text = (ROOT / "ownership.yaml").read_text()
    start = text.index("defaults:")
    end = text.index("systems:")
    block = "\n".join(f"    {k}: {v}" for k, v in settings.items())
    defaults = (
        "defaults:\n  timeout: 300ms\n  max_batch: 100\n  concurrency: 16\n"
        f"  retries: 1\n  retry_budget: 0.2\n  breaker:\n{block}\n\n"
    )
    path = tmp_path / "ownership.yaml"
    path.write_text(text[:start] + defaults + text[end:])
    return path


@asynccontextmanager
async def gateway(
    owners: dict[str, str], ownership: Path, **urls: str
) -> AsyncIterator[httpx.AsyncClient]:
    env = {f"OWNERGRAPH_{name.upper()}_URL": url for name, url in {**owners, **urls}.items()}
    settings = Settings.from_env(env, ownership_path=ownership, demo_keys=True, audit_log="off")
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        headers = {"Authorization": "Bearer demo-agent"}
        async with httpx.AsyncClient(
            transport=transport, base_url="http://og", headers=headers
        ) as client:
            yield client


async def ask(
    client: httpx.AsyncClient, deadline_ms: int = DEADLINE_MS
) -> tuple[dict[str, Any], float]:
    started = time.monotonic()
    response = await client.post(
        "/graphql",
        json={"query": CALLER_PROFILE},
        headers={"X-Deadline-Ms": str(deadline_ms)},
    )
    elapsed = time.monotonic() - started
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body, elapsed


def set_fault(owners: dict[str, str], system: str, **fault: Any) -> None:
    httpx.put(f"{owners[system]}/_faults", json=fault).raise_for_status()


@pytest.fixture(autouse=True)
def no_faults(owners: dict[str, str]) -> Iterator[None]:
    yield
    for url in owners.values():
        httpx.delete(f"{url}/_faults").raise_for_status()


def assert_others_answered(body: dict[str, Any], broken: str) -> None:
    customer = body["data"]["customer"]
    assert customer["id"] == CUSTOMER
    lost = {broken, *DEPENDS.get(broken, [])}
    for system, fields in FIELDS.items():
        if system in lost:
            continue
        for field in fields:
            assert customer[field] is not None, f"{field} of {system} missing with {broken} broken"


def assert_failed(body: dict[str, Any], broken: str, code: str) -> None:
    customer = body["data"]["customer"]
    errors = body["errors"]
    by_path = {tuple(e["path"]): e for e in errors}
    for field in FIELDS[broken]:
        assert customer[field] is None
        error = by_path[("customer", field)]
        assert error["extensions"]["code"] == code
        assert error["extensions"]["owner"] == broken
    assert all(e["extensions"]["owner"] == broken for e in errors)
    assert body["extensions"]["owners"][broken]["status"] != "ok"


FAULTS: dict[str, tuple[dict[str, Any] | None, str | None]] = {
    "slow past timeout": ({"mode": "slow", "ms": 2000}, "OWNER_TIMEOUT"),
    "hang": ({"mode": "hang"}, "OWNER_TIMEOUT"),
    "connection refused": (None, "OWNER_UNAVAILABLE"),
    "500": ({"mode": "status", "status": 500}, "OWNER_ERROR"),
    "503 with Retry-After": (
        {"mode": "status", "status": 503, "retry_after": 0},
        "OWNER_UNAVAILABLE",
    ),
    "429": ({"mode": "status", "status": 429, "retry_after": 0}, "OWNER_UNAVAILABLE"),
    "malformed JSON": ({"mode": "malformed"}, "OWNER_BAD_RESPONSE"),
    "truncated batch": ({"mode": "truncate"}, None),
    "flapping": ({"mode": "flap", "status": 503}, None),
}


@pytest.mark.parametrize("system", list(FIELDS))
@pytest.mark.parametrize("fault", list(FAULTS))
async def test_fault_matrix(
    owners: dict[str, str], owner_stats: Owners, tmp_path: Path, system: str, fault: str
) -> None:
    spec, code = FAULTS[fault]
    urls = {}
    if spec is None:
        urls[system] = f"http://127.0.0.1:{free_ports(1)}"  # nothing listens there
    elif spec["mode"] == "flap":
        # One route flaps: every other request to it fails, and one retry covers it.
        set_fault(owners, system, **spec, paths=[FIRST_ROUTE[system]])
    else:
        set_fault(owners, system, **spec)
    async with gateway(owners, fault_map(tmp_path), **urls) as client:
        body, elapsed = await ask(client)

    assert elapsed <= DEADLINE_MS / 1000 + SLACK
    assert_others_answered(body, system)
    if code is not None:
        assert_failed(body, system, code)
    else:
        # A truncated reply or a flapping owner costs nothing the client can see:
        # missing keys are confirmed by single reads; a flap is retried once.
        assert "errors" not in body, body["errors"]
        report = body["extensions"]["owners"][system]
        if fault == "flapping":
            assert report["retried"] >= 1
    if spec is not None:
        # What the gateway says it sent is what the owner received, and a read
        # is retried at most once.
        report = body["extensions"]["owners"][system]
        assert owner_stats.stats()[system]["requests"] == report["calls"]
        assert report.get("retried", 0) <= report["calls"] - report.get("retried", 0)


async def test_a_hanging_erp_costs_only_its_fields_then_the_breaker_opens_and_closes(
    owners: dict[str, str], owner_stats: Owners, tmp_path: Path
) -> None:
    set_fault(owners, "erp", mode="hang")
    async with gateway(owners, fault_map(tmp_path, open_for="1s")) as client:
        body, elapsed = await ask(client, deadline_ms=300)
        assert elapsed <= 0.3 + SLACK
        assert_others_answered(body, "erp")
        assert {e["extensions"]["code"] for e in body["errors"]} <= {
            "DEADLINE_EXCEEDED",
            "OWNER_TIMEOUT",
        }

        for _ in range(3):  # repeated failures open the ERP's breaker
            await ask(client, deadline_ms=300)
        assert (await client.get("/readyz")).json()["owners"]["erp"]["breaker"] == "open"

        owner_stats.reset()
        body, elapsed = await ask(client, deadline_ms=300)
        assert owner_stats.stats()["erp"]["requests"] == 0  # not asked: no waiting at all
        assert_others_answered(body, "erp")
        assert_failed(body, "erp", "OWNER_UNAVAILABLE")
        assert body["extensions"]["owners"]["erp"]["breaker"] == "open"

        httpx.delete(f"{owners['erp']}/_faults").raise_for_status()  # the ERP recovers
        await asyncio.sleep(1.05)
        # Half-open lets one probe through; once it succeeds every call flows again.
        for _ in range(3):
            body, _ = await ask(client)
            if "errors" not in body:
                break
        assert "errors" not in body, body["errors"]
        assert body["data"]["customer"]["credit"] is not None
        assert (await client.get("/readyz")).json()["owners"]["erp"]["breaker"] == "closed"


async def test_retries_stay_within_the_budget_during_an_outage(
    owners: dict[str, str], owner_stats: Owners, tmp_path: Path
) -> None:
    set_fault(owners, "helpdesk", mode="status", status=503)
    ownership = fault_map(tmp_path, failures=10_000, window=10_000)  # keep the breaker out of it
    async with gateway(owners, ownership) as client:
        for _ in range(30):
            await ask(client)
    requests = owner_stats.stats()["helpdesk"]["requests"]
    first_attempts = 30
    assert first_attempts < requests <= first_attempts * 1.2 + 3
