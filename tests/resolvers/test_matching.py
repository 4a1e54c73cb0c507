from __future__ import annotations

import pytest

from ownergraph.resolvers.matching import Evidence, best, evidence, merge
from ownergraph.sources import OwnerUnavailable


def test_owners_agreeing_on_one_customer_make_one_surer_match() -> None:
    [match] = merge(
        [
            Evidence("crm", "phone", 0.6, ("C1",)),
            Evidence("helpdesk", "requester_phone", 0.35, ("C1",)),
            Evidence("contactcenter", "caller_number", 0.35, ("C1",)),
        ]
    )
    assert match.key == "C1"
    assert match.matched_by == (
        "contactcenter.caller_number",
        "crm.phone",
        "helpdesk.requester_phone",
    )
    assert match.confidence == pytest.approx(1 - 0.4 * 0.65 * 0.65)
    assert best([match]) == match


def test_two_records_sharing_a_number_are_two_weaker_matches_and_no_best() -> None:
    matches = merge([Evidence("crm", "phone", 0.6, ("C1", "C2"))])
    assert [m.key for m in matches] == ["C1", "C2"]
    assert all(m.confidence == pytest.approx(0.3) for m in matches)
    assert best(matches) is None


def test_another_owners_word_breaks_the_tie() -> None:
    matches = merge(
        [
            Evidence("crm", "phone", 0.6, ("C1", "C2")),
            Evidence("helpdesk", "requester_phone", 0.35, ("C2",)),
        ]
    )
    assert [m.key for m in matches] == ["C2", "C1"]
    assert matches[0].confidence == pytest.approx(1 - 0.7 * 0.65)
    # Clearly ahead now, while the agent still sees the other record in the matches.
    assert best(matches) == matches[0]


def test_a_single_weak_owner_is_not_enough_for_best() -> None:
    matches = merge([Evidence("helpdesk", "requester_phone", 0.35, ("C9",))])
    assert [m.key for m in matches] == ["C9"]
    assert best(matches) is None


def test_a_failed_owner_adds_nothing_and_ids_count_once() -> None:
    assert evidence("crm", "phone", 0.6, ("id",), OwnerUnavailable("crm")) is None
    found = evidence("crm", "phone", 0.6, ("id",), [{"id": "C1"}, {"id": "C1"}, {"x": 1}])
    assert found is not None and found.ids == ("C1",)
    assert merge([]) == []
