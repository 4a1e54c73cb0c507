"""Errors an owning system can cause, one class per condition.

Each carries `extensions` (``code`` and ``owner``) so that whoever reports it,
a GraphQL layer or a log line, can name the condition without parsing text.
Messages name the system and the problem, never a URL or a hostname: they may
reach a client.
"""

from __future__ import annotations

from typing import Any


class OwnerError(Exception):
    """Base class: an owning system did not give us what we asked for."""

    code = "OWNER_ERROR"
    status = "error"

    def __init__(self, owner: str, message: str) -> None:
        self.owner = owner
        super().__init__(message)

    @property
    def extensions(self) -> dict[str, Any]:
        return {"code": self.code, "owner": self.owner}


class OwnerTimeout(OwnerError):
    """The owner did not answer within its timeout."""

    code = "OWNER_TIMEOUT"
    status = "timeout"

    def __init__(self, owner: str, timeout: float) -> None:
        self.timeout = timeout
        super().__init__(owner, f"Owner '{owner}' did not answer within {timeout * 1000:.0f} ms.")


class OwnerUnavailable(OwnerError):
    """The owner could not be reached, or said it is unavailable (503)."""

    code = "OWNER_UNAVAILABLE"
    status = "unavailable"

    def __init__(self, owner: str, reason: str = "could not be reached") -> None:
        super().__init__(owner, f"Owner '{owner}' is unavailable: {reason}.")


class OwnerHTTPError(OwnerError):
    """The owner answered with an HTTP error status."""

    code = "OWNER_ERROR"
    status = "error"

    def __init__(self, owner: str, http_status: int) -> None:
        self.http_status = http_status
        super().__init__(owner, f"Owner '{owner}' answered with HTTP {http_status}.")

    @property
    def extensions(self) -> dict[str, Any]:
        return {**super().extensions, "httpStatus": self.http_status}


class OwnerBadResponse(OwnerError):
    """The owner answered, but not in the shape its ownership entry declares."""

    code = "OWNER_BAD_RESPONSE"
    status = "error"

    def __init__(self, owner: str, problem: str) -> None:
        super().__init__(owner, f"Owner '{owner}' sent a malformed reply: {problem}.")
