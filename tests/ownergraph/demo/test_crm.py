"""The demo CRM: its API, and seed data as messy as a real CRM's."""

from __future__ import annotations

import itertools
import re
from collections import defaultdict
from typing import Any

import httpx
import phonenumbers

MAX_BATCH = 200


def _e164(phone: str) -> str:
    return phonenumbers.format_number(
        phonenumbers.parse(phone, "IT"), phonenumbers.PhoneNumberFormat.E164
    )


def _duplicate_groups(customers: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    by_phone: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
    for customer in customers:
        for phone in customer["phones"]:
            by_phone[_e164(phone)][customer["id"]] = customer
    return [list(group.values()) for group in by_phone.values() if len(group) > 1]


async def test_batch_read_returns_only_existing_customers(crm: httpx.AsyncClient) -> None:
    reply = await crm.get("/customers", params={"ids": "C00001,C99999,C10000,nope,C00001"})
    assert reply.status_code == 200
    assert sorted(c["id"] for c in reply.json()["customers"]) == ["C00001", "C10000"]


async def test_single_read_and_404(crm: httpx.AsyncClient) -> None:
    reply = await crm.get("/customers/C00042")
    assert reply.status_code == 200
    assert reply.json()["id"] == "C00042"

    missing = await crm.get("/customers/C99999")
    assert missing.status_code == 404
    assert missing.json() == {"error": "customer 'C99999' not found"}


async def test_batch_limit_and_missing_ids_are_400(crm: httpx.AsyncClient) -> None:
    ids = ",".join(f"C{n:05d}" for n in range(1, MAX_BATCH + 2))
    too_many = await crm.get("/customers", params={"ids": ids})
    assert too_many.status_code == 400
    assert "at most 200" in too_many.json()["error"]
    assert "'ids'" in too_many.json()["error"]

    missing = await crm.get("/customers")
    assert missing.status_code == 400
    assert "'ids' is required" in missing.json()["error"]

    exactly_max = await crm.get("/customers", params={"ids": ids.rsplit(",", 1)[0]})
    assert len(exactly_max.json()["customers"]) == MAX_BATCH


def test_exactly_ten_thousand_customers(all_customers: list[dict[str, Any]]) -> None:
    assert [c["id"] for c in all_customers] == [f"C{n:05d}" for n in range(1, 10_001)]


def test_record_shape(all_customers: list[dict[str, Any]]) -> None:
    customer = all_customers[41]
    assert set(customer) == {
        "id",
        "display_name",
        "first_name",
        "last_name",
        "emails",
        "phones",
        "erp_code",
        "segment",
        "address",
        "created_at",
        "updated_at",
    }
    assert customer["display_name"] == f"{customer['first_name']} {customer['last_name']}"
    iso = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
    for c in all_customers:
        assert iso.match(c["created_at"]) and iso.match(c["updated_at"])
        assert c["created_at"] <= c["updated_at"]
        assert c["segment"] in {"retail", "business", "vip"}
        if c["address"] is not None:
            assert set(c["address"]) == {"street", "city", "postcode", "country"}
            assert c["address"]["country"] == "IT"


def test_every_phone_is_a_valid_italian_number(all_customers: list[dict[str, Any]]) -> None:
    phones = [phone for c in all_customers for phone in c["phones"]]
    assert len(phones) > 10_000
    invalid = [p for p in phones if not phonenumbers.is_valid_number(phonenumbers.parse(p, "IT"))]
    assert invalid == []


def _shape(phone: str) -> str:
    """``+39 02 1234 5678`` -> ``+39 99 9999 9999``: the format, without the number."""
    prefix = next((p for p in ("+39", "0039") if phone.startswith(p)), "")
    return prefix + re.sub(r"\d", "9", phone[len(prefix) :])


def test_phones_are_written_in_many_formats(all_customers: list[dict[str, Any]]) -> None:
    shapes = {_shape(phone) for c in all_customers for phone in c["phones"]}
    assert {"+39 99 9999 9999", "0039 99 99999999", "99 9999 9999", "99-9999-9999"} <= shapes
    assert {"(99) 9999 9999", "99.9999.9999", "+399999999999", "999 999 9999"} <= shapes


def test_missing_values_happen(all_customers: list[dict[str, Any]]) -> None:
    total = len(all_customers)
    no_email = sum(1 for c in all_customers if not c["emails"]) / total
    no_phone = sum(1 for c in all_customers if not c["phones"]) / total
    no_address = sum(1 for c in all_customers if c["address"] is None) / total
    assert 0.03 < no_email < 0.08
    assert 0.03 < no_phone < 0.08
    assert 0.03 < no_address < 0.12


def test_about_ten_percent_are_prospects_without_erp_code(
    all_customers: list[dict[str, Any]],
) -> None:
    prospects = sum(1 for c in all_customers if c["erp_code"] is None) / len(all_customers)
    assert 0.08 < prospects < 0.13
    codes = [c["erp_code"] for c in all_customers if c["erp_code"] is not None]
    assert all(re.fullmatch(r"K-\d{6}", code) for code in codes)


def test_duplicates_share_a_phone_written_differently(
    all_customers: list[dict[str, Any]],
) -> None:
    groups = _duplicate_groups(all_customers)
    assert len(groups) >= 100
    for first, second in groups:
        shared = {_e164(p) for p in first["phones"]} & {_e164(p) for p in second["phones"]}
        written_first = {p for p in first["phones"] if _e164(p) in shared}
        written_second = {p for p in second["phones"] if _e164(p) in shared}
        assert written_first.isdisjoint(written_second)
        assert set(first["emails"]).isdisjoint(second["emails"])
        # The second record is either a prospect or points at the same ERP account.
        codes = {first["erp_code"], second["erp_code"]} - {None}
        assert len(codes) <= 1
    # Some duplicates carry a typo'd name, some the same name.
    same_name = sum(1 for a, b in groups if a["display_name"] == b["display_name"])
    assert 0 < same_name < len(groups)


def test_erp_codes_belong_to_one_person_and_do_not_follow_ids(
    all_customers: list[dict[str, Any]],
) -> None:
    holders: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for c in all_customers:
        if c["erp_code"] is not None:
            holders[c["erp_code"]].append(c)
    for records in holders.values():
        if len(records) > 1:
            # Only a duplicate record of the same person may share a code.
            phones = [{_e164(p) for p in r["phones"]} for r in records]
            assert set.intersection(*phones)

    pairs = [(int(c["id"][1:]), int(c["erp_code"][2:])) for c in all_customers if c["erp_code"]]
    offsets = {code - number for number, code in pairs}
    assert len(offsets) > len(pairs) // 2
    rising = sum(1 for (_, a), (_, b) in itertools.pairwise(pairs) if b > a)
    assert 0.4 < rising / (len(pairs) - 1) < 0.6


async def test_search_by_phone_in_any_format_finds_duplicates(
    crm: httpx.AsyncClient, all_customers: list[dict[str, Any]]
) -> None:
    first, second = _duplicate_groups(all_customers)[0]
    shared = ({_e164(p) for p in first["phones"]} & {_e164(p) for p in second["phones"]}).pop()
    national = phonenumbers.format_number(
        phonenumbers.parse(shared), phonenumbers.PhoneNumberFormat.NATIONAL
    )
    reply = await crm.get("/customers/search", params={"phone": national})
    assert reply.status_code == 200
    assert {c["id"] for c in reply.json()["customers"]} == {first["id"], second["id"]}


async def test_search_by_email_ignores_case(
    crm: httpx.AsyncClient, all_customers: list[dict[str, Any]]
) -> None:
    customer = next(c for c in all_customers if c["emails"])
    reply = await crm.get("/customers/search", params={"email": customer["emails"][0].upper()})
    assert customer["id"] in {c["id"] for c in reply.json()["customers"]}


async def test_search_needs_at_least_one_valid_criterion(crm: httpx.AsyncClient) -> None:
    neither = await crm.get("/customers/search")
    assert neither.status_code == 400
    assert "'phone'" in neither.json()["error"] and "'email'" in neither.json()["error"]

    bad_phone = await crm.get("/customers/search", params={"phone": "12"})
    assert bad_phone.status_code == 400
    assert bad_phone.json()["error"].startswith("phone '12' is not a valid phone number")
