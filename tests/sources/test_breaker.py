from __future__ import annotations

from ownergraph.sources.breaker import CLOSED, HALF_OPEN, OPEN, BreakerConfig, CircuitBreaker


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def breaker(**config: float) -> tuple[CircuitBreaker, Clock]:
    clock = Clock()
    return CircuitBreaker(BreakerConfig(**config), clock), clock  # type: ignore[arg-type]


def test_it_opens_after_failures_in_a_row_and_refuses_calls() -> None:
    cb, _ = breaker(failures=3)
    for _ in range(2):
        assert cb.allow()
        cb.failure()
    assert cb.state == CLOSED
    cb.failure()
    assert cb.state == OPEN
    assert not cb.allow()


def test_a_success_resets_the_streak() -> None:
    cb, _ = breaker(failures=3, window=100)
    for _ in range(5):
        cb.failure()
        cb.failure()
        cb.success()
    assert cb.state == CLOSED


def test_it_opens_when_half_of_the_window_failed() -> None:
    cb, _ = breaker(failures=100, window=10)
    for _ in range(5):
        cb.success()
        cb.failure()
    assert cb.state == OPEN


def test_after_open_for_one_probe_goes_out_and_its_success_closes() -> None:
    cb, clock = breaker(failures=1, open_for=5)
    cb.failure()
    clock.now += 4.9
    assert not cb.allow()
    clock.now += 0.2
    assert cb.state == HALF_OPEN
    assert cb.allow()
    assert not cb.allow()  # one probe at a time
    cb.success()
    assert cb.state == CLOSED
    assert cb.allow()


def test_a_failed_probe_opens_it_again() -> None:
    cb, clock = breaker(failures=1, open_for=5)
    cb.failure()
    clock.now += 5
    assert cb.allow()
    cb.failure()
    assert cb.state == OPEN
    clock.now += 4
    assert not cb.allow()


def test_a_probe_without_verdict_lets_the_next_one_go() -> None:
    cb, clock = breaker(failures=1, open_for=1)
    cb.failure()
    clock.now += 1
    assert cb.allow()
    cb.release()
    assert cb.allow()
