from __future__ import annotations

from itertools import pairwise

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


def test_the_first_open_lasts_open_first_then_one_probe_goes_out() -> None:
    cb, clock = breaker(failures=1, open_first=0.5, open_for=5)
    fail(cb)
    assert cb.open_time == 0.5
    clock.now += 0.49
    assert cb.allow() is None
    clock.now += 0.01
    assert cb.state == HALF_OPEN
    probe = let(cb)
    assert probe.probe
    assert cb.allow() is None  # one probe at a time
    cb.success(probe)
    assert cb.state == CLOSED
    assert cb.allow() is not None


def test_each_failed_probe_doubles_the_open_time_up_to_open_for() -> None:
    cb, clock = breaker(failures=1, open_first=0.5, open_for=5)
    fail(cb)
    seen = []
    for _ in range(6):
        seen.append(cb.open_time)
        clock.now += cb.open_time - 0.001
        assert cb.allow() is None  # still open: the owner is not asked
        clock.now += 0.001
        fail(cb)  # the probe
        assert cb.state == OPEN
    assert seen == [0.5, 1.0, 2.0, 4.0, 5.0, 5.0]


def test_a_successful_probe_closes_and_resets_the_open_time() -> None:
    cb, clock = breaker(failures=2, open_first=0.5, open_for=5)
    fail(cb, 2)
    for _ in range(2):
        clock.now += cb.open_time
        fail(cb)  # the probe
    assert cb.open_time == 2.0
    clock.now += 2.0
    cb.success(let(cb))
    assert cb.state == CLOSED
    assert cb.open_time == 0.5
    fail(cb, 2)
    assert cb.state == OPEN
    clock.now += 0.5
    assert cb.state == HALF_OPEN


def test_a_dead_owner_gets_at_most_one_probe_per_open_period() -> None:
    cb, clock = breaker(failures=1, open_first=0.5, open_for=5)
    tick = 1 / 64  # seconds; a binary fraction, so that the clock adds up exactly
    hang = 20 * tick  # each probe waits this long, then fails
    fail(cb)
    opened_at, open_time = clock.now, cb.open_time
    probes: list[float] = []
    in_flight: list[tuple[Permit, float]] = []
    for _ in range(60 * 64):
        clock.now += tick
        for permit, ends in list(in_flight):
            if clock.now >= ends:
                in_flight.remove((permit, ends))
                cb.failure(permit)
                opened_at, open_time = clock.now, cb.open_time
        for _ in range(5):  # callers keep asking
            permit = cb.allow()
            if permit is not None:
                assert not in_flight, "a second probe while one was out"
                assert clock.now - opened_at >= open_time, "a probe inside an open period"
                probes.append(clock.now)
                in_flight.append((permit, clock.now + hang))
    gaps = [b - a for a, b in pairwise(probes)]
    assert gaps[:4] == [hang + 1, hang + 2, hang + 4, hang + 5]
    assert set(gaps[4:]) == {hang + 5}


def test_a_call_that_left_before_the_breaker_opened_does_not_decide_the_probe() -> None:
    cb, clock = breaker(failures=1, open_first=5, open_for=5)
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
    cb, clock = breaker(failures=1, open_first=1)
    fail(cb)
    clock.now += 1
    cb.release(let(cb))
    probe = let(cb)
    assert probe.probe
    cb.failure(probe)
    assert cb.open_time == 2  # a released probe was not a failed one


def test_a_first_open_time_longer_than_open_for_is_cut_to_it() -> None:
    cb, clock = breaker(failures=1, open_first=2, open_for=1)
    fail(cb)
    assert cb.open_time == 1
    clock.now += 1
    assert cb.state == HALF_OPEN


def test_a_probe_refused_at_once_reopens_for_the_first_open_time_only() -> None:
    """An owner that answers errors at once costs nobody a wait: it is asked again soon."""
    cb, clock = breaker(failures=1, open_first=0.5, open_for=5, slow=0.25)
    fail(cb)
    clock.now += 0.5
    cb.failure(let(cb), waited=1.0)  # hung: twice as long
    assert cb.open_time == 1.0
    clock.now += 1.0
    cb.failure(let(cb), waited=0.01)  # a 503 at once: back to the first open time
    assert cb.open_time == 0.5
    clock.now += 0.5
    cb.success(let(cb))
    assert cb.state == CLOSED
