"""A second graph, a utility company's, served from its two files alone, over its own owners.

Nothing of it is Python in the package: the SDL and the map under
tests/graphs/utility declare an identity type of their own (Account, keyed by
accountId), a link (the contracts an account holds), a list-valued key (the
bills of all its contracts), a nested fetch from another owner
(Contract.bills from billing, Contract.workOrders from field service, keyed
by the contract's meter), a lookup by contract number, roles and writes. The
gateway and the owners run as real processes on loopback.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from ownergraph.auth import hash_key
from tests.graphs.utility.owners import SYSTEMS

from .conftest import STARTUP_SECONDS, free_ports, running

ROOT = Path(__file__).resolve().parents[2]
GRAPH = ROOT / "tests" / "graphs" / "utility"
KEYS = {"operator": "utility-operator-key", "technician": "utility-technician-key"}

SCREEN = """query Screen($ids: [ID!]!) {
  accounts(ids: $ids) {
    accountId holder segment customerSince
    contracts { number tariff meterId bills { number total state } workOrders { id status } }
    bills(last: 10) { number }
  }
}"""


@pytest.fixture(scope="session")
def utility_owners() -> Iterator[dict[str, str]]:
    base = free_ports(len(SYSTEMS))
    urls = {name: f"http://127.0.0.1:{base + i}" for i, name in enumerate(SYSTEMS)}
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.graphs.utility.owners", "--base-port", str(base)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        for url in urls.values():
            while True:
                assert process.poll() is None, "the utility owners exited"
                try:
                    if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert time.monotonic() < deadline, f"{url} did not come up"
                time.sleep(0.1)
        yield urls
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(scope="session")
def utility_gateway(
    utility_owners: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    keys_file = tmp_path_factory.mktemp("utility") / "keys.yaml"
    keys_file.write_text(
        "keys:\n"
        + "".join(
            f"  - {{client: {role}-desk, roles: [{role}], sha256: {hash_key(key)}}}\n"
            for role, key in KEYS.items()
        )
    )
    port = free_ports(1)
    env = {f"OWNERGRAPH_{name.upper()}_URL": url for name, url in utility_owners.items()}
    # A screen of twenty accounts with their contracts, bills and visits costs more
    # than the shipped graph's default allows: an operator sets a graph's limits.
    env.update(
        OWNERGRAPH_API_KEYS_FILE=str(keys_file),
        OWNERGRAPH_AUDIT_LOG="off",
        OWNERGRAPH_MAX_COST="200000",
    )
    args = [
        "serve",
        "--schema",
        str(GRAPH / "schema.graphql"),
        "--ownership",
        str(GRAPH / "ownership.yaml"),
        "--port",
        str(port),
    ]
    url = f"http://127.0.0.1:{port}"
    with running(args, [url], env):
        yield url


class Owners:
    def __init__(self, urls: dict[str, str]) -> None:
        self.urls = urls

    def reset(self) -> None:
        for url in self.urls.values():
            httpx.delete(f"{url}/_stats").raise_for_status()

    def requests(self) -> dict[str, int]:
        return {
            name: httpx.get(f"{url}/_stats").json()["requests"] for name, url in self.urls.items()
        }


@pytest.fixture
def owners(utility_owners: dict[str, str]) -> Owners:
    counted = Owners(utility_owners)
    counted.reset()
    return counted


def ask(
    gateway: str, document: str, variables: dict[str, Any] | None = None, role: str = "operator"
) -> dict[str, Any]:
    response = httpx.post(
        f"{gateway}/graphql",
        json={"query": document, "variables": variables or {}},
        headers={"Authorization": f"Bearer {KEYS[role]}"},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_one_request_per_owner_per_wave_through_links_and_list_keys(
    utility_gateway: str, owners: Owners
) -> None:
    ids = [f"A-{n}" for n in range(1001, 1021)]
    body = ask(utility_gateway, SCREEN, {"ids": ids})
    assert "errors" not in body, body.get("errors")
    assert [a["accountId"] for a in body["data"]["accounts"]] == ids
    # Accounts (wave 1), then contracts and billing (wave 2: the contract numbers the
    # accounts hold), then field service (wave 3: the meters the contracts read).
    assert owners.requests() == {"accounts": 1, "contracts": 1, "billing": 1, "fieldservice": 1}


def test_the_values_are_the_owners(utility_gateway: str) -> None:
    body = ask(utility_gateway, SCREEN, {"ids": ["A-1001", "A-1002", "A-9999"]})
    first, without, unknown = body["data"]["accounts"]
    assert (first["holder"], first["segment"]) == ("Elif Haas", "HOUSEHOLD")
    contract, other = first["contracts"]
    assert (contract["number"], contract["tariff"], contract["meterId"]) == (
        "CT-0001",
        "GREEN",
        "M-00212",
    )
    assert len(contract["bills"]) == 6
    assert contract["bills"][0] == {"number": "B-000006", "total": "194.53", "state": "OPEN"}
    assert [order["id"] for order in contract["workOrders"]] == ["W-3", "W-1", "W-2"]
    assert (other["number"], other["bills"], other["workOrders"]) == ("CT-0002", [], [])
    # The account's bills, through the list of its contract numbers: CT-0001's six.
    assert len(first["bills"]) == 6
    assert (without["contracts"], without["bills"]) == ([], [])
    assert unknown is None


def test_a_key_that_cannot_be_one_asks_no_owner(utility_gateway: str, owners: Owners) -> None:
    body = ask(utility_gateway, '{ account(accountId: "not-an-id") { holder } }')
    assert body["data"] == {"account": None}
    assert sum(owners.requests().values()) == 0


def test_the_contract_lookup_writes_the_number_as_codes_are_written(utility_gateway: str) -> None:
    query = "query($n: String!) { accountByContract(number: $n) { accountId } }"
    assert ask(utility_gateway, query, {"n": " ct-0001 "})["data"] == {
        "accountByContract": {"accountId": "A-1001"}
    }
    # Two accounts hold CT-0006: both are shown, neither is clearly the one.
    assert ask(utility_gateway, query, {"n": "CT-0006"})["data"] == {"accountByContract": None}
    matches = ask(
        utility_gateway,
        '{ accountsByContract(number: "CT-0006") '
        "{ account { accountId holder } confidence matchedBy } }",
    )["data"]["accountsByContract"]
    assert sorted(m["account"]["accountId"] for m in matches) == ["A-1004", "A-1198"]
    assert all(m["matchedBy"] == ["accounts.contract"] for m in matches)
    assert all(m["account"]["holder"] == "Sami Tanaka" for m in matches)
    assert all(0 < m["confidence"] < 0.9 for m in matches)


def test_a_failing_owner_nulls_only_its_fields(
    utility_gateway: str, utility_owners: dict[str, str]
) -> None:
    faults = f"{utility_owners['billing']}/_faults"
    httpx.put(faults, json={"mode": "status", "status": 503}).raise_for_status()
    try:
        body = ask(utility_gateway, SCREEN, {"ids": ["A-1001"]})
    finally:
        httpx.delete(faults).raise_for_status()
    [account] = body["data"]["accounts"]
    assert account["holder"] == "Elif Haas"
    assert account["bills"] is None
    assert [c["bills"] for c in account["contracts"]] == [None, None]
    assert [len(c["workOrders"]) for c in account["contracts"]] == [3, 0]
    codes = {(e["extensions"]["code"], e["extensions"]["owner"]) for e in body["errors"]}
    assert codes == {("OWNER_UNAVAILABLE", "billing")}
    assert body["extensions"]["owners"]["billing"]["status"] == "unavailable"


def test_a_technician_sees_no_bills_and_billing_is_not_asked(
    utility_gateway: str, owners: Owners
) -> None:
    body = ask(
        utility_gateway,
        '{ account(accountId: "A-1001") { holder email bills { number } '
        "contracts { workOrders { status } } } }",
        role="technician",
    )
    account = body["data"]["account"]
    assert (account["holder"], account["email"], account["bills"]) == ("Elif Haas", None, None)
    assert [len(c["workOrders"]) for c in account["contracts"]] == [3, 0]
    forbidden = sorted(tuple(e["path"]) for e in body["errors"])
    assert forbidden == [("account", "bills"), ("account", "email")]
    assert all(e["extensions"]["code"] == "FORBIDDEN" for e in body["errors"])
    assert owners.requests()["billing"] == 0


SCHEDULE = """mutation($input: ScheduleVisitInput!, $key: String!) {
  scheduleVisit(input: $input, idempotencyKey: $key) { workOrder { id status reason scheduledFor } }
}"""
READING = """mutation($input: SubmitReadingInput!, $key: String!) {
  submitReading(input: $input, idempotencyKey: $key) { reading { id value } contract { number } }
}"""
EMAIL = """mutation($input: ChangeEmailInput!, $key: String!) {
  changeEmail(input: $input, idempotencyKey: $key) { account { accountId email } }
}"""


def test_a_visit_is_planned_once_with_one_key(utility_gateway: str) -> None:
    variables = {
        "input": {"meterId": "M-00263", "reason": "Meter display is blank", "date": "2031-03-04"},
        "key": "visit-0001-blank-display",
    }
    first = ask(utility_gateway, SCHEDULE, variables, role="technician")
    again = ask(utility_gateway, SCHEDULE, variables, role="technician")
    assert "errors" not in first, first.get("errors")
    order = first["data"]["scheduleVisit"]["workOrder"]
    assert (order["status"], order["reason"], order["scheduledFor"]) == (
        "PLANNED",
        "Meter display is blank",
        "2031-03-04",
    )
    assert again["data"] == first["data"]
    # Read back through the graph: CT-0002 reads M-00263.
    body = ask(
        utility_gateway, '{ account(accountId: "A-1001") { contracts { workOrders { id } } } }'
    )
    assert {"id": order["id"]} in body["data"]["account"]["contracts"][1]["workOrders"]


@pytest.mark.parametrize(
    ("document", "given", "argument"),
    [
        (SCHEDULE, {"meterId": "meter-7", "reason": "x", "date": "2031-03-04"}, "input.meterId"),
        (
            SCHEDULE,
            {"meterId": "M-00263", "reason": "x" * 501, "date": "2031-03-04"},
            "input.reason",
        ),
        (READING, {"contractNumber": "CT-0001", "value": -1}, "input.value"),
        (EMAIL, {"accountId": "A-1001", "email": "not an address"}, "input.email"),
        (EMAIL, {"accountId": "1001", "email": "elif@example.com"}, "input.accountId"),
    ],
)
def test_what_the_map_checks_is_refused_before_any_owner(
    utility_gateway: str, owners: Owners, document: str, given: dict[str, Any], argument: str
) -> None:
    body = ask(utility_gateway, document, {"input": given, "key": "checked-before-1"})
    [error] = body["errors"]
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "argument": argument}, error
    assert sum(owners.requests().values()) == 0


def test_an_owners_refusal_names_its_field_in_each_owners_words(utility_gateway: str) -> None:
    # Billing says {"error": {"message", "param"}}; field service {"message", "field"}.
    body = ask(
        utility_gateway,
        READING,
        {"input": {"contractNumber": "CT-0001", "value": 11999}, "key": "reading-too-low"},
    )
    [error] = body["errors"]
    assert error["extensions"] == {
        "code": "BAD_USER_INPUT",
        "owner": "billing",
        "httpStatus": 400,
        "argument": "input.value",
    }
    body = ask(
        utility_gateway,
        SCHEDULE,
        {
            "input": {"meterId": "M-00263", "reason": "Leak", "date": "2001-01-01"},
            "key": "visit-in-the-past",
        },
    )
    [error] = body["errors"]
    assert error["extensions"]["argument"] == "input.date"
    assert error["extensions"]["owner"] == "fieldservice"


def test_a_reading_and_an_email_change_are_read_back_from_their_owners(
    utility_gateway: str,
) -> None:
    body = ask(
        utility_gateway,
        READING,
        {"input": {"contractNumber": "CT-0001", "value": 12345}, "key": "reading-ok-1"},
    )
    assert "errors" not in body, body.get("errors")
    assert body["data"]["submitReading"]["reading"]["value"] == 12345
    assert body["data"]["submitReading"]["contract"] == {"number": "CT-0001"}
    body = ask(
        utility_gateway,
        EMAIL,
        {
            "input": {"accountId": "A-1003", "email": " Desk@Fontaine.example "},
            "key": "email-change-1",
        },
    )
    assert body["data"]["changeEmail"]["account"] == {
        "accountId": "A-1003",
        "email": "desk@fontaine.example",
    }
    # Only an operator may change an e-mail.
    body = ask(
        utility_gateway,
        EMAIL,
        {"input": {"accountId": "A-1003", "email": "x@y.example"}, "key": "email-change-2"},
        role="technician",
    )
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
