"""ownergraph: a GraphQL API over a company's data that reads every field from its owner.

`create_app(settings)` builds the service over a graph's two files (an SDL
file and its ownership map); the packages below it are `ownergraph.sources`
(owner clients), `ownergraph.ownership` (the map), `ownergraph.resolvers`
and `ownergraph.schema`. Importing this package imports none of the service:
`create_app` and `Settings` load on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .app import create_app
    from .settings import Settings, SettingsError

__all__ = ["Settings", "SettingsError", "create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from .app import create_app

        return create_app
    if name in ("Settings", "SettingsError"):
        from . import settings

        return getattr(settings, name)
    raise AttributeError(f"module 'ownergraph' has no attribute {name!r}")
