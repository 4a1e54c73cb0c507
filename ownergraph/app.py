"""`create_app()`: the gateway as an ASGI app, to run alone or mount in another."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
from graphql import NoSchemaIntrospectionCustomRule
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import Tracer
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ownergraph.ownership import Ownership
from ownergraph.resolvers import AbsentPaths, Context, Gateway
from ownergraph.schema import load_files
from ownergraph.sources import OwnerHTTP, SystemConfig, open_source, owner_http

from .asgi import request_headers
from .audit import AuditLog, audit_hook
from .auth import ApiKey, Authenticator, JWTConfig, demo_keys, load_keys_file
from .deadline import DeadlineMiddleware
from .execution import Executor, iter_hooks
from .graphiql import (
    ASSETS_PATH,
    DEFAULT_SAMPLE,
    GraphiQLBundle,
    GraphiQLPageHeaders,
    graphiql_html,
)
from .graphql_http import GraphQLEndpoint
from .limits import limit_rules
from .logs import RequestIdMiddleware
from .metrics import Metrics
from .operations import healthz, operations_app, operations_routes
from .settings import EXECUTION_VARIABLE, EXECUTIONS, Settings, SettingsError
from .tracing import TracingHTTP, tracing_hook
from .tracing import tracer_provider as tracer_provider_for


def _authenticator(
    settings: Settings, ownership: Ownership, http: httpx.AsyncClient
) -> Authenticator:
    keys: dict[str, ApiKey] = {}
    if settings.demo_keys:
        keys.update(demo_keys())
    if settings.api_keys_file is not None:
        keys.update(load_keys_file(settings.api_keys_file, ownership.roles))
    jwt_config = None
    if settings.jwt_issuer and settings.jwt_audience:
        jwt_config = JWTConfig(
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience,
            secret=settings.jwt_secret,
            jwks=settings.jwt_jwks,
            roles_claim=settings.jwt_roles_claim,
        )
    return Authenticator(keys, ownership.roles, jwt_config, http)


def _owner_http(
    system: SystemConfig,
    transport: httpx.AsyncBaseTransport | None,
    tracer: Tracer | None,
) -> OwnerHTTP:
    http = owner_http(system, transport)
    return http if tracer is None else TracingHTTP(http, tracer)


class GatewayApp(Starlette):
    """The gateway's Starlette app, with `/graphql` served past Starlette's own layers.

    The endpoint gets the same middleware (CORS, request id, deadline) but
    not Starlette's error, exception and routing layers, which cost a few
    percent of a request and do nothing for it; every other path goes through
    Starlette as usual. An exception escaping the endpoint is answered with a
    500, as Starlette would, then raised for the server to log.
    """

    def __init__(self, graphql: ASGIApp, **options: Any) -> None:
        super().__init__(**options)
        self.graphql = graphql

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or _route_path(scope) != "/graphql":
            await super().__call__(scope, receive, send)
            return
        scope["app"] = self
        started = False

        async def tracked(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.graphql(scope, receive, tracked)
        except Exception:
            if not started:
                await PlainTextResponse("Internal Server Error", 500)(scope, receive, send)
            raise


def _route_path(scope: Scope) -> str:
    """The path below where the app is mounted, as Starlette's router reads it."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    return path[len(root) :] if root and path.startswith(root) else path


def create_app(
    settings: Settings | None = None,
    *,
    schema: str | Path | None = None,
    ownership: str | Path | None = None,
    transports: Mapping[str, httpx.AsyncBaseTransport] | None = None,
    tracer_provider: TracerProvider | None = None,
) -> Starlette:
    """Load and check the graph (an SDL file and its ownership map), and return the app.

    `schema` and `ownership`, when given, are the graph's two files (else the
    settings', else the shipped demo graph). A bad file, keys file or setting
    fails here, at start-up, naming every problem with its file and line.
    `transports` sends the requests of named systems through an httpx
    transport instead of their connection pool (tests use MockTransport);
    `tracer_provider` overrides `OWNERGRAPH_TRACING`.

    The app closes its owner connections in its lifespan. When mounting it in
    another Starlette app, pass `app.router.lifespan_context` of this app to
    the host's lifespan (or call `app.state.gateway.aclose()` on shutdown).

    `app.state.operations` is an app of its own serving `/healthz`, `/readyz`
    and `/metrics`, for a port that only probes and scrapers reach. With
    `settings.metrics_port` set the API app no longer serves the last two.
    """
    settings = settings or Settings.from_env()
    if schema is not None or ownership is not None:
        settings = settings.with_graph(schema, ownership)
    metrics = Metrics()
    graph = load_files(
        settings.schema_path,
        settings.ownership_path,
        settings.env,
        phone_region=settings.phone_region,
        absent=AbsentPaths(metrics.absent),
    )
    loaded = graph.ownership
    rules = limit_rules(settings.limits, loaded)
    if not settings.introspection:
        rules.append(NoSchemaIntrospectionCustomRule)
    provider = tracer_provider or tracer_provider_for(settings.tracing)
    tracer = provider.get_tracer("ownergraph") if provider is not None else None
    audit = AuditLog.open(settings.audit_log, settings.audit_key)
    if settings.execution not in EXECUTIONS:
        raise SettingsError(EXECUTION_VARIABLE, settings.execution, ", ".join(EXECUTIONS))
    executor = Executor(
        graph.schema,
        compiled=graph.compiled if settings.execution != "reference" else None,
        differential=settings.execution == "differential",
        rules=rules,
        max_tokens=settings.limits.max_tokens,
        hooks=list(
            iter_hooks(
                tracing_hook(tracer) if tracer is not None else None,
                metrics.hook(),
                audit_hook(audit, loaded) if audit is not None else None,
            )
        ),
    )
    transports = transports or {}
    gateway = Gateway(
        loaded,
        graph.plan_for,
        {
            name: open_source(system, http=_owner_http(system, transports.get(name), tracer))
            for name, system in loaded.systems.items()
        },
        phone_region=graph.phone_region,
        calls=metrics,
        batching=settings.batching,
        schema=graph.schema,
    )
    metrics.watch(gateway)
    http = httpx.AsyncClient()  # for fetching JWKS from an identity provider
    authenticator = _authenticator(settings, loaded, http)

    async def context(request: Request) -> Context:
        viewer = await authenticator.viewer(request_headers(request.scope).get("authorization"))
        deadline = getattr(request.state, "deadline", None)
        return Context(gateway, request, None, deadline, viewer)

    graphiql = None
    bundle = None
    if settings.graphiql:
        bundle = GraphiQLBundle.load()
        demo_header = {"Authorization": "Bearer demo-agent"} if settings.demo_keys else None
        graphiql = graphiql_html(bundle, loaded.sample or DEFAULT_SAMPLE, demo_header)
    endpoint = GraphQLEndpoint(
        executor,
        context,
        allow_get=settings.allow_get,
        graphiql_html=graphiql,
        max_body_bytes=settings.max_body_bytes,
        hide_suggestions=not settings.introspection,
    )
    sdl = graph.sdl()

    async def schema_sdl(request: Request) -> Response:
        return PlainTextResponse(sdl, media_type="application/graphql; charset=utf-8")

    async def home(request: Request) -> Response:
        return RedirectResponse(str(request.url_for("graphql")))

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            try:
                await gateway.aclose()
            finally:
                await http.aclose()

    middleware = [
        Middleware(RequestIdMiddleware),
        Middleware(
            DeadlineMiddleware, default=settings.deadline, profiles=settings.deadline_profiles
        ),
    ]
    if settings.cors_origins:
        middleware.insert(
            0,
            Middleware(
                CORSMiddleware,
                allow_origins=list(settings.cors_origins),
                allow_methods=["GET", "POST"],
                allow_headers=["Authorization", "Content-Type", "X-Deadline-Ms"],
                max_age=600,
            ),
        )
    routes: list[BaseRoute] = [
        Route("/", home),
        # With GraphiQL, the endpoint also serves its page, which gets a CSP.
        Route(
            "/graphql",
            GraphiQLPageHeaders(endpoint) if bundle is not None else endpoint,
            name="graphql",
        ),
        Route("/healthz", healthz),
    ]
    if settings.metrics_port is None:
        routes.extend(operations_routes(gateway, metrics))
    if settings.introspection:
        # The SDL tells what introspection would (every type, field and owner): it is
        # served when introspection is, and otherwise is not there at all.
        routes.append(Route("/schema.graphql", schema_sdl))
    if bundle is not None:
        routes.append(Route(f"{ASSETS_PATH}/{{name}}", bundle.serve, methods=["GET"]))
    graphql_app: ASGIApp = GraphiQLPageHeaders(endpoint) if bundle is not None else endpoint
    for layer in reversed(middleware):
        graphql_app = layer.cls(graphql_app, *layer.args, **layer.kwargs)
    app = GatewayApp(
        graphql_app,
        routes=routes,
        lifespan=lifespan,
        middleware=middleware,
    )
    app.state.graph = graph
    app.state.gateway = gateway
    app.state.operations = operations_app(gateway, metrics)
    return app
