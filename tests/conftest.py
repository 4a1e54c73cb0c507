"""Fixtures shared by the whole suite: the demo owners' data, seeded once per run."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ownergraph.demo import ensure_seeded

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Two data dirs with the demo owners' databases, seeded once for this test run."""
    data_dir = tmp_path_factory.mktemp("demo-data")
    ensure_seeded(data_dir)
    pristine = tmp_path_factory.mktemp("demo-data-pristine")
    for database in data_dir.iterdir():
        shutil.copy2(database, pristine / database.name)
    return data_dir, pristine


@pytest.fixture(scope="session")
def demo_data(seeded: tuple[Path, Path]) -> Path:
    """The demo owners' databases that the suite's writes go to."""
    return seeded[0]


@pytest.fixture(scope="session")
def pristine_data(seeded: tuple[Path, Path]) -> Path:
    """The same databases as seeded, that no test writes to: for checks of the seed itself."""
    return seeded[1]
