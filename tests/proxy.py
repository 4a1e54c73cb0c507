"""A TCP proxy in front of a real owner that breaks connections the way networks do.

Modes:

- ``pass``: relays every request and answer, keeping connections alive.
- ``reset_after_answer``: relays the whole request to the owner, reads the
  owner's whole answer (the owner has applied the write), then resets the
  client's connection instead of passing the answer on.
- ``close_before_reading``: accepts a connection and closes it without
  reading a byte: the owner never hears of the request.

Stop it to make its port refuse connections.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Literal

Mode = Literal["pass", "reset_after_answer", "close_before_reading"]


class BreakingProxy:
    """Listens on a loopback port and forwards to `upstream` (host, port)."""

    def __init__(self, upstream: tuple[str, int], hidden: frozenset[str] = frozenset()) -> None:
        self.upstream = upstream
        self.hidden = hidden
        """Paths answered 404 without asking the owner (an owner that does not publish them)."""
        self._mode: Mode = "pass"
        self.forwarded = 0
        """Requests the owner received whole, and answered."""
        self._server: asyncio.Server | None = None
        self._clients: set[asyncio.StreamWriter] = set()
        self.port = 0

    async def start(self) -> None:
        self._server = await asyncio.start_server(
            self._serve, "127.0.0.1", self.port, reuse_address=True
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Close the listening port and every connection: the port then refuses."""
        if self._server is not None:
            self._server.close()
            for writer in list(self._clients):
                writer.close()
            await self._server.wait_closed()
            self._server = None

    @property
    def mode(self) -> Mode:
        return self._mode

    @mode.setter
    def mode(self, mode: Mode) -> None:
        self._mode = mode
        if mode == "close_before_reading":
            # Idle kept-alive connections would read the next request: drop them too.
            for writer in list(self._clients):
                _reset(writer)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._clients.add(writer)
        try:
            while True:
                if self.mode == "close_before_reading":
                    _reset(writer)
                    return
                request = await _read_message(reader)
                if request is None:
                    return
                path = request.split(b" ", 2)[1].split(b"?")[0].decode("latin-1")
                answer = _NOT_FOUND if path in self.hidden else await self._forward(request)
                self.forwarded += 1
                if self.mode == "reset_after_answer":
                    _reset(writer)
                    return
                writer.write(answer)
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            return
        finally:
            self._clients.discard(writer)
            writer.close()

    async def _forward(self, request: bytes) -> bytes:
        reader, writer = await asyncio.open_connection(*self.upstream)
        try:
            writer.write(request)
            await writer.drain()
            answer = await _read_message(reader)
            assert answer is not None, "the owner closed without answering"
            return answer
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()


_NOT_FOUND = (
    b"HTTP/1.1 404 Not Found\r\ncontent-length: 2\r\ncontent-type: application/json\r\n\r\n{}"
)


@contextmanager
def proxy_thread(upstream: tuple[str, int], hidden: frozenset[str] = frozenset()) -> Iterator[str]:
    """A `BreakingProxy` in passing mode, on its own loop in a thread; yields its URL."""
    loop = asyncio.new_event_loop()
    proxy = BreakingProxy(upstream, hidden)
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    asyncio.run_coroutine_threadsafe(proxy.start(), loop).result(timeout=10)
    try:
        yield proxy.url
    finally:
        asyncio.run_coroutine_threadsafe(proxy.stop(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()


async def _read_message(reader: asyncio.StreamReader) -> bytes | None:
    """One HTTP/1.1 message with a Content-Length body (or none); None at a clean EOF."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as error:
        if not error.partial:
            return None
        raise
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    body = await reader.readexactly(length) if length else b""
    return head + body


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with a TCP reset (RST), not a polite FIN: a linger time of zero."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()
