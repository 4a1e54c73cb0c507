"""Fields whose path is absent from the owner's record: a typo in `from:`, or drift.

An owner that sends `null` says the value is unknown; a record that lacks the
path altogether says the map reads something the owner does not send
(`from: display_nam`), and the field would be a silent null. Each such read
is counted per field, and logged once per field and process.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

logger = logging.getLogger("ownergraph")

QUIET: ContextVar[bool] = ContextVar("ownergraph_absent_quiet", default=False)
"""True while reads are not the response's own (`reading_ahead`)."""


@contextmanager
def reading_ahead() -> Iterator[None]:
    """Reads that are not the response's own (the waves reading ahead, a second run):
    a path they find absent is not counted again."""
    token = QUIET.set(True)
    try:
        yield
    finally:
        QUIET.reset(token)


class AbsentPaths:
    """Counts reads that found no value at a field's path, by field coordinate.

    `observe(owner, coordinate)` hears every such read (the metrics); the
    first of each field is also logged, naming the field, owner and path.
    """

    def __init__(self, observe: Callable[[str, str], None] | None = None) -> None:
        self.counts: Counter[str] = Counter()
        self._observe = observe

    def __call__(self, owner: str, coordinate: str, path: str) -> None:
        if QUIET.get():
            return
        first = coordinate not in self.counts
        self.counts[coordinate] += 1
        if first:
            logger.warning(
                "%s: the records of owner %r have no %r; the field reads as null. "
                "Check its from: in the ownership map (ownergraph check --live --sample KEY).",
                coordinate,
                owner,
                path,
                extra={"fields": {"field": coordinate, "owner": owner, "path": path}},
            )
        if self._observe is not None:
            self._observe(owner, coordinate)
