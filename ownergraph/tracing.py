"""OpenTelemetry tracing: a span for each operation and for every owner call.

Off unless `OWNERGRAPH_TRACING` names an exporter (or the app is given a
tracer provider). Owner-call spans carry the owner, the entity, how many
keys and the HTTP status, and the W3C `traceparent` goes to the owner, so
its own traces join the gateway's.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from opentelemetry import propagate, trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter
from opentelemetry.trace import SpanKind, Status, StatusCode

from ownergraph.sources import OwnerHTTP, OwnerRequest, OwnerResponse

from .execution import Hook, Operation


def tracer_provider(exporter: str) -> TracerProvider | None:
    """A provider exporting to `console` or `otlp` (OTEL_EXPORTER_OTLP_* settings); None for off."""
    if exporter == "off":
        return None
    provider = TracerProvider()
    if exporter == "console":
        provider.add_span_processor(BatchSpanProcessor(ConsoleSpanExporter()))
    elif exporter == "otlp":
        try:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        except ImportError:
            raise ValueError(
                "OWNERGRAPH_TRACING=otlp needs the package opentelemetry-exporter-otlp-proto-http"
            ) from None
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    else:
        raise ValueError(f"OWNERGRAPH_TRACING={exporter!r}: expected off, console or otlp")
    return provider


class TracingHTTP:
    """Wraps an owner's HTTP client: one client span per call, `traceparent` sent along."""

    def __init__(self, inner: OwnerHTTP, tracer: trace.Tracer) -> None:
        self.inner = inner
        self.tracer = tracer

    async def send(self, request: OwnerRequest) -> OwnerResponse:
        with self.tracer.start_as_current_span(
            f"owner {request.system} {request.entity}",
            kind=SpanKind.CLIENT,
            attributes={
                "ownergraph.owner": request.system,
                "ownergraph.entity": request.entity,
                "ownergraph.keys": request.keys,
                "http.request.method": request.method,
                # The declared route (`/customers/{customerId}`), not the path: a
                # path holds customer ids, which a trace store must not collect.
                "url.template": request.route,
            },
            record_exception=True,
            set_status_on_exception=True,
        ) as span:
            headers = dict(request.headers or {})
            propagate.inject(headers)
            request.headers = headers
            response = await self.inner.send(request)
            span.set_attribute("http.response.status_code", response.status)
            if response.status >= 500:
                span.set_status(Status(StatusCode.ERROR, f"HTTP {response.status}"))
            return response

    async def aclose(self) -> None:
        await self.inner.aclose()


def tracing_hook(tracer: trace.Tracer) -> Hook:
    """A hook opening a span around each GraphQL operation."""

    @contextmanager
    def trace_operation(operation: Operation) -> Iterator[None]:
        with tracer.start_as_current_span("graphql.operation", kind=SpanKind.SERVER) as span:
            yield
            span.set_attribute("graphql.operation.name", operation.operation_name or "")
            span.set_attribute("ownergraph.errors", len(operation.all_errors))

    return trace_operation
