"""The request deadline: the settings' default, or less if the client asks for less."""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from sources import Deadline

HEADER = "x-deadline-ms"


class BadDeadline(ValueError):
    """The client's deadline header cannot be used; the message names it."""

    def __init__(self, value: str) -> None:
        super().__init__(
            f"Header X-Deadline-Ms must be a whole number of milliseconds above 0, not {value!r}."
        )


def requested_deadline(headers: Headers, default: float) -> float:
    """Seconds the request may take: `default`, lowered (never raised) by `X-Deadline-Ms`."""
    value = headers.get(HEADER)
    if value is None:
        return default
    try:
        milliseconds = int(value)
    except ValueError:
        raise BadDeadline(value) from None
    if milliseconds <= 0:
        raise BadDeadline(value)
    return min(default, milliseconds / 1000)


class DeadlineMiddleware:
    """Starts the request's clock on arrival and keeps it in `scope["state"]["deadline"]`."""

    def __init__(self, app: ASGIApp, default: float) -> None:
        self.app = app
        self.default = default

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            seconds = requested_deadline(Headers(scope=scope), self.default)
        except BadDeadline as error:
            response = JSONResponse(
                {"errors": [{"message": str(error), "extensions": {"code": "BAD_USER_INPUT"}}]},
                status_code=400,
            )
            await response(scope, receive, send)
            return
        scope.setdefault("state", {})["deadline"] = Deadline(seconds)
        await self.app(scope, receive, send)
