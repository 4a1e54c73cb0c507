"""Finding customers by phone or e-mail at every owner that can: the caller screen's lookups.

The gateway asks the CRM, the helpdesk and the contact center at once and merges what they
say, so each search must find a number however it is written, and the seed must hold the
cases that make merging worth it: CRM duplicates, and numbers only the other owners know.
The facts pinned at the top are the ones the gateway's own tests may build on.
"""

from __future__ import annotations

import contextlib
import re
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import phonenumbers
import pytest

from ownergraph.demo.seed import AS_OF, db_path

# A Milan landline every owner knows for C00002 (Simona Mazzotta): the CRM writes it
# "02 4223 7058", the helpdesk "0039 02 42237058", the contact center "390242237058".
ALL_THREE = ("C00002", "+390242237058")
# Two CRM records of one person (Roberta Grassi / "Grasssi"), the shared mobile written
# "329 269 3116" in one and "+39 3292693116" in the other. Each of the other owners knows
# the number under one of the two ids: the helpdesk under C08700, the contact center C00008.
DUPLICATES = ("C00008", "C08700", "+393292693116")
# A mobile the helpdesk ("3455705359") and the contact center ("393455705359") have for
# C00156 (Maria Giuliani) and the CRM does not: it only has +39 348 985 3846.
NOT_IN_CRM = ("C00156", "+393455705359")

# The same landline, every way people and systems write it.
LANDLINE_WAYS = (
    "+39 02 4223 7058",
    "+390242237058",
    "0039 02 42237058",
    "00390242237058",
    "0039 02 4223 7058",
    "390242237058",
    "02 4223 7058",
    "0242237058",
    "02.4223.7058",
    "02-4223-7058",
    "(02) 4223 7058",
    "(+39) 02 4223 7058",
    "02/42237058",
    "  02 4223 7058  ",
)
MOBILE_WAYS = (
    "345 570 5359",
    "3455705359",
    "+39 345 570 5359",
    "+393455705359",
    "0039 345 5705359",
    "393455705359",
    "345.570.5359",
    "345-570-5359",
    "(345) 570 5359",
    "345/5705359",
)
SEARCHES = {
    "crm": ("/customers/search", "customers", "id"),
    "helpdesk": ("/requesters/search", "requesters", "external_id"),
    "contactcenter": ("/callers/search", "callers", "customer_id"),
}
CUSTOMER_FIELDS = {
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


def _e164(phone: str) -> str:
    parsed = phonenumbers.parse(phone, "IT")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


async def _found(client: httpx.AsyncClient, system: str, **params: str) -> list[str]:
    path, records, key = SEARCHES[system]
    reply = await client.get(path, params=params)
    assert reply.status_code == 200, reply.text
    return [record[key] for record in reply.json()[records]]


@pytest.fixture
def owners(
    crm: httpx.AsyncClient, helpdesk: httpx.AsyncClient, contactcenter: httpx.AsyncClient
) -> dict[str, httpx.AsyncClient]:
    return {"crm": crm, "helpdesk": helpdesk, "contactcenter": contactcenter}


def _rows(data_dir: Path, system: str, sql: str) -> list[Any]:
    with contextlib.closing(sqlite3.connect(db_path(data_dir, system))) as conn:
        return conn.execute(sql).fetchall()


# --------------------------------------------------------------------------- formats


@pytest.mark.parametrize("written", LANDLINE_WAYS)
async def test_every_owner_finds_a_number_however_it_is_written(
    owners: dict[str, httpx.AsyncClient], written: str
) -> None:
    customer, _number = ALL_THREE
    for system, client in owners.items():
        assert await _found(client, system, phone=written) == [customer], system


@pytest.mark.parametrize("written", MOBILE_WAYS)
async def test_a_number_the_crm_lacks_is_found_by_the_helpdesk_and_the_contact_center(
    owners: dict[str, httpx.AsyncClient], written: str
) -> None:
    customer, _number = NOT_IN_CRM
    assert await _found(owners["crm"], "crm", phone=written) == []
    assert await _found(owners["helpdesk"], "helpdesk", phone=written) == [customer]
    # Its last use was in 2025-12, inside the default 365 days.
    assert await _found(owners["contactcenter"], "contactcenter", phone=written) == [customer]


async def test_pinned_records_look_as_described(owners: dict[str, httpx.AsyncClient]) -> None:
    customer, number = ALL_THREE
    crm = (await owners["crm"].get("/customers/search", params={"phone": number})).json()
    assert crm["customers"][0]["phones"] == ["02 4223 7058", "393 747 8425"]
    helpdesk = (await owners["helpdesk"].get("/requesters/search", params={"phone": number})).json()
    assert helpdesk == {
        "requesters": [
            {
                "external_id": customer,
                "name": "Simona Mazzotta",
                "email": "simona.mazzotta@example.com",
                "phone": "0039 02 42237058",
            }
        ]
    }
    center = (await owners["contactcenter"].get("/callers/search", params={"phone": number})).json()
    assert center == {
        "callers": [
            {
                "customer_id": customer,
                "caller_number": "390242237058",
                "last_seen": 1791210295,
                "contacts": 1,
            }
        ]
    }

    other, number = NOT_IN_CRM
    crm_record = (await owners["crm"].get(f"/customers/{other}")).json()
    assert number not in {_e164(phone) for phone in crm_record["phones"]}


# --------------------------------------------------------------------------- the CRM


async def test_crm_duplicates_come_back_together_in_full(crm: httpx.AsyncClient) -> None:
    first, second, number = DUPLICATES
    for written in ("329 269 3116", "+39 3292693116", number, "0039 329-269-3116"):
        reply = await crm.get("/customers/search", params={"phone": written})
        customers = reply.json()["customers"]
        assert [c["id"] for c in customers] == [first, second]
        assert all(set(c) == CUSTOMER_FIELDS for c in customers)
    records = {c["id"]: c for c in customers}
    assert "329 269 3116" in records[first]["phones"]
    assert "+39 3292693116" in records[second]["phones"]


async def test_other_owners_know_the_duplicates_under_different_ids(
    helpdesk: httpx.AsyncClient, contactcenter: httpx.AsyncClient
) -> None:
    first, second, number = DUPLICATES
    assert await _found(helpdesk, "helpdesk", phone=number) == [second]
    assert await _found(contactcenter, "contactcenter", phone=number) == [first]


async def test_every_crm_duplicate_group_is_found_from_either_record(
    crm: httpx.AsyncClient, all_customers: list[dict[str, Any]]
) -> None:
    holders: dict[str, dict[str, str]] = {}
    for customer in all_customers:
        for phone in customer["phones"]:
            holders.setdefault(_e164(phone), {})[customer["id"]] = phone
    groups = [group for group in holders.values() if len(group) > 1]
    assert len(groups) >= 100
    for group in groups[:25]:
        for written in group.values():
            assert await _found(crm, "crm", phone=written) == sorted(group)


async def test_phone_or_email_finds_either(crm: httpx.AsyncClient) -> None:
    reply = await crm.get(
        "/customers/search",
        params={"phone": ALL_THREE[1], "email": " Maria.Giuliani@EXAMPLE.org "},
    )
    assert [c["id"] for c in reply.json()["customers"]] == [ALL_THREE[0], NOT_IN_CRM[0]]


# --------------------------------------------------------------------------- e-mail


@pytest.mark.parametrize(
    "written",
    [
        "simona.mazzotta@example.com",
        "SIMONA.MAZZOTTA@EXAMPLE.COM",
        "  Simona.Mazzotta@Example.com\t",
    ],
)
async def test_email_ignores_case_and_surrounding_space(
    crm: httpx.AsyncClient, helpdesk: httpx.AsyncClient, written: str
) -> None:
    customer = ALL_THREE[0]
    assert await _found(crm, "crm", email=written) == [customer]
    assert await _found(helpdesk, "helpdesk", email=written) == [customer]


async def test_helpdesk_gives_one_entry_per_requester(helpdesk: httpx.AsyncClient) -> None:
    # Phone and e-mail both match the same requester: one entry, not two.
    found = await _found(
        helpdesk, "helpdesk", phone=ALL_THREE[1], email="simona.mazzotta@example.com"
    )
    assert found == [ALL_THREE[0]]
    both = await _found(
        helpdesk, "helpdesk", phone=NOT_IN_CRM[1], email="simona.mazzotta@example.com"
    )
    assert both == sorted([ALL_THREE[0], NOT_IN_CRM[0]])


async def test_unknown_but_valid_values_find_nothing(
    owners: dict[str, httpx.AsyncClient],
) -> None:
    for system, client in owners.items():
        assert await _found(client, system, phone="+39 02 0000 0000") == [], system
        assert await _found(client, system, phone="+44 20 7946 0958") == [], system
    for system in ("crm", "helpdesk"):
        assert await _found(owners[system], system, email="nobody@example.com") == []


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("system", ["crm", "helpdesk", "contactcenter"])
@pytest.mark.parametrize("phone", ["12", "abc", "", "+39 02", "02 4223 7058 0000 0000 00"])
async def test_a_value_that_is_not_a_phone_number_is_400(
    owners: dict[str, httpx.AsyncClient], system: str, phone: str
) -> None:
    path, _records, _key = SEARCHES[system]
    reply = await owners[system].get(path, params={"phone": phone})
    assert reply.status_code == 400
    assert reply.json()["error"].startswith(f"phone {phone!r} is not a valid phone number")


@pytest.mark.parametrize("system", ["crm", "helpdesk"])
@pytest.mark.parametrize("email", ["simona", "", "a@b", "two@@example.com", "a b@example.com"])
async def test_a_value_that_is_not_an_email_is_400(
    owners: dict[str, httpx.AsyncClient], system: str, email: str
) -> None:
    path, _records, _key = SEARCHES[system]
    reply = await owners[system].get(path, params={"email": email})
    assert reply.status_code == 400
    assert reply.json()["error"] == (
        f"email {email!r} is not an e-mail address (expected name@domain)"
    )


@pytest.mark.parametrize("system", ["crm", "helpdesk"])
async def test_a_bad_value_is_400_even_beside_a_good_one(
    owners: dict[str, httpx.AsyncClient], system: str
) -> None:
    path, _records, _key = SEARCHES[system]
    reply = await owners[system].get(path, params={"phone": ALL_THREE[1], "email": "nope"})
    assert reply.status_code == 400
    assert "email 'nope'" in reply.json()["error"]


@pytest.mark.parametrize("system", ["crm", "helpdesk"])
async def test_searching_for_nothing_is_400(
    owners: dict[str, httpx.AsyncClient], system: str
) -> None:
    path, _records, _key = SEARCHES[system]
    reply = await owners[system].get(path)
    assert reply.status_code == 400
    assert reply.json()["error"] == (
        "give the query parameter 'phone' (any format) or 'email', or both; got neither"
    )


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({}, "query parameter 'phone' is required: a phone number in any format"),
        ({"email": "simona.mazzotta@example.com"}, "query parameter 'phone' is required"),
        (
            {"phone": ALL_THREE[1], "days": "0"},
            "query parameter 'days' must be an integer from 1 to 3650, got '0'",
        ),
        ({"phone": ALL_THREE[1], "days": "3651"}, "query parameter 'days' must be an integer"),
        ({"phone": ALL_THREE[1], "days": "week"}, "query parameter 'days' must be an integer"),
    ],
)
async def test_bad_caller_searches_are_400(
    contactcenter: httpx.AsyncClient, params: dict[str, str], message: str
) -> None:
    reply = await contactcenter.get("/callers/search", params=params)
    assert reply.status_code == 400
    assert reply.json()["error"].startswith(message)


# --------------------------------------------------------------------------- contact center


async def test_days_looks_back_from_the_end_of_the_seeded_history(
    contactcenter: httpx.AsyncClient,
) -> None:
    customer, number = NOT_IN_CRM

    async def callers(**params: str) -> list[dict[str, Any]]:
        reply = await contactcenter.get("/callers/search", params={"phone": number, **params})
        result: list[dict[str, Any]] = reply.json()["callers"]
        return result

    # Used on 2025-04-08 (before the default window) and 2025-12-01 (inside it).
    recent = await callers()
    assert recent == await callers(days="365")
    assert [(c["customer_id"], c["contacts"]) for c in recent] == [(customer, 1)]
    assert recent[0]["caller_number"] == "+393455705359"
    last_seen = datetime.fromtimestamp(recent[0]["last_seen"], UTC)
    assert (AS_OF - last_seen).days < 365

    whole_history = await callers(days="730")
    assert [(c["customer_id"], c["contacts"]) for c in whole_history] == [(customer, 2)]
    assert whole_history[0]["last_seen"] == recent[0]["last_seen"]
    assert await callers(days="1") == []


async def test_a_number_shared_by_crm_duplicates_finds_both_callers(
    contactcenter: httpx.AsyncClient, data_dir: Path
) -> None:
    # Calls land on whichever duplicate the agent picked: the number leads to both.
    rows = _rows(
        data_dir,
        "contactcenter",
        """
        SELECT caller_e164, GROUP_CONCAT(DISTINCT customer_id) FROM interactions
        WHERE caller_e164 IS NOT NULL GROUP BY caller_e164
        HAVING COUNT(DISTINCT customer_id) > 1 ORDER BY caller_e164 LIMIT 1
        """,
    )
    assert rows, "no number in the contact center belongs to two customers"
    number, ids = rows[0]
    found = await _found(contactcenter, "contactcenter", phone=number, days="3650")
    assert sorted(found) == sorted(ids.split(","))


def test_caller_numbers_are_written_the_contact_center_way(data_dir: Path) -> None:
    rows = _rows(
        data_dir, "contactcenter", "SELECT channel, caller_number, caller_e164 FROM interactions"
    )
    numbers = [(written, e164) for channel, written, e164 in rows if written is not None]
    assert {channel for channel, written, _e in rows if written is None} == {"email", "chat"}
    assert {channel for channel, written, _e in rows if written is not None} == {"voice", "sms"}
    # E.164 without the plus as the switch logs it, and with it where agents keyed it in.
    without_plus = sum(1 for written, _e in numbers if re.fullmatch(r"39\d{6,11}", written))
    with_plus = sum(1 for written, _e in numbers if re.fullmatch(r"\+39\d{6,11}", written))
    assert without_plus + with_plus == len(numbers)
    assert 0.7 < without_plus / len(numbers) < 0.9
    for written, e164 in numbers:
        parsed = phonenumbers.parse(written, "IT")
        assert phonenumbers.is_valid_number(parsed), written
        assert _e164(written) == e164, written


def test_most_calls_are_on_a_number_the_crm_has(
    data_dir: Path, all_customers: list[dict[str, Any]]
) -> None:
    crm_phones = {c["id"]: {_e164(p) for p in c["phones"]} for c in all_customers}
    rows = _rows(
        data_dir,
        "contactcenter",
        "SELECT customer_id, caller_e164 FROM interactions WHERE caller_e164 IS NOT NULL",
    )
    unknown = sum(1 for customer, e164 in rows if e164 not in crm_phones[customer])
    # Mostly the customers the CRM has no phone for at all, plus a few stray numbers.
    assert 0.03 < unknown / len(rows) < 0.10


# --------------------------------------------------------------------------- the helpdesk


def test_a_few_hundred_requesters_have_a_valid_line_the_crm_lacks(
    data_dir: Path, all_customers: list[dict[str, Any]]
) -> None:
    crm_phones = {c["id"]: {_e164(p) for p in c["phones"]} for c in all_customers}
    rows = _rows(
        data_dir,
        "helpdesk",
        "SELECT external_id, phone, phone_e164 FROM requesters WHERE phone IS NOT NULL",
    )
    for _customer, written, e164 in rows:
        parsed = phonenumbers.parse(written, "IT")
        assert phonenumbers.is_valid_number(parsed) and parsed.country_code == 39, written
        assert _e164(written) == e164, written
    unknown = [customer for customer, _written, e164 in rows if e164 not in crm_phones[customer]]
    assert 200 <= len(unknown) <= 400
    # Typed by agents: the same mess of formats as in the CRM.
    shapes = {re.sub(r"\d", "9", written) for _customer, written, _e164 in rows}
    assert len(shapes) >= 10


async def test_numbers_only_the_helpdesk_and_the_contact_center_know_exist(
    owners: dict[str, httpx.AsyncClient],
    data_dir: Path,
    all_customers: list[dict[str, Any]],
) -> None:
    crm_numbers = {_e164(p) for c in all_customers for p in c["phones"]}
    helpdesk = {
        e164: customer
        for customer, e164 in _rows(
            data_dir,
            "helpdesk",
            "SELECT external_id, phone_e164 FROM requesters WHERE phone_e164 IS NOT NULL",
        )
    }
    since = int(AS_OF.timestamp()) - 365 * 86_400
    called = _rows(
        data_dir,
        "contactcenter",
        f"""SELECT DISTINCT customer_id, caller_e164 FROM interactions
        WHERE caller_e164 IS NOT NULL AND started_at >= {since}""",
    )
    agreed = sorted(
        (customer, e164)
        for customer, e164 in called
        if e164 not in crm_numbers and helpdesk.get(e164) == customer
    )
    assert len(agreed) >= 20
    assert NOT_IN_CRM in agreed
    for customer, e164 in agreed[:5]:
        assert await _found(owners["crm"], "crm", phone=e164) == []
        assert await _found(owners["helpdesk"], "helpdesk", phone=e164) == [customer]
        assert customer in await _found(owners["contactcenter"], "contactcenter", phone=e164)


# --------------------------------------------------------------------------- stats, OpenAPI


async def test_searches_count_one_key_per_value(owners: dict[str, httpx.AsyncClient]) -> None:
    for client in owners.values():
        await client.delete("/_stats")
    number, email = ALL_THREE[1], "simona.mazzotta@example.com"
    await owners["crm"].get("/customers/search", params={"phone": number})
    await owners["crm"].get("/customers/search", params={"phone": number, "email": email})
    await owners["helpdesk"].get("/requesters/search", params={"email": email})
    await owners["contactcenter"].get("/callers/search", params={"phone": number})
    await owners["contactcenter"].get("/callers/search", params={"phone": "12"})

    crm = (await owners["crm"].get("/_stats")).json()
    assert (crm["requests"], crm["keys"], crm["routes"]["GET /customers/search"]) == (2, 3, 2)
    helpdesk = (await owners["helpdesk"].get("/_stats")).json()
    assert (helpdesk["requests"], helpdesk["keys"]) == (1, 1)
    assert helpdesk["routes"]["GET /requesters/search"] == 1
    center = (await owners["contactcenter"].get("/_stats")).json()
    # A refused value is a request but not a key, as with a refused batch.
    assert (center["requests"], center["keys"], center["routes"]["GET /callers/search"]) == (
        2,
        1,
        2,
    )


async def test_openapi_documents_the_searches(owners: dict[str, httpx.AsyncClient]) -> None:
    for system, client in owners.items():
        path, records, _key = SEARCHES[system]
        document = (await client.get("/openapi.json")).json()
        operation = document["paths"][path]["get"]
        assert {p["name"] for p in operation["parameters"]} >= {"phone"}
        reply = operation["responses"]["200"]["content"]["application/json"]["schema"]
        assert reply["required"] == [records]
        assert "400" in operation["responses"]
    center = (await owners["contactcenter"].get("/openapi.json")).json()
    interaction = center["components"]["schemas"]["Interaction"]
    assert "caller_number" in interaction["required"]
    caller = center["components"]["schemas"]["Caller"]
    assert set(caller["required"]) == {"customer_id", "caller_number", "last_seen", "contacts"}
