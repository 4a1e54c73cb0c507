"""Settings, read from the environment in one place.

The defaults are the production posture: no GraphiQL, no introspection, no
GET queries, no demo keys. `ownergraph demo` turns on what a demo needs.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

import phonenumbers

from .limits import Limits

_PORT = "a port number from 1 to 65535"
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


class SettingsError(ValueError):
    """A setting has a value that cannot be used; the message names it."""

    def __init__(self, name: str, value: str, expected: str) -> None:
        super().__init__(f"Setting {name}={value!r} is not valid: expected {expected}.")


SHIPPED_GRAPH = Path(__file__).resolve().parent / "schema"
"""Where the shipped graph's two files are installed (the demo's contact-center graph)."""


def default_schema_path() -> Path:
    """The shipped graph's SDL: what is served unless a graph is given."""
    return SHIPPED_GRAPH / "customers.graphql"


def default_ownership_path() -> Path:
    """The shipped graph's ownership map."""
    return SHIPPED_GRAPH / "ownership.yaml"


EXECUTION_VARIABLE = "OWNERGRAPH_EXECUTION"
EXECUTIONS = ("compiled", "reference", "differential")


@dataclass(frozen=True)
class Settings:
    """How one gateway process runs.

    `env` is the environment the ownership map may draw on: owner URL
    overrides (`OWNERGRAPH_<SYSTEM>_URL`) and owner credentials.
    """

    schema_path: Path = field(default_factory=default_schema_path)
    """The graph's SDL file: its types, fields, roots and descriptions."""
    ownership_path: Path = field(default_factory=default_ownership_path)
    """The graph's ownership map: who owns each field, and how to read and write it."""
    phone_region: str | None = None
    """Overrides the map's `phone_region` (numbers written without a country code)."""
    deadline: float = 2.0
    """Seconds a request may take; a client may ask for less with `X-Deadline-Ms`."""
    deadline_profiles: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))
    """Named deadlines in seconds a client may pick with `X-Deadline-Profile`."""
    graphiql: bool = False
    introspection: bool = False
    allow_get: bool = False
    cors_origins: tuple[str, ...] = ()
    api_keys_file: Path | None = None
    demo_keys: bool = False
    jwt_issuer: str | None = None
    jwt_audience: str | None = None
    jwt_secret: str | None = None
    jwt_jwks: str | None = None
    jwt_roles_claim: str = "roles"
    audit_log: str = "stdout"
    """`stdout`, `stderr`, `off`, or a file to append to."""
    audit_key: str | None = None
    tracing: str = "off"
    """`off`, `console` or `otlp` (configured by the standard OTEL_EXPORTER_OTLP_* variables)."""
    max_body_bytes: int = 100_000
    batching: bool = True
    """Off only to measure what batching buys (the benchmark's naive baseline): then every
    field makes its own owner call. Never turn it off in production."""
    execution: str = field(default_factory=lambda: os.environ.get(EXECUTION_VARIABLE, "compiled"))
    """How query operations run: `compiled` into owner calls and a shaper (graphql-core's
    executor still runs what the compiler does not take: introspection, mutations);
    `reference`, all through graphql-core's executor; `differential`, both, failing the
    request on any difference (the test suite's mode). The environment's
    `OWNERGRAPH_EXECUTION` is the default even for settings built in code."""
    limits: Limits = field(default_factory=Limits)
    metrics_port: int | None = None
    """When set, `/metrics` and `/readyz` leave the API for a listener of their own on this
    port (`app.state.operations`), which probes and scrapers reach and clients need not."""
    env: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Settings from `OWNERGRAPH_*` variables; keyword arguments (not None) win over them."""
        environ = dict(os.environ if environ is None else environ)
        values: dict[str, Any] = {"env": MappingProxyType(environ)}
        limits: dict[str, Any] = {}
        for name, (variable, parse) in _VARIABLES.items():
            raw = environ.get(variable)
            if raw:
                target = limits if name in _LIMIT_FIELDS else values
                target[name] = parse(variable, raw)
        values.update({k: v for k, v in overrides.items() if v is not None})
        if limits:
            values["limits"] = replace(values.get("limits", Limits()), **limits)
        settings = cls(**values)
        settings.check()
        return settings

    def with_graph(self, schema: str | Path | None, ownership: str | Path | None) -> Settings:
        """These settings serving the graph of these files (None keeps the setting's)."""
        return replace(
            self,
            schema_path=Path(schema) if schema is not None else self.schema_path,
            ownership_path=Path(ownership) if ownership is not None else self.ownership_path,
        )

    def check(self) -> None:
        if self.phone_region is not None and self.phone_region not in (
            phonenumbers.SUPPORTED_REGIONS
        ):
            raise SettingsError(
                "OWNERGRAPH_PHONE_REGION", self.phone_region, "an ISO 3166 region like IT or DE"
            )
        if self.execution not in EXECUTIONS:
            raise SettingsError(EXECUTION_VARIABLE, self.execution, ", ".join(EXECUTIONS))
        if self.tracing not in ("off", "console", "otlp"):
            raise SettingsError("OWNERGRAPH_TRACING", self.tracing, "off, console or otlp")
        if self.metrics_port is not None and not 0 < self.metrics_port < 65536:
            raise SettingsError("OWNERGRAPH_METRICS_PORT", str(self.metrics_port), _PORT)
        jwt = (self.jwt_issuer, self.jwt_audience)
        if (self.jwt_secret or self.jwt_jwks) and not all(jwt):
            raise SettingsError(
                "OWNERGRAPH_JWT_ISSUER", str(self.jwt_issuer), "an issuer and an audience for JWTs"
            )


def _text(name: str, value: str) -> str:
    return value


def _path(name: str, value: str) -> Path:
    return Path(value)


def _origins(name: str, value: str) -> tuple[str, ...]:
    return tuple(origin.strip() for origin in value.split(",") if origin.strip())


def _profiles(name: str, value: str) -> Mapping[str, float]:
    """`screen=300,report=10000`: profile names and their deadlines in milliseconds."""
    profiles: dict[str, float] = {}
    for entry in (part.strip() for part in value.split(",")):
        if not entry:
            continue
        profile, _, milliseconds = entry.partition("=")
        if not profile.strip() or not milliseconds.strip().isdigit() or int(milliseconds) <= 0:
            raise SettingsError(
                name, value, f"name=milliseconds pairs separated by commas, not {entry!r}"
            )
        profiles[profile.strip()] = int(milliseconds) / 1000
    return MappingProxyType(profiles)


def _positive(name: str, value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number <= 0:
        raise SettingsError(name, value, "a whole number above 0")
    return number


def _port(name: str, value: str) -> int:
    if not value.strip().isdigit() or not 0 < int(value) < 65536:
        raise SettingsError(name, value, _PORT)
    return int(value)


def _seconds_from_ms(name: str, value: str) -> float:
    return _positive(name, value) / 1000


def _flag(name: str, value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise SettingsError(name, value, "true or false")


_LIMIT_FIELDS = frozenset(f.name for f in fields(Limits))
_VARIABLES: dict[str, tuple[str, Callable[[str, str], Any]]] = {
    "schema_path": ("OWNERGRAPH_SCHEMA", _path),
    "ownership_path": ("OWNERGRAPH_OWNERSHIP", _path),
    "phone_region": ("OWNERGRAPH_PHONE_REGION", _text),
    "deadline": ("OWNERGRAPH_DEADLINE_MS", _seconds_from_ms),
    "deadline_profiles": ("OWNERGRAPH_DEADLINE_PROFILES", _profiles),
    "graphiql": ("OWNERGRAPH_GRAPHIQL", _flag),
    "introspection": ("OWNERGRAPH_INTROSPECTION", _flag),
    "allow_get": ("OWNERGRAPH_ALLOW_GET", _flag),
    "cors_origins": ("OWNERGRAPH_CORS_ORIGINS", _origins),
    "api_keys_file": ("OWNERGRAPH_API_KEYS_FILE", _path),
    "demo_keys": ("OWNERGRAPH_DEMO_KEYS", _flag),
    "jwt_issuer": ("OWNERGRAPH_JWT_ISSUER", _text),
    "jwt_audience": ("OWNERGRAPH_JWT_AUDIENCE", _text),
    "jwt_secret": ("OWNERGRAPH_JWT_SECRET", _text),
    "jwt_jwks": ("OWNERGRAPH_JWT_JWKS", _text),
    "jwt_roles_claim": ("OWNERGRAPH_JWT_ROLES_CLAIM", _text),
    "audit_log": ("OWNERGRAPH_AUDIT_LOG", _text),
    "audit_key": ("OWNERGRAPH_AUDIT_KEY", _text),
    "tracing": ("OWNERGRAPH_TRACING", _text),
    "max_body_bytes": ("OWNERGRAPH_MAX_BODY_BYTES", _positive),
    "batching": ("OWNERGRAPH_BATCHING", _flag),
    "execution": (EXECUTION_VARIABLE, _text),
    "metrics_port": ("OWNERGRAPH_METRICS_PORT", _port),
    "max_tokens": ("OWNERGRAPH_MAX_TOKENS", _positive),
    "max_depth": ("OWNERGRAPH_MAX_DEPTH", _positive),
    "max_aliases": ("OWNERGRAPH_MAX_ALIASES", _positive),
    "max_root_fields": ("OWNERGRAPH_MAX_ROOT_FIELDS", _positive),
    "max_cost": ("OWNERGRAPH_MAX_COST", _positive),
}

DEMO = {"graphiql": True, "introspection": True, "allow_get": True, "demo_keys": True}
"""What `ownergraph demo` turns on: GraphiQL, introspection, GET queries, the demo keys."""
