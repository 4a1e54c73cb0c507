from __future__ import annotations

import json
import logging
from pathlib import Path

import httpx
import pytest

from ownergraph import Settings, create_app
from ownergraph.demo import SYSTEMS, create_owner_app
from ownergraph.logs import JSONFormatter

ROOT = Path(__file__).resolve().parents[2]


class Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(JSONFormatter())
        self.lines: list[dict[str, object]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(json.loads(self.format(record)))


@pytest.fixture
def lines() -> object:
    handler = Lines()
    logger = logging.getLogger("ownergraph.access")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield handler.lines
    logger.removeHandler(handler)


async def test_each_request_gets_an_id_and_one_access_line_without_values(
    demo_data: Path, lines: list[dict[str, object]]
) -> None:
    settings = Settings(ownership_path=ROOT / "ownership.yaml", demo_keys=True, audit_log="off")
    transports: dict[str, httpx.AsyncBaseTransport] = {
        n: httpx.ASGITransport(app=create_owner_app(n, demo_data)) for n in SYSTEMS
    }
    app = create_app(settings, transports=transports)
    document = '{ customer(id: "C00002") { displayName phones } }'
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://og",
            headers={"Authorization": "Bearer demo-agent"},
        ) as client,
    ):
        given = await client.post(
            "/graphql", json={"query": document}, headers={"X-Request-Id": "call-42"}
        )
        made = await client.post(
            "/graphql", json={"query": document}, headers={"X-Request-Id": "bad id\n"}
        )
    assert given.headers["x-request-id"] == "call-42"
    assert made.headers["x-request-id"] != "bad id\n" and len(made.headers["x-request-id"]) == 32
    first, second = lines
    assert first["requestId"] == "call-42"
    assert (first["method"], first["path"], first["status"]) == ("POST", "/graphql", 200)
    assert second["requestId"] == made.headers["x-request-id"]
    text = json.dumps(lines)
    for value in ["C00002", "Simona", "+39", "displayName"]:
        assert value not in text
