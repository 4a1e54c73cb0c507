"""DataLoaders: one owner call per batch, results in key order, nothing kept unless allowed."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

import httpx

from ownergraph.resolvers import Context, Gateway, RecordCache
from ownergraph.sources import open_source

from ..conftest import shipped_graph

ROOT = Path(__file__).resolve().parents[2]
GRAPH = shipped_graph()


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def crm_gateway(
    cache: RecordCache | None = None, *, batching: bool = True
) -> tuple[Gateway, list[list[str]]]:
    batches: list[list[str]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path != "/customers":
            return httpx.Response(404)  # confirming that a key missing from a batch is unknown
        ids = request.url.params["ids"].split(",")
        batches.append(ids)
        return httpx.Response(
            200,
            json={
                "customers": [
                    {"id": i, "display_name": f"n{len(batches)}"} for i in ids if i != "C0"
                ]
            },
        )

    ownership = GRAPH.ownership
    sources = {"crm": open_source(ownership.systems["crm"], httpx.MockTransport(handler))}
    return Gateway(ownership, GRAPH.plan_for, sources, cache, batching=batching), batches


async def test_loads_in_one_tick_become_one_batch_in_key_order() -> None:
    gateway, batches = crm_gateway()
    context = Context(gateway)
    loader = context.loader(GRAPH.plan.field("Customer", "displayName"))
    results = await asyncio.gather(*(loader.load(k) for k in ["C2", "C0", "C1", "C2"]))
    assert batches == [["C2", "C0", "C1"]]  # the repeated key is asked once
    assert [r and r["id"] for r in results] == ["C2", None, "C1", "C2"]


async def test_without_batching_every_load_is_its_own_call() -> None:
    # The benchmark's naive baseline: what the gateway would cost without DataLoaders.
    gateway, batches = crm_gateway(batching=False)
    context = Context(gateway)
    plan = GRAPH.plan
    keys = ["C2", "C1", "C2"]
    await asyncio.gather(
        *(context.loader(plan.field("Customer", "displayName")).load(k) for k in keys),
        *(context.loader(plan.field("Customer", "phones")).load(k) for k in keys),
    )
    assert sorted(batches) == sorted([[k] for k in keys] * 2)


async def test_fields_of_one_entity_share_one_loader() -> None:
    gateway, _ = crm_gateway()
    context = Context(gateway)
    plan = GRAPH.plan
    assert context.loader(plan.field("Customer", "displayName")) is context.loader(
        plan.field("Customer", "phones")
    )
    assert context.loader(plan.field("Customer", "displayName")) is not Context(gateway).loader(
        plan.field("Customer", "displayName")
    )


async def test_no_value_survives_the_request_by_default() -> None:
    gateway, batches = crm_gateway()
    field = GRAPH.plan.field("Customer", "displayName")
    for _ in range(2):
        await Context(gateway).loader(field).load("C1")
    assert batches == [["C1"], ["C1"]]
    assert len(gateway.cache) == 0


async def test_a_field_with_max_age_reuses_values_until_they_are_too_old() -> None:
    clock = Clock()
    gateway, batches = crm_gateway(RecordCache(clock=clock))
    base = GRAPH.plan.field("Customer", "displayName")
    field = dataclasses.replace(base, ownership=dataclasses.replace(base.ownership, max_age=30.0))

    first = Context(gateway)
    assert (await first.loader(field).load("C1"))["display_name"] == "n1"
    clock.now += 29
    second = Context(gateway)
    assert (await second.loader(field).load("C1"))["display_name"] == "n1"
    assert second.report.as_dict()["crm"]["reused"] == 1
    assert second.report.as_dict()["crm"]["calls"] == 0
    clock.now += 2
    third = Context(gateway)
    assert (await third.loader(field).load("C1"))["display_name"] == "n2"
    assert batches == [["C1"], ["C1"]]
