from __future__ import annotations

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
