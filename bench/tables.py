"""Markdown tables and the min / median / max figures the report is made of."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from .stats import Spread

Row = Sequence[str]


def table(header: Row, rows: Iterable[Row]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def _values(runs: Sequence[Any], get: Callable[[Any], float | None]) -> list[float]:
    return [math.nan if (v := get(run)) is None else float(v) for run in runs]


def spread(runs: Sequence[Any], get: Callable[[Any], float | None], digits: int = 1) -> str:
    """min / median / max of the figure `get` reads from each run."""
    return Spread.of(_values(runs, get)).format(digits)


def at(run: Any, path: Sequence[str]) -> float | None:
    """The number found at `path` in nested dicts, or None."""
    value = run
    for step in path:
        if not isinstance(value, dict):
            return None
        value = value.get(step)
    return None if value is None else float(value)


def spread_at(runs: Sequence[Any], *path: str, digits: int = 1) -> str:
    """The spread of the figure found at `path` in each run."""
    return spread(runs, lambda run: at(run, path), digits)


def median(runs: Sequence[Any], get: Callable[[Any], float | None]) -> float:
    return Spread.of(_values(runs, get)).median


def counts(items: Iterable[dict[str, int]]) -> dict[str, int]:
    total: dict[str, int] = {}
    for item in items:
        for key, value in item.items():
            total[key] = total.get(key, 0) + value
    return total


def error_text(errors: dict[str, int]) -> str:
    if not errors:
        return "none"
    return ", ".join(f"{count} {kind}" for kind, count in sorted(errors.items()))
