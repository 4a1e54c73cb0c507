"""Values a field allows to be reused across requests: for at most its `max_age`,
or, when its owner fails, for at most its `stale_if_error` (and then labelled).

Nothing is kept unless a field of the map declares one of the two: by default
every read goes to the owner, and a failure is reported, never papered over.
The cache stores awaited values (never coroutines) with the monotonic time
they were read, and the clock is injected so tests can move time.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cachetools import LRUCache


@dataclass(frozen=True)
class Kept:
    value: Any
    read_at: float
    answered_at: datetime


@dataclass(frozen=True)
class Stale:
    """A value served in place of a failed read, as its field's `stale_if_error` allows."""

    value: Any
    age: float
    """Seconds since the value was read from its owner."""
    error: Exception
    """Why the owner's current value could not be had."""


class RecordCache:
    """An LRU of owner records; each read says how old a value it accepts."""

    def __init__(self, maxsize: int = 50_000, clock: Callable[[], float] = time.monotonic) -> None:
        self._entries: LRUCache[Hashable, Kept] = LRUCache(maxsize=maxsize)
        self._clock = clock

    def get(self, key: Hashable, max_age: float) -> Kept | None:
        kept = self._entries.get(key)
        if kept is None or self._clock() - kept.read_at > max_age:
            return None
        return kept

    def age(self, kept: Kept) -> float:
        return self._clock() - kept.read_at

    def put(self, key: Hashable, value: Any, answered_at: datetime) -> None:
        self._entries[key] = Kept(value, self._clock(), answered_at)

    def __len__(self) -> int:
        return len(self._entries)
