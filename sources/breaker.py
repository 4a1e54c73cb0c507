"""A circuit breaker per owner: stop waiting for an owner that keeps failing.

Closed, calls flow and outcomes are counted. After `failures` failures in a
row, or when at least half of the last `window` calls failed, the breaker
opens: calls are refused at once, without touching the network, for
`open_for` seconds. Then it is half-open: one probe call at a time is let
through; a success closes it, a failure opens it again.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

CLOSED = "closed"
OPEN = "open"
HALF_OPEN = "half_open"


@dataclass(frozen=True)
class BreakerConfig:
    """When an owner's breaker opens and how long it stays open."""

    failures: int = 5
    window: int = 20
    open_for: float = 5.0
    slow: float = 0.25
    """A call cut short by the request's deadline is a failure once it waited this long."""


class CircuitBreaker:
    """The breaker of one owner, shared by every request of the process."""

    def __init__(
        self, config: BreakerConfig | None = None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.config = config or BreakerConfig()
        self._clock = clock
        self._state = CLOSED
        self._opened_at = 0.0
        self._streak = 0
        self._outcomes: deque[bool] = deque(maxlen=self.config.window)
        self._probing = False

    @property
    def state(self) -> str:
        if self._state == OPEN and self._clock() - self._opened_at >= self.config.open_for:
            return HALF_OPEN
        return self._state

    def allow(self) -> bool:
        """Whether a call may go out now; in half-open, only one probe at a time."""
        state = self.state
        if state == CLOSED:
            return True
        if state == HALF_OPEN and not self._probing:
            self._state = HALF_OPEN
            self._probing = True
            return True
        return False

    def success(self) -> None:
        if self._state == HALF_OPEN:
            self._close()
            return
        self._streak = 0
        self._outcomes.append(True)

    def failure(self) -> None:
        if self._state == HALF_OPEN:
            self._open()
            return
        if self._state == OPEN:
            return  # a call that left before the breaker opened
        self._streak += 1
        self._outcomes.append(False)
        failed = self._outcomes.count(False)
        half_of_window = len(self._outcomes) >= self.config.window // 2 and (
            failed * 2 >= len(self._outcomes)
        )
        if self._streak >= self.config.failures or half_of_window:
            self._open()

    def release(self) -> None:
        """A probe ended with no verdict on the owner (e.g. the request ran out of time)."""
        self._probing = False

    def _open(self) -> None:
        self._state = OPEN
        self._opened_at = self._clock()
        self._probing = False
        self._streak = 0
        self._outcomes.clear()

    def _close(self) -> None:
        self._state = CLOSED
        self._probing = False
        self._streak = 0
        self._outcomes.clear()
