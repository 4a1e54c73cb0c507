"""The demo contact center: interactions by customer id, times in epoch seconds."""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

import httpx
import pytest

from ownergraph.demo.seed import db_path


def _busy_customers(data_dir: Path, count: int) -> list[str]:
    query = """
        SELECT customer_id FROM interactions GROUP BY customer_id
        HAVING COUNT(*) >= 5 AND SUM(channel = 'voice') >= 1
        ORDER BY customer_id LIMIT ?
    """
    with contextlib.closing(sqlite3.connect(db_path(data_dir, "contactcenter"))) as conn:
        return [row[0] for row in conn.execute(query, (count,))]


async def test_search_returns_only_known_customers(
    contactcenter: httpx.AsyncClient, data_dir: Path
) -> None:
    ids = _busy_customers(data_dir, 2)
    reply = await contactcenter.post(
        "/interactions/search", json={"customer_ids": [*ids, "C99999"]}
    )
    assert reply.status_code == 200
    data = reply.json()["data"]
    assert {i["customer_id"] for i in data} == set(ids)
    item = data[0]
    assert set(item) == {
        "id",
        "customer_id",
        "channel",
        "direction",
        "started_at",
        "duration_s",
        "summary",
        "agent",
        "caller_number",
    }
    assert isinstance(item["started_at"], int)
    for interaction in data:
        # Only calls and texts have a number at the other end.
        has_number = interaction["caller_number"] is not None
        assert has_number == (interaction["channel"] in ("voice", "sms"))


async def test_limit_is_per_customer_and_newest_first(
    contactcenter: httpx.AsyncClient, data_dir: Path
) -> None:
    ids = _busy_customers(data_dir, 3)
    limited = await contactcenter.post(
        "/interactions/search", json={"customer_ids": ids, "limit": 2}
    )
    data = limited.json()["data"]
    assert sorted(i["customer_id"] for i in data) == sorted(ids * 2)

    everything = await contactcenter.post(
        "/interactions/search", json={"customer_ids": ids[:1], "limit": 100}
    )
    all_of_one = everything.json()["data"]
    started = [i["started_at"] for i in all_of_one]
    assert started == sorted(started, reverse=True)
    assert [i["id"] for i in data if i["customer_id"] == ids[0]] == [
        i["id"] for i in all_of_one[:2]
    ]


async def test_channel_filter(contactcenter: httpx.AsyncClient, data_dir: Path) -> None:
    ids = _busy_customers(data_dir, 5)
    reply = await contactcenter.post(
        "/interactions/search", json={"customer_ids": ids, "channel": "voice"}
    )
    data = reply.json()["data"]
    assert len(data) >= 5
    assert {i["channel"] for i in data} == {"voice"}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"customer_ids": ["C00001"], "channel": "fax"}, "field 'channel' must be one of voice"),
        ({"customer_ids": ["C00001"], "limit": 0}, "field 'limit' must be an integer from 1"),
        ({"customer_ids": ["C00001"], "limit": True}, "field 'limit' must be an integer from 1"),
        ({"customer_ids": ["C00001"], "limit": "5"}, "field 'limit' must be an integer from 1"),
        ({"customer_ids": "C00001"}, "field 'customer_ids' must be an array of strings"),
        ({"channel": "voice"}, "field 'customer_ids' is required"),
        ({"customer_ids": [], "chanel": "sms"}, "unknown field 'chanel'"),
        ([1, 2], "request body must be a JSON object"),
    ],
)
async def test_bad_bodies_are_400(
    contactcenter: httpx.AsyncClient, body: object, message: str
) -> None:
    reply = await contactcenter.post("/interactions/search", json=body)
    assert reply.status_code == 400
    assert reply.json()["error"].startswith(message)


async def test_single_interaction(contactcenter: httpx.AsyncClient) -> None:
    reply = await contactcenter.get("/interactions/I-0000001")
    assert reply.status_code == 200
    assert reply.json()["id"] == "I-0000001"
    missing = await contactcenter.get("/interactions/I-9999999")
    assert missing.status_code == 404
    assert missing.json() == {"error": "interaction 'I-9999999' not found"}


def test_interaction_counts_per_customer(data_dir: Path) -> None:
    with contextlib.closing(sqlite3.connect(db_path(data_dir, "contactcenter"))) as conn:
        counts = [
            n for (n,) in conn.execute("SELECT COUNT(*) FROM interactions GROUP BY customer_id")
        ]
        durations = dict(
            conn.execute(
                "SELECT channel, COUNT(duration_s) FROM interactions GROUP BY channel"
            ).fetchall()
        )
    assert max(counts) <= 8
    assert 2.5 < sum(counts) / 10_000 < 3.5
    # E-mails and texts have no duration; calls and chats do.
    assert durations["email"] == durations["sms"] == 0
    assert durations["voice"] > 0 and durations["chat"] > 0
