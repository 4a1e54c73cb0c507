"""The verdicts of the benchmark's targets table: judged on the median, never on failures."""

from __future__ import annotations

import math

from bench.targets import Goal, Row, judged, met, verdict

AT_MOST = Goal("p50 over the floor", "<= 1.5 ms", 1.5, higher=False, before="4.1 ms")
AT_LEAST = Goal("requests/s, ours / peer", ">= 3.0", 3.0, higher=True, before="0.73")


def test_a_limit_is_met_on_its_own_side_only() -> None:
    assert met(1.5, 1.5, higher=False) and met(3.0, 3.0, higher=True)
    assert not met(1.51, 1.5, higher=False)
    assert not met(2.99, 3.0, higher=True)
    assert met(math.nan, 1.0, higher=True) is None


def test_a_row_not_met_points_at_its_note() -> None:
    assert verdict(Row(AT_LEAST, "2.6", 2.6, note="the other core is full"), 3) == (
        "**not met** (see note 3)"
    )
    assert verdict(Row(AT_LEAST, "2.6", 2.6), 3) == "**not met**"
    assert verdict(Row(AT_MOST, "0.4", 0.4), 1) == "**met**"
    assert verdict(Row(AT_MOST, "not measured", math.nan), 1) == "n/a"


def test_a_row_whose_requests_failed_is_not_judged() -> None:
    # Failed requests answer fast: they would pass for throughput.
    failing = Row(AT_LEAST, "9.0", 9.0, failed=(200, 10_000))
    assert not judged(failing)
    assert verdict(failing, 3) == "**not judged**: 200 of 10000 requests failed"
    assert judged(Row(AT_LEAST, "3.1", 3.1, failed=(100, 10_000)))  # 1 %: still judged
