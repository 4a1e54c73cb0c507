"""End to end: the gateway and the demo owners as real processes on loopback."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import httpx

from .conftest import Owners, free_ports, gateway_process, query

ROOT = Path(__file__).resolve().parents[2]

IDS = [f"C{n:05d}" for n in range(1, 101)]
HUNDRED = """
query Hundred($ids: [ID!]!) {
  customers(ids: $ids) {
    id
    displayName
    credit { balance }
    invoices { number }
    tickets { id }
    interactions { channel }
  }
}
"""


def test_a_customer_reads_what_each_owner_holds_now(gateway: str, owners: dict[str, str]) -> None:
    body = query(
        gateway,
        """{ customer(id: "C00042") {
            id displayName phones erpCode
            credit { creditLimit balance overdue currency }
            invoices(first: 100) { number amount status }
            tickets(first: 100) { id status }
            interactions(first: 100) { id channel at }
        } }""",
    )
    assert "errors" not in body, body["errors"]
    customer = body["data"]["customer"]
    crm = httpx.get(f"{owners['crm']}/customers/C00042").json()
    assert customer["id"] == "C00042"
    assert customer["displayName"] == crm["display_name"]
    assert customer["erpCode"] == crm["erp_code"]
    assert all(p.startswith("+") and p[1:].isdigit() for p in customer["phones"])
    assert len(customer["phones"]) == len(crm["phones"])

    if crm["erp_code"]:
        account = httpx.get(f"{owners['erp']}/accounts/{crm['erp_code']}").json()
        assert Decimal(customer["credit"]["balance"]) == Decimal(account["balance_cents"]) / 100
        invoices = httpx.get(
            f"{owners['erp']}/invoices", params={"customer_codes": crm["erp_code"], "limit": 100}
        ).json()["invoices"]
        assert [i["number"] for i in customer["invoices"]] == [i["number"] for i in invoices]

    tickets = httpx.get(
        f"{owners['helpdesk']}/tickets", params={"requester_ids": "C00042", "limit": 100}
    ).json()["tickets"]
    assert [t["id"] for t in customer["tickets"]] == [str(t["id"]) for t in tickets]

    owners_report = body["extensions"]["owners"]
    assert set(owners_report) == {"crm", "erp", "helpdesk", "contactcenter"}
    for report in owners_report.values():
        assert report["status"] in ("ok", "skipped")
        assert set(report) >= {"status", "calls", "keys", "ms", "fetchedAt"}


def test_a_hundred_customers_cost_one_request_per_owner_per_wave(
    gateway: str, owner_stats: Owners
) -> None:
    body = query(gateway, HUNDRED, {"ids": IDS})
    assert "errors" not in body, body.get("errors")
    customers = body["data"]["customers"]
    assert [c["id"] for c in customers] == IDS

    stats = owner_stats.stats()
    # Wave 1: the CRM (identity and the ERP crosswalk), helpdesk and contact center at once.
    assert stats["crm"]["requests"] == 1
    assert stats["helpdesk"]["requests"] == 1
    assert stats["contactcenter"]["requests"] == 1
    # Wave 2: the ERP, keyed by the erpCode the CRM owns: one request per ERP entity.
    erp_routes = {route: n for route, n in stats["erp"]["routes"].items() if n}
    assert erp_routes == {"POST /accounts/batch": 1, "GET /invoices": 1}
    with_code = sum(1 for c in customers if c["credit"] is not None)
    assert 0 < with_code < 100  # prospects have no ERP account
    assert body["extensions"]["owners"]["erp"]["calls"] == 2
    assert body["extensions"]["owners"]["crm"]["keys"] == 100


def test_order_is_kept_and_unknown_ids_are_null(gateway: str) -> None:
    body = query(gateway, '{ customers(ids: ["C00003", "X-NOBODY", "C00001", "C00003"]) { id } }')
    assert body["data"]["customers"] == [{"id": "C00003"}, None, {"id": "C00001"}, {"id": "C00003"}]
    assert query(gateway, '{ customer(id: "X-NOBODY") { id displayName } }')["data"] == {
        "customer": None
    }


def test_limits_on_lists_are_clear_and_cost_no_owner_call(
    gateway: str, owner_stats: Owners
) -> None:
    body = query(gateway, HUNDRED, {"ids": [*IDS, "C00101"]})
    [error] = body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "at most 100 keys" in error["message"]
    assert all(s["requests"] == 0 for s in owner_stats.stats().values())

    body = query(gateway, '{ customer(id: "C00001") { displayName tickets(first: 500) { id } } }')
    assert body["data"]["customer"]["displayName"]
    [error] = body["errors"]
    assert error["path"] == ["customer", "tickets"]
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "argument": "first"}
    assert owner_stats.stats()["helpdesk"]["requests"] == 0


def test_with_the_erp_stopped_the_other_owners_still_answer(owners: dict[str, str]) -> None:
    stopped = {**owners, "erp": f"http://127.0.0.1:{free_ports(1)}"}  # nothing listens there
    with gateway_process(stopped) as url:
        body = query(url, HUNDRED, {"ids": IDS})
    customers = body["data"]["customers"]
    assert all(c["displayName"] for c in customers)
    assert all(c["tickets"] is not None and c["interactions"] is not None for c in customers)
    assert all(c["credit"] is None and c["invoices"] is None for c in customers)

    errors = body["errors"]
    assert errors and {e["extensions"]["code"] for e in errors} == {"OWNER_UNAVAILABLE"}
    assert {e["extensions"]["owner"] for e in errors} == {"erp"}
    paths = {tuple(e["path"]) for e in errors}
    index = next(i for i, c in enumerate(customers) if c["id"] == "C00001")
    assert ("customers", index, "credit") in paths or ("customers", index, "invoices") in paths
    assert all("127.0.0.1" not in e["message"] for e in errors)
    assert body["extensions"]["owners"]["erp"]["status"] == "unavailable"
    assert body["extensions"]["owners"]["crm"]["status"] == "ok"


def test_the_service_serves_its_health_and_graphiql(gateway: str) -> None:
    assert httpx.get(f"{gateway}/healthz").json() == {"status": "ok"}
    page = httpx.get(f"{gateway}/graphql", headers={"Accept": "text/html"})
    assert page.status_code == 200
    assert "graphiql" in page.text.lower()


def test_the_sdl_is_served_only_with_introspection(gateway: str, demo_gateway: str) -> None:
    assert httpx.get(f"{gateway}/schema.graphql").status_code == 404
    sdl = httpx.get(f"{demo_gateway}/schema.graphql").text
    assert sdl == (ROOT / "schema" / "schema.graphql").read_text()


def test_an_intern_reads_name_and_tickets_and_the_erp_is_never_called(
    gateway: str, owner_stats: Owners
) -> None:
    body = query(
        gateway,
        '{ customer(id: "C00002") { displayName tickets { id } invoices { number } '
        "credit { balance } } }",
        key="demo-intern",
    )
    customer = body["data"]["customer"]
    assert customer["displayName"] and customer["tickets"] is not None
    assert customer["invoices"] is None and customer["credit"] is None
    assert sorted((e["path"][-1], e["extensions"]["code"]) for e in body["errors"]) == [
        ("credit", "FORBIDDEN"),
        ("invoices", "FORBIDDEN"),
    ]
    assert owner_stats.stats()["erp"]["requests"] == 0


def test_a_bad_token_is_401_and_no_token_reads_nothing_personal(gateway: str) -> None:
    response = httpx.post(
        f"{gateway}/graphql",
        json={"query": '{ customer(id: "C00002") { displayName } }'},
        headers={"Authorization": "Bearer not-a-key"},
    )
    assert response.status_code == 401
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    anonymous = httpx.post(
        f"{gateway}/graphql", json={"query": '{ customer(id: "C00002") { displayName } }'}
    ).json()
    assert anonymous["data"] == {"customer": None}
    assert anonymous["errors"][0]["extensions"]["code"] == "FORBIDDEN"
