"""Running an operation: parsed and validated once per text, refused every time if bad."""

from __future__ import annotations

from typing import Any

import pytest
from graphql import GraphQLError

from ownergraph import execution
from ownergraph.execution import Executor

from ..conftest import shipped_graph


async def test_a_text_is_validated_once_and_a_bad_one_refused_every_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[str] = []
    validate = execution.validate

    def counting(schema: Any, document: Any, rules: Any) -> list[GraphQLError]:
        calls.append("validate")
        return validate(schema, document, rules)

    monkeypatch.setattr(execution, "validate", counting)
    executor = Executor(shipped_graph().schema)
    good = "{ __typename }"
    bad = "{ nope }"
    for _ in range(3):
        _, answer = await executor.run(good, None, None, None)
        assert answer["data"] == {"__typename": "Query"}
        _, refused = await executor.run(bad, None, None, None)
        assert "data" not in refused
        assert refused["errors"][0]["message"].startswith("Cannot query field 'nope'")
    assert calls == ["validate", "validate"]
    # Another executor keeps its own results.
    other = Executor(shipped_graph().schema)
    await other.run(good, None, None, None)
    assert len(calls) == 3


async def test_an_unexpected_error_is_masked_and_a_clients_error_kept() -> None:
    graph = shipped_graph()
    query = graph.schema.query_type
    assert query is not None

    async def explode(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("secret internal detail at db-7.internal")

    query.fields["customer"].resolve = explode
    _, answer = await Executor(graph.schema).run(
        '{ customer(id: "C00001") { id } }', None, None, None
    )
    [error] = answer["errors"]
    assert error == {
        "message": "Unexpected error.",
        "locations": [{"line": 1, "column": 3}],
        "path": ["customer"],
        "extensions": {"code": "INTERNAL_SERVER_ERROR"},
    }


async def test_several_operations_need_a_name() -> None:
    executor = Executor(shipped_graph().schema)
    document = "query A { __typename } query B { __typename }"
    _, unnamed = await executor.run(document, None, None, None)
    assert "Cannot tell which operation to run" in unnamed["errors"][0]["message"]
    _, named = await executor.run(document, None, "B", None)
    assert named["data"] == {"__typename": "Query"}
    _, unknown = await executor.run(document, None, "C", None)
    assert unknown["errors"][0]["message"] == "Unknown operation named 'C'."
