"""The map's JSON Schema: committed for editors, and true to what the loader accepts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest
import yaml

from ownergraph.cli import main
from ownergraph.ownership import json_schema

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = ROOT / "ownergraph" / "ownership" / "ownership.schema.json"
MAPS = [ROOT / "ownership.yaml", ROOT / "tests" / "graphs" / "utility" / "ownership.yaml"]


def test_the_committed_schema_is_the_models(capsys: pytest.CaptureFixture[str]) -> None:
    assert json.loads(COMMITTED.read_text()) == json_schema(), (
        "ownergraph/ownership/ownership.schema.json is out of date: run `make schema`"
    )
    assert main(["schema", "--json-schema"]) == 0
    assert json.loads(capsys.readouterr().out) == json_schema()


def test_the_shipped_map_names_its_schema_for_editors() -> None:
    first = (ROOT / "ownership.yaml").read_text().splitlines()[0]
    assert first == "# yaml-language-server: $schema=ownergraph/ownership/ownership.schema.json"


@pytest.mark.parametrize("path", MAPS, ids=lambda p: p.parent.name)
def test_every_map_of_the_repository_is_valid_by_the_schema(path: Path) -> None:
    validator = jsonschema_rs.validator_for(json_schema())
    document: Any = yaml.safe_load(path.read_text())
    errors = [str(error) for error in validator.iter_errors(document)]
    assert errors == []


@pytest.mark.parametrize(
    ("change", "wrong"),
    [
        (("timeout: 1s", "timeout: fast"), "defaults.timeout"),
        (("records: customers           # the", "recrods: customers           # the"), "recrods"),
        (("normalise: e164", "normalise: e165"), "normalise"),
    ],
)
def test_the_schema_refuses_what_the_loader_refuses(change: tuple[str, str], wrong: str) -> None:
    text = (ROOT / "ownership.yaml").read_text().replace(*change)
    validator = jsonschema_rs.validator_for(json_schema())
    assert not validator.is_valid(yaml.safe_load(text)), wrong
