"""What one call to an owner cost, reported to whoever asked for it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(slots=True)
class Call:
    """One HTTP request to an owning system, as it ended.

    `started` and `ended` are monotonic seconds, for measuring; `answered_at`
    is wall-clock UTC, for telling a reader how fresh the values are.
    """

    system: str
    entity: str
    keys: int
    started: float
    ended: float
    status: str
    answered_at: datetime
    http_status: int | None = None
    attempt: int = 0
    """0 for a first attempt, 1 and up for retries."""
    sent: bool = True
    """False when the call never went out: breaker open, or no time left."""


class CallObserver(Protocol):
    """Receives every call a source makes on behalf of one request."""

    def record(self, call: Call) -> None: ...
