"""Tracing: a span per operation and per owner call, traceparent sent to the owners."""

from __future__ import annotations

from pathlib import Path

import httpx
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from ownergraph import Settings, create_app
from ownergraph.demo import SYSTEMS, create_owner_app

ROOT = Path(__file__).resolve().parents[2]


class Headers(httpx.AsyncBaseTransport):
    """Keeps the headers each owner received."""

    def __init__(self, inner: httpx.AsyncBaseTransport, seen: list[httpx.Headers]) -> None:
        self.inner = inner
        self.seen = seen

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request.headers)
        return await self.inner.handle_async_request(request)


async def test_owner_calls_are_spans_of_the_operation_and_carry_traceparent(
    demo_data: Path,
) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    seen: list[httpx.Headers] = []
    transports: dict[str, httpx.AsyncBaseTransport] = {
        name: Headers(httpx.ASGITransport(app=create_owner_app(name, demo_data)), seen)
        for name in SYSTEMS
    }
    settings = Settings(ownership_path=ROOT / "ownership.yaml", demo_keys=True, audit_log="off")
    app = create_app(settings, transports=transports, tracer_provider=provider)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://og",
            headers={"Authorization": "Bearer demo-agent"},
        ) as client,
    ):
        await client.post(
            "/graphql",
            json={
                "query": 'query Profile { customer(id: "C00002") '
                "{ displayName credit { balance } } }"
            },
        )
    spans = exporter.get_finished_spans()
    [operation] = [s for s in spans if s.name == "graphql.operation"]
    owners = [s for s in spans if s.name.startswith("owner ")]
    assert operation.attributes["graphql.operation.name"] == "Profile"
    assert {s.name for s in owners} == {"owner crm customer", "owner erp account"}
    for span in owners:
        assert span.parent is not None and span.parent.span_id == operation.context.span_id
        assert span.context.trace_id == operation.context.trace_id
        assert span.attributes["ownergraph.keys"] == 1
        assert span.attributes["http.response.status_code"] == 200
    trace_id = f"{operation.context.trace_id:032x}"
    assert seen and all(h["traceparent"].split("-")[1] == trace_id for h in seen)


async def test_tracing_is_off_unless_configured(demo_data: Path) -> None:
    seen: list[httpx.Headers] = []
    transports: dict[str, httpx.AsyncBaseTransport] = {
        name: Headers(httpx.ASGITransport(app=create_owner_app(name, demo_data)), seen)
        for name in SYSTEMS
    }
    settings = Settings(ownership_path=ROOT / "ownership.yaml", demo_keys=True, audit_log="off")
    app = create_app(settings, transports=transports)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://og",
            headers={"Authorization": "Bearer demo-agent"},
        ) as client,
    ):
        await client.post("/graphql", json={"query": '{ customer(id: "C00002") { displayName } }'})
    assert seen and all("traceparent" not in h for h in seen)
