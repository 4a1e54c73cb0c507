"""Transport failures classified by what is certain: was the request sent, and when did it fail."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio

from ownergraph.sources import (
    ConnectFailed,
    ConnectionBroke,
    Deadline,
    OutcomeUnknown,
    OwnerUnavailable,
    SystemConfig,
    open_source,
)
from ownergraph.sources.failures import Failure, classify

from ..proxy import _read_message, _reset
from ._loopback import loopback


@pytest.mark.parametrize(
    ("error", "failure"),
    [
        # The pool says itself whether anything went out.
        (ConnectFailed(111, "could not connect: refused"), Failure.NOT_CONNECTED),
        (ConnectionBroke("the connection closed before the answer"), Failure.BROKEN),
        # Any httpx transport (tests): httpx's own classes.
        (httpx.ConnectError("refused"), Failure.NOT_CONNECTED),
        (httpx.ConnectTimeout("slow"), Failure.CONNECT_TIMEOUT),
        (httpx.PoolTimeout("busy"), Failure.CONNECT_TIMEOUT),
        (httpx.ReadTimeout("slow"), Failure.ANSWER_TIMEOUT),
        (httpx.ReadError("reset"), Failure.BROKEN),
        (httpx.RemoteProtocolError("eof"), Failure.BROKEN),
    ],
)
def test_transport_errors_are_classified(error: Exception, failure: Failure) -> None:
    assert classify(error) is failure


class Owner:
    """A loopback server that reads each request whole, counts it, then resets the connection."""

    def __init__(self) -> None:
        self.requests = 0
        self.server: asyncio.Server | None = None

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if await _read_message(reader) is not None:
            self.requests += 1
        _reset(writer)

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"


@pytest_asyncio.fixture
async def resetting_owner() -> AsyncIterator[Owner]:
    owner = Owner()
    owner.server = await asyncio.start_server(owner.serve, "127.0.0.1", 0)
    async with owner.server:
        yield owner


def entity_config(url: str) -> SystemConfig:
    from ownergraph.sources import Endpoint, EntityConfig

    return SystemConfig(
        name="crm",
        base_url=url,
        retries=1,
        entities={
            "customer": EntityConfig(
                name="customer",
                key_field=("id",),
                records="customers",
                batch=Endpoint("GET", "/customers", param="ids"),
            )
        },
    )


async def test_a_read_reset_after_it_was_sent_is_retried_over_a_real_socket(
    resetting_owner: Owner,
) -> None:
    source = open_source(entity_config(resetting_owner.url))
    try:
        [result] = await source.fetch("customer", ["C00001"])
    finally:
        await source.aclose()
    # A read is safe to ask again: the reset is retried once, then reported.
    assert resetting_owner.requests == 2
    assert isinstance(result, OwnerUnavailable)
    assert "connection broke" in str(result)


async def test_a_write_to_a_refusing_port_was_certainly_not_sent() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # Nothing listens there now: the connection is refused.
    source = open_source(SystemConfig(name="helpdesk", base_url=f"http://127.0.0.1:{port}"))
    try:
        with pytest.raises(OwnerUnavailable, match="nothing was sent"):
            await source.write(
                "POST",
                "/tickets",
                {"subject": "x"},
                "key-12345678",
                name="openTicket",
                route="/tickets",
            )
    finally:
        await source.aclose()


async def test_a_write_that_waited_for_a_connection_until_its_time_ran_out_was_not_sent() -> None:
    hung = asyncio.Event()
    writes = 0

    async def hang(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal writes
        if await _read_message(reader) is not None:
            writes += 1
            hung.set()
            await asyncio.sleep(30)

    async with loopback(hang) as url:
        await _write_twice(url, hung)
    assert writes == 1


async def _write_twice(url: str, hung: asyncio.Event) -> None:
    # One connection at a time: the second write waits for the first one's.
    source = open_source(SystemConfig(name="helpdesk", base_url=url, concurrency=1, timeout=0.5))

    def write(key: str, seconds: float) -> asyncio.Task[object]:
        return asyncio.create_task(
            source.write(
                "POST",
                "/tickets",
                {"subject": key},
                key,
                deadline=Deadline(seconds),
                name="openTicket",
                route="/tickets",
            )
        )

    try:
        first = write("key-first-0001", 5)
        await hung.wait()
        second = write("key-second-002", 0.1)  # out of time while the first holds the slot
        with pytest.raises(OwnerUnavailable, match="nothing was sent"):
            await second  # it never left the queue
        with pytest.raises(OutcomeUnknown, match="no answer in time"):
            await first  # it went out: it may have been applied
    finally:
        await source.aclose()
