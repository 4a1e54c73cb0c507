"""A utility company's four owner systems, which the test suite's second graph reads.

``accounts`` (the identity of the graph: who holds which contract numbers), ``contracts``
(tariff, status and meter of each contract), ``billing`` (bills and meter readings, keyed by
contract number) and ``fieldservice`` (work orders, keyed by meter id). Each is a small
Starlette app over data generated in memory from a fixed seed (:func:`utility_data`), with
keys, record shapes and an error shape of its own, as another company's systems would have.
They share no code with the demo owners on purpose: a graph declared over them shows that
the gateway is generic, not fitted to the demo.

Every system also answers ``/healthz``, ``/_stats`` (business requests and keys served),
``/_faults`` (``status`` and ``hang`` faults, for resilience tests) and ``/openapi.json``,
and makes its writes idempotent with the ``Idempotency-Key`` header.

Run all four on loopback, on consecutive ports in :data:`SYSTEMS` order::

    python -m tests.graphs.utility.owners --base-port 8201
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import uvicorn
from starlette.applications import Starlette

from ownergraph.serving import Listener, PortError, Server, bind, serve_together, url

from . import _accounts, _billing, _contracts, _fieldservice
from ._http import (
    HANG_LIMIT_S,
    KEY_HEADER,
    MAX_BATCH,
    REPLAYED_HEADER,
    Clock,
    ErrorShape,
    JSONObject,
    ReadRoute,
    Stats,
    WriteRoute,
    build_app,
)
from ._seed import SEED, Account, Bill, Contract, UtilityData, WorkOrder, utility_data

__all__ = [
    "HANG_LIMIT_S",
    "KEY_HEADER",
    "MAX_BATCH",
    "REPLAYED_HEADER",
    "SEED",
    "SYSTEMS",
    "Account",
    "Bill",
    "Contract",
    "UtilityData",
    "WorkOrder",
    "create_app",
    "main",
    "openapi",
    "serve",
    "utility_data",
]


@dataclass(frozen=True)
class _System:
    """What a system module provides: its routes over the data, its errors, its document."""

    routes: Callable[[UtilityData, Stats, Clock], list[ReadRoute | WriteRoute]]
    errors: ErrorShape
    openapi: JSONObject


_SYSTEMS: Mapping[str, _System] = {
    module.SYSTEM: _System(module.routes, module.ERRORS, module.OPENAPI)
    for module in (_accounts, _contracts, _billing, _fieldservice)
}
#: The four systems, in the order the runner gives them ports.
SYSTEMS: tuple[str, ...] = tuple(_SYSTEMS)


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _system(system: str) -> _System:
    if system not in _SYSTEMS:
        raise ValueError(f"unknown utility system {system!r}; one of {', '.join(SYSTEMS)}")
    return _SYSTEMS[system]


def openapi(system: str) -> JSONObject:
    """``system``'s OpenAPI 3.1 document, as its ``/openapi.json`` answers it (a copy)."""
    return copy.deepcopy(_system(system).openapi)


def create_app(
    system: str,
    *,
    data: UtilityData | None = None,
    clock: Clock | None = None,
    hang_limit_s: float = HANG_LIMIT_S,
) -> Starlette:
    """``system`` (one of :data:`SYSTEMS`) as an ASGI app over its own copy of ``data``.

    ``data`` defaults to :func:`utility_data`. ``clock`` returns an aware ``datetime``, UTC
    now by default: it stamps readings and decides which work-order dates are past. Each
    app copies what it changes, so writes to one app are never seen by another.
    ``hang_limit_s``: how long a ``hang`` fault waits for its client to leave before a 504.
    """
    owner = _system(system)
    stats = Stats()
    return build_app(
        system=system,
        routes=owner.routes(data or utility_data(), stats, clock or _utc_now),
        errors=owner.errors,
        document=openapi(system),
        stats=stats,
        hang_limit_s=hang_limit_s,
    )


# Requests here take microseconds; only a hung one outlives this, and it must not hold up
# Ctrl-C or SIGTERM for long.
_SHUTDOWN_GRACE_S = 2


async def serve(
    *,
    host: str = "127.0.0.1",
    base_port: int,
    ready: Callable[[dict[str, str]], None] | None = None,
    clock: Clock | None = None,
) -> None:
    """Serve the four systems on ``base_port`` and the three ports after it, in
    :data:`SYSTEMS` order, until Ctrl-C or SIGTERM (or until cancelled).

    ``ready`` gets ``{"accounts": "http://host:port", ...}`` once all four accept
    connections. Every port is bound before any system starts, so a taken one is a
    ``PortError`` naming its system before anything serves. ``base_port=0``: ports the
    operating system picks.
    """
    sockets = []
    try:
        for offset, system in enumerate(SYSTEMS):
            port = base_port + offset if base_port else 0
            sockets.append(bind(f"utility owner {system!r}", host, port, "--base-port"))
        listeners = [
            Listener(
                f"utility-{system}",
                Server(
                    uvicorn.Config(
                        create_app(system, clock=clock),
                        host=host,
                        port=sock.getsockname()[1],
                        log_level="warning",
                        access_log=False,
                        lifespan="off",
                        timeout_graceful_shutdown=_SHUTDOWN_GRACE_S,
                    )
                ),
                sock,
            )
            for system, sock in zip(SYSTEMS, sockets, strict=True)
        ]
    except BaseException:
        for sock in sockets:
            sock.close()
        raise
    urls = {
        system: url(host, sock.getsockname()[1])
        for system, sock in zip(SYSTEMS, sockets, strict=True)
    }
    await serve_together(listeners, None if ready is None else lambda: ready(urls))


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m tests.graphs.utility.owners --base-port N [--host H]``."""
    parser = argparse.ArgumentParser(
        prog="python -m tests.graphs.utility.owners",
        description=f"Serve the utility owner systems ({', '.join(SYSTEMS)}) side by side.",
    )
    parser.add_argument(
        "--base-port",
        type=int,
        required=True,
        help=f"port of {SYSTEMS[0]}; the other systems follow in order (0: any free ports)",
    )
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args(argv)
    if not 0 <= args.base_port <= 65536 - len(SYSTEMS):
        parser.error(f"--base-port must be 0, or a port with {len(SYSTEMS) - 1} more after it")

    def ready(urls: dict[str, str]) -> None:
        for system, address in urls.items():
            print(f"{system} {address}")
        print("utility owners ready; Ctrl-C stops them", flush=True)

    try:
        asyncio.run(serve(host=args.host, base_port=args.base_port, ready=ready))
    except PortError as exc:
        print(f"{parser.prog}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
