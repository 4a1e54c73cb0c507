"""The GraphiQL page, with its JavaScript and CSS served by the gateway itself.

Company networks are often closed, so the page loads nothing from a CDN:
its bundle is built from `web/graphiql` (`make graphiql`) into
`static/graphiql/` and ships in the package, each file named by its content
hash so that a browser may cache it for good. A Content-Security-Policy lets
the page load scripts and styles from the gateway alone.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from html import escape
from pathlib import Path

from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = [
    "ASSETS_PATH",
    "BUNDLE_DIR",
    "CONTENT_SECURITY_POLICY",
    "DEFAULT_SAMPLE",
    "GraphiQLBundle",
    "GraphiQLBundleMissing",
    "GraphiQLPageHeaders",
    "graphiql_html",
]

DEFAULT_SAMPLE = """\
# Write a query here; the Docs pane lists every type and field, with its owner.
{
  __typename
}"""
"""What GraphiQL opens with when the ownership map gives no `sample:`."""

BUNDLE_DIR = Path(__file__).with_name("static") / "graphiql"
"""Where `make graphiql` writes the bundle and its manifest.json."""

ASSETS_PATH = "/graphiql/static"
"""Where the app serves the bundle's files."""

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        # GraphiQL's stylesheet carries its fonts and a few images as data: URLs.
        "font-src 'self' data:",
        "img-src 'self' data:",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    ]
)
"""The page's policy: nothing but the gateway itself, and no framing."""

# Hashed bundle files never change under their name; the licence file may.
_IMMUTABLE = "public, max-age=31536000, immutable"
_REVALIDATE = "no-cache"
_MEDIA_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
}
_FILE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


class GraphiQLBundleMissing(RuntimeError):
    """GraphiQL is enabled but its built files are missing or incomplete."""

    def __init__(self, directory: Path, problem: str) -> None:
        super().__init__(
            f"GraphiQL is enabled but its bundle in {directory} {problem}: "
            "run `make graphiql` to build it, or set OWNERGRAPH_GRAPHIQL=false."
        )


@dataclass(frozen=True)
class GraphiQLBundle:
    """GraphiQL's built files, read once at start-up and served from memory.

    `script` and `stylesheet` are the names of the content-hashed files the
    page links; `files` holds every file served, by name.
    """

    script: str
    stylesheet: str
    files: Mapping[str, bytes]

    @classmethod
    def load(cls, directory: Path = BUNDLE_DIR) -> GraphiQLBundle:
        """Read the bundle that manifest.json in `directory` names."""
        try:
            manifest = json.loads((directory / "manifest.json").read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise GraphiQLBundleMissing(directory, "has no manifest.json") from None
        except ValueError as error:
            raise GraphiQLBundleMissing(
                directory, f"has a manifest.json that is not JSON ({error})"
            ) from None
        if not isinstance(manifest, dict):
            raise GraphiQLBundleMissing(directory, "has a manifest.json that is not an object")
        names = {key: manifest.get(key) for key in ("graphiql.js", "graphiql.css", "licenses")}
        files: dict[str, bytes] = {}
        for key, name in names.items():
            if not isinstance(name, str) or not _FILE_NAME.fullmatch(name):
                raise GraphiQLBundleMissing(directory, f"names no valid file for {key!r}: {name!r}")
            try:
                files[name] = (directory / name).read_bytes()
            except FileNotFoundError:
                raise GraphiQLBundleMissing(directory, f"lacks {name}, named for {key!r}") from None
        return cls(str(names["graphiql.js"]), str(names["graphiql.css"]), files)

    async def serve(self, request: Request) -> Response:
        """The endpoint for ``{ASSETS_PATH}/{name}``: a bundle file, cached by its hash."""
        name = request.path_params["name"]
        body = self.files.get(name)
        if body is None:
            return PlainTextResponse("Not Found", status_code=404)
        suffix = Path(name).suffix
        cache = _IMMUTABLE if name in (self.script, self.stylesheet) else _REVALIDATE
        headers = {"Cache-Control": cache, "X-Content-Type-Options": "nosniff"}
        return Response(body, media_type=_MEDIA_TYPES.get(suffix), headers=headers)


def graphiql_html(
    bundle: GraphiQLBundle, sample_query: str, headers: Mapping[str, str] | None = None
) -> str:
    """The page: GraphiQL opening on `sample_query`, its headers editor pre-filled with `headers`.

    Every URL in it is same-origin and relative to the endpoint serving it, so
    the page works wherever the app is mounted and reaches nothing but the gateway.
    """
    config = json.dumps({"query": sample_query, "headers": dict(headers) if headers else None})
    # A data block is never executed, so the CSP allows it; escaping '<' keeps
    # a '</script>' in a string from ending the block.
    config = config.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    # Relative to the endpoint's URL ("/graphql" -> "/graphiql/static/..."), mounted or not.
    stylesheet = escape(f"{ASSETS_PATH.lstrip('/')}/{bundle.stylesheet}")
    script = escape(f"{ASSETS_PATH.lstrip('/')}/{bundle.script}")
    # The empty icon spares the browser a request for /favicon.ico, which would 404.
    return f"""<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>ownergraph · GraphiQL</title>
    <link rel="icon" href="data:,">
    <link rel="stylesheet" href="{stylesheet}">
    <script type="module" src="{script}"></script>
  </head>
  <body>
    <div id="graphiql">Loading GraphiQL…</div>
    <script type="application/json" id="graphiql-config">{config}</script>
  </body>
</html>
"""


class GraphiQLPageHeaders:
    """Adds `headers` (by default the CSP) to the HTML answers of `app`: the GraphiQL page.

    The GraphQL endpoint serves the page itself; its JSON answers pass unchanged.
    """

    def __init__(self, app: ASGIApp, headers: Mapping[str, str] | None = None) -> None:
        self.app = app
        self.headers = dict(headers or {"Content-Security-Policy": CONTENT_SECURITY_POLICY})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD"):
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                if headers.get("content-type", "").startswith("text/html"):
                    headers.update(self.headers)
            await send(message)

        await self.app(scope, receive, send_with_headers)
