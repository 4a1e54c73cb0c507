"""Clients for the owning systems: one pooled client per system, no GraphQL here."""

from __future__ import annotations

from .breaker import BreakerConfig, CircuitBreaker, Permit
from .budget import RetryBudget
from .calls import Call, CallObserver
from .client import default_transport, open_source
from .config import Endpoint, EntityConfig, ErrorFormat, SystemConfig
from .deadline import Deadline
from .errors import (
    CircuitOpen,
    DeadlineExceeded,
    OutcomeUnknown,
    OwnerBadResponse,
    OwnerError,
    OwnerHTTPError,
    OwnerNotFound,
    OwnerRateLimited,
    OwnerRejected,
    OwnerTimeout,
    OwnerUnavailable,
    owner_words,
)
from .http import OwnerClient
from .rest import ABSENT, OwnerHealth, RestSource, dig, find

__all__ = [
    "ABSENT",
    "BreakerConfig",
    "Call",
    "CallObserver",
    "CircuitBreaker",
    "CircuitOpen",
    "Deadline",
    "DeadlineExceeded",
    "Endpoint",
    "EntityConfig",
    "ErrorFormat",
    "OutcomeUnknown",
    "OwnerBadResponse",
    "OwnerClient",
    "OwnerError",
    "OwnerHTTPError",
    "OwnerHealth",
    "OwnerNotFound",
    "OwnerRateLimited",
    "OwnerRejected",
    "OwnerTimeout",
    "OwnerUnavailable",
    "Permit",
    "RestSource",
    "RetryBudget",
    "SystemConfig",
    "default_transport",
    "dig",
    "find",
    "open_source",
    "owner_words",
]
