"""The built schema: documents are validated once per text, and still refused every time."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ownergraph.schema import build as schema_build
from ownergraph.schema import build_graph, load_ownership

ROOT = Path(__file__).resolve().parents[2]


async def test_a_text_is_validated_once_and_a_bad_one_refused_every_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[Any] = []
    validate = schema_build.validate_document

    def counting(*args: Any) -> Any:
        calls.append(args)
        return validate(*args)

    monkeypatch.setattr(schema_build, "validate_document", counting)
    graph = build_graph(load_ownership(ROOT / "ownership.yaml"))
    good = "{ __typename }"
    bad = "{ customer(id: 1) { nope } }"
    for _ in range(3):
        assert (await graph.schema.execute(good)).errors is None
        result = await graph.schema.execute(bad)
        assert result.errors and "nope" in result.errors[0].message
    assert len(calls) == 2  # one per text, however often it comes back
    # Another schema keeps its own results.
    other = build_graph(load_ownership(ROOT / "ownership.yaml"))
    assert (await other.schema.execute(good)).errors is None
    assert len(calls) == 3
