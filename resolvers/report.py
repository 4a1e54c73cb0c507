"""Who answered this request, how fast and how fresh: `extensions.owners`."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ownergraph.sources import Call, CallObserver

# Worst first: a system that failed once in a request reports that failure.
_SEVERITY = {"deadline": 5, "timeout": 4, "unavailable": 3, "error": 2, "ok": 1}


@dataclass
class _SystemReport:
    calls: int = 0
    keys: int = 0
    status: str = "ok"
    http_status: int | None = None
    intervals: list[tuple[float, float]] = field(default_factory=list)
    fetched_at: datetime | None = None
    skipped: int = 0
    reused: int = 0
    retried: int = 0
    short_circuited: int = 0
    nulled: list[str] = field(default_factory=list)


class OwnerReport:
    """Collects every owner call of one request (a `sources.CallObserver`).

    Each call is also passed on to `forward` (the process's metrics), if given.
    """

    def __init__(self, forward: CallObserver | None = None) -> None:
        self._systems: dict[str, _SystemReport] = {}
        self._stale: list[dict[str, Any]] = []
        self._forward = forward

    def record(self, call: Call) -> None:
        if self._forward is not None:
            self._forward.record(call)
        report = self._systems.setdefault(call.system, _SystemReport())
        if call.sent:
            report.calls += 1
            report.keys += call.keys
            report.intervals.append((call.started, call.ended))
            report.retried += call.attempt > 0
        elif call.status == "unavailable":
            report.short_circuited += 1
        if _SEVERITY.get(call.status, 2) > _SEVERITY.get(report.status, 0):
            report.status = call.status
            report.http_status = call.http_status
        if call.status == "ok" and (
            report.fetched_at is None or call.answered_at < report.fetched_at
        ):
            # The oldest answer bounds how fresh the whole response is.
            report.fetched_at = call.answered_at

    def reuse(self, system: str, answered_at: datetime) -> None:
        """A value of `system` was served from the field's `max_age` allowance."""
        report = self._systems.setdefault(system, _SystemReport())
        report.reused += 1
        if report.fetched_at is None or answered_at < report.fetched_at:
            report.fetched_at = answered_at

    def stale(self, path: list[str | int], system: str, age: float) -> None:
        """The field at `path` was served an old value because `system` failed."""
        self._stale.append({"path": path, "owner": system, "stale": True, "age": round(age, 3)})

    def nulled(self, system: str, path: list[str | int]) -> None:
        """The field at `path` is null because `system` failed."""
        self._systems.setdefault(system, _SystemReport()).nulled.append(_dotted(path))

    @property
    def calls(self) -> int:
        """How many calls went out to owners in this request."""
        return sum(report.calls for report in self._systems.values())

    @property
    def stale_fields(self) -> list[dict[str, Any]]:
        return list(self._stale)

    def skip(self, system: str) -> None:
        """`system` was needed but not asked: the key to ask it with was missing."""
        self._systems.setdefault(system, _SystemReport()).skipped += 1

    def as_dict(self) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for name in sorted(self._systems):
            report = self._systems[name]
            entry: dict[str, Any] = {
                "status": report.status if report.calls or report.reused else "skipped",
                "calls": report.calls,
                "keys": report.keys,
                "ms": round(_busy(report.intervals) * 1000, 1),
                "fetchedAt": iso(report.fetched_at) if report.fetched_at else None,
            }
            if report.short_circuited and not report.calls:
                entry["status"] = "unavailable"
            if report.short_circuited:
                entry["breaker"] = "open"
            if report.retried:
                entry["retried"] = report.retried
            if report.reused:
                entry["reused"] = report.reused
            if report.http_status is not None and report.status in ("error", "unavailable"):
                entry["httpStatus"] = report.http_status
            if report.nulled:
                entry["nulled"] = sorted(set(report.nulled))
            result[name] = entry
        return result


def iso(moment: datetime) -> str:
    """RFC 3339 in UTC with a `Z`, as clients expect timestamps in extensions.

    `datetime.isoformat` formats each part through sprintf; a response carries
    one time per owner, and a log line one more, all within the same second or
    so: the text up to the seconds is formatted once per second.
    """
    if moment.tzinfo is not UTC:
        return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
    global _second, _second_text
    second = (moment.second, moment.minute, moment.hour, moment.day, moment.month, moment.year)
    if second != _second:
        _second_text = moment.replace(microsecond=0, tzinfo=None).isoformat()
        _second = second
    micro = moment.microsecond
    return f"{_second_text}.{micro:06d}Z" if micro else f"{_second_text}Z"


_second: tuple[int, ...] = ()
_second_text = ""


def _dotted(path: list[str | int]) -> str:
    return ".".join(str(step) for step in path)


def _busy(intervals: list[tuple[float, float]]) -> float:
    """Seconds during which at least one call to the system was under way."""
    total = 0.0
    end = float("-inf")
    for start, stop in sorted(intervals):
        if stop <= end:
            continue
        total += stop - max(start, end)
        end = stop
    return total
