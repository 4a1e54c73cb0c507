"""OwnerClient: the requests it builds are the ones httpx would build from the URL string."""

from __future__ import annotations

from urllib.parse import urlencode

import httpx
import pytest

from ownergraph.sources import OwnerClient


def client(base_url: str = "http://127.0.0.1:8101") -> OwnerClient:
    return OwnerClient(
        base_url,
        httpx.MockTransport(lambda request: httpx.Response(200)),
        headers={"Authorization": "Bearer s3cret"},
    )


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/customers", {"ids": "C1,C2,C3"}),
        ("/customers/C%2F1", None),
        ("/search", {"q": "a b&c=d/é", "limit": 5}),
        ("/tickets", {"requester_ids": "C1", "status": "open"}),
    ],
)
def test_urls_equal_what_httpx_parses(path: str, params: dict[str, object] | None) -> None:
    base = "http://127.0.0.1:8101"
    expected = httpx.URL(base + path + ("?" + urlencode(params, safe=",") if params else ""))
    request = client(base).request("GET", path, params=params)
    assert request.url == expected
    assert str(request.url) == str(expected)
    assert request.url.params == expected.params
    assert request.headers["host"] == "127.0.0.1:8101"


def test_a_base_url_with_a_path_keeps_it() -> None:
    request = client("https://crm.example/api/").request("GET", "/customers", params={"ids": "C1"})
    assert str(request.url) == "https://crm.example/api/customers?ids=C1"


def test_fixed_headers_and_a_json_body() -> None:
    request = client().request(
        "POST", "/tickets", json_body={"subject": "é"}, headers={"Idempotency-Key": "k1"}
    )
    assert request.headers["authorization"] == "Bearer s3cret"
    assert request.headers["accept"] == "application/json"
    assert request.headers["idempotency-key"] == "k1"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["user-agent"].startswith("ownergraph")
    assert request.read() == '{"subject":"é"}'.encode()


def test_requests_do_not_share_their_headers() -> None:
    owner = client()
    first = owner.request("POST", "/tickets", json_body={}, headers={"Idempotency-Key": "k1"})
    second = owner.request("GET", "/tickets/T1")
    assert first.headers["idempotency-key"] == "k1"
    assert "idempotency-key" not in second.headers
    assert "content-length" not in second.headers
    assert second.headers["host"] == "127.0.0.1:8101"


async def test_send_reads_the_whole_answer() -> None:
    owner = OwnerClient(
        "http://crm.test", httpx.MockTransport(lambda r: httpx.Response(201, json={"id": "T1"}))
    )
    response, body = await owner.send(owner.request("GET", "/tickets/T1"))
    assert response.status_code == 201
    assert body == b'{"id":"T1"}'
