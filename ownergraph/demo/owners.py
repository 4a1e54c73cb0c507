"""Builds any of the demo owner systems by name, over its file in a seeded data dir."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from starlette.applications import Starlette

from ownergraph.demo import contactcenter, crm, erp, helpdesk
from ownergraph.demo.seed import SYSTEMS, db_path

__all__ = ["create_owner_app"]


class _AppFactory(Protocol):
    def __call__(self, db_path: Path, *, latency_ms: int = 0) -> Starlette: ...


_FACTORIES: dict[str, _AppFactory] = {
    "crm": crm.create_app,
    "erp": erp.create_app,
    "helpdesk": helpdesk.create_app,
    "contactcenter": contactcenter.create_app,
}


def create_owner_app(system: str, data_dir: Path, *, latency_ms: int = 0) -> Starlette:
    """The ASGI app of demo owner ``system`` (one of ``SYSTEMS``) over ``data_dir``.

    ``data_dir`` must already be seeded (see ``ensure_seeded``); the app fails at creation,
    not at its first request, if its database is missing.
    """
    if system not in _FACTORIES:
        raise ValueError(f"unknown demo system {system!r}; expected one of {', '.join(SYSTEMS)}")
    return _FACTORIES[system](db_path(data_dir, system), latency_ms=latency_ms)
