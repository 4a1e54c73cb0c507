"""Mutations in-process: checks before the owner, write roles, and the audit of writes."""

from __future__ import annotations

import json
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

from ownergraph import Settings, create_app
from ownergraph.demo import SYSTEMS, create_owner_app

from .test_permissions import Counting

ROOT = Path(__file__).resolve().parents[2]
OPEN = """mutation Open($input: OpenTicketInput!, $key: String!) {
  openTicket(input: $input, idempotencyKey: $key) { ticket { id subject } }
}"""


async def run(
    demo_data: Path, tmp_path: Path, *requests: tuple[str, dict[str, Any], str]
) -> tuple[list[dict[str, Any]], Counter[str], list[dict[str, Any]]]:
    counts: Counter[str] = Counter()
    transports: dict[str, httpx.AsyncBaseTransport] = {
        n: Counting(n, httpx.ASGITransport(app=create_owner_app(n, demo_data)), counts)
        for n in SYSTEMS
    }
    log = tmp_path / "audit.jsonl"
    settings = Settings(
        ownership_path=ROOT / "ownership.yaml", demo_keys=True, audit_log=str(log), audit_key="k"
    )
    app = create_app(settings, transports=transports)
    bodies = []
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://og") as client,
    ):
        for document, variables, key in requests:
            response = await client.post(
                "/graphql",
                json={"query": document, "variables": variables},
                headers={"Authorization": f"Bearer {key}"},
            )
            bodies.append(response.json())
    return bodies, counts, [json.loads(line) for line in log.read_text().splitlines()]


def ticket(subject: str, key: str | None = None) -> dict[str, Any]:
    return {
        "input": {"customerId": "C00004", "subject": subject},
        "key": key or f"t-{uuid.uuid4().hex}",
    }


async def test_checks_come_before_the_owner(demo_data: Path, tmp_path: Path) -> None:
    bodies, counts, _ = await run(
        demo_data,
        tmp_path,
        (OPEN, ticket("Fine", key="short"), "demo-agent"),
        (OPEN, ticket("x" * 201), "demo-agent"),
        (OPEN, ticket("   "), "demo-agent"),
    )
    codes = [
        (b["errors"][0]["extensions"]["code"], b["errors"][0]["extensions"]["argument"])
        for b in bodies
    ]
    assert codes == [
        ("BAD_USER_INPUT", "idempotencyKey"),
        ("BAD_USER_INPUT", "input.subject"),
        ("BAD_USER_INPUT", "input.subject"),
    ]
    assert sum(counts.values()) == 0


async def test_write_roles_come_from_the_map(demo_data: Path, tmp_path: Path) -> None:
    update = """mutation { updateContact(input: {customerId: "C00004", displayName: "A B"},
      idempotencyKey: "intern-tries-1") { customer { id } } }"""
    bodies, counts, _ = await run(
        demo_data,
        tmp_path,
        (update, {}, "demo-intern"),
        (OPEN, ticket(f"Intern ticket {uuid.uuid4().hex[:6]}"), "demo-intern"),
    )
    denied, allowed = bodies
    assert denied["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert denied["errors"][0]["message"] == "Not allowed to call Mutation.updateContact."
    assert allowed["data"]["openTicket"]["ticket"]["id"]
    assert counts["crm"] == 0 and counts["helpdesk"] == 2  # the write, then the read-back


async def test_writes_are_audited_like_reads(demo_data: Path, tmp_path: Path) -> None:
    subject = f"Audited {uuid.uuid4().hex[:6]}"
    bodies, _, lines = await run(demo_data, tmp_path, (OPEN, ticket(subject), "demo-agent"))
    assert bodies[0]["data"]["openTicket"]["ticket"]["subject"] == subject
    [entry] = lines
    assert entry["operation"] == "Open"
    assert "Mutation.openTicket" in entry["fields"]
    assert entry["owners"] == ["helpdesk"]
    assert len(entry["entities"]) == 1 and "C00004" not in json.dumps(entry)
    assert subject not in json.dumps(entry)
    assert entry["outcome"] == "ok"
