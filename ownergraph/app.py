"""`create_app()`: the gateway as an ASGI app, to run alone or mount in another."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route
from strawberry.asgi import GraphQL

from resolvers import Context, Gateway, iso
from schema import Graph, build_graph, load_ownership
from sources import open_source

from .deadline import DeadlineMiddleware
from .settings import Settings


class GraphQLApp(GraphQL[Context, None]):
    """Strawberry's ASGI endpoint with our per-request context."""

    def __init__(self, graph: Graph, gateway: Gateway, *, graphiql: bool) -> None:
        super().__init__(graph.schema, graphql_ide="graphiql" if graphiql else None)
        self.gateway = gateway

    async def get_context(self, request: Any, response: Any) -> Context:
        deadline = getattr(request.state, "deadline", None)
        return Context(self.gateway, request, response, deadline)


def readiness(gateway: Gateway) -> dict[str, Any]:
    """Each owner's breaker and what its last call said.

    The gateway stays ready while owners fail: it answers with what the others
    hold, so no owner's state takes a replica out of rotation. `degraded`
    tells an operator that some fields are being refused.
    """
    owners: dict[str, Any] = {}
    for name, source in gateway.sources.items():
        health = source.health
        latency = health.latency
        owners[name] = {
            "breaker": source.breaker.state,
            "lastStatus": health.status,
            "lastLatencyMs": round(latency * 1000, 1) if latency is not None else None,
            "lastAt": iso(health.at) if health.at else None,
        }
    degraded = any(owner["breaker"] != "closed" for owner in owners.values())
    return {"status": "degraded" if degraded else "ready", "owners": owners}


def create_app(
    settings: Settings | None = None,
    *,
    transports: Mapping[str, httpx.AsyncBaseTransport] | None = None,
) -> Starlette:
    """Load and check the ownership map, build the graph, and return the app.

    A bad map fails here, at start-up, with every problem listed. `transports`
    replaces the HTTP transport of named systems (tests use MockTransport).

    The app closes its owner connections in its lifespan. When mounting it in
    another Starlette app, pass `app.router.lifespan_context` of this app to
    the host's lifespan (or call `app.state.gateway.aclose()` on shutdown).
    """
    settings = settings or Settings.from_env()
    ownership = load_ownership(settings.ownership_path, settings.env)
    graph = build_graph(ownership, phone_region=settings.phone_region)
    transports = transports or {}
    gateway = Gateway(
        ownership,
        graph.plan,
        {
            name: open_source(system, transports.get(name))
            for name, system in ownership.systems.items()
        },
    )
    graphql = GraphQLApp(graph, gateway, graphiql=settings.graphiql)
    sdl = graph.sdl()

    async def healthz(request: Request) -> Response:
        # Cheap on purpose: says the process serves, not that owners answer.
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> Response:
        return JSONResponse(readiness(gateway))

    async def schema_sdl(request: Request) -> Response:
        return PlainTextResponse(sdl, media_type="application/graphql; charset=utf-8")

    async def home(request: Request) -> Response:
        return RedirectResponse("/graphql")

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await gateway.aclose()

    app = Starlette(
        routes=[
            Route("/", home),
            Route("/graphql", graphql, methods=["GET", "POST"]),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/schema.graphql", schema_sdl),
        ],
        lifespan=lifespan,
        middleware=[Middleware(DeadlineMiddleware, default=settings.deadline)],
    )
    app.state.graph = graph
    app.state.gateway = gateway
    return app
