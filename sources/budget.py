"""A retry budget per owner, so that retries never multiply an outage.

Every first attempt earns `ratio` of a retry, and a retry spends one; the
tokens never exceed `reserve`. So retries stay under `ratio` of calls (20%
by default) plus the reserve, however long an outage lasts, while a quiet
system can still retry its first few failures.
"""

from __future__ import annotations


class RetryBudget:
    """Tokens for retries, earned by calls."""

    def __init__(self, ratio: float = 0.2, reserve: float = 3.0) -> None:
        self.ratio = ratio
        self.reserve = reserve
        self._tokens = reserve

    def earn(self) -> None:
        """A first attempt went out: it earns a fraction of a retry."""
        self._tokens = min(self._tokens + self.ratio, self.reserve)

    def spend(self) -> bool:
        """Take one retry if the budget has one."""
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False
