"""ownergraph: a GraphQL API over customer data that reads every field from its owner."""

from __future__ import annotations

from .app import create_app
from .settings import Settings, SettingsError

__all__ = ["Settings", "SettingsError", "create_app"]
