"""The README's examples are what a live demo answers."""

from __future__ import annotations

import json
import re
import shlex
import shutil
from pathlib import Path
from typing import Any

import pytest

from ownergraph.cli import main

from .conftest import query

ROOT = Path(__file__).resolve().parents[2]


def blocks_after(heading: str) -> list[tuple[str, str]]:
    """The fenced blocks (language, text) of the README section under `heading`."""
    text = (ROOT / "README.md").read_text()
    section = text[text.index(heading) :]
    section = section[: section.find("\n### ", len(heading))]
    return re.findall(r"```(\w+)\n(.*?)```", section, flags=re.S)


def test_the_sample_query_answers_what_the_readme_shows(gateway: str) -> None:
    blocks = blocks_after("### A query and its answer")
    document = next(text for language, text in blocks if language == "graphql")
    shown: dict[str, Any] = json.loads(
        next(text for language, text in blocks if language == "json")
    )
    body = query(gateway, document, key="demo-agent")
    assert "data" in body, body
    assert body["data"] == shown["data"]

    # Timings and timestamps change with every request; who was asked, how, does not.
    def asked(owners: dict[str, Any]) -> dict[str, Any]:
        return {
            name: {k: v for k, v in report.items() if k not in ("ms", "fetchedAt")}
            for name, report in owners.items()
        }

    assert asked(body["extensions"]["owners"]) == asked(shown["extensions"]["owners"])


QUOTED = re.compile(r"<!-- from (?P<path>[^ ]+) -->\n```\w*\n(?P<text>.*?)```", re.S)


def test_every_excerpt_the_readme_quotes_is_in_its_file() -> None:
    readme = (ROOT / "README.md").read_text()
    excerpts = list(QUOTED.finditer(readme))
    assert len(excerpts) >= 8
    for excerpt in excerpts:
        source = (ROOT / excerpt["path"]).read_text()
        assert excerpt["text"] in source, (
            f"README quotes {excerpt['path']} wrongly:\n{excerpt['text']}"
        )


def test_the_readmes_check_example_is_what_check_says(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    readme = (ROOT / "README.md").read_text()
    marker = "<!-- run in tests/graphs/utility with the map's tariff: written tarif: -->\n```\n"
    block = readme[readme.index(marker) + len(marker) :]
    command, *expected = block[: block.index("```")].splitlines()
    graph = ROOT / "tests" / "graphs" / "utility"
    shutil.copy(graph / "schema.graphql", tmp_path / "schema.graphql")
    text = (graph / "ownership.yaml").read_text()
    (tmp_path / "ownership.yaml").write_text(
        text.replace("      tariff:    {owner: contracts", "      tarif:     {owner: contracts")
    )
    monkeypatch.chdir(tmp_path)
    assert command.startswith("$ ownergraph ")
    assert main(shlex.split(command)[2:]) == 1
    assert capsys.readouterr().err.splitlines() == expected


def test_the_readmes_problems_example_is_what_check_says(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    readme = (ROOT / "README.md").read_text()
    marker = (
        "<!-- run with the shipped map's timeout: 1s written fast and owner: helpdesk written "
        "helpdsk -->\n```\n"
    )
    block = readme[readme.index(marker) + len(marker) :]
    expected = block[: block.index("```")].splitlines()
    text = (ROOT / "ownership.yaml").read_text()
    (tmp_path / "ownership.yaml").write_text(
        text.replace("timeout: 1s", "timeout: fast").replace("owner: helpdesk", "owner: helpdsk")
    )
    monkeypatch.chdir(tmp_path)
    assert main(["check", "--ownership", "ownership.yaml"]) == 1
    assert capsys.readouterr().err.splitlines() == expected
