"""Demo owner systems: a CRM, an ERP, a helpdesk and a contact center as real HTTP services.

Each keeps its own SQLite file of deterministic seed data and its own key and format
conventions, standing in for the systems a company already has; the gateway maps them.
"""

from __future__ import annotations

from ownergraph.demo.owners import create_owner_app
from ownergraph.demo.runner import OwnerPortError, serve_owners
from ownergraph.demo.seed import SYSTEMS, default_data_dir, ensure_seeded

__all__ = [
    "SYSTEMS",
    "OwnerPortError",
    "create_owner_app",
    "default_data_dir",
    "ensure_seeded",
    "serve_owners",
]
