"""The operational endpoints, for probes and scrapers rather than API clients.

`/healthz` says the process serves; `/readyz` shows each owner's breaker and last call;
`/metrics` is the Prometheus exposition. With a metrics port the API keeps only `/healthz`
and `operations_app()` serves all three on that port, which the API's clients never reach.
"""

from __future__ import annotations

from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from ownergraph.resolvers import Gateway, iso

from .metrics import Metrics

__all__ = ["healthz", "operations_app", "operations_routes", "readiness"]


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
            # How long it stays open this time (closed: when it next opens).
            "breakerOpenMs": round(source.breaker.open_time * 1000),
            "lastStatus": health.status,
            "lastLatencyMs": round(latency * 1000, 1) if latency is not None else None,
            "lastAt": iso(health.at) if health.at else None,
        }
    degraded = any(owner["breaker"] != "closed" for owner in owners.values())
    return {"status": "degraded" if degraded else "ready", "owners": owners}


async def healthz(request: Request) -> Response:
    # Cheap on purpose: says the process serves, not that owners answer.
    return JSONResponse({"status": "ok"})


def operations_routes(gateway: Gateway, metrics: Metrics) -> list[BaseRoute]:
    """`/readyz` and `/metrics`: on the API without a metrics port, on their own with one."""

    async def readyz(request: Request) -> Response:
        return JSONResponse(readiness(gateway))

    async def metrics_page(request: Request) -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return [Route("/readyz", readyz), Route("/metrics", metrics_page)]


def operations_app(gateway: Gateway, metrics: Metrics) -> Starlette:
    """`/healthz`, `/readyz` and `/metrics` as an app of their own, for the metrics port.

    No lifespan (the API app's closes the owner connections both read from) and no access
    log: probes and scrapes every few seconds would drown the lines about requests.
    """
    return Starlette(routes=[Route("/healthz", healthz), *operations_routes(gateway, metrics)])
