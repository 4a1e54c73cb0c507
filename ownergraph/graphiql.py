"""The GraphiQL page: strawberry's, opened on our sample query and (in the demo) headers."""

from __future__ import annotations

import json
from collections.abc import Mapping

from strawberry.http.ides import get_graphql_ide_html

SAMPLE_QUERY = """\
{
  customer(id: "C00013") {
    displayName
    phones
    credit { balance overdue currency }
    invoices(status: UNPAID, first: 3) { number amount dueDate overdue }
    tickets(first: 3) { id subject status priority }
    interactions(first: 3) { channel direction at summary }
  }
}"""
"""The caller-screen query the demo opens with."""

_QUERY_MARK = "parameters.q || EXAMPLE_QUERY"
_HEADERS_MARK = "React.useState(parameters.headers)"


def graphiql_html(sample_query: str, headers: Mapping[str, str] | None = None) -> str:
    """GraphiQL opening on `sample_query`, its headers editor pre-filled with `headers`."""
    html = get_graphql_ide_html("graphiql")
    if _QUERY_MARK not in html or _HEADERS_MARK not in html:
        # A strawberry upgrade changed the page: fail at start-up, not in a browser.
        raise RuntimeError("the GraphiQL page of this strawberry version cannot be prefilled")
    query = json.dumps(sample_query)
    html = html.replace(_QUERY_MARK, f"parameters.q || {query}")
    if headers:
        text = json.dumps(json.dumps(dict(headers), indent=2))
        html = html.replace(_HEADERS_MARK, f"React.useState(parameters.headers || {text})")
    return html
