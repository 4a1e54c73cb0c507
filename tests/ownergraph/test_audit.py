"""The audit log: one JSON line per operation, saying who read what, never the values."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
from graphql import parse

from ownergraph import Settings, create_app
from ownergraph.audit import requested
from ownergraph.demo import SYSTEMS, create_owner_app

from ..conftest import shipped_graph
from ..documents import fan_out

ROOT = Path(__file__).resolve().parents[2]
KEY = "audit-test-key"
CALLER_PROFILE = """query CallerProfile($id: ID!) {
  customer(id: $id) {
    displayName phones emails address { city street }
    credit { balance } invoices { number amount dueDate }
    tickets { id subject } interactions { summary at }
  }
}"""


async def run(
    demo_data: Path, log: Path, *requests: tuple[str, dict[str, Any], str | None]
) -> list[dict[str, Any]]:
    settings = Settings(
        ownership_path=ROOT / "ownership.yaml",
        demo_keys=True,
        audit_log=str(log),
        audit_key=KEY,
    )
    transports: dict[str, httpx.AsyncBaseTransport] = {
        name: httpx.ASGITransport(app=create_owner_app(name, demo_data)) for name in SYSTEMS
    }
    app = create_app(settings, transports=transports)
    bodies = []
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://og") as client,
    ):
        for query, variables, key in requests:
            headers = {"Authorization": f"Bearer {key}"} if key else {}
            response = await client.post(
                "/graphql", json={"query": query, "variables": variables}, headers=headers
            )
            bodies.append(response.json())
    return bodies


def leaves(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for item in value.values():
            yield from leaves(item)
    elif isinstance(value, list):
        for item in value:
            yield from leaves(item)
    elif isinstance(value, str):
        yield value


def pseudonym(customer_id: str) -> str:
    return hmac.new(KEY.encode(), customer_id.encode(), hashlib.sha256).hexdigest()[:20]


async def test_one_line_per_operation_with_who_what_and_outcome(
    demo_data: Path, tmp_path: Path
) -> None:
    log = tmp_path / "audit.jsonl"
    await run(
        demo_data,
        log,
        (CALLER_PROFILE, {"id": "C00002"}, "demo-backoffice"),
        (CALLER_PROFILE, {"id": "C00002"}, "demo-intern"),
        ("{ customer(id: 1) { nope } }", {}, "demo-agent"),
    )
    backoffice, intern, invalid = (json.loads(line) for line in log.read_text().splitlines())

    assert backoffice["client"] == "demo backoffice" and backoffice["roles"] == ["backoffice"]
    assert backoffice["operation"] == "CallerProfile"
    assert backoffice["document"] == hashlib.sha256(CALLER_PROFILE.encode()).hexdigest()
    assert {"Customer.phones", "Invoice.amount", "Address.street", "Query.customer"} <= set(
        backoffice["fields"]
    )
    assert backoffice["denied"] == []
    assert backoffice["entities"] == [pseudonym("C00002")]
    assert backoffice["owners"] == ["contactcenter", "crm", "erp", "helpdesk"]
    assert backoffice["outcome"] == "ok"

    assert intern["roles"] == ["intern"]
    assert {"Customer.phones", "Customer.credit", "Invoice.amount"} <= set(intern["denied"])
    assert "Customer.displayName" not in intern["denied"]
    assert "erp" not in intern["owners"]
    assert intern["outcome"] == "partial"
    assert "FORBIDDEN" in intern["errors"]

    assert invalid["outcome"] == "rejected"
    assert invalid["owners"] == [] and invalid["entities"] == []


async def test_no_value_ever_reaches_the_log(demo_data: Path, tmp_path: Path) -> None:
    log = tmp_path / "audit.jsonl"
    ids = ["C00002", "C00013", "C00246"]
    bodies = await run(
        demo_data, log, *[(CALLER_PROFILE, {"id": i}, "demo-backoffice") for i in ids]
    )
    text = log.read_text()
    values = {v for body in bodies for v in leaves(body["data"]) if len(v) >= 4}
    assert len(values) > 30  # names, phones, e-mails, streets, amounts, subjects...
    leaked = sorted(v for v in values if v in text)
    assert leaked == []
    assert not any(i in text for i in ids)  # customer ids appear only as pseudonyms


async def test_anonymous_requests_are_audited_too(demo_data: Path, tmp_path: Path) -> None:
    log = tmp_path / "audit.jsonl"
    [body] = await run(demo_data, log, (CALLER_PROFILE, {"id": "C00002"}, None))
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    [entry] = [json.loads(line) for line in log.read_text().splitlines()]
    assert entry["client"] == "anonymous" and entry["roles"] == ["anonymous"]
    assert "Customer.displayName" in entry["denied"]
    assert entry["owners"] == []


def test_the_fields_of_a_fan_out_of_fragments_are_found_in_one_walk() -> None:
    graph = shipped_graph()
    document = parse(fan_out(30, 3))
    coordinates = requested(graph.schema, document, None)
    assert coordinates.found == {"Query.customer", "Customer.displayName"}
    # One visit per field written in the text, none per spread.
    assert coordinates.visited == 2
