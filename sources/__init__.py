"""Clients for the owning systems: one pooled client per system, no GraphQL here."""

from __future__ import annotations

from .breaker import BreakerConfig, CircuitBreaker, Permit
from .budget import RetryBudget
from .calls import Call, CallObserver
from .client import open_source, owner_http
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
from .http import (
    ConnectFailed,
    ConnectionBroke,
    OwnerHTTP,
    OwnerRequest,
    OwnerResponse,
    PooledHTTP,
    TransportHTTP,
)
from .rest import ABSENT, OwnerHealth, RestSource, dig, find

__all__ = [
    "ABSENT",
    "BreakerConfig",
    "Call",
    "CallObserver",
    "CircuitBreaker",
    "CircuitOpen",
    "ConnectFailed",
    "ConnectionBroke",
    "Deadline",
    "DeadlineExceeded",
    "Endpoint",
    "EntityConfig",
    "ErrorFormat",
    "OutcomeUnknown",
    "OwnerBadResponse",
    "OwnerError",
    "OwnerHTTP",
    "OwnerHTTPError",
    "OwnerHealth",
    "OwnerNotFound",
    "OwnerRateLimited",
    "OwnerRejected",
    "OwnerRequest",
    "OwnerResponse",
    "OwnerTimeout",
    "OwnerUnavailable",
    "Permit",
    "PooledHTTP",
    "RestSource",
    "RetryBudget",
    "SystemConfig",
    "TransportHTTP",
    "dig",
    "find",
    "open_source",
    "owner_http",
    "owner_words",
]
