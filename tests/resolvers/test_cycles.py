"""A request's objects are freed when it ends, by reference counting alone.

Under load, objects in reference cycles survive each young collection while their
request is in flight and pile up in the oldest generation, whose collections then
cost a quarter of the process's time and stall every request for tens of
milliseconds. Nothing a compiled request builds may be part of a cycle.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator
from pathlib import Path

import httpx

from ownergraph import Settings, create_app
from ownergraph.demo import SYSTEMS, create_owner_app

from ..conftest import sample_query

ROOT = Path(__file__).resolve().parents[2]


@contextlib.contextmanager
def _garbage() -> Iterator[list[object]]:
    """What the garbage collector finds unreachable (saved, not freed) from here on."""
    found: list[object] = []
    gc.collect()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        yield found
        gc.collect()
        found.extend(gc.garbage)
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()


async def test_a_compiled_request_leaves_no_cycle_behind(demo_data: Path) -> None:
    transports: dict[str, httpx.AsyncBaseTransport] = {
        name: httpx.ASGITransport(app=create_owner_app(name, demo_data)) for name in SYSTEMS
    }
    settings = Settings(
        ownership_path=ROOT / "ownership.yaml",
        demo_keys=True,
        audit_log="off",
        execution="compiled",
    )
    app = create_app(settings, transports=transports)
    body = {"query": sample_query(), "variables": {}}
    headers = {"Authorization": "Bearer demo-agent"}
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://og") as client,
    ):
        warm = await client.post("/graphql", json=body, headers=headers)
        assert warm.status_code == 200 and "errors" not in warm.json()
        runs = app.state.graph.compiled.runs
        with _garbage() as garbage:
            answer = await client.post("/graphql", json=body, headers=headers)
        assert answer.status_code == 200 and "errors" not in answer.json()
        assert app.state.graph.compiled.runs == runs + 1  # it ran compiled
    ours = sorted(
        {type(o).__qualname__ for o in garbage if type(o).__module__.startswith("ownergraph")}
    )
    assert ours == []
