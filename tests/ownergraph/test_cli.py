from __future__ import annotations

import json
from pathlib import Path

import pytest

from ownergraph.cli import main

ROOT = Path(__file__).resolve().parents[2]


def test_check_reports_the_map(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "--ownership", str(ROOT / "ownership.yaml")]) == 0
    out = capsys.readouterr().out
    assert "ok: 4 systems" in out
    assert "erp" in out and "helpdesk" in out


def test_check_lists_every_problem_and_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "ownership.yaml"
    text = (ROOT / "ownership.yaml").read_text()
    bad.write_text(
        text.replace("owner: helpdesk", "owner: helpdsk").replace("timeout: 1s", "timeout: fast")
    )
    assert main(["check", "--ownership", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "4 problems in the graph" in err
    assert f"{bad}:" in err
    assert "unknown system 'helpdsk' (did you mean 'helpdesk'?)" in err
    assert "defaults.timeout: not a duration: 'fast'" in err


def test_schema_prints_the_committed_sdl(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema", "--ownership", str(ROOT / "ownership.yaml")]) == 0
    assert capsys.readouterr().out == (ROOT / "schema" / "schema.graphql").read_text()


def _openapi_file(tmp_path: Path) -> Path:
    record = {
        "type": "object",
        "properties": {"id": {"type": "string"}, "name": {"type": "string"}},
    }
    reply = {"200": {"description": "ok", "content": {"application/json": {"schema": record}}}}
    parameter = {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}
    document = {
        "openapi": "3.0.3",
        "info": {"title": "Parts Catalogue", "version": "1"},
        "servers": [{"url": "https://parts.example"}],
        "paths": {"/parts/{id}": {"get": {"parameters": [parameter], "responses": reply}}},
    }
    path = tmp_path / "parts.json"
    path.write_text(json.dumps(document))
    return path


def test_init_writes_a_pair_that_passes_the_check(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = _openapi_file(tmp_path)
    out = tmp_path / "graph"
    assert main(["init", "--openapi", str(source), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "1 systems, 1 types, 1 roots" in printed
    assert "parts_catalogue" in printed and "check: ok" in printed
    schema, ownership = out / "schema.graphql", out / "ownership.yaml"
    assert main(["check", "--schema", str(schema), "--ownership", str(ownership)]) == 0
    assert "https://parts.example" in capsys.readouterr().out

    edited = "# edited by hand\n"
    ownership.write_text(edited)
    assert main(["init", "--name", f"parts={source}", "--out", str(out)]) == 1
    assert capsys.readouterr().err == (
        f"{schema} and {ownership} already exist: give --force to overwrite, "
        "or --out another directory\n"
    )
    assert ownership.read_text() == edited
    assert main(["init", "--name", f"parts={source}", "--out", str(out), "--force"]) == 0
    assert "parts:" in ownership.read_text()


def test_init_needs_a_document(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["init", "--out", str(tmp_path)]) == 2
    assert "give each owner's OpenAPI document with --openapi" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["init", "--name", "parts"])
    assert "write --name SYSTEM=SOURCE" in capsys.readouterr().err
    assert main(["init", "--openapi", str(tmp_path / "missing.json")]) == 1
    assert "missing.json: cannot read it" in capsys.readouterr().err
