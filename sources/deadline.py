"""A point in time by which an answer is due, shared by every owner call of a request."""

from __future__ import annotations

import time
from collections.abc import Callable


class Deadline:
    """When the request must be answered, on a monotonic clock."""

    __slots__ = ("_clock", "at")

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self.at = clock() + seconds

    def remaining(self) -> float:
        """Seconds left; zero or less once the deadline has passed."""
        return self.at - self._clock()

    @property
    def expired(self) -> bool:
        return self.remaining() <= 0
