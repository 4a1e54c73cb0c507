"""Writes: sent once, with the idempotency key; an unknown outcome is never a failure."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from ownergraph.sources import (
    OutcomeUnknown,
    OwnerNotFound,
    OwnerRejected,
    OwnerUnavailable,
    SystemConfig,
    open_source,
)
from ownergraph.sources.deadline import Deadline
from ownergraph.sources.errors import MAX_OWNER_WORDS, DeadlineExceeded, owner_words


def helpdesk(handler: object, timeout: float = 1.0) -> tuple[object, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    async def recording(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        result = handler(request)  # type: ignore[operator]
        if asyncio.iscoroutine(result):
            result = await result
        return result  # type: ignore[no-any-return]

    config = SystemConfig(
        name="helpdesk", base_url="http://helpdesk.test", timeout=timeout, retries=2
    )
    return open_source(config, httpx.MockTransport(recording)), seen


async def test_a_write_carries_the_key_and_returns_the_owners_record() -> None:
    source, seen = helpdesk(lambda r: httpx.Response(201, json={"id": 7, **json.loads(r.content)}))
    record = await source.write(
        "POST", "/tickets", {"subject": "Router"}, "key-1", name="openTicket", route="/tickets"
    )  # type: ignore[attr-defined]
    assert record == {"id": 7, "subject": "Router"}
    assert seen[0].headers["Idempotency-Key"] == "key-1"
    assert seen[0].method == "POST" and seen[0].url.path == "/tickets"


@pytest.mark.parametrize(
    ("fault", "error", "code"),
    [
        (httpx.ReadError("connection reset"), OutcomeUnknown, "OUTCOME_UNKNOWN"),
        (httpx.RemoteProtocolError("peer closed"), OutcomeUnknown, "OUTCOME_UNKNOWN"),
        (httpx.ConnectError("refused"), OwnerUnavailable, "OWNER_UNAVAILABLE"),
    ],
)
async def test_transport_failures_are_never_retried(
    fault: Exception, error: type[Exception], code: str
) -> None:
    def fail(request: httpx.Request) -> httpx.Response:
        raise fault

    source, seen = helpdesk(fail)
    with pytest.raises(error) as caught:
        await source.write("POST", "/tickets", {}, "key-1", name="openTicket", route="/tickets")  # type: ignore[attr-defined]
    assert caught.value.extensions["code"] == code  # type: ignore[attr-defined]
    assert len(seen) == 1  # even with retries configured for reads


async def test_a_write_without_answer_in_time_is_an_unknown_outcome() -> None:
    async def slow(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(5)
        return httpx.Response(201, json={})

    source, seen = helpdesk(slow, timeout=0.05)
    with pytest.raises(OutcomeUnknown, match="retry with the same idempotencyKey"):
        await source.write("POST", "/tickets", {}, "key-1", name="openTicket", route="/tickets")  # type: ignore[attr-defined]
    assert len(seen) == 1


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (404, OwnerNotFound),
        (409, OutcomeUnknown),
        (422, OwnerRejected),
        (400, OwnerRejected),
        (500, OutcomeUnknown),
        (503, OutcomeUnknown),
    ],
)
async def test_owner_statuses(status: int, error: type[Exception]) -> None:
    source, seen = helpdesk(lambda r: httpx.Response(status, json={"error": "x"}))
    with pytest.raises(error):
        await source.write(
            "PATCH",
            "/customers/C1",
            {},
            "key-1",
            name="updateContact",
            route="/customers/{customerId}",
        )  # type: ignore[attr-defined]
    assert len(seen) == 1


async def test_nothing_is_sent_after_the_deadline() -> None:
    source, seen = helpdesk(lambda r: httpx.Response(201, json={}))
    with pytest.raises(DeadlineExceeded):
        await source.write(
            "POST", "/tickets", {}, "k", deadline=Deadline(-1), name="openTicket", route="/tickets"
        )  # type: ignore[attr-defined]
    assert seen == []


@pytest.mark.parametrize(
    ("body", "detail", "field"),
    [
        ({"error": "subject is too long", "field": "subject"}, "subject is too long", "subject"),
        (
            {"error": {"message": "no such requester", "field": "requester"}},
            "no such requester",
            "requester",
        ),
        ({"detail": "bad", "title": "Bad Request"}, "bad", None),
        ({"unexpected": True}, None, None),
    ],
)
async def test_a_refusal_passes_on_the_owners_reason(
    body: dict[str, object], detail: str | None, field: str | None
) -> None:
    source, _ = helpdesk(lambda r: httpx.Response(400, json=body))
    with pytest.raises(OwnerRejected) as raised:
        await source.write("POST", "/tickets", {}, "key-1", name="openTicket", route="/tickets")  # type: ignore[attr-defined]
    assert raised.value.detail == detail
    assert raised.value.field == field
    assert str(raised.value) == f"Owner 'helpdesk' refused the write: {detail or 'HTTP 400'}."


def test_an_owners_words_are_cleaned_before_a_client_reads_them() -> None:
    said = (
        "bad\x00 value\n\tsee https://crm.internal:8443/docs?x=1 or db-3.corp:5432 now " + "x" * 400
    )
    cleaned = owner_words(said)
    assert cleaned.startswith("bad value see <address> or <address> now xxx")
    assert "internal" not in cleaned and "corp" not in cleaned
    assert len(cleaned) == MAX_OWNER_WORDS
    assert cleaned.endswith("…")
