"""The README's examples are what a live demo answers."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

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
