"""Runs the four demo owner systems as real HTTP servers, side by side in one event loop."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from types import FrameType

import uvicorn

from ownergraph.demo.owners import create_owner_app
from ownergraph.demo.seed import SYSTEMS, default_data_dir, ensure_seeded

__all__ = ["OwnerPortError", "serve_owners"]

_SIGNALS = (signal.SIGINT, signal.SIGTERM)
# uvicorn checks its exit flag every tenth of a second; poll start-up at the same pace.
_POLL_S = 0.05
# Demo requests take milliseconds; only an injected `hang` or a long `slow` fault outlives
# this, and such a request must not hold up Ctrl-C for up to an hour.
_SHUTDOWN_GRACE_S = 3


class OwnerPortError(RuntimeError):
    """A demo owner could not listen on its port (usually: something else already does)."""

    def __init__(self, system: str, host: str, port: int, reason: str) -> None:
        super().__init__(
            f"demo owner {system!r} cannot listen on {host}:{port}: {reason}; stop whatever "
            "holds the port or choose another base port"
        )
        self.system = system
        self.host = host
        self.port = port


class _OwnerServer(uvicorn.Server):
    """A uvicorn server that leaves signals to ``serve_owners``.

    Each uvicorn server installs its own signal handlers, so with four in one loop only the
    last one would hear Ctrl-C; ``serve_owners`` listens once and stops all four together.
    """

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


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
        servers = [
            _OwnerServer(
                uvicorn.Config(
                    create_owner_app(system, directory, latency_ms=latency_ms),
                    host=host,
                    port=sock.getsockname()[1],
                    log_level="warning",
                    access_log=False,
                    lifespan="on",
                    timeout_graceful_shutdown=_SHUTDOWN_GRACE_S,
                )
            )
            for system, sock in zip(SYSTEMS, sockets, strict=True)
        ]
        urls = {
            system: _url(host, sock.getsockname()[1])
            for system, sock in zip(SYSTEMS, sockets, strict=True)
        }
    except BaseException:
        for sock in sockets:
            sock.close()
        raise

    tasks = [
        asyncio.create_task(server.serve(sockets=[sock]), name=f"demo-owner-{system}")
        for system, server, sock in zip(SYSTEMS, servers, sockets, strict=True)
    ]
    with _stop_on_signals(servers):
        try:
            await _wait_started(servers, tasks)
            if ready is not None:
                ready(urls)
            # One owner stopping (or failing) stops the others: the demo is all four or none.
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for server in servers:
                server.should_exit = True
            results = await asyncio.gather(*tasks, return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException) and not isinstance(result, asyncio.CancelledError):
            raise result


def _bind_all(host: str, base_port: int) -> list[socket.socket]:
    """Bind every owner's port before starting any, so a clash fails fast and cleanly."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sockets: list[socket.socket] = []
    try:
        for offset, system in enumerate(SYSTEMS):
            port = base_port + offset if base_port else 0
            try:
                sock = _listen(family, host, port)
            except OSError as exc:
                raise OwnerPortError(system, host, port, exc.strerror or str(exc)) from exc
            sockets.append(sock)
    except BaseException:
        for sock in sockets:
            sock.close()
        raise
    return sockets


def _listen(family: socket.AddressFamily, host: str, port: int) -> socket.socket:
    # proto=IPPROTO_TCP, not 0 as socket.create_server leaves it: asyncio sets
    # TCP_NODELAY on accepted connections only when the proto says TCP, and
    # without it every reply whose body follows its headers in a second write
    # waits ~40 ms for the client's delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(2048)
    except BaseException:
        sock.close()
        raise
    return sock


def _url(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


async def _wait_started(
    servers: Sequence[uvicorn.Server], tasks: Sequence[asyncio.Task[None]]
) -> None:
    while not all(server.started for server in servers):
        for system, task in zip(SYSTEMS, tasks, strict=True):
            if task.done():
                # Surfaces the start-up error (if any) instead of waiting forever.
                task.result()
                raise RuntimeError(f"demo owner {system!r} stopped during start-up")
        await asyncio.sleep(_POLL_S)


@contextlib.contextmanager
def _stop_on_signals(servers: Sequence[uvicorn.Server]) -> Iterator[None]:
    """Ctrl-C or SIGTERM asks every server to finish; a second Ctrl-C forces it."""
    # Signal handlers can only be installed from the main thread.
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    captured: list[signal.Signals] = []

    def handle(signum: int, frame: FrameType | None) -> None:
        captured.append(signal.Signals(signum))
        for server in servers:
            if server.should_exit and signum == signal.SIGINT:
                server.force_exit = True
            server.should_exit = True

    previous = {signum: signal.signal(signum, handle) for signum in _SIGNALS}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    # Pass the signal on to whoever listened before us (another server in the same loop, say),
    # but not to Python's defaults: turning a clean shutdown into KeyboardInterrupt helps no one.
    for caught in dict.fromkeys(captured):
        before = previous[caught]
        if callable(before) and before is not signal.default_int_handler:
            signal.raise_signal(caught)
