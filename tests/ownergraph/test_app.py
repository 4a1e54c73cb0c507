"""The app in-process: owners reached through ASGI transports, the app embedded and probed."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Mount

from ownergraph import Settings, SettingsError, create_app
from ownergraph.demo import SYSTEMS, create_owner_app
from ownergraph.ownership import OwnershipError
from ownergraph.settings import DEMO

ROOT = Path(__file__).resolve().parents[2]
BACKOFFICE = {"Authorization": "Bearer demo-backoffice"}


def owner_transports(
    demo_data: Path, **overrides: httpx.AsyncBaseTransport
) -> dict[str, httpx.AsyncBaseTransport]:
    transports: dict[str, httpx.AsyncBaseTransport] = {
        name: httpx.ASGITransport(app=create_owner_app(name, demo_data)) for name in SYSTEMS
    }
    transports.update(overrides)
    return transports


@asynccontextmanager
async def client_for(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://og", headers=BACKOFFICE
        ) as client,
    ):
        yield client


async def post(client: httpx.AsyncClient, document: str, path: str = "/graphql") -> dict[str, Any]:
    response = await client.post(path, json={"query": document})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def settings() -> Settings:
    return Settings(ownership_path=ROOT / "ownership.yaml", demo_keys=True, audit_log="off")


async def test_a_query_reaches_every_owner(demo_data: Path) -> None:
    app = create_app(settings(), transports=owner_transports(demo_data))
    async with client_for(app) as client:
        body = await post(
            client,
            '{ customer(id: "C00001") { id displayName tickets { id } interactions { channel } } }',
        )
    assert body["data"]["customer"]["id"] == "C00001"
    assert set(body["extensions"]["owners"]) == {"crm", "helpdesk", "contactcenter"}


async def test_the_app_can_be_mounted_in_another_app(demo_data: Path) -> None:
    gateway = create_app(settings(), transports=owner_transports(demo_data))
    host = Starlette(
        routes=[Mount("/customer-data", app=gateway)], lifespan=gateway.router.lifespan_context
    )
    async with client_for(host) as client:
        body = await post(
            client, '{ customer(id: "C00002") { displayName } }', "/customer-data/graphql"
        )
        health = await client.get("/customer-data/healthz")
    assert body["data"]["customer"]["displayName"]
    assert health.json() == {"status": "ok"}


def failing(handler: Callable[[httpx.Request], httpx.Response]) -> httpx.MockTransport:
    return httpx.MockTransport(handler)


async def test_an_unexpected_failure_is_masked(demo_data: Path) -> None:
    def explode(request: httpx.Request) -> httpx.Response:
        raise RuntimeError("internal detail at http://10.1.2.3:8443/secret")

    app = create_app(settings(), transports=owner_transports(demo_data, helpdesk=failing(explode)))
    async with client_for(app) as client:
        body = await post(client, '{ customer(id: "C00001") { displayName tickets { id } } }')
    assert body["data"]["customer"]["displayName"]
    [error] = body["errors"]
    assert error["message"] == "Unexpected error."
    assert error["extensions"] == {"code": "INTERNAL_SERVER_ERROR"}
    assert error["path"] == ["customer", "tickets"]
    assert "10.1.2.3" not in str(body)


async def test_a_malformed_owner_value_nulls_only_its_field(demo_data: Path) -> None:
    def crm(request: httpx.Request) -> httpx.Response:
        ids = request.url.params["ids"].split(",")
        records = [{"id": i, "display_name": "Ada", "phones": ["not a phone"]} for i in ids]
        return httpx.Response(200, json={"customers": records})

    app = create_app(settings(), transports=owner_transports(demo_data, crm=failing(crm)))
    async with client_for(app) as client:
        body = await post(client, '{ customer(id: "C00001") { displayName phones } }')
    assert body["data"]["customer"] == {"displayName": "Ada", "phones": None}
    [error] = body["errors"]
    assert error["path"] == ["customer", "phones"]
    assert error["extensions"] == {"code": "OWNER_BAD_RESPONSE", "owner": "crm"}
    assert "not a phone" not in error["message"]


async def test_with_the_identity_owner_down_the_others_still_answer(demo_data: Path) -> None:
    def down(request: httpx.Request) -> httpx.Response:
        return httpx.Response(503)

    app = create_app(settings(), transports=owner_transports(demo_data, crm=failing(down)))
    async with client_for(app) as client:
        body = await post(
            client,
            '{ customer(id: "C00001") { id displayName tickets { id } credit { balance } } }',
        )
    customer = body["data"]["customer"]
    assert customer["id"] == "C00001" and customer["tickets"] is not None
    assert customer["displayName"] is None and customer["credit"] is None
    codes = {
        (tuple(e["path"]), e["extensions"]["code"], e["extensions"]["owner"])
        for e in body["errors"]
    }
    assert codes == {
        (("customer", "displayName"), "OWNER_UNAVAILABLE", "crm"),
        (("customer", "credit"), "OWNER_UNAVAILABLE", "crm"),
    }
    owners = body["extensions"]["owners"]
    assert owners["crm"]["status"] == "unavailable"
    assert owners["erp"]["status"] == "skipped"


async def test_invalid_queries_still_carry_owner_extensions(demo_data: Path) -> None:
    app = create_app(settings(), transports=owner_transports(demo_data))
    async with client_for(app) as client:
        response = await client.post("/graphql", json={"query": '{ customer(id: "C1") { nope } }'})
    body = response.json()
    assert "Cannot query field 'nope' on type 'Customer'." in body["errors"][0]["message"]


async def test_the_schema_and_the_home_page(demo_data: Path) -> None:
    with_introspection = dataclasses.replace(settings(), introspection=True)
    app = create_app(with_introspection, transports=owner_transports(demo_data))
    async with client_for(app) as client:
        sdl = await client.get("/schema.graphql")
        home = await client.get("/")
    assert sdl.text == (ROOT / "schema" / "schema.graphql").read_text()
    assert sdl.headers["content-type"].startswith("application/graphql")
    assert home.status_code in (302, 307) and home.headers["location"].endswith("/graphql")


def test_a_bad_map_fails_at_start_up(tmp_path: Path) -> None:
    bad = tmp_path / "ownership.yaml"
    bad.write_text(
        (ROOT / "ownership.yaml").read_text().replace("owner: helpdesk", "owner: helpdsk")
    )
    with pytest.raises(OwnershipError, match="unknown system 'helpdsk'"):
        create_app(Settings(ownership_path=bad))


def test_settings_are_read_from_the_environment() -> None:
    env: Mapping[str, str] = {"OWNERGRAPH_PHONE_REGION": "DE", "OWNERGRAPH_GRAPHIQL": "off"}
    loaded = Settings.from_env(env)
    assert (loaded.phone_region, loaded.graphiql) == ("DE", False)
    with pytest.raises(SettingsError, match="OWNERGRAPH_PHONE_REGION='XX'"):
        Settings.from_env({"OWNERGRAPH_PHONE_REGION": "XX"})
    with pytest.raises(SettingsError, match="expected true or false"):
        Settings.from_env({"OWNERGRAPH_GRAPHIQL": "maybe"})
    profiles = Settings.from_env({"OWNERGRAPH_DEADLINE_PROFILES": "screen=300, report=10000"})
    assert dict(profiles.deadline_profiles) == {"screen": 0.3, "report": 10.0}
    with pytest.raises(SettingsError, match=r"OWNERGRAPH_DEADLINE_PROFILES.*'screen=soon'"):
        Settings.from_env({"OWNERGRAPH_DEADLINE_PROFILES": "screen=soon"})
    assert Settings.from_env({}).metrics_port is None
    assert Settings.from_env({"OWNERGRAPH_METRICS_PORT": "9090"}).metrics_port == 9090
    for bad in ("nine", "0", "65536"):
        with pytest.raises(SettingsError, match=rf"OWNERGRAPH_METRICS_PORT='{bad}'.*1 to 65535"):
            Settings.from_env({"OWNERGRAPH_METRICS_PORT": bad})


async def test_a_field_that_allows_it_is_served_stale_and_labelled(demo_data: Path) -> None:
    healthy = [True]
    owner = create_owner_app("crm", demo_data)
    real = httpx.ASGITransport(app=owner)

    async def crm(request: httpx.Request) -> httpx.Response:
        if not healthy[0]:
            return httpx.Response(500)
        return await real.handle_async_request(request)

    app = create_app(
        settings(), transports=owner_transports(demo_data, crm=httpx.MockTransport(crm))
    )
    document = '{ customer(id: "C00001") { segment displayName } }'
    async with client_for(app) as client:
        fresh = await post(client, document)
        healthy[0] = False
        stale = await post(client, document)
    assert "stale" not in fresh["extensions"]
    assert stale["data"]["customer"]["segment"] == fresh["data"]["customer"]["segment"]
    [label] = stale["extensions"]["stale"]
    assert label["path"] == ["customer", "segment"] and label["owner"] == "crm"
    assert label["stale"] is True and label["age"] >= 0
    # displayName does not allow stale values: it fails, and says so.
    assert stale["data"]["customer"]["displayName"] is None
    [error] = stale["errors"]
    assert error["path"] == ["customer", "displayName"]
    assert stale["extensions"]["owners"]["crm"]["nulled"] == ["customer.displayName"]


async def test_a_client_may_lower_the_deadline_but_not_send_nonsense(demo_data: Path) -> None:
    app = create_app(settings(), transports=owner_transports(demo_data))
    document = {"query": '{ customer(id: "C00001") { displayName } }'}
    async with client_for(app) as client:
        fine = await client.post("/graphql", json=document, headers={"X-Deadline-Ms": "800"})
        bad = await client.post("/graphql", json=document, headers={"X-Deadline-Ms": "soon"})
    assert fine.json()["data"]["customer"]["displayName"]
    assert bad.status_code == 400
    [error] = bad.json()["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "X-Deadline-Ms" in error["message"] and "'soon'" in error["message"]


@pytest.mark.parametrize("first", ["5", "$first"])
async def test_owners_keyed_by_the_id_are_asked_in_the_same_wave(
    demo_data: Path, first: str
) -> None:
    # The caller screen: the CRM, the helpdesk and the contact center together, the ERP
    # once the CRM gives its code. Held back until the other two have been asked, the
    # CRM proves they did not wait for it, with `first` written inline or as a variable.
    owners = owner_transports(demo_data)
    asked: set[str] = set()
    both_asked = asyncio.Event()

    def seen(name: str) -> httpx.AsyncBaseTransport:
        class Seen(httpx.AsyncBaseTransport):
            async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
                asked.add(name)
                if {"helpdesk", "contactcenter"} <= asked:
                    both_asked.set()
                return await owners[name].handle_async_request(request)

        return Seen()

    class HeldCrm(httpx.AsyncBaseTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(both_asked.wait(), 1.0)
            return await owners["crm"].handle_async_request(request)

    app = create_app(
        settings(),
        transports={
            **owners,
            "crm": HeldCrm(),
            "helpdesk": seen("helpdesk"),
            "contactcenter": seen("contactcenter"),
        },
    )
    declared = "($first: Int!)" if first.startswith("$") else ""
    document = (
        f'query Screen{declared} {{ customer(id: "C00013") {{ displayName '
        f"credit {{ balance }} tickets(first: {first}) {{ id }} "
        f"interactions(first: {first}) {{ channel }} }} }}"
    )
    variables = {"first": 5} if declared else {}
    async with client_for(app) as client:
        response = await client.post("/graphql", json={"query": document, "variables": variables})
    body = response.json()
    assert "errors" not in body, body
    assert both_asked.is_set(), "the helpdesk or the contact center waited for the CRM"
    assert {name: entry["calls"] for name, entry in body["extensions"]["owners"].items()} == {
        "crm": 1,
        "erp": 1,
        "helpdesk": 1,
        "contactcenter": 1,
    }


async def test_a_client_picks_a_deadline_profile_by_name(demo_data: Path) -> None:
    async def slow(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0.4)  # past the screen's 200 ms, well within the default 2 s
        return httpx.Response(200, json={"tickets": []})

    app = create_app(
        dataclasses.replace(settings(), deadline_profiles={"screen": 0.2, "report": 10.0}),
        transports=owner_transports(demo_data, helpdesk=httpx.MockTransport(slow)),
    )
    document = {"query": '{ customer(id: "C00001") { displayName tickets { id } } }'}
    async with client_for(app) as client:
        screen = await client.post(
            "/graphql", json=document, headers={"X-Deadline-Profile": "screen"}
        )
        # X-Deadline-Ms lowers a profile's deadline, never raises it.
        lowered = await client.post(
            "/graphql",
            json=document,
            headers={"X-Deadline-Profile": "report", "X-Deadline-Ms": "200"},
        )
        unknown = await client.post(
            "/graphql", json=document, headers={"X-Deadline-Profile": "scren"}
        )
    for response in (screen, lowered):
        body = response.json()
        assert body["data"]["customer"]["displayName"]
        assert [e["extensions"]["code"] for e in body["errors"]] == ["DEADLINE_EXCEEDED"]
    assert unknown.status_code == 400
    [error] = unknown.json()["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "'scren'" in error["message"] and "report, screen" in error["message"]


async def test_a_request_past_its_deadline_answers_with_what_it_has(demo_data: Path) -> None:
    async def hang(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(30)
        raise AssertionError("unreachable")

    app = create_app(
        settings(), transports=owner_transports(demo_data, helpdesk=httpx.MockTransport(hang))
    )
    document = {"query": '{ customer(id: "C00001") { displayName tickets { id } } }'}
    async with client_for(app) as client:
        response = await client.post("/graphql", json=document, headers={"X-Deadline-Ms": "100"})
    body = response.json()
    assert body["data"]["customer"]["displayName"]
    [error] = body["errors"]
    assert error["path"] == ["customer", "tickets"]
    assert error["extensions"] == {"code": "DEADLINE_EXCEEDED", "owner": "helpdesk"}
    assert body["extensions"]["owners"]["helpdesk"]["status"] == "deadline"


async def test_readiness_reports_each_owners_breaker(demo_data: Path, tmp_path: Path) -> None:
    def down(request: httpx.Request) -> httpx.Response:
        return httpx.Response(500)

    # Open long enough that no probe goes out while the test looks.
    shipped = (ROOT / "ownership.yaml").read_text()
    assert "open_first: 250ms" in shipped
    ownership = tmp_path / "ownership.yaml"
    ownership.write_text(shipped.replace("open_first: 250ms", "open_first: 5s"))
    app = create_app(
        dataclasses.replace(settings(), ownership_path=ownership),
        transports=owner_transports(demo_data, erp=httpx.MockTransport(down)),
    )
    async with client_for(app) as client:
        before = (await client.get("/readyz")).json()
        for _ in range(5):
            await post(client, '{ customer(id: "C00002") { credit { balance } } }')
        after = (await client.get("/readyz")).json()
        body = await post(client, '{ customer(id: "C00002") { credit { balance } } }')
    assert before["status"] == "ready"
    assert before["owners"]["erp"] == {
        "breaker": "closed",
        "breakerOpenMs": 5000,
        "lastStatus": None,
        "lastLatencyMs": None,
        "lastAt": None,
    }
    assert after["status"] == "degraded"
    assert after["owners"]["erp"]["breaker"] == "open"
    assert after["owners"]["erp"]["breakerOpenMs"] == 5000
    assert after["owners"]["erp"]["lastStatus"] == "error"
    assert after["owners"]["crm"]["breaker"] == "closed"
    erp = body["extensions"]["owners"]["erp"]
    assert (erp["status"], erp["calls"], erp["breaker"]) == ("unavailable", 0, "open")


async def test_a_hanging_owner_cannot_starve_the_others(demo_data: Path) -> None:
    async def hang(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(30)
        raise AssertionError("unreachable")

    app = create_app(
        settings(), transports=owner_transports(demo_data, erp=httpx.MockTransport(hang))
    )
    document = {"query": '{ customer(id: "C00002") { displayName credit { balance } } }'}
    async with client_for(app) as client:
        responses = await asyncio.gather(
            *(
                client.post("/graphql", json=document, headers={"X-Deadline-Ms": "1000"})
                for _ in range(40)  # more than the ERP's concurrency cap of 16
            )
        )
    for response in responses:
        body = response.json()
        assert body["data"]["customer"]["displayName"]
        assert body["data"]["customer"]["credit"] is None
        [error] = body["errors"]
        assert error["extensions"]["owner"] == "erp"
        assert error["extensions"]["code"] in {"DEADLINE_EXCEEDED", "OWNER_UNAVAILABLE"}


async def test_production_posture_by_default(demo_data: Path) -> None:
    plain = Settings(ownership_path=ROOT / "ownership.yaml", demo_keys=True, audit_log="off")
    app = create_app(plain, transports=owner_transports(demo_data))
    async with client_for(app) as client:
        introspection = (
            await client.post("/graphql", json={"query": "{ __schema { types { name } } }"})
        ).json()
        typo = (
            await client.post("/graphql", json={"query": '{ customer(id: "C1") { displayNme } }'})
        ).json()
        page = await client.get("/graphql", headers={"Accept": "text/html"})
        get_query = await client.get("/graphql", params={"query": "{ __typename }"})
        form = await client.post("/graphql", data={"query": "{ __typename }"})
        sdl = await client.get("/schema.graphql")
    assert "introspection" in introspection["errors"][0]["message"].lower()
    # The SDL says what introspection would, owners' names and all: off with it.
    assert sdl.status_code == 404 and "@owner" not in sdl.text
    assert "Did you mean" not in typo["errors"][0]["message"]
    assert page.status_code == 405  # no GraphiQL unless enabled
    assert get_query.status_code == 405  # no GET queries unless enabled
    assert form.status_code == 415  # no simple-request (CSRF-able) content types


async def test_the_demo_posture_and_cors_allow_list(demo_data: Path) -> None:
    demo = Settings(
        ownership_path=ROOT / "ownership.yaml",
        audit_log="off",
        cors_origins=("https://agent.example",),
        **DEMO,
    )
    app = create_app(demo, transports=owner_transports(demo_data))
    async with client_for(app) as client:
        page = await client.get("/graphql", headers={"Accept": "text/html"})
        typo = (
            await client.post("/graphql", json={"query": '{ customer(id: "C1") { displayNme } }'})
        ).json()
        allowed = await client.options(
            "/graphql",
            headers={"Origin": "https://agent.example", "Access-Control-Request-Method": "POST"},
        )
        refused = await client.options(
            "/graphql",
            headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
        )
    assert page.status_code == 200 and "Bearer demo-agent" in page.text
    assert "Did you mean 'displayName'?" in typo["errors"][0]["message"]
    assert allowed.headers["access-control-allow-origin"] == "https://agent.example"
    assert "access-control-allow-origin" not in refused.headers


async def test_a_metrics_port_takes_readiness_and_metrics_off_the_api(demo_data: Path) -> None:
    separate = dataclasses.replace(settings(), metrics_port=9090)
    app = create_app(separate, transports=owner_transports(demo_data))
    operations = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app.state.operations), base_url="http://ops"
    )
    async with client_for(app) as client, operations:
        await post(client, 'query Screen { customer(id: "C00002") { displayName } }')
        api = {path: await client.get(path) for path in ("/metrics", "/readyz", "/healthz")}
        ops = {path: await operations.get(path) for path in ("/metrics", "/readyz", "/healthz")}
        ops_graphql = await operations.post("/graphql", json={"query": "{ __typename }"})
    assert api["/metrics"].status_code == 404 and api["/readyz"].status_code == 404
    assert api["/healthz"].json() == {"status": "ok"}  # liveness stays with the API
    assert 'ownergraph_requests_total{operation="Screen",outcome="ok"} 1.0' in ops["/metrics"].text
    assert ops["/readyz"].json()["owners"].keys() == set(SYSTEMS)
    assert ops["/healthz"].json() == {"status": "ok"}
    assert ops_graphql.status_code == 404  # and the API is not on the metrics port


async def test_without_a_metrics_port_a_host_may_mount_the_operations_app(
    demo_data: Path,
) -> None:
    gateway = create_app(settings(), transports=owner_transports(demo_data))
    host = Starlette(
        routes=[Mount("/ops", app=gateway.state.operations), Mount("/", app=gateway)],
        lifespan=gateway.router.lifespan_context,
    )
    async with client_for(host) as client:
        mounted = await client.get("/ops/readyz")
        api = await client.get("/readyz")
    assert mounted.json() == api.json()
    assert mounted.json()["status"] == "ready"


async def test_metrics_after_a_query(demo_data: Path) -> None:
    def down(request: httpx.Request) -> httpx.Response:
        return httpx.Response(500)

    app = create_app(
        settings(), transports=owner_transports(demo_data, erp=httpx.MockTransport(down))
    )
    async with client_for(app) as client:
        await client.post(
            "/graphql",
            json={
                "query": 'query Screen { customers(ids: ["C00002", "C00013"]) '
                "{ displayName credit { balance } } }"
            },
        )
        page = await client.get("/metrics")
    assert page.headers["content-type"].startswith("text/plain")
    text = page.text
    assert 'ownergraph_requests_total{operation="Screen",outcome="partial"} 1.0' in text
    assert 'ownergraph_errors_total{code="OWNER_ERROR"} 2.0' in text
    assert 'ownergraph_owner_calls_total{entity="customer",owner="crm",status="ok"} 1.0' in text
    assert 'ownergraph_owner_calls_total{entity="account",owner="erp",status="error"} 1.0' in text
    assert 'ownergraph_owner_batch_keys_bucket{le="2.0",owner="crm"} 1.0' in text
    assert 'ownergraph_owner_breaker_state{owner="erp"} 0.0' in text
    assert 'ownergraph_owner_breaker_open_seconds{owner="erp"} 0.25' in text
    assert "ownergraph_request_duration_seconds_bucket" in text


async def test_graphql_is_served_past_starlettes_layers_with_the_same_middleware(
    demo_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = create_app(
        dataclasses.replace(settings(), cors_origins=("https://screen.example",)),
        transports=owner_transports(demo_data),
    )
    async with client_for(app) as client:
        answer = await client.post(
            "/graphql",
            json={"query": "{ __typename }"},
            headers={"Origin": "https://screen.example", "X-Request-Id": "req-1"},
        )
        assert answer.headers["x-request-id"] == "req-1"
        assert answer.headers["access-control-allow-origin"] == "https://screen.example"
        assert answer.json()["data"] == {"__typename": "Query"}
        # Paths beside it still go through Starlette's router, redirect included.
        assert (await client.get("/graphql/", follow_redirects=False)).status_code == 307

    async def broken(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("a bug")

    monkeypatch.setattr(app.state.graph.compiled, "execute", broken)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app, raise_app_exceptions=False),
            base_url="http://og",
            headers=BACKOFFICE,
        ) as client,
    ):
        failed = await client.post("/graphql", json={"query": "{ __typename }"})
    assert failed.status_code == 500
    assert failed.text == "Internal Server Error"  # as Starlette's own layer answers
