"""Errors the HTTP layer answers itself, before or instead of executing GraphQL."""

from __future__ import annotations


class HTTPClientError(Exception):
    """A request refused with an HTTP status and a GraphQL-style error body.

    Answered as ``{"errors": [{"message": ..., "extensions": {"code": ...}}]}``
    with `status` (and `headers`, e.g. ``WWW-Authenticate`` for 401).
    """

    def __init__(
        self, status: int, code: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        self.status = status
        self.code = code
        self.headers = headers or {}
        super().__init__(message)


class Unauthenticated(HTTPClientError):
    """The credentials sent cannot be accepted: 401, and nothing is executed."""

    def __init__(self, reason: str) -> None:
        super().__init__(
            401,
            "UNAUTHENTICATED",
            f"Not authenticated: {reason}.",
            {"WWW-Authenticate": 'Bearer realm="ownergraph"'},
        )
