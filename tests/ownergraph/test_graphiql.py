"""The GraphiQL page and its bundle: same-origin files only, cached by hash, under a CSP."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Mount

from ownergraph import Settings, create_app
from ownergraph.graphiql import (
    BUNDLE_DIR,
    CONTENT_SECURITY_POLICY,
    DEFAULT_SAMPLE,
    GraphiQLBundle,
    GraphiQLBundleMissing,
    graphiql_html,
)

ROOT = Path(__file__).resolve().parents[2]
HTML = {"Accept": "text/html"}
AGENT = {"Authorization": "Bearer demo-agent"}


class Page(HTMLParser):
    """What a browser would fetch or run from a page: URLs, scripts, the config block."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.urls: list[str] = []
        """Every URL the page names, in order."""
        self.scripts: list[dict[str, str | None]] = []
        self.config: str | None = None
        self._in_config = False
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        self.urls.extend(v for k, v in attrs if k in ("src", "href") and v is not None)
        if tag == "script":
            self.scripts.append(found)
            self._in_config = found.get("id") == "graphiql-config"

    def handle_endtag(self, tag: str) -> None:
        self._in_config = False

    def handle_data(self, data: str) -> None:
        if self._in_config:
            self.config = (self.config or "") + data

    def fetched(self, suffix: str) -> str:
        """The one URL the page loads a `suffix` file from."""
        [url] = [url for url in self.urls if urlsplit(url).path.endswith(suffix)]
        return url


@pytest.fixture(scope="module")
def bundle() -> GraphiQLBundle:
    return GraphiQLBundle.load()


@asynccontextmanager
async def serving(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://og") as client,
    ):
        yield client


def demo_app() -> Starlette:
    # No owner is called: the page and its files are all these tests ask for.
    demo = Settings(
        ownership_path=ROOT / "ownership.yaml",
        audit_log="off",
        graphiql=True,
        introspection=True,
        demo_keys=True,
    )
    return create_app(demo)


def test_the_committed_bundle_is_complete(bundle: GraphiQLBundle) -> None:
    manifest = json.loads((BUNDLE_DIR / "manifest.json").read_text())
    assert bundle.script == manifest["graphiql.js"] and bundle.script.endswith(".js")
    assert bundle.stylesheet == manifest["graphiql.css"] and bundle.stylesheet.endswith(".css")
    assert bundle.files[bundle.script] and bundle.files[bundle.stylesheet]
    stylesheet = bundle.files[bundle.stylesheet].decode()
    # The stylesheet pulls in nothing: its fonts and images are data: URLs.
    assert "@import" not in stylesheet
    urls = [part.split(")", 1)[0].strip("'\"") for part in stylesheet.split("url(")[1:]]
    assert urls and all(url.startswith("data:") for url in urls)
    assert b"MIT" in bundle.files[manifest["licenses"]]


def test_the_page_loads_only_same_origin_files(bundle: GraphiQLBundle) -> None:
    html = graphiql_html(bundle, DEFAULT_SAMPLE, AGENT)
    page = Page(html)
    assert "https://" not in html and "http://" not in html
    assert f"graphiql/static/{bundle.script}" in page.urls
    assert f"graphiql/static/{bundle.stylesheet}" in page.urls
    for url in page.urls:
        parts = urlsplit(url)
        assert parts.scheme in ("", "data") and not parts.netloc, url
    # Nothing runs inline, so the CSP can allow scripts from 'self' alone.
    for script in page.scripts:
        assert script.get("src") or script.get("type") == "application/json", script


def test_the_page_opens_on_the_sample_query_with_the_demo_key(bundle: GraphiQLBundle) -> None:
    page = Page(graphiql_html(bundle, DEFAULT_SAMPLE, AGENT))
    assert page.config is not None
    assert json.loads(page.config) == {"query": DEFAULT_SAMPLE, "headers": AGENT}
    plain = Page(graphiql_html(bundle, DEFAULT_SAMPLE))
    assert plain.config is not None
    assert json.loads(plain.config)["headers"] is None


def test_a_query_cannot_end_the_config_block(bundle: GraphiQLBundle) -> None:
    hostile = '{ a } # </script><script>alert("x")</script> & <!--'
    html = graphiql_html(bundle, hostile)
    assert html.count("</script>") == 2  # the bundle's tag and the config block's own
    page = Page(html)
    assert page.config is not None
    assert json.loads(page.config)["query"] == hostile


def test_a_missing_bundle_fails_at_start_up_naming_the_fix(tmp_path: Path) -> None:
    with pytest.raises(GraphiQLBundleMissing, match=r"no manifest.json: run `make graphiql`"):
        GraphiQLBundle.load(tmp_path)
    (tmp_path / "manifest.json").write_text(
        json.dumps({"graphiql.js": "g-1.js", "graphiql.css": "g-1.css", "licenses": "L.txt"})
    )
    with pytest.raises(GraphiQLBundleMissing, match=r"lacks g-1.js, named for 'graphiql.js'"):
        GraphiQLBundle.load(tmp_path)
    (tmp_path / "manifest.json").write_text(json.dumps({"graphiql.js": "../../etc/passwd"}))
    with pytest.raises(GraphiQLBundleMissing, match=r"no valid file for 'graphiql.js'"):
        GraphiQLBundle.load(tmp_path)
    (tmp_path / "manifest.json").write_text("{")
    with pytest.raises(GraphiQLBundleMissing, match=r"not JSON"):
        GraphiQLBundle.load(tmp_path)
    (tmp_path / "manifest.json").write_text("[]")
    with pytest.raises(GraphiQLBundleMissing, match=r"not an object"):
        GraphiQLBundle.load(tmp_path)


async def test_the_page_is_served_under_a_csp_allowing_only_the_gateway() -> None:
    async with serving(demo_app()) as client:
        page = await client.get("/graphql", headers=HTML)
        answer = await client.post("/graphql", json={"query": "{ __typename }"}, headers=AGENT)
    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    policy = dict(
        directive.strip().split(" ", 1)
        for directive in page.headers["content-security-policy"].split(";")
    )
    assert policy["default-src"] == "'none'"
    assert policy["script-src"] == policy["style-src"] == policy["connect-src"] == "'self'"
    assert page.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert answer.status_code == 200 and answer.json()["data"] == {"__typename": "Query"}
    assert "content-security-policy" not in answer.headers


async def test_the_bundle_is_served_with_its_type_and_cached_for_good(
    bundle: GraphiQLBundle,
) -> None:
    async with serving(demo_app()) as client:
        page = Page((await client.get("/graphql", headers=HTML)).text)
        script = await client.get(urljoin("http://og/graphql", page.fetched(".js")))
        stylesheet = await client.get(urljoin("http://og/graphql", page.fetched(".css")))
        licenses = await client.get("/graphiql/static/THIRD_PARTY_LICENSES.txt")
        unknown = await client.get("/graphiql/static/graphiql-00000000.js")
        escape = await client.get("/graphiql/static/..%2Fmanifest.json")
        posted = await client.post(f"/graphiql/static/{bundle.script}")
    for response, kind in ((script, "text/javascript"), (stylesheet, "text/css")):
        assert response.status_code == 200
        assert response.headers["content-type"] == f"{kind}; charset=utf-8"
        assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert response.headers["x-content-type-options"] == "nosniff"
    assert script.content == bundle.files[bundle.script]
    assert stylesheet.content == bundle.files[bundle.stylesheet]
    assert licenses.status_code == 200 and licenses.headers["cache-control"] == "no-cache"
    assert (unknown.status_code, escape.status_code, posted.status_code) == (404, 404, 405)


async def test_a_mounted_gateway_serves_its_page_files_under_its_prefix() -> None:
    gateway = demo_app()
    host = Starlette(
        routes=[Mount("/customer-data", app=gateway)], lifespan=gateway.router.lifespan_context
    )
    async with serving(host) as client:
        page_url = "http://og/customer-data/graphql"
        page = Page((await client.get(page_url, headers=HTML)).text)
        files = [
            await client.get(urljoin(page_url, page.fetched(kind))) for kind in (".js", ".css")
        ]
    assert [f.status_code for f in files] == [200, 200]
    assert all(f.url.path.startswith("/customer-data/graphiql/static/") for f in files)


async def test_without_graphiql_there_is_no_page_and_no_bundle(bundle: GraphiQLBundle) -> None:
    app = create_app(Settings(ownership_path=ROOT / "ownership.yaml", audit_log="off"))
    async with serving(app) as client:
        page = await client.get("/graphql", headers=HTML)
        script = await client.get(f"/graphiql/static/{bundle.script}")
    assert (page.status_code, script.status_code) == (405, 404)
    assert "content-security-policy" not in page.headers
