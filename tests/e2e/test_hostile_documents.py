"""A small hostile document is refused at once, and the process keeps serving meanwhile."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx

from ..documents import fan_out

# Generous: each answer takes milliseconds; before the walks were linear, one
# of these documents held the event loop for minutes.
PATIENCE_SECONDS = 30


def send(url: str, document: str, key: str | None) -> httpx.Response:
    headers = {"Accept": "application/graphql-response+json"}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    return httpx.post(
        f"{url}/graphql", json={"query": document}, headers=headers, timeout=PATIENCE_SECONDS
    )


def test_healthz_answers_while_fan_outs_of_fragments_are_refused(gateway: str) -> None:
    cases = [(2, None), (3, None), (2, "demo-agent"), (3, "demo-agent")]
    # A comment makes each text new to the validation cache, as an attacker would.
    documents = [(fan_out(30, spreads) + f"\n# {n}", key) for n, (spreads, key) in enumerate(cases)]
    with ThreadPoolExecutor(len(documents)) as pool:
        sent = [pool.submit(send, gateway, document, key) for document, key in documents]
        health = [httpx.get(f"{gateway}/healthz", timeout=PATIENCE_SECONDS) for _ in range(5)]
        answers = [future.result() for future in sent]
    assert [response.status_code for response in health] == [200] * 5
    for response in answers:
        assert response.status_code == 400, response.text
        [error] = response.json()["errors"]
        assert error["extensions"]["code"] == "BAD_USER_INPUT"
        assert error["extensions"]["limit"] == "cost"
