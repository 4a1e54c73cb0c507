"""The compiled path against graphql-core's, on documents hypothesis writes over the shipped graph.

The app runs in differential mode: every query runs compiled, then again
through graphql-core's executor over the same loads, and any difference in
the answer fails the request (HTTP 500). Documents mix roots, fields chosen
at random, aliases (merging the same field from several places), named and
inline fragments, `@skip`/`@include` on literals and variables, arguments as
literals and variables, keys that exist, do not, or cannot; each runs with a
role and with owners failing in one of several ways. The whole suite runs
in this mode too (`tests/conftest.py`): this module is where the documents
are the machine's, not ours.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from anyio.from_thread import BlockingPortal, start_blocking_portal
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st
from starlette.applications import Starlette

from ownergraph import Settings, create_app
from ownergraph.demo import SYSTEMS, create_owner_app
from ownergraph.resolvers import shaper
from ownergraph.resolvers.compiled import Kind
from ownergraph.sources import CircuitBreaker, RetryBudget

ROOT = Path(__file__).resolve().parents[2]
ROLES = ["agent", "backoffice", "intern", "partner"]
FAULTS = [None, "500", "refused", "not json", "empty"]

# -- owners that fail on demand ----------------------------------------------------


@dataclass
class Faults:
    """What each owner does for the current example."""

    modes: dict[str, str | None] = field(default_factory=dict)


class Faulty(httpx.AsyncBaseTransport):
    def __init__(self, system: str, inner: httpx.AsyncBaseTransport, faults: Faults) -> None:
        self.system = system
        self.inner = inner
        self.faults = faults

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        mode = self.faults.modes.get(self.system)
        if mode == "500":
            return httpx.Response(500, request=request)
        if mode == "refused":
            raise httpx.ConnectError("refused", request=request)
        if mode == "not json":
            return httpx.Response(200, content=b"<html>", request=request)
        if mode == "empty":
            return httpx.Response(200, json={}, request=request)
        return await self.inner.handle_async_request(request)


# -- documents -------------------------------------------------------------------------

LEAVES = ["id", "displayName", "firstName", "lastName", "emails", "phones", "segment", "erpCode"]
OBJECTS = {
    "address": "street city postcode country",
    "credit": "creditLimit balance overdue currency blocked",
}
LISTS = {
    "invoices": ("number status amount currency issuedOn dueDate paidAt overdue", "UNPAID"),
    "tickets": ("id subject status priority channel createdAt updatedAt", "OPEN"),
    "interactions": ("id channel direction at durationSeconds summary", "PHONE"),
}
ALIASES = ["a", "b", "x"]
IDS = ["C00002", "C00008", "C00001", "C00156", "C99999", "X1", "  "]
PHONES = ["+390242237058", "02 4223 7058", "+393292693116", "call me"]
EMAILS = ["Simona.Mazzotta@EXAMPLE.com", "nope", "nobody@example.com"]


@dataclass
class Document:
    fragments: list[str] = field(default_factory=list)
    variables: dict[str, tuple[str, Any]] = field(default_factory=dict)
    count: int = 0

    def keys(self) -> int:
        self.count += 1
        return self.count

    def variable(self, name: str, type_: str, value: Any) -> str:
        self.variables[name] = (type_, value)
        return f"${name}"

    def text(self, body: str) -> str:
        header = ", ".join(f"${n}: {t}" for n, (t, _) in self.variables.items())
        return (f"query Q({header}) " if header else "query Q ") + body + "".join(self.fragments)

    def values(self) -> dict[str, Any]:
        return {n: v for n, (_, v) in self.variables.items()}


@st.composite
def directive(draw: st.DrawFn, document: Document) -> str:
    choice = draw(st.sampled_from(["", "", "", "skip", "include"]))
    if not choice:
        return ""
    if draw(st.booleans()):
        condition = document.variable("flag", "Boolean!", draw(st.booleans()))
    else:
        condition = draw(st.sampled_from(["true", "false"]))
    return f" @{choice}(if: {condition})"


@st.composite
def customer_fields(draw: st.DrawFn, document: Document, depth: int = 0) -> str:
    parts: list[str] = []
    for _ in range(draw(st.integers(1, 6))):
        sub = ""
        kind = draw(st.sampled_from(["leaf", "leaf", "object", "list", "typename", "dupes"]))
        # Aliases that merge only what may merge: the same field under the same key.
        alias = draw(st.sampled_from(["", "", "", *ALIASES]))
        if kind == "leaf":
            name = draw(st.sampled_from(LEAVES))
            text = f"{alias}{name}: {name}" if alias else name
        elif kind == "typename":
            text = f"{alias}__typename: __typename" if alias else "__typename"
        elif kind == "object":
            name = draw(st.sampled_from(sorted(OBJECTS)))
            chosen = draw(st.lists(st.sampled_from(OBJECTS[name].split()), min_size=1, max_size=3))
            key = f"{alias}{name}: " if alias else ""
            text, sub = f"{key}{name}", f" {{ {' '.join(chosen)} }}"
        elif kind == "list":
            name = draw(st.sampled_from(sorted(LISTS)))
            fields, filter_value = LISTS[name]
            chosen = draw(st.lists(st.sampled_from(fields.split()), min_size=1, max_size=3))
            arguments = []
            if draw(st.booleans()):
                first = draw(st.sampled_from([1, 2, 5, 0, 101]))
                if draw(st.booleans()):
                    first = document.variable(f"first{len(document.variables)}", "Int!", first)
                arguments.append(f"first: {first}")
            if draw(st.booleans()):
                arguments.append(
                    f"{'channel' if name == 'interactions' else 'status'}: {filter_value}"
                )
            args = f"({', '.join(arguments)})" if arguments else ""
            # Its own key: one field under one key may not take two sets of arguments.
            key = f"{name}{document.keys()}: "
            text, sub = f"{key}{name}{args}", f" {{ {' '.join(chosen)} }}"
        else:
            if depth > 0:
                continue
            inner = draw(customer_fields(document, depth + 1))
            key = f"dupes{document.keys()}: "
            text = f"{key}possibleDuplicates"
            sub = f" {{ confidence matchedBy customer {{ {inner} }} }}"
        text += draw(directive(document)) + sub
        wrap = draw(st.sampled_from(["", "", "inline", "named"]))
        if wrap == "inline":
            text = f"... on Customer{draw(directive(document))} {{ {text} }}"
        elif wrap == "named":
            name = f"F{len(document.fragments)}"
            document.fragments.append(f" fragment {name} on Customer {{ {text} }}")
            text = f"...{name}{draw(directive(document))}"
        parts.append(text)
    return " ".join(parts)


@st.composite
def documents(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    document = Document()
    roots = []
    for index in range(draw(st.integers(1, 2))):
        fields = draw(customer_fields(document))
        root = draw(st.sampled_from(["customer", "customers", "phone", "email"]))
        alias = f"r{index}: "
        if root == "customer":
            key = draw(st.sampled_from(IDS))
            value = document.variable("id", "ID!", key) if draw(st.booleans()) else json.dumps(key)
            roots.append(f"{alias}customer(id: {value}) {{ {fields} }}")
        elif root == "customers":
            keys = json.dumps(draw(st.lists(st.sampled_from(IDS), max_size=4)))
            roots.append(f"{alias}customers(ids: {keys}) {{ {fields} }}")
        elif root == "phone":
            phone = json.dumps(draw(st.sampled_from(PHONES)))
            roots.append(
                f"{alias}customerByPhone(phone: {phone}) {{ phone "
                f"matches {{ confidence customer {{ {fields} }} }} best {{ {fields} }} }}"
            )
        else:
            email = json.dumps(draw(st.sampled_from(EMAILS)))
            roots.append(f"{alias}customersByEmail(email: {email}) {{ customer {{ {fields} }} }}")
    return document.text("{ " + " ".join(roots) + " }"), document.values()


# -- the app ---------------------------------------------------------------------------


@dataclass
class Gateway:
    portal: BlockingPortal
    client: httpx.AsyncClient
    faults: Faults
    app: Starlette

    def fresh_owners(self) -> None:
        """Breakers and retry budgets as at start: each example stands on its own."""
        for source in self.app.state.gateway.sources.values():
            source.breaker = CircuitBreaker(source.config.breaker)
            source.budget = RetryBudget(source.config.retry_budget)

    def post(self, document: str, variables: dict[str, Any], role: str) -> httpx.Response:
        return self.portal.call(
            lambda: self.client.post(
                "/graphql",
                json={"query": document, "variables": variables},
                headers={"Authorization": f"Bearer demo-{role}"},
            )
        )


@asynccontextmanager
async def _serving(
    demo_data: Path, faults: Faults
) -> AsyncIterator[tuple[httpx.AsyncClient, Starlette]]:
    transports: dict[str, httpx.AsyncBaseTransport] = {
        name: Faulty(name, httpx.ASGITransport(app=create_owner_app(name, demo_data)), faults)
        for name in SYSTEMS
    }
    settings_ = Settings(
        ownership_path=ROOT / "ownership.yaml",
        demo_keys=True,
        audit_log="off",
        introspection=True,
        execution="differential",
    )
    app = create_app(settings_, transports=transports)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app, raise_app_exceptions=False),
            base_url="http://og",
        ) as client,
    ):
        yield client, app


@pytest.fixture(scope="module")
def gateway(demo_data: Path) -> Iterator[Gateway]:
    faults = Faults()
    with start_blocking_portal() as portal:
        serving = _serving(demo_data, faults)
        client, app = portal.call(serving.__aenter__)
        try:
            yield Gateway(portal, client, faults, app)
        finally:
            portal.call(serving.__aexit__, None, None, None)


@settings(
    max_examples=300,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    written=documents(),
    role=st.sampled_from(ROLES),
    failing=st.sampled_from(SYSTEMS),
    fault=st.sampled_from(FAULTS),
)
def test_both_paths_give_the_same_answer(
    gateway: Gateway,
    written: tuple[str, dict[str, Any]],
    role: str,
    failing: str,
    fault: str | None,
) -> None:
    document, variables = written
    note(f"{role} with {failing} {fault}: {document} {variables}")
    gateway.fresh_owners()
    gateway.faults.modes = {failing: fault}
    try:
        response = gateway.post(document, variables, role)
    finally:
        gateway.faults.modes = {}
    # A difference between the two paths is a 500 naming it.
    assert response.status_code == 200, f"{document}\n{variables}\n{response.text}"
    body = response.json()
    assert "data" in body or "errors" in body


def test_the_examples_ran_compiled(gateway: Gateway) -> None:
    compiled = gateway.app.state.graph.compiled
    assert compiled.runs > 120  # the examples above were not refused or handed over
    assert compiled.fallbacks == 0  # and none read what the waves had not loaded


def test_a_difference_fails_the_request(gateway: Gateway, monkeypatch: pytest.MonkeyPatch) -> None:
    # The check can fail: a shaper that writes one value wrong is caught.
    original = shaper.Shaper._key

    def wrong(self: shaper.Shaper, step: Any, source: Any, path: Any) -> Any:
        return original(self, step, source, path) + "!"

    values = list(shaper._VALUES)
    values[Kind.KEY] = wrong
    monkeypatch.setattr(shaper, "_VALUES", tuple(values))
    response = gateway.post('{ customer(id: "C00002") { id } }', {}, "agent")
    assert response.status_code == 500


def test_what_is_not_compiled_runs_through_graphql_core(gateway: Gateway) -> None:
    before = gateway.app.state.graph.compiled.runs
    response = gateway.post("{ __schema { queryType { name } } }", {}, "agent")
    assert response.json()["data"] == {"__schema": {"queryType": {"name": "Query"}}}
    assert gateway.app.state.graph.compiled.runs == before
