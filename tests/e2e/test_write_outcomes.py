"""A write whose connection breaks: the client is told what is certain, and nothing is lost.

Each mutation goes through a proxy in front of its real demo owner that
breaks the connection three ways; the owner's database says whether the
write was applied, and the client's code must never claim "nothing was
sent" when it may have been. Then a retry with the same key gives the one
result, applied once.
"""

from __future__ import annotations

import asyncio
import sqlite3
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from ownergraph import Settings, create_app

from ..proxy import BreakingProxy

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Write:
    """A mutation, a read that warms its owner's pool, and how to see it in the owner's data."""

    owner: str
    document: str
    variables: Callable[[str], dict[str, Any]]
    warm_up: str
    applied: Callable[[Path, str], int]


def _count(db: Path, sql: str, value: str) -> int:
    with sqlite3.connect(db) as connection:
        return int(connection.execute(sql, (value,)).fetchone()[0])


WRITES = {
    "openTicket": Write(
        owner="helpdesk",
        document="mutation($input: OpenTicketInput!, $key: String!) { "
        "openTicket(input: $input, idempotencyKey: $key) { ticket { id subject } } }",
        variables=lambda mark: {"customerId": "C00004", "subject": f"Outage {mark}"},
        warm_up='{ customer(id: "C00004") { tickets(first: 1) { id } } }',
        applied=lambda data, mark: _count(
            data / "helpdesk.sqlite3",
            "SELECT count(*) FROM tickets WHERE subject = ?",
            f"Outage {mark}",
        ),
    ),
    "updateContact": Write(
        owner="crm",
        document="mutation($input: UpdateContactInput!, $key: String!) { "
        "updateContact(input: $input, idempotencyKey: $key) { customer { emails } } }",
        variables=lambda mark: {"customerId": "C00005", "emails": [f"{mark}@example.com"]},
        warm_up='{ customer(id: "C00005") { displayName } }',
        applied=lambda data, mark: _count(
            data / "crm.sqlite3",
            "SELECT count(*) FROM customer_emails WHERE email = ?",
            f"{mark}@example.com",
        ),
    ),
    "logInteraction": Write(
        owner="contactcenter",
        document="mutation($input: LogInteractionInput!, $key: String!) { "
        "logInteraction(input: $input, idempotencyKey: $key) { interaction { id summary } } }",
        variables=lambda mark: {
            "customerId": "C00006",
            "channel": "CHAT",
            "direction": "INBOUND",
            "summary": f"Asked about {mark}",
        },
        warm_up='{ customer(id: "C00006") { interactions(first: 1) { id } } }',
        applied=lambda data, mark: _count(
            data / "contactcenter.sqlite3",
            "SELECT count(*) FROM interactions WHERE summary = ?",
            f"Asked about {mark}",
        ),
    ),
}

# What the client must be told, and whether the owner has the write.
BREAKS = {
    "reset_after_answer": ("OUTCOME_UNKNOWN", 1),
    "close_before_reading": ("OUTCOME_UNKNOWN", 0),
    "refused": ("OWNER_UNAVAILABLE", 0),
}


@asynccontextmanager
async def gateway(
    owners: dict[str, str], proxied: str, proxy: BreakingProxy
) -> AsyncIterator[httpx.AsyncClient]:
    environ = {f"OWNERGRAPH_{name.upper()}_URL": url for name, url in owners.items()}
    environ[f"OWNERGRAPH_{proxied.upper()}_URL"] = proxy.url
    settings = Settings.from_env(
        environ, ownership_path=ROOT / "ownership.yaml", demo_keys=True, audit_log="off"
    )
    app = create_app(settings)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://og",
            headers={"Authorization": "Bearer demo-agent"},
            timeout=30,
        ) as client,
    ):
        yield client


async def ask(
    client: httpx.AsyncClient, document: str, variables: dict[str, Any] | None = None
) -> dict[str, Any]:
    response = await client.post("/graphql", json={"query": document, "variables": variables or {}})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


@pytest.mark.parametrize("pool", ["cold", "warm"])
@pytest.mark.parametrize("breaks", sorted(BREAKS))
@pytest.mark.parametrize("name", sorted(WRITES))
async def test_a_broken_write_is_reported_as_what_is_certain(
    owners: dict[str, str], demo_data: Path, name: str, breaks: str, pool: str
) -> None:
    write = WRITES[name]
    expected_code, expected_applied = BREAKS[breaks]
    owner = urlsplit(owners[write.owner])
    proxy = BreakingProxy((owner.hostname or "127.0.0.1", owner.port or 80))
    await proxy.start()
    mark = uuid.uuid4().hex[:12]
    variables = {"input": write.variables(mark), "key": f"outcome-{mark}"}
    try:
        async with gateway(owners, write.owner, proxy) as client:
            if pool == "warm":
                assert "errors" not in await ask(client, write.warm_up)
            if breaks == "refused":
                await proxy.stop()
                await asyncio.sleep(0.1)  # let the client see its kept-alive connection close
            else:
                proxy.mode = breaks  # type: ignore[assignment]
            body = await ask(client, write.document, variables)
            [error] = body["errors"]
            assert error["extensions"]["code"] == expected_code, error
            assert error["extensions"]["owner"] == write.owner
            if expected_code == "OWNER_UNAVAILABLE":
                assert "nothing was sent" in error["message"]
            else:
                assert "nothing was sent" not in error["message"]
                assert "retry with the same idempotencyKey" in error["message"]
            assert write.applied(demo_data, mark) == expected_applied

            # The client retries with the same key, as the message says: one write in all.
            if breaks == "refused":
                await proxy.start()
            proxy.mode = "pass"
            retried = await ask(client, write.document, variables)
            assert "errors" not in retried, retried["errors"]
            assert write.applied(demo_data, mark) == 1
    finally:
        await proxy.stop()
