"""`ownergraph init` from the demo owners' own /openapi.json: the starter pair checks and serves."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import yaml

from ownergraph import Settings, create_app
from ownergraph.auth import hash_key

from .conftest import run_command

READER_KEY = "og_starter_reader_key_for_the_tests"


def init(owners: dict[str, str], out: Path, *, named: bool = True) -> str:
    """Run `ownergraph init` over every owner's document; its output."""
    args = ["init", "--out", str(out)]
    for name, url in owners.items():
        args += (
            ["--name", f"{name}={url}/openapi.json"]
            if named
            else ["--openapi", f"{url}/openapi.json"]
        )
    made = run_command(args)
    assert made.returncode == 0, made.stderr
    return made.stdout


async def read(app: Any, document: str) -> dict[str, Any]:
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://og") as client,
    ):
        response = await client.post(
            "/graphql",
            json={"query": document},
            headers={"Authorization": f"Bearer {READER_KEY}"},
        )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_the_starter_pair_checks_and_serves_the_owners_data(
    owners: dict[str, str], tmp_path: Path
) -> None:
    out = init(owners, tmp_path)
    assert "check: ok" in out
    schema, ownership = tmp_path / "schema.graphql", tmp_path / "ownership.yaml"
    checked = run_command(["check", "--schema", str(schema), "--ownership", str(ownership)])
    assert checked.returncode == 0, checked.stderr
    assert "ok: 4 systems" in checked.stdout
    # Every endpoint and field it maps is one the owners publish.
    live = run_command(["check", "--schema", str(schema), "--ownership", str(ownership), "--live"])
    assert live.returncode == 0, live.stdout + live.stderr
    assert "every mapped endpoint and field is published (4 owners)" in live.stdout

    keys = tmp_path / "keys.yaml"
    entry = {"client": "tests", "roles": ["reader"], "sha256": hash_key(READER_KEY)}
    keys.write_text(yaml.safe_dump({"keys": [entry]}))
    # The documents name no servers: each system's url is where its document was read.
    settings = Settings(api_keys_file=keys, audit_log="off")
    app = create_app(settings, schema=schema, ownership=ownership)
    body = await read(
        app,
        '{ customer(id: "C00013") { id displayName erpCode segment address { city }'
        " tickets(first: 2) { id status } interactions(first: 2) { channel } } }",
    )
    assert "errors" not in body, body
    crm = httpx.get(f"{owners['crm']}/customers/C00013").json()
    customer = body["data"]["customer"]
    assert customer["displayName"] == crm["display_name"]
    assert customer["segment"] == crm["segment"].upper()
    assert customer["address"] == {"city": crm["address"]["city"]}
    # The other owners' records of the customer, keyed by the CRM's id, as they list them.
    tickets = httpx.get(
        f"{owners['helpdesk']}/tickets", params={"requester_ids": "C00013", "limit": 2}
    ).json()["tickets"]
    assert customer["tickets"] == [
        {"id": str(t["id"]), "status": t["status"].upper()} for t in tickets
    ]
    interactions = httpx.post(
        f"{owners['contactcenter']}/interactions/search",
        json={"customer_ids": ["C00013"], "limit": 2},
    ).json()["data"]
    assert customer["tickets"] and customer["interactions"]
    assert customer["interactions"] == [{"channel": i["channel"].upper()} for i in interactions]
    assert set(body["extensions"]["owners"]) == {"crm", "helpdesk", "contactcenter"}

    code = customer["erpCode"]
    body = await read(
        create_app(settings, schema=schema, ownership=ownership),
        f'{{ account(id: "{code}") {{ code creditLimitCents invoices(first: 1) {{ number }} }}'
        f' customer(id: "C00013") {{ account {{ code }} }} }}',
    )
    assert "errors" not in body, body
    erp = httpx.get(f"{owners['erp']}/accounts/{code}").json()
    assert body["data"]["account"]["code"] == code
    assert body["data"]["account"]["creditLimitCents"] == erp["credit_limit_cents"]
    assert len(body["data"]["account"]["invoices"]) == 1
    # The CRM's erp_code has the pattern of the ERP's account codes: a link to the account.
    assert body["data"]["customer"]["account"] == {"code": code}


def test_systems_are_named_from_the_documents_titles(
    owners: dict[str, str], tmp_path: Path
) -> None:
    out = init(owners, tmp_path, named=False)
    assert "check: ok" in out
    systems = yaml.safe_load((tmp_path / "ownership.yaml").read_text())["systems"]
    assert list(systems) == ["demo_crm", "demo_erp", "demo_helpdesk", "demo_contact_center"]
    again = run_command(
        ["init", "--openapi", f"{owners['crm']}/openapi.json", "--out", str(tmp_path)]
    )
    assert again.returncode == 1
    assert again.stderr.strip().splitlines() == [
        f"{tmp_path / 'schema.graphql'} and {tmp_path / 'ownership.yaml'} already exist: "
        "give --force to overwrite, or --out another directory"
    ]
