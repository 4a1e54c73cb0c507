"""Settings, read from the environment in one place."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

import phonenumbers

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


class SettingsError(ValueError):
    """A setting has a value that cannot be used; the message names it."""

    def __init__(self, name: str, value: str, expected: str) -> None:
        super().__init__(f"Setting {name}={value!r} is not valid: expected {expected}.")


def default_ownership_path() -> Path:
    """`./ownership.yaml` when there is one, else the map shipped beside the code."""
    here = Path("ownership.yaml")
    if here.is_file():
        return here
    return Path(__file__).resolve().parent.parent / "ownership.yaml"


@dataclass(frozen=True)
class Settings:
    """How one gateway process runs.

    `env` is the environment the ownership map may draw on: owner URL
    overrides (`OWNERGRAPH_<SYSTEM>_URL`) and owner credentials.
    """

    ownership_path: Path = field(default_factory=default_ownership_path)
    phone_region: str = "IT"
    graphiql: bool = True
    deadline: float = 2.0
    """Seconds a request may take; a client may ask for less with `X-Deadline-Ms`."""
    env: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: object) -> Settings:
        """Settings from `OWNERGRAPH_*` variables; keyword arguments win over them."""
        environ = dict(os.environ if environ is None else environ)
        values: dict[str, object] = {"env": MappingProxyType(environ)}
        if path := environ.get("OWNERGRAPH_OWNERSHIP"):
            values["ownership_path"] = Path(path)
        if region := environ.get("OWNERGRAPH_PHONE_REGION"):
            values["phone_region"] = region
        if graphiql := environ.get("OWNERGRAPH_GRAPHIQL"):
            values["graphiql"] = _flag("OWNERGRAPH_GRAPHIQL", graphiql)
        if deadline := environ.get("OWNERGRAPH_DEADLINE_MS"):
            values["deadline"] = _milliseconds("OWNERGRAPH_DEADLINE_MS", deadline) / 1000
        values.update({k: v for k, v in overrides.items() if v is not None})
        settings = cls(**values)  # type: ignore[arg-type]
        settings.check()
        return settings

    def check(self) -> None:
        if self.phone_region not in phonenumbers.SUPPORTED_REGIONS:
            raise SettingsError(
                "OWNERGRAPH_PHONE_REGION", self.phone_region, "an ISO 3166 region like IT or DE"
            )


def _milliseconds(name: str, value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number <= 0:
        raise SettingsError(name, value, "a whole number of milliseconds above 0")
    return number


def _flag(name: str, value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise SettingsError(name, value, "true or false")
