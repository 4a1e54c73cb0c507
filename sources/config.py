"""How to reach an owning system: the part of ownership.yaml the sources need.

These are plain frozen dataclasses so that `sources` stays independent of the
ownership loader (which lives in `schema` and builds them).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from .breaker import BreakerConfig


@dataclass(frozen=True)
class Endpoint:
    """One HTTP endpoint of an owner.

    A batch endpoint sends its keys comma-separated in the query parameter
    `param` (GET) or as a JSON list in the body field `body` (POST). A single
    endpoint has ``{key}`` in its path.
    """

    method: str
    path: str
    param: str | None = None
    body: str | None = None


@dataclass(frozen=True)
class EntityConfig:
    """How to read one kind of record (a customer, its invoices...) from an owner."""

    name: str
    key_field: tuple[str, ...]
    records: str | None = None
    many: bool = False
    batch: Endpoint | None = None
    single: Endpoint | None = None
    search: Endpoint | None = None
    """Finds records by a value (a phone number, an e-mail): `param` carries it."""


@dataclass(frozen=True)
class ErrorFormat:
    """Where an owner's error body says what is wrong and which field is at fault.

    Each is a list of dotted paths tried in turn; the first that holds a
    string wins. The defaults cover the common shapes: `{"error": "..."}`,
    `{"message": "...", "field": "..."}`, `{"error": {"message": ...}}` and
    RFC 9457's `{"detail": "..."}`.
    """

    message: tuple[tuple[str, ...], ...] = (
        ("error",),
        ("message",),
        ("detail",),
        ("error", "message"),
        ("title",),
    )
    field: tuple[tuple[str, ...], ...] = (("field",), ("error", "field"), ("param",))


@dataclass(frozen=True)
class SystemConfig:
    """An owning system: where it is, how long we wait for it, how hard we push it."""

    name: str
    base_url: str
    kind: str = "rest"
    timeout: float = 1.0
    max_batch: int = 100
    concurrency: int = 10
    retries: int = 1
    """Extra attempts for a read that failed in a way worth retrying."""
    retry_budget: float = 0.2
    """Retries as a share of calls, at most (see `RetryBudget`)."""
    breaker: BreakerConfig = field(default_factory=BreakerConfig)
    headers: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    errors: ErrorFormat = field(default_factory=ErrorFormat)
    """How its error bodies say what is wrong: passed on to a client whose write it refused."""
    entities: Mapping[str, EntityConfig] = field(default_factory=lambda: MappingProxyType({}))
