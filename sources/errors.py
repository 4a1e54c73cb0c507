"""Errors an owning system can cause, one class per condition.

Each carries `extensions` (``code`` and ``owner``) so that whoever reports it,
a GraphQL layer or a log line, can name the condition without parsing text.
Messages name the system and the problem, never a URL or a hostname: they may
reach a client.
"""

from __future__ import annotations

import re
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
    """The owner could not be reached, or said it is unavailable (502, 503, 504)."""

    code = "OWNER_UNAVAILABLE"
    status = "unavailable"

    def __init__(
        self,
        owner: str,
        reason: str = "could not be reached",
        *,
        http_status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.http_status = http_status
        self.retry_after = retry_after
        super().__init__(owner, f"Owner '{owner}' is unavailable: {reason}.")


class CircuitOpen(OwnerUnavailable):
    """The owner failed repeatedly; its breaker is open, so it is not asked at all."""

    def __init__(self, owner: str) -> None:
        super().__init__(owner, "it failed repeatedly and is not being asked for now")


class OwnerRateLimited(OwnerUnavailable):
    """The owner asked us to slow down (HTTP 429)."""

    def __init__(self, owner: str, retry_after: float | None = None) -> None:
        super().__init__(
            owner, "it is rate limiting (HTTP 429)", http_status=429, retry_after=retry_after
        )


class DeadlineExceeded(OwnerError):
    """The request's deadline passed before the owner answered."""

    code = "DEADLINE_EXCEEDED"
    status = "deadline"

    def __init__(self, owner: str) -> None:
        super().__init__(owner, f"The request's deadline passed before owner '{owner}' answered.")


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


class OutcomeUnknown(OwnerError):
    """A write was sent but its answer never came: it may or may not have been applied.

    Never retried here: the client retries with the same idempotency key and
    the owner replays the first result, so the write happens at most once.
    """

    code = "OUTCOME_UNKNOWN"
    status = "unknown"

    def __init__(self, owner: str, reason: str) -> None:
        super().__init__(
            owner,
            f"The write to owner '{owner}' may or may not have been applied ({reason}); "
            "retry with the same idempotencyKey to get its single result.",
        )


class OwnerRejected(OwnerError):
    """The owner refused a write it understood (HTTP 4xx): nothing was applied.

    `detail` is the owner's own reason, cleaned for a client (see
    `owner_words`); `field` the body field it blamed, in the owner's words.
    `argument`, once the caller knows which input that field came from, names
    it for the client (`input.durationSeconds`).
    """

    code = "BAD_USER_INPUT"
    status = "error"

    def __init__(
        self,
        owner: str,
        http_status: int,
        reason: str,
        *,
        detail: str | None = None,
        field: str | None = None,
        argument: str | None = None,
    ) -> None:
        self.http_status = http_status
        self.reason = reason
        self.detail = detail
        self.field = field
        self.argument = argument
        super().__init__(
            owner, f"Owner '{owner}' refused the write: {(detail or reason).rstrip('.')}."
        )

    def naming(self, argument: str | None) -> OwnerRejected:
        """The same refusal, naming the client's input `argument` it is about."""
        return OwnerRejected(
            self.owner,
            self.http_status,
            self.reason,
            detail=self.detail,
            field=self.field,
            argument=argument,
        )

    @property
    def extensions(self) -> dict[str, Any]:
        extensions = {**super().extensions, "httpStatus": self.http_status}
        if self.argument is not None:
            extensions["argument"] = self.argument
        return extensions


MAX_OWNER_WORDS = 300
"""The longest reason of an owner's that is passed on to a client, in characters."""
_URL = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]*://\S+")
_HOST_PORT = re.compile(r"\b[\w-]+(?:\.[\w-]+)*:\d{2,5}\b")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


def owner_words(text: str) -> str:
    """An owner's error message as a client may read it.

    Control characters and runs of spaces become one space, URLs and
    host:port pairs are cut out (no internal address reaches a client), and
    it is cut at `MAX_OWNER_WORDS` characters.
    """
    cleaned = _CONTROL.sub(" ", text)
    cleaned = _URL.sub("<address>", cleaned)
    cleaned = _HOST_PORT.sub("<address>", cleaned)
    cleaned = " ".join(cleaned.split())
    if len(cleaned) > MAX_OWNER_WORDS:
        cleaned = cleaned[: MAX_OWNER_WORDS - 1].rstrip() + "…"
    return cleaned


class OwnerNotFound(OwnerError):
    """The record a write names does not exist in its owner."""

    code = "NOT_FOUND"
    status = "ok"

    def __init__(self, owner: str, what: str) -> None:
        super().__init__(owner, f"Owner '{owner}' has no {what}.")
