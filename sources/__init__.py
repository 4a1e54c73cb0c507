"""Clients for the owning systems: one pooled client per system, no GraphQL here."""

from __future__ import annotations

from .calls import Call, CallObserver
from .client import open_source
from .config import Endpoint, EntityConfig, SystemConfig
from .errors import (
    OwnerBadResponse,
    OwnerError,
    OwnerHTTPError,
    OwnerTimeout,
    OwnerUnavailable,
)
from .rest import RestSource, dig

__all__ = [
    "Call",
    "CallObserver",
    "Endpoint",
    "EntityConfig",
    "OwnerBadResponse",
    "OwnerError",
    "OwnerHTTPError",
    "OwnerTimeout",
    "OwnerUnavailable",
    "RestSource",
    "SystemConfig",
    "dig",
    "open_source",
]
