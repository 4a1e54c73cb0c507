"""The request deadline: the settings' default or a named profile, less if the client asks.

Operators name deadlines for kinds of work in settings (`OWNERGRAPH_DEADLINE_PROFILES=
screen=300,report=10000`); a client picks one with `X-Deadline-Profile: screen`, e.g. the
contact-center screen that must show the caller while the call is being routed. Then
`X-Deadline-Ms` may lower it further, never raise it.
"""

from __future__ import annotations

from collections.abc import Mapping

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from ownergraph.asgi import request_headers
from ownergraph.sources import Deadline

HEADER = "x-deadline-ms"
PROFILE_HEADER = "x-deadline-profile"


class BadDeadline(ValueError):
    """The client's deadline headers cannot be used; the message names the problem."""


def requested_deadline(
    headers: Mapping[str, str], default: float, profiles: Mapping[str, float] | None = None
) -> float:
    """Seconds the request may take.

    `default`, or the profile named by `X-Deadline-Profile`; then lowered (never raised)
    by `X-Deadline-Ms`.
    """
    seconds = default
    name = headers.get(PROFILE_HEADER)
    if name is not None:
        profiles = profiles or {}
        if name not in profiles:
            known = ", ".join(sorted(profiles)) or "none are configured"
            raise BadDeadline(
                f"Header X-Deadline-Profile names no deadline profile: {name!r} (known: {known})."
            )
        seconds = profiles[name]
    value = headers.get(HEADER)
    if value is None:
        return seconds
    try:
        milliseconds = int(value)
    except ValueError:
        milliseconds = 0
    if milliseconds <= 0:
        raise BadDeadline(
            f"Header X-Deadline-Ms must be a whole number of milliseconds above 0, not {value!r}."
        )
    return min(seconds, milliseconds / 1000)


class DeadlineMiddleware:
    """Starts the request's clock on arrival and keeps it in `scope["state"]["deadline"]`."""

    def __init__(
        self, app: ASGIApp, default: float, profiles: Mapping[str, float] | None = None
    ) -> None:
        self.app = app
        self.default = default
        self.profiles = dict(profiles or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            seconds = requested_deadline(request_headers(scope), self.default, self.profiles)
        except BadDeadline as error:
            response = JSONResponse(
                {"errors": [{"message": str(error), "extensions": {"code": "BAD_USER_INPUT"}}]},
                status_code=400,
            )
            await response(scope, receive, send)
            return
        scope.setdefault("state", {})["deadline"] = Deadline(seconds)
        await self.app(scope, receive, send)
