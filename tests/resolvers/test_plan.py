"""Owner records become field values: formats converted, bad shapes named, never a crash."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from ownergraph.resolvers import Record
from ownergraph.resolvers import plan as plan_module
from ownergraph.sources import OwnerBadResponse

from ..conftest import shipped_graph

ROOT = Path(__file__).resolve().parents[2]
PLAN = shipped_graph().plan


def value(field: str, record: object) -> object:
    return PLAN.field("Customer", field).value(record)


def test_a_plain_field_is_read_from_its_source() -> None:
    assert value("displayName", {"display_name": "Giulia Rossi"}) == "Giulia Rossi"
    assert value("displayName", {}) is None


def test_phones_are_normalised_to_e164() -> None:
    phones = [
        "+39 02 1234 5678",
        "0039 02 12345678",
        "(02) 1234 5678",
        "02.1234.5678",
        "347 123 4567",
    ]
    assert value("phones", {"phones": phones}) == [
        "+390212345678",
        "+390212345678",
        "+390212345678",
        "+390212345678",
        "+393471234567",
    ]


def test_a_converted_number_is_remembered_for_ten_minutes_at_most(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    now = [1000.0]
    monkeypatch.setattr(plan_module, "_clock", lambda: now[0])
    plan = shipped_graph().plan  # its own conversions, read with the clock above
    calls: list[str] = []
    parse = plan_module.phonenumbers.parse

    def counting(number: str, region: str | None) -> object:
        calls.append(number)
        return parse(number, region)

    monkeypatch.setattr(plan_module.phonenumbers, "parse", counting)
    read = plan.field("Customer", "phones").value
    assert read({"phones": ["02 1234 5678"]}) == ["+390212345678"]
    assert read({"phones": ["02 1234 5678"]}) == ["+390212345678"]
    assert calls == ["02 1234 5678"]  # the second read remembered it
    now[0] += plan_module.PHONE_SECONDS + 1
    assert read({"phones": ["02 1234 5678"]}) == ["+390212345678"]
    assert len(calls) == 2  # forgotten after ten minutes: parsed again
    with pytest.raises(OwnerBadResponse):
        read({"phones": ["call me maybe"]})
    with pytest.raises(OwnerBadResponse):
        read({"phones": ["call me maybe"]})  # a refusal is not remembered, nor wrongly passed


def test_a_phone_that_is_not_a_number_is_a_bad_response() -> None:
    with pytest.raises(OwnerBadResponse, match=r"Customer.phones should be a phone number"):
        value("phones", {"phones": ["call me maybe"]})


def test_cents_become_exact_money() -> None:
    credit = value(
        "credit", {"credit_limit_cents": 500000, "balance_cents": 12345, "currency": "EUR"}
    )
    assert isinstance(credit, Record)
    assert credit.value("creditLimit") == Decimal("5000.00")
    assert credit.value("balance") == Decimal("123.45")
    assert credit.value("overdue") is None
    assert credit.value("currency") == "EUR"


def test_a_value_of_the_wrong_kind_names_the_field_not_the_value() -> None:
    credit = value("credit", {"balance_cents": "12.34"})
    with pytest.raises(OwnerBadResponse) as caught:
        credit.value("balance")  # type: ignore[union-attr]
    assert "CreditStatus.balance should be a whole number of cents, got a str" in str(caught.value)
    assert "12.34" not in str(caught.value)
    assert caught.value.extensions == {"code": "OWNER_BAD_RESPONSE", "owner": "erp"}


def test_one_to_many_records_become_a_list_of_values() -> None:
    invoices = value(
        "invoices",
        [
            {"number": "INV-1", "status": "unpaid", "issued_on": "2026-01-02", "paid_at": None},
            {"number": "INV-2", "status": "PAID", "paid_at": "2026-02-03T10:00:00Z"},
        ],
    )
    assert isinstance(invoices, list)
    first, second = invoices
    assert (first.value("number"), first.value("status"), first.value("issuedOn")) == (
        "INV-1",
        "UNPAID",
        date(2026, 1, 2),
    )
    assert second.value("status") == "PAID"
    assert second.value("paidAt") == datetime(2026, 2, 3, 10, tzinfo=UTC)


def test_enum_values_follow_the_map_and_unknown_ones_are_named() -> None:
    [interaction] = value("interactions", [{"channel": "voice", "started_at": 1714567890}])
    assert interaction.value("channel") == "PHONE"
    assert interaction.value("at") == datetime(2024, 5, 1, 12, 51, 30, tzinfo=UTC)
    [bad] = value("interactions", [{"channel": "pigeon"}])
    with pytest.raises(OwnerBadResponse, match=r"Interaction\.channel should be one of"):
        bad.value("channel")


def test_a_list_field_that_is_not_a_list_is_a_bad_response() -> None:
    with pytest.raises(OwnerBadResponse, match=r"Customer\.emails should be a list"):
        value("emails", {"emails": "a@b.c"})


def test_arguments_reach_the_owner_in_its_own_words() -> None:
    from ownergraph.resolvers.owned import params_for

    interactions = PLAN.field("Customer", "interactions")
    assert params_for(interactions, {"channel": "PHONE", "first": 5}) == (
        ("channel", "voice"),
        ("limit", 5),
    )
    assert params_for(interactions, {"channel": "PHONE"}) == (("channel", "voice"), ("limit", 20))
    invoices = PLAN.field("Customer", "invoices")
    assert params_for(invoices, {"status": "UNPAID", "first": 3}) == (
        ("limit", 3),
        ("status", "unpaid"),
    )


@pytest.mark.parametrize("first", [0, -1, 101])
def test_first_is_bounded(first: int) -> None:
    from ownergraph.resolvers import BadUserInput
    from ownergraph.resolvers.owned import params_for

    with pytest.raises(BadUserInput, match="between 1 and 100") as caught:
        params_for(PLAN.field("Customer", "tickets"), {"first": first})
    assert caught.value.extensions == {"code": "BAD_USER_INPUT", "argument": "first"}


def test_an_enum_value_the_owner_does_not_know_is_refused_before_asking() -> None:
    from ownergraph.resolvers import BadUserInput
    from ownergraph.resolvers.owned import params_for

    with pytest.raises(BadUserInput, match="contactcenter has no WEB values") as caught:
        params_for(PLAN.field("Customer", "interactions"), {"channel": "WEB"})
    assert caught.value.extensions == {"code": "BAD_USER_INPUT", "argument": "channel"}
