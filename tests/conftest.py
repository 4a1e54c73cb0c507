"""Fixtures shared by the whole suite: the demo owners' data, seeded once per run."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from ownergraph.demo import ensure_seeded
from ownergraph.ownership import Ownership, load_ownership
from ownergraph.schema import Graph, load_graph

ROOT = Path(__file__).resolve().parents[1]

# Every query of the suite runs compiled and again through graphql-core's
# executor over the same loads, and any difference fails it: the gateways the
# tests start as processes inherit the setting.
os.environ.setdefault("OWNERGRAPH_EXECUTION", "differential")


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


SHIPPED_SDL = ROOT / "schema" / "customers.graphql"
"""The shipped graph's SDL file."""
SHIPPED_MAP = ROOT / "ownership.yaml"
"""The shipped graph's ownership map."""


def shipped_graph(ownership: Ownership | None = None) -> Graph:
    """The shipped graph: its SDL, with the shipped map or `ownership`."""
    return load_graph(SHIPPED_SDL, ownership or load_ownership(SHIPPED_MAP))


def sample_query() -> str:
    """The query GraphiQL opens with in the demo (the map's `sample:`)."""
    sample = load_ownership(SHIPPED_MAP).sample
    assert sample is not None
    return sample
