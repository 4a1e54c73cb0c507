"""The GraphQL-over-HTTP reference audits (npm's `graphql-http`) against the real gateway.

`graphql_http_audit/audit.mjs` runs every server audit the package exports
over loopback HTTP, as an anonymous client. With introspection and GET
queries on, all of them pass; in the production posture exactly those that
need one or the other fail, and the README lists them.

Node runs them: `make test` installs the package with `npm ci` from the
committed lock file. Set OWNERGRAPH_SKIP_NODE=1 to skip these tests on a
machine without Node; without that, a missing Node is a failure, so CI never
passes without having run them.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from .conftest import gateway_process

ROOT = Path(__file__).resolve().parents[2]
AUDIT_DIR = ROOT / "tests" / "e2e" / "graphql_http_audit"
SKIP = "OWNERGRAPH_SKIP_NODE"
NODE_SECONDS = 120

# What the production posture fails on purpose, and why; README.md lists the same.
PRODUCTION_FAILS = {
    "2EA1": "SHOULD allow map {variables} (graphql-response+json): reads __type",
    "28B9": "MUST allow map {variables} (application/json): reads __type",
    "5A70": "MAY accept GET requests: GET",
    "D6D5": "MAY allow {variables} in GETs (graphql-response+json): GET, reads __type",
    "6A70": "MAY allow {variables} in GETs (application/json): GET, reads __type",
}
OPEN = {"OWNERGRAPH_INTROSPECTION": "true", "OWNERGRAPH_ALLOW_GET": "true"}
PRODUCTION = {
    "OWNERGRAPH_INTROSPECTION": "false",
    "OWNERGRAPH_ALLOW_GET": "false",
    "OWNERGRAPH_GRAPHIQL": "false",
}


# Session-wide, so that a skip comes before the owners are started for nothing.
@pytest.fixture(scope="session")
def node() -> str:
    """The node binary, with the audit package installed beside the script."""
    if os.environ.get(SKIP) == "1":
        pytest.skip(f"{SKIP}=1: the graphql-http audits are skipped")
    found = shutil.which("node")
    if found is None:
        pytest.fail(f"no node on PATH: install Node 18 or later, or set {SKIP}=1 to skip.")
    if not (AUDIT_DIR / "node_modules" / "graphql-http").is_dir():
        pytest.fail(
            f"graphql-http is not installed in {AUDIT_DIR.relative_to(ROOT)}/: run `make test`, "
            f"which runs `npm ci` there, or set {SKIP}=1 to skip."
        )
    return found


def run_audits(node: str, url: str) -> list[dict[str, Any]]:
    done = subprocess.run(
        [node, "audit.mjs", f"{url}/graphql"],
        cwd=AUDIT_DIR,
        capture_output=True,
        text=True,
        timeout=NODE_SECONDS,
        check=False,
    )
    assert done.returncode == 0, f"audit.mjs exited with {done.returncode}:\n{done.stderr}"
    results: list[dict[str, Any]] = json.loads(done.stdout)
    return results


def failures(results: list[dict[str, Any]]) -> dict[str, str]:
    """Each audit that did not pass, by id: its status, name and reason."""
    return {
        result["id"]: (
            f"{result['id']} {result['status']}: {result['name']}: {result.get('reason')}"
            f" (HTTP {result.get('httpStatus')})"
        )
        for result in results
        if result["status"] != "ok"
    }


def test_every_audit_passes_with_introspection_and_get(node: str, owners: dict[str, str]) -> None:
    with gateway_process(owners, OPEN) as url:
        results = run_audits(node, url)
    failed = failures(results)
    assert not failed, "\n".join(failed.values())
    assert len(results) >= 61, f"only {len(results)} audits ran"


def test_the_production_posture_fails_only_what_needs_introspection_or_get(
    node: str, owners: dict[str, str]
) -> None:
    with gateway_process(owners, PRODUCTION) as url:
        failed = failures(run_audits(node, url))
    expected = PRODUCTION_FAILS.keys()
    unexpected = [failed[id_] for id_ in sorted(failed.keys() - expected)]
    passing = sorted(expected - failed.keys())
    assert not unexpected and not passing, (
        "failed unexpectedly:\n" + "\n".join(unexpected) + f"\npassed, though listed: {passing}"
    )


def test_the_readme_lists_what_the_production_posture_fails() -> None:
    readme = (ROOT / "README.md").read_text()
    listed = set(re.findall(r"^\| ([0-9A-Z]{4}) \|", readme, re.MULTILINE))
    assert listed == PRODUCTION_FAILS.keys()
