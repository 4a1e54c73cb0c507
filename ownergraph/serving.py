"""Serving ASGI apps with uvicorn: several servers in one event loop, on ports bound first.

Each port is bound before any server starts, so a taken port is one clear `PortError`
before anything has logged or started. The servers share one signal handler, so Ctrl-C or
SIGTERM stops them all together, and one server stopping stops the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
import socket
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from types import FrameType

import uvicorn

__all__ = [
    "Listener",
    "PortError",
    "Server",
    "bind",
    "listen",
    "loop_factory",
    "serve_together",
    "tune_collector",
    "url",
]

_SIGNALS = (signal.SIGINT, signal.SIGTERM)
# uvicorn checks its exit flag every tenth of a second; poll start-up at the same pace.
_POLL_S = 0.05
log = logging.getLogger("ownergraph.serving")


def loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """The event loop uvicorn would pick for its servers: uvloop where it is installed."""
    return uvicorn.Config(app="").get_loop_factory()


YOUNG_COLLECTION_EVERY = 7_000
"""Allocations between two collections of the youngest generation (CPython's default: 700).

A request frees what it built by reference counting alone (no cycles), so a
young collection finds little to free; at the default, 50 clients made about
130 of them a second, each crossing every request in flight.
"""


def tune_collector() -> None:
    """Set the garbage collector for a process that only serves, once its app is built.

    What start-up built (the graph, its plans, the modules: about 80,000
    objects) is frozen out of the collector, so a full collection no longer
    walks it; young collections are ten times rarer. Under 50 clients on one
    core, the collector's time fell from about 1.3 s in 13 to 0.1 s, and p99
    from 115-135 ms to 70-80 ms (gc.callbacks in a gateway run by hand; see
    the commit). Not done by `create_app`: a host that embeds the app keeps
    its own collector's settings.
    """
    gc.collect()
    gc.freeze()
    _, middle, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_COLLECTION_EVERY, middle, oldest)


class PortError(RuntimeError):
    """A server could not listen on its port (usually: something else already does)."""

    def __init__(self, what: str, host: str, port: int, reason: str, fix: str) -> None:
        super().__init__(f"{what} cannot listen on {host}:{port}: {reason}; {fix}")
        self.host = host
        self.port = port


def listen(host: str, port: int) -> socket.socket:
    """A listening TCP socket on `host:port` (port 0: one the system picks)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
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


def bind(what: str, host: str, port: int, option: str) -> socket.socket:
    """`listen`, with a failure told as a `PortError` naming `what` and the `option` to change."""
    try:
        return listen(host, port)
    except OSError as error:
        reason = error.strerror or str(error)
        fix = f"stop whatever holds the port or choose another with {option}"
        raise PortError(what, host, port, reason, fix) from error


def url(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


class Server(uvicorn.Server):
    """A uvicorn server that leaves signals to `serve_together`.

    Each uvicorn server installs its own signal handlers, so with several in one loop only
    the last one would hear Ctrl-C; `serve_together` listens once and stops them all.
    """

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@dataclass(frozen=True)
class Listener:
    """One server and the socket it serves, bound beforehand."""

    name: str
    server: uvicorn.Server
    socket: socket.socket


async def serve_together(
    listeners: Sequence[Listener], ready: Callable[[], None] | None = None
) -> None:
    """Serve every listener until Ctrl-C, SIGTERM or one of them stops.

    They start in order, each once the one before it accepts connections, so a later
    listener (a readiness probe's) never answers before an earlier one (the API) serves.
    `ready` is called when all of them do. Re-raises what stopped a server, if anything,
    or `CancelledError` after a graceful shutdown if the calling task is cancelled.
    """
    tasks: list[asyncio.Task[None]] = []
    try:
        with _stop_on_signals([listener.server for listener in listeners]):
            try:
                for listener in listeners:
                    tasks.append(
                        asyncio.create_task(
                            listener.server.serve(sockets=[listener.socket]), name=listener.name
                        )
                    )
                    await _wait_started(listener, tasks)
                    # uvicorn says where it listens only for the sockets it binds itself.
                    host, port = listener.socket.getsockname()[:2]
                    log.info("%s listening on %s", listener.name, url(host, port))
                if ready is not None:
                    ready()
                # One server stopping (or failing) stops the others: all of them or none.
                await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for listener in listeners:
                    listener.server.should_exit = True
                results = await asyncio.gather(*tasks, return_exceptions=True)
    finally:
        # A listener whose server never started still holds its socket.
        for listener in listeners:
            listener.socket.close()
    for result in results:
        if isinstance(result, BaseException) and not isinstance(result, asyncio.CancelledError):
            raise result


async def _wait_started(listener: Listener, tasks: Sequence[asyncio.Task[None]]) -> None:
    while not listener.server.started:
        for task in tasks:
            if task.done():
                # Surfaces the start-up error (if any) instead of waiting forever.
                task.result()
                raise RuntimeError(f"{task.get_name()} stopped during start-up")
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
