from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from ownergraph.sources import (
    Call,
    CircuitOpen,
    DeadlineExceeded,
    Endpoint,
    EntityConfig,
    OwnerBadResponse,
    OwnerHTTPError,
    OwnerTimeout,
    OwnerUnavailable,
    PooledHTTP,
    RestSource,
    SystemConfig,
    TransportHTTP,
    open_source,
)
from ownergraph.sources.breaker import BreakerConfig
from ownergraph.sources.deadline import Deadline

CUSTOMER = EntityConfig(
    name="customer",
    key_field=("id",),
    records="customers",
    batch=Endpoint("GET", "/customers", param="ids"),
    single=Endpoint("GET", "/customers/{key}"),
)
ACCOUNT = EntityConfig(
    name="account",
    key_field=("code",),
    records="accounts",
    batch=Endpoint("POST", "/accounts/batch", body="codes"),
)
TICKETS = EntityConfig(
    name="tickets",
    key_field=("requester", "external_id"),
    records="tickets",
    many=True,
    batch=Endpoint("GET", "/tickets", param="requester_ids"),
)
SINGLE_ONLY = EntityConfig(
    name="profile", key_field=("id",), single=Endpoint("GET", "/profiles/{key}")
)


class Recorder:
    def __init__(self) -> None:
        self.calls: list[Call] = []

    def record(self, call: Call) -> None:
        self.calls.append(call)


def make_source(
    handler: Callable[[httpx.Request], object],
    *,
    max_batch: int = 100,
    timeout: float = 1.0,
    **options: Any,
) -> tuple[Any, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    async def recording(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        result = handler(request)
        if asyncio.iscoroutine(result):
            result = await result
        assert isinstance(result, httpx.Response)
        return result

    config = SystemConfig(
        name="crm",
        base_url="http://crm.test",
        timeout=timeout,
        max_batch=max_batch,
        concurrency=4,
        entities={e.name: e for e in (CUSTOMER, ACCOUNT, TICKETS, SINGLE_ONLY)},
        **options,
    )
    return open_source(config, httpx.MockTransport(recording)), seen


def customers_reply(request: httpx.Request) -> httpx.Response:
    if request.url.path != "/customers":  # a single read, confirming a missing key
        key = request.url.path.rsplit("/", 1)[1]
        if key == "C99999":
            return httpx.Response(404, json={"error": "not found"})
        return httpx.Response(200, json={"id": key, "name": key})
    ids = request.url.params["ids"].split(",")
    known = [i for i in ids if i != "C99999"]
    return httpx.Response(200, json={"customers": [{"id": i, "name": i} for i in reversed(known)]})


async def test_batch_get_returns_one_result_per_key_in_key_order() -> None:
    source, seen = make_source(customers_reply)
    results = await source.fetch("customer", ["C00002", "C99999", "C00001"])
    assert results == [{"id": "C00002", "name": "C00002"}, None, {"id": "C00001", "name": "C00001"}]
    assert seen[0].url.params["ids"] == "C00002,C99999,C00001"
    # The key missing from the batch reply is confirmed unknown by a single read.
    assert [r.url.path for r in seen[1:]] == ["/customers/C99999"]


async def test_no_keys_is_no_call() -> None:
    source, seen = make_source(customers_reply)
    assert await source.fetch("customer", []) == []
    assert seen == []


async def test_batches_are_split_at_max_batch_and_sent_together() -> None:
    source, seen = make_source(customers_reply, max_batch=2)
    results = await source.fetch("customer", ["C1", "C2", "C3", "C4", "C5"])
    assert [r["id"] for r in results] == ["C1", "C2", "C3", "C4", "C5"]
    assert [r.url.params["ids"] for r in seen] == ["C1,C2", "C3,C4", "C5"]


async def test_post_batch_sends_keys_and_params_in_the_body() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        return httpx.Response(200, json={"accounts": [{"code": c} for c in body["codes"]]})

    source, seen = make_source(handler)
    results = await source.fetch("account", ["K-1", "K-2"], {"currency": "EUR"})
    assert results == [{"code": "K-1"}, {"code": "K-2"}]
    assert json.loads(seen[0].content) == {"currency": "EUR", "codes": ["K-1", "K-2"]}
    assert seen[0].method == "POST"


async def test_one_to_many_groups_records_by_a_nested_key() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.params["status"] == "open"
        return httpx.Response(
            200,
            json={
                "tickets": [
                    {"id": 1, "requester": {"external_id": "C1"}},
                    {"id": 2, "requester": {"external_id": "C2"}},
                    {"id": 3, "requester": {"external_id": "C1"}},
                ]
            },
        )

    source, _ = make_source(handler)
    results = await source.fetch("tickets", ["C1", "C2", "C3"], {"status": "open"})
    assert [[t["id"] for t in r] for r in results] == [[1, 3], [2], []]


async def test_system_without_batch_endpoint_is_read_with_single_calls() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        key = request.url.path.rsplit("/", 1)[1]
        if key == "missing":
            return httpx.Response(404, json={"error": "not found"})
        return httpx.Response(200, json={"id": key})

    source, seen = make_source(handler)
    results = await source.fetch("profile", ["a", "missing", "a b"])
    assert results == [{"id": "a"}, None, {"id": "a b"}]
    assert sorted(r.url.raw_path for r in seen) == [
        b"/profiles/a",
        b"/profiles/a%20b",
        b"/profiles/missing",
    ]


@pytest.mark.parametrize(
    ("response", "error", "code"),
    [
        (httpx.Response(500), OwnerHTTPError, "OWNER_ERROR"),
        (httpx.Response(503), OwnerUnavailable, "OWNER_UNAVAILABLE"),
        (httpx.Response(200, content=b"<html>oops"), OwnerBadResponse, "OWNER_BAD_RESPONSE"),
        (httpx.Response(200, json={"other": []}), OwnerBadResponse, "OWNER_BAD_RESPONSE"),
        (
            httpx.Response(200, json={"customers": [{"name": "no id"}]}),
            OwnerBadResponse,
            "OWNER_BAD_RESPONSE",
        ),
        (httpx.Response(404), OwnerHTTPError, "OWNER_ERROR"),
    ],
)
async def test_a_failed_batch_puts_the_error_in_every_slot(
    response: httpx.Response, error: type[Exception], code: str
) -> None:
    source, _ = make_source(lambda request: response)
    results = await source.fetch("customer", ["C1", "C2"])
    assert all(isinstance(r, error) for r in results)
    assert results[0].extensions["code"] == code
    assert results[0].extensions["owner"] == "crm"
    assert "crm.test" not in str(results[0])  # no hostnames in client-facing messages


async def test_only_the_failed_batch_fails() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if "C3" in request.url.params["ids"]:
            return httpx.Response(500)
        return customers_reply(request)

    source, _ = make_source(handler, max_batch=2)
    results = await source.fetch("customer", ["C1", "C2", "C3"])
    assert results[:2] == [{"id": "C1", "name": "C1"}, {"id": "C2", "name": "C2"}]
    assert isinstance(results[2], OwnerHTTPError)


async def test_a_slow_owner_times_out() -> None:
    async def slow(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(5)
        return httpx.Response(200, json={"customers": []})

    recorder = Recorder()
    source, _ = make_source(slow, timeout=0.05)
    results = await source.fetch("customer", ["C1"], observer=recorder)
    assert isinstance(results[0], OwnerTimeout)
    assert results[0].extensions["code"] == "OWNER_TIMEOUT"
    assert [c.status for c in recorder.calls] == ["timeout"]


async def test_connection_refused_is_unavailable() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    source, _ = make_source(refuse)
    results = await source.fetch("customer", ["C1"])
    assert isinstance(results[0], OwnerUnavailable)


async def test_a_refused_loopback_connection_is_unavailable_over_the_default_client() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again when the block ends: nothing listens
    config = SystemConfig(
        name="erp", base_url=f"http://127.0.0.1:{port}", entities={"customer": CUSTOMER}
    )
    source = open_source(config)
    try:
        results = await source.fetch("customer", ["C1"])
    finally:
        await source.aclose()
    assert isinstance(results[0], OwnerUnavailable)


async def test_every_call_is_reported_to_the_observer() -> None:
    recorder = Recorder()
    source, _ = make_source(customers_reply, max_batch=2)
    await source.fetch("customer", ["C1", "C2", "C3"], observer=recorder)
    assert sorted(c.keys for c in recorder.calls) == [1, 2]
    assert {c.status for c in recorder.calls} == {"ok"}
    assert all(c.http_status == 200 and c.ended >= c.started for c in recorder.calls)


async def test_the_default_client_is_the_pool() -> None:
    source = open_source(SystemConfig(name="crm", base_url="http://127.0.0.1:9", concurrency=7))
    try:
        assert isinstance(source._http, PooledHTTP)
        assert source._http.limit == 7
    finally:
        await source.aclose()


# -- resilience: retries, budget, breaker, deadline ------------------------------------


def flaky(
    *statuses: int, retry_after: str | None = None
) -> Callable[[httpx.Request], httpx.Response]:
    """Answers the given statuses in turn, then the normal reply."""
    queue = list(statuses)

    def handler(request: httpx.Request) -> httpx.Response:
        if queue:
            headers = {"Retry-After": retry_after} if retry_after else {}
            return httpx.Response(queue.pop(0), headers=headers)
        return customers_reply(request)

    return handler


@pytest.mark.parametrize("status", [502, 503, 504, 429])
async def test_a_read_is_retried_once_on_statuses_worth_it(status: int) -> None:
    recorder = Recorder()
    source, _ = make_source(flaky(status))
    results = await source.fetch("customer", ["C1"], observer=recorder)
    assert results == [{"id": "C1", "name": "C1"}]
    assert [c.attempt for c in recorder.calls] == [0, 1]


@pytest.mark.parametrize("status", [500, 400, 422])
async def test_other_statuses_are_not_retried(status: int) -> None:
    source, seen = make_source(flaky(status))
    results = await source.fetch("customer", ["C1"])
    assert isinstance(results[0], OwnerHTTPError)
    assert len(seen) == 1


async def test_timeouts_are_not_retried() -> None:
    async def slow(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(1)
        return httpx.Response(200, json={"customers": []})

    source, seen = make_source(slow, timeout=0.02)
    assert isinstance((await source.fetch("customer", ["C1"]))[0], OwnerTimeout)
    assert len(seen) == 1


async def test_retry_after_is_honoured() -> None:
    recorder = Recorder()
    source, _ = make_source(flaky(503, retry_after="0.05"))
    await source.fetch("customer", ["C1"], observer=recorder)
    first, second = recorder.calls
    assert second.started - first.ended >= 0.05


async def test_no_retry_when_retry_after_does_not_fit_the_deadline() -> None:
    source, seen = make_source(flaky(503, retry_after="5"))
    results = await source.fetch("customer", ["C1"], deadline=Deadline(1.0))
    assert isinstance(results[0], OwnerUnavailable)
    assert len(seen) == 1


async def test_retries_never_exceed_the_budget() -> None:
    def down(request: httpx.Request) -> httpx.Response:
        return httpx.Response(503)

    recorder = Recorder()
    source, _ = make_source(down, retries=2, breaker=BreakerConfig(failures=10_000, window=10_000))
    for _ in range(50):
        await source.fetch("customer", ["C1"], observer=recorder)
    first = sum(1 for c in recorder.calls if c.attempt == 0)
    retries = sum(1 for c in recorder.calls if c.attempt > 0)
    assert first == 50
    assert retries <= 0.2 * first + 3


async def test_an_open_breaker_answers_at_once_without_calling() -> None:
    def down(request: httpx.Request) -> httpx.Response:
        return httpx.Response(500)

    recorder = Recorder()
    source, seen = make_source(down, breaker=BreakerConfig(failures=3, open_for=60))
    for _ in range(3):
        await source.fetch("customer", ["C1"])
    calls_before = len(seen)
    results = await source.fetch("customer", ["C1", "C2"], observer=recorder)
    assert all(isinstance(r, CircuitOpen) for r in results)
    assert results[0].extensions["code"] == "OWNER_UNAVAILABLE"
    assert len(seen) == calls_before
    assert [(c.status, c.sent) for c in recorder.calls] == [("unavailable", False)]


async def test_the_breaker_lets_a_recovered_owner_back_in() -> None:
    clock = [0.0]
    healthy = [False]

    def owner(request: httpx.Request) -> httpx.Response:
        return customers_reply(request) if healthy[0] else httpx.Response(500)

    config = SystemConfig(
        name="crm",
        base_url="http://crm.test",
        entities={"customer": CUSTOMER},
        breaker=BreakerConfig(failures=2, open_for=10),
    )
    source = RestSource(
        config,
        TransportHTTP("http://crm.test", httpx.MockTransport(owner)),
        clock=lambda: clock[0],
    )
    for _ in range(2):
        await source.fetch("customer", ["C1"])
    assert source.breaker.state == "open"
    healthy[0] = True
    assert isinstance((await source.fetch("customer", ["C1"]))[0], CircuitOpen)
    clock[0] += 10
    assert (await source.fetch("customer", ["C1"]))[0] == {"id": "C1", "name": "C1"}
    assert source.breaker.state == "closed"


def clocked_source(
    handler: Callable[[httpx.Request], object], breaker: BreakerConfig
) -> tuple[RestSource, list[float]]:
    """A CRM source whose breaker reads a clock the test moves by hand."""
    clock = [0.0]

    async def answer(request: httpx.Request) -> httpx.Response:
        result = handler(request)
        if asyncio.iscoroutine(result):
            result = await result
        assert isinstance(result, httpx.Response)
        return result

    config = SystemConfig(
        name="crm", base_url="http://crm.test", entities={"customer": CUSTOMER}, breaker=breaker
    )
    client = TransportHTTP("http://crm.test", httpx.MockTransport(answer))
    return RestSource(config, client, clock=lambda: clock[0]), clock


async def test_a_recovered_owner_is_asked_again_after_the_first_short_open_time() -> None:
    healthy = [False]

    def owner(request: httpx.Request) -> httpx.Response:
        return customers_reply(request) if healthy[0] else httpx.Response(500)

    source, clock = clocked_source(owner, BreakerConfig(failures=2, open_first=0.5, open_for=10))
    for _ in range(2):
        await source.fetch("customer", ["C1"])
    healthy[0] = True
    clock[0] += 0.5
    assert (await source.fetch("customer", ["C1"]))[0] == {"id": "C1", "name": "C1"}
    assert source.breaker.state == "closed"


async def test_a_call_sent_before_the_breaker_opened_does_not_decide_the_probe() -> None:
    release_straggler = asyncio.Event()
    release_probe = asyncio.Event()
    asked: list[str] = []

    async def owner(request: httpx.Request) -> httpx.Response:
        key = request.url.params["ids"]
        asked.append(key)
        if key == "STRAGGLER":  # sent while the owner was failing, answers late
            await release_straggler.wait()
            return httpx.Response(500)
        if key == "PROBE":  # sent once it had recovered
            await release_probe.wait()
            return customers_reply(request)
        return httpx.Response(500)

    source, clock = clocked_source(owner, BreakerConfig(failures=1, open_first=5, open_for=5))
    straggler = asyncio.create_task(source.fetch("customer", ["STRAGGLER"]))
    await asyncio.sleep(0)
    await source.fetch("customer", ["C1"])
    assert source.breaker.state == "open"
    clock[0] += 5
    probe = asyncio.create_task(source.fetch("customer", ["PROBE"]))
    while "PROBE" not in asked:
        await asyncio.sleep(0)
    release_straggler.set()
    assert isinstance((await straggler)[0], OwnerHTTPError)
    assert source.breaker.state == "half_open"  # still waiting for the probe's verdict
    release_probe.set()
    assert (await probe)[0] == {"id": "PROBE", "name": "PROBE"}
    assert source.breaker.state == "closed"


async def test_a_hanging_owner_is_cut_at_the_deadline() -> None:
    async def hang(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(60)
        raise AssertionError("unreachable")

    recorder = Recorder()
    source, _ = make_source(hang, timeout=10)
    results = await source.fetch("customer", ["C1"], observer=recorder, deadline=Deadline(0.05))
    assert isinstance(results[0], DeadlineExceeded)
    assert results[0].extensions == {"code": "DEADLINE_EXCEEDED", "owner": "crm"}
    assert [c.status for c in recorder.calls] == ["deadline"]


async def test_no_call_goes_out_after_the_deadline() -> None:
    source, seen = make_source(customers_reply)
    results = await source.fetch("customer", ["C1"], deadline=Deadline(-1))
    assert isinstance(results[0], DeadlineExceeded)
    assert seen == []


async def test_a_truncated_batch_does_not_lose_records() -> None:
    def truncating(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/customers":
            ids = request.url.params["ids"].split(",")
            return httpx.Response(
                200, json={"customers": [{"id": i} for i in ids[: len(ids) // 2]]}
            )
        return httpx.Response(200, json={"id": request.url.path.rsplit("/", 1)[1]})

    source, seen = make_source(truncating)
    results = await source.fetch("customer", ["C1", "C2", "C3", "C4"])
    assert results == [{"id": "C1"}, {"id": "C2"}, {"id": "C3"}, {"id": "C4"}]
    assert [r.url.path for r in seen[1:]] == ["/customers/C3", "/customers/C4"]
