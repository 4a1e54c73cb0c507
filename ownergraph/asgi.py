"""What the request's middleware share: its headers, read once."""

from __future__ import annotations

from starlette.types import Scope

_KEY = "ownergraph.headers"


def request_headers(scope: Scope) -> dict[str, str]:
    """The request's headers by name, read from the scope once and kept in it.

    ASGI servers give names in lower case. A repeated header gives its first
    value, as Starlette's `Headers.get` does, so every layer sees the same one.
    Several layers read a few headers each; a dict read once costs less than
    scanning the list (and raising `KeyError` for a missing name) every time.
    """
    headers: dict[str, str] | None = scope.get(_KEY)
    if headers is None:
        headers = {}
        for name, value in scope["headers"]:
            key = name.decode("latin-1")
            if key not in headers:
                headers[key] = value.decode("latin-1")
        scope[_KEY] = headers
    return headers
