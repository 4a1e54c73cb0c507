"""`ownergraph serve --workers N`: N processes behind one port, each serving the graph."""

from __future__ import annotations

from .conftest import gateway_process, query


def test_workers_serve_the_graph(owners: dict[str, str]) -> None:
    with gateway_process(owners, workers=2) as api:
        for _ in range(6):
            body = query(api, 'query Screen { customer(id: "C00002") { displayName } }')
            assert body["data"]["customer"]["displayName"]
