from __future__ import annotations

from ownergraph.sources.breaker import (
    CLOSED,
    HALF_OPEN,
    OPEN,
    BreakerConfig,
    CircuitBreaker,
    Permit,
)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def breaker(**config: float) -> tuple[CircuitBreaker, Clock]:
    clock = Clock()
    return CircuitBreaker(BreakerConfig(**config), clock), clock  # type: ignore[arg-type]


def let(cb: CircuitBreaker) -> Permit:
    """The permit of a call the breaker must let through."""
    permit = cb.allow()
    assert permit is not None
    return permit


def fail(cb: CircuitBreaker, times: int = 1) -> None:
    for _ in range(times):
        cb.failure(let(cb))


def test_it_opens_after_failures_in_a_row_and_refuses_calls() -> None:
    cb, _ = breaker(failures=3)
    fail(cb, 2)
    assert cb.state == CLOSED
    fail(cb)
    assert cb.state == OPEN
    assert cb.allow() is None


def test_a_success_resets_the_streak() -> None:
    cb, _ = breaker(failures=3, window=100)
    for _ in range(5):
        fail(cb, 2)
        cb.success(let(cb))
    assert cb.state == CLOSED


def test_it_opens_when_half_of_the_window_failed() -> None:
    cb, _ = breaker(failures=100, window=10)
    for _ in range(2):
        cb.success(let(cb))
        fail(cb)
    assert cb.state == CLOSED  # not judged on fewer than half a window of calls
    cb.success(let(cb))
    fail(cb)
    assert cb.state == OPEN


def test_after_open_for_one_probe_goes_out_and_its_success_closes() -> None:
    cb, clock = breaker(failures=1, open_for=5)
    fail(cb)
    clock.now += 4.9
    assert cb.allow() is None
    clock.now += 0.2
    assert cb.state == HALF_OPEN
    probe = let(cb)
    assert probe.probe
    assert cb.allow() is None  # one probe at a time
    cb.success(probe)
    assert cb.state == CLOSED
    assert cb.allow() is not None


def test_a_failed_probe_opens_it_again() -> None:
    cb, clock = breaker(failures=1, open_for=5)
    fail(cb)
    clock.now += 5
    fail(cb)  # the probe
    assert cb.state == OPEN
    clock.now += 4
    assert cb.allow() is None


def test_a_call_that_left_before_the_breaker_opened_does_not_decide_the_probe() -> None:
    cb, clock = breaker(failures=1, open_for=5)
    straggler = let(cb)
    fail(cb)
    clock.now += 5
    probe = let(cb)
    cb.failure(straggler)  # the owner was failing then; the probe asks about now
    assert cb.state == HALF_OPEN
    clock.now += 5
    assert cb.allow() is None  # the probe is still out: no second one
    cb.success(probe)
    assert cb.state == CLOSED


def test_a_probe_without_verdict_lets_the_next_one_go() -> None:
    cb, clock = breaker(failures=1, open_for=1)
    fail(cb)
    clock.now += 1
    cb.release(let(cb))
    assert let(cb).probe
