"""The two guards around every owner call, without the frills of asyncio's own.

`Slots`, how many calls to one owner may be under way at once: asyncio.Semaphore
checks on every acquire whether any waiter is still waiting (a generator over its
waiters) even when nobody waits, which is nearly always. This counts free slots,
queues waiters only when there are none, and hands a released slot straight to
the first waiter, in order.

`Within`, how long a call may take: `asyncio.timeout` with the same semantics,
but without the state machine it keeps in an enum (on Python 3.11 each of the
nine reads of an enum member per call goes through `EnumType.__getattr__`'s
slow path).
"""

from __future__ import annotations

import asyncio
from collections import deque
from types import TracebackType


class Slots:
    """At most `size` holders at once; the others wait in arrival order."""

    __slots__ = ("_free", "_waiters")

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError("a source needs at least one slot")
        self._free = size
        self._waiters: deque[asyncio.Future[None]] = deque()

    @property
    def free(self) -> int:
        return self._free

    async def __aenter__(self) -> None:
        if self._free > 0 and not self._waiters:
            self._free -= 1
            return
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await waiter  # a release hands its slot over: `_free` is not given back
        except BaseException:
            if waiter.done() and not waiter.cancelled():
                self._release()  # handed a slot, then cancelled: pass it on
            elif waiter in self._waiters:
                self._waiters.remove(waiter)
            raise

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._release()

    def _release(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
        self._free += 1


class Within:
    """`async with Within(seconds):` raises `TimeoutError` if the block outlasts `seconds`.

    As `asyncio.timeout`: on expiry the task is cancelled, and the cancellation
    becomes a `TimeoutError` at the end of the block only if it was this
    timeout's own (`Task.uncancel`), so a cancellation from outside still
    cancels. Not reusable; one per block.
    """

    __slots__ = ("_cancelling", "_expired", "_handle", "_seconds", "_task")

    def __init__(self, seconds: float) -> None:
        self._seconds = seconds
        self._expired = False

    async def __aenter__(self) -> None:
        task = asyncio.current_task()
        if task is None:
            raise RuntimeError("Within must be used inside a task")
        self._task = task
        self._cancelling = task.cancelling()
        self._handle = asyncio.get_running_loop().call_later(self._seconds, self._expire)

    def _expire(self) -> None:
        self._task.cancel()
        self._expired = True

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._handle.cancel()
        if (
            self._expired
            and self._task.uncancel() <= self._cancelling
            and kind is asyncio.CancelledError
        ):
            raise TimeoutError from error
