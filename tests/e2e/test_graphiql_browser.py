"""GraphiQL in a real browser with no network but loopback: Debian's Chromium, driven by Playwright.

Chromium comes from Debian (`make test` installs it when it can); Playwright's
own browser downloads are never used. Set OWNERGRAPH_SKIP_BROWSER=1 to skip
these tests on a machine that cannot have it; without that, a missing browser
is a failure, so CI never passes without having run them.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, ConsoleMessage, Page, Request, sync_playwright

from ..conftest import sample_query
from .conftest import query

SAMPLE_QUERY = sample_query()

CHROMIUM = Path("/usr/bin/chromium")
SKIP = "OWNERGRAPH_SKIP_BROWSER"
# Headless, and nothing of Chromium's own that would phone home.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Records what the page's Content-Security-Policy refused; Playwright's init
# scripts run outside the page's policy.
WATCH_CSP = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(`${event.violatedDirective} ${event.blockedURI}`);
});
"""
SYSTEMS = {"crm", "erp", "helpdesk", "contactcenter"}


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[BrowserContext]:
    """Chromium with a fresh profile of its own."""
    if os.environ.get(SKIP) == "1":
        pytest.skip(f"{SKIP}=1: the browser tests are skipped")
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: install Debian's chromium (`make test` does so as root "
            f"or with sudo: apt-get install chromium), or set {SKIP}=1 to skip these tests."
        )
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            tmp_path / "profile",
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1400, "height": 900},
        )
        try:
            yield context
        finally:
            context.close()


@dataclass
class Visit:
    """A page opened on GraphiQL, with every request and console error it caused."""

    page: Page
    requests: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def csp_violations(self) -> list[str]:
        violations: list[str] = self.page.evaluate("window.__cspViolations")
        return violations


def open_graphiql(browser: BrowserContext, gateway: str) -> Visit:
    page = browser.new_page()
    visit = Visit(page)

    def on_request(request: Request) -> None:
        visit.requests.append(request.url)

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            visit.errors.append(message.text)

    browser.on("request", on_request)
    page.on("console", on_console)
    page.on("pageerror", lambda error: visit.errors.append(str(error)))
    page.add_init_script(WATCH_CSP)
    page.goto(f"{gateway}/graphql")
    page.wait_for_selector(".graphiql-execute-button")
    return visit


def result_pane(page: Page) -> Any:
    """What the response editor holds, parsed."""
    text = page.evaluate(
        "document.querySelector('.result-window .CodeMirror').CodeMirror.getValue()"
    )
    return json.loads(text)


def test_graphiql_runs_the_sample_query_offline_and_shows_its_owners(
    browser: BrowserContext, demo_gateway: str
) -> None:
    expected = query(demo_gateway, SAMPLE_QUERY, key="demo-agent")
    assert "errors" not in expected, expected["errors"]
    visit = open_graphiql(browser, demo_gateway)
    page = visit.page
    assert "Bearer demo-agent" in page.inner_text(".graphiql-editor-tool")

    page.click(".graphiql-execute-button")
    page.wait_for_selector(".og-owners-table")

    shown = result_pane(page)
    assert shown["data"] == expected["data"]
    name = expected["data"]["customer"]["displayName"]
    assert name in page.inner_text(".result-window")
    rows = page.locator(".og-owners-table tbody tr")
    owners = {
        rows.nth(i).get_attribute("data-system"): rows.nth(i).locator(".og-status").inner_text()
        for i in range(rows.count())
    }
    assert owners == dict.fromkeys(SYSTEMS, "ok")
    assert set(shown["extensions"]["owners"]) == SYSTEMS

    # Offline: the page, its two files and its GraphQL requests, all from the gateway.
    assert visit.requests
    assert all(url.startswith(f"{demo_gateway}/") for url in visit.requests), visit.requests
    assert any(re.search(r"/graphiql/static/graphiql-\w+\.js$", url) for url in visit.requests)
    assert visit.csp_violations() == []
    assert visit.errors == []


def test_the_docs_show_each_fields_owner(browser: BrowserContext, demo_gateway: str) -> None:
    visit = open_graphiql(browser, demo_gateway)
    page = visit.page
    page.click('[aria-label="Show Documentation Explorer"]')
    page.locator(".graphiql-doc-explorer-content a", has_text=re.compile(r"^Customer$")).click()

    def field_docs(name: str) -> str:
        label = page.locator(".graphiql-doc-explorer-field-name", has_text=re.compile(f"^{name}$"))
        return page.locator(".graphiql-doc-explorer-item").filter(has=label).inner_text()

    assert "Owner: crm." in field_docs("displayName")
    assert "Owner: erp." in field_docs("credit")
    assert "Owner: helpdesk." in field_docs("tickets")
    assert "Owner: contactcenter." in field_docs("interactions")
    assert all(url.startswith(f"{demo_gateway}/") for url in visit.requests), visit.requests
    assert visit.csp_violations() == []
    assert visit.errors == []
