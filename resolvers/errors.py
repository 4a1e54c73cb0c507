"""Errors about what the client asked, as opposed to what an owner did."""

from __future__ import annotations

from typing import Any


class BadUserInput(Exception):
    """An argument the client sent cannot be used; the message names it and the limit."""

    def __init__(self, argument: str, message: str) -> None:
        self.argument = argument
        super().__init__(f"Argument '{argument}': {message}")

    @property
    def extensions(self) -> dict[str, Any]:
        return {"code": "BAD_USER_INPUT", "argument": self.argument}


class Forbidden(Exception):
    """The viewer's roles may not read (or write) this; its owner is not asked."""

    def __init__(self, coordinate: str, action: str = "read") -> None:
        self.coordinate = coordinate
        super().__init__(f"Not allowed to {action} {coordinate}.")

    @property
    def extensions(self) -> dict[str, Any]:
        return {"code": "FORBIDDEN"}
