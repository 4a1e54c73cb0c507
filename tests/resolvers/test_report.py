from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from ownergraph.resolvers import OwnerReport, iso
from ownergraph.sources import Call

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def call(
    system: str, start: float, end: float, status: str = "ok", keys: int = 1, at: datetime = T0
) -> Call:
    return Call(system, "e", keys, start, end, status, at, 200 if status == "ok" else 500)


def test_calls_and_keys_add_up_and_overlapping_time_counts_once() -> None:
    report = OwnerReport()
    report.record(call("crm", 0.0, 0.010, keys=3))
    report.record(call("crm", 0.005, 0.020, keys=2))
    report.record(call("crm", 0.030, 0.040, keys=1))
    crm = report.as_dict()["crm"]
    assert (crm["status"], crm["calls"], crm["keys"], crm["ms"]) == ("ok", 3, 6, 30.0)
    assert crm["fetchedAt"] == "2026-11-01T12:00:00Z"


def test_the_worst_status_wins_and_errors_keep_their_http_status() -> None:
    report = OwnerReport()
    report.record(call("erp", 0, 1))
    report.record(call("erp", 0, 1, status="error"))
    assert report.as_dict()["erp"]["status"] == "error"
    assert report.as_dict()["erp"]["httpStatus"] == 500
    report.record(call("erp", 0, 1, status="timeout"))
    assert report.as_dict()["erp"]["status"] == "timeout"


def test_a_system_never_asked_for_want_of_a_key_is_skipped() -> None:
    report = OwnerReport()
    report.skip("erp")
    assert report.as_dict() == {
        "erp": {"status": "skipped", "calls": 0, "keys": 0, "ms": 0.0, "fetchedAt": None}
    }


@pytest.mark.parametrize(
    "moment",
    [
        datetime(2026, 12, 1, 18, 31, 43, 94245, tzinfo=UTC),
        datetime(2026, 12, 1, 18, 31, 43, tzinfo=UTC),  # no fraction, as isoformat gives it
        datetime(2026, 12, 1, 18, 31, 44, 5, tzinfo=UTC),  # the next second, a new prefix
        datetime(2026, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
        datetime(2026, 12, 1, 20, 31, 43, 1, tzinfo=timezone(timedelta(hours=2))),
    ],
)
def test_iso_is_rfc3339_in_utc_with_z(moment: datetime) -> None:
    expected = moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
    assert iso(moment) == expected
    assert iso(moment) == expected  # the remembered second gives the same text


def test_iso_never_reuses_another_seconds_text() -> None:
    first = datetime(2026, 12, 1, 18, 31, 43, 10, tzinfo=UTC)
    # Same second, minute and hour, another day: the whole second must differ.
    other_day = first.replace(day=2)
    assert iso(first) == "2026-12-01T18:31:43.000010Z"
    assert iso(other_day) == "2026-12-02T18:31:43.000010Z"
