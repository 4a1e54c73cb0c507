from __future__ import annotations

from ownergraph.sources.budget import RetryBudget


def test_retries_stay_within_the_ratio_of_calls_plus_the_reserve() -> None:
    budget = RetryBudget(ratio=0.2, reserve=3)
    retries = 0
    for _ in range(1000):
        budget.earn()
        if budget.spend():
            retries += 1
    assert retries <= 0.2 * 1000 + 3
    assert retries >= 0.2 * 1000 - 1


def test_the_reserve_allows_the_first_retries_and_is_not_exceeded() -> None:
    budget = RetryBudget(ratio=0.2, reserve=3)
    for _ in range(100):
        budget.earn()  # a long quiet spell banks no more than the reserve
    assert [budget.spend() for _ in range(4)] == [True, True, True, False]
