"""Runs the four demo owner systems as real HTTP servers, side by side in one event loop."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from pathlib import Path

import uvicorn

from ownergraph.demo.owners import create_owner_app
from ownergraph.demo.seed import SYSTEMS, default_data_dir, ensure_seeded
from ownergraph.serving import Listener, PortError, Server, listen, serve_together, url

__all__ = ["OwnerPortError", "serve_owners"]

# Demo requests take milliseconds; only an injected `hang` or a long `slow` fault outlives
# this, and such a request must not hold up Ctrl-C for up to an hour.
_SHUTDOWN_GRACE_S = 3


class OwnerPortError(PortError):
    """A demo owner could not listen on its port (usually: something else already does)."""

    def __init__(self, system: str, host: str, port: int, reason: str) -> None:
        super().__init__(
            f"demo owner {system!r}",
            host,
            port,
            reason,
            "stop whatever holds the port or choose another with --base-port",
        )
        self.system = system


async def serve_owners(
    *,
    host: str = "127.0.0.1",
    base_port: int = 8101,
    data_dir: Path | None = None,
    latency_ms: int = 0,
    ready: Callable[[dict[str, str]], None] | None = None,
) -> None:
    """Serve crm, erp, helpdesk and contactcenter on ``base_port`` and the next three ports.

    Seeds ``data_dir`` first if needed. ``ready`` gets ``{"crm": "http://host:port", ...}``
    once all four accept connections. Returns after Ctrl-C or SIGTERM has shut all four down,
    or re-raises ``CancelledError`` after a graceful shutdown if the calling task is cancelled.
    ``base_port=0`` lets the system pick a free port for each owner (handy in tests).
    """
    directory = data_dir if data_dir is not None else default_data_dir()
    # Seeding is CPU work; keep the loop free for whatever else shares it.
    await asyncio.to_thread(ensure_seeded, directory)

    sockets = _bind_all(host, base_port)
    try:
        listeners = [
            Listener(
                f"demo-owner-{system}",
                Server(
                    uvicorn.Config(
                        create_owner_app(system, directory, latency_ms=latency_ms),
                        host=host,
                        port=sock.getsockname()[1],
                        log_level="warning",
                        access_log=False,
                        lifespan="on",
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


def _bind_all(host: str, base_port: int) -> list[socket.socket]:
    """Bind every owner's port before starting any, so a clash fails fast and cleanly."""
    sockets: list[socket.socket] = []
    try:
        for offset, system in enumerate(SYSTEMS):
            port = base_port + offset if base_port else 0
            try:
                sock = listen(host, port)
            except OSError as exc:
                raise OwnerPortError(system, host, port, exc.strerror or str(exc)) from exc
            sockets.append(sock)
    except BaseException:
        for sock in sockets:
            sock.close()
        raise
    return sockets
