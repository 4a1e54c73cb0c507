"""Fixtures shared by the whole suite: the demo owners' data, seeded once per run."""

from __future__ import annotations

from pathlib import Path

import pytest

from ownergraph.demo import ensure_seeded

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def demo_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data dir with the demo owners' databases, seeded for this test run."""
    data_dir = tmp_path_factory.mktemp("demo-data")
    ensure_seeded(data_dir)
    return data_dir
