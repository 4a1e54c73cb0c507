"""A circuit breaker per owner: stop waiting for an owner that keeps failing.

Closed, calls flow and outcomes are counted. After `failures` failures in a
row, or when at least half of the last `window` calls failed, the breaker
opens: calls are refused at once, without touching the network, for
`open_first` seconds. Then it is half-open: one probe call at a time is let
through. A successful probe closes it. A probe that failed after waiting
(`slow` or longer: the owner hangs) opens it again for twice as long as the
last time, up to `open_for`: a probe of a hanging owner costs its caller the
wait, so a dead owner is asked less and less often. A probe that failed at
once (an error status, a refused connection) costs nobody a wait and the
owner one quick request: it opens the breaker for `open_first` again, so the
moment such an owner recovers it is seen within `open_first`. Either way an
owner gets at most one probe per open period.

`allow()` hands out a `Permit` for every call it lets through, and the call's
outcome is reported with it: only the probe's own outcome decides a half-open
breaker, never that of a call that left before the breaker opened.
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
    """The longest the breaker stays open: what the open time of a dead owner grows to."""
    open_first: float = 0.25
    """How long the breaker first stays open; doubled by each probe that hung, up to `open_for`."""
    slow: float = 0.25
    """A call cut short by the request's deadline is a failure once it waited this long."""

    @property
    def first_open_time(self) -> float:
        """The first open time, which is never longer than the longest."""
        return min(self.open_first, self.open_for)


@dataclass(frozen=True, eq=False)
class Permit:
    """One call the breaker let through; its outcome is reported with it."""

    probe: bool


_CALL = Permit(probe=False)  # every call of a closed breaker: only probes need telling apart


class CircuitBreaker:
    """The breaker of one owner, shared by every request of the process."""

    def __init__(
        self, config: BreakerConfig | None = None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.config = config or BreakerConfig()
        self._clock = clock
        self._state = CLOSED
        self._opened_at = 0.0
        self._open_time = self.config.first_open_time
        self._streak = 0
        self._outcomes: deque[bool] = deque(maxlen=self.config.window)
        self._probe: Permit | None = None

    @property
    def state(self) -> str:
        if self._state == OPEN and self._clock() - self._opened_at >= self._open_time:
            return HALF_OPEN
        return self._state

    @property
    def open_time(self) -> float:
        """Seconds the breaker stays open this time (or, closed, the next time it opens)."""
        return self._open_time

    def allow(self) -> Permit | None:
        """A permit for a call that may go out now, or None; in half-open, one probe at a time."""
        state = self.state
        if state == CLOSED:
            return _CALL
        if state == HALF_OPEN and self._probe is None:
            self._state = HALF_OPEN
            self._probe = Permit(probe=True)
            return self._probe
        return None

    def success(self, permit: Permit) -> None:
        if permit is self._probe:
            self._close()
            return
        if self._state != CLOSED:
            return  # a call that left before the breaker opened: the probe decides
        self._streak = 0
        self._outcomes.append(True)

    def failure(self, permit: Permit, waited: float = float("inf")) -> None:
        """The call of `permit` failed after `waited` seconds (unknown: as if it hung)."""
        if permit is self._probe:
            if waited >= self.config.slow:
                self._open(min(2 * self._open_time, self.config.open_for))
            else:
                self._open(self.config.first_open_time)
            return
        if self._state != CLOSED:
            return  # a call that left before the breaker opened: the probe decides
        self._streak += 1
        self._outcomes.append(False)
        failed = self._outcomes.count(False)
        half_of_window = len(self._outcomes) >= self.config.window // 2 and (
            failed * 2 >= len(self._outcomes)
        )
        if self._streak >= self.config.failures or half_of_window:
            self._open(self.config.first_open_time)

    def release(self, permit: Permit) -> None:
        """A call ended with no verdict on the owner (e.g. the request ran out of time).

        If it was the probe, the next call may probe instead.
        """
        if permit is self._probe:
            self._probe = None

    def _open(self, seconds: float) -> None:
        self._state = OPEN
        self._opened_at = self._clock()
        self._open_time = seconds
        self._probe = None
        self._streak = 0
        self._outcomes.clear()

    def _close(self) -> None:
        self._state = CLOSED
        self._open_time = self.config.first_open_time
        self._probe = None
        self._streak = 0
        self._outcomes.clear()
