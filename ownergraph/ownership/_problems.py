"""Problems in a graph's files: where each is, what is wrong, what to do about it."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong in the map (or the SDL), where it is and what to do about it."""

    file: str
    line: int
    message: str
    suggestion: str | None = None

    def __str__(self) -> str:
        text = f"{self.file}:{self.line}: {self.message}"
        return f"{text} ({self.suggestion})" if self.suggestion else text


class OwnershipError(Exception):
    """The graph cannot be served; `problems` lists every reason, in file and line order."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = sorted(set(problems), key=lambda p: (p.file, p.line, p.message))
        count = len(self.problems)
        head = f"{count} problem{'s' if count != 1 else ''} in the graph:"
        super().__init__("\n".join([head, *(f"  {p}" for p in self.problems)]))


def suggest(value: str, choices: Iterable[str]) -> str | None:
    """'did you mean ...?' for the closest of `choices`, or a list of them when none is close."""
    options = sorted(set(choices))
    close = difflib.get_close_matches(value, options, n=1, cutoff=0.6)
    if close:
        return f"did you mean '{close[0]}'?"
    if options:
        shown = ", ".join(options[:12]) + (", ..." if len(options) > 12 else "")
        return f"expected one of: {shown}"
    return None
