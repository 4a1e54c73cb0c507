"""Building owner apps by name."""

from __future__ import annotations

from pathlib import Path

import pytest

from ownergraph.demo import SYSTEMS, create_owner_app


def test_systems_in_port_order() -> None:
    assert SYSTEMS == ("crm", "erp", "helpdesk", "contactcenter")


def test_unknown_system_is_refused(data_dir: Path) -> None:
    with pytest.raises(ValueError, match="unknown demo system 'billing'; expected one of crm"):
        create_owner_app("billing", data_dir)


def test_unseeded_dir_fails_at_creation(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"crm\.sqlite3.*run ensure_seeded\(\)"):
        create_owner_app("crm", tmp_path)


def test_negative_latency_fails_at_creation(data_dir: Path) -> None:
    with pytest.raises(ValueError, match="latency_ms must be zero or positive, got -5"):
        create_owner_app("helpdesk", data_dir, latency_ms=-5)
