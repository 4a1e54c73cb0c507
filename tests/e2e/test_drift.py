"""`ownergraph check --live` against the running demo owners' published OpenAPI."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import pytest

from ownergraph.cli import main

from ..proxy import proxy_thread

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def live_owners(owners: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    for name, url in owners.items():
        monkeypatch.setenv(f"OWNERGRAPH_{name.upper()}_URL", url)


@pytest.mark.usefixtures("live_owners")
def test_the_shipped_map_matches_what_the_owners_publish(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["check", "--live", "--ownership", str(ROOT / "ownership.yaml")]) == 0
    assert "every mapped endpoint and field is published (4 owners)" in capsys.readouterr().out


@pytest.mark.usefixtures("live_owners")
def test_a_broken_mapping_is_flagged_in_a_table(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = (ROOT / "ownership.yaml").read_text()
    text = text.replace("from: display_name,", "from: display_nam,")
    text = text.replace("      blocked:     {}", "      blocked:     {from: currency}")
    text = text.replace("{get: /invoices, param:", "{get: /invoice, param:")
    broken = tmp_path / "ownership.yaml"
    broken.write_text(text)
    assert main(["check", "--live", "--ownership", str(broken)]) == 1
    out = capsys.readouterr().out
    assert "3 mapping(s) drifted" in out
    rows = [line.split() for line in out.splitlines() if line.startswith("  ")]
    assert ["erp", "entity", "invoices", "GET", "/invoice", "the", "endpoint", "is", "gone"] in rows
    assert any(r[:3] == ["crm", "Customer.displayName", "display_nam"] for r in rows)
    assert any(r[:2] == ["erp", "CreditStatus.blocked"] and "changed" in r for r in rows)


def test_an_owner_that_publishes_nothing_is_reported(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from .conftest import free_ports

    for name in ("crm", "erp", "helpdesk", "contactcenter"):
        monkeypatch.setenv(f"OWNERGRAPH_{name.upper()}_URL", f"http://127.0.0.1:{free_ports(1)}")
    assert main(["check", "--live", "--ownership", str(ROOT / "ownership.yaml")]) == 1
    assert "not published or not reachable" in capsys.readouterr().out


def typo_map(tmp_path: Path) -> Path:
    text = (ROOT / "ownership.yaml").read_text()
    text = text.replace("from: display_name,", "from: display_nam,")
    text = text.replace("dueDate:  {from: due_on}", "dueDate:  {from: due_onn}")
    broken = tmp_path / "ownership.yaml"
    broken.write_text(text)
    return broken


def rows_of(out: str) -> list[list[str]]:
    return [line.split() for line in out.splitlines() if line.startswith("  ")]


@pytest.mark.usefixtures("live_owners")
def test_a_sample_record_shows_the_paths_it_lacks(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        main(["check", "--live", "--sample", "C00013", "--ownership", str(typo_map(tmp_path))]) == 1
    )
    rows = rows_of(capsys.readouterr().out)
    absent = [row for row in rows if row[-5:-1] == ["from", "the", "record", "of"]]
    assert [
        "crm",
        "Customer.displayName",
        "display_nam",
        "absent",
        "from",
        "the",
        "record",
        "of",
        "C00013",
    ] in absent
    # Through the crosswalk: the ERP's invoices of C00013's erpCode.
    assert [
        "erp",
        "Invoice.dueDate",
        "due_onn",
        "absent",
        "from",
        "the",
        "record",
        "of",
        "C00013",
    ] in absent


def test_an_owner_that_publishes_no_openapi_is_checked_by_its_records(
    owners: dict[str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    crm = urlsplit(owners["crm"])
    with proxy_thread(
        (crm.hostname or "127.0.0.1", crm.port or 80), frozenset({"/openapi.json"})
    ) as url:
        for name, owner_url in owners.items():
            monkeypatch.setenv(
                f"OWNERGRAPH_{name.upper()}_URL", url if name == "crm" else owner_url
            )
        shipped = [
            "check",
            "--live",
            "--sample",
            "C00013",
            "--ownership",
            str(ROOT / "ownership.yaml"),
        ]
        assert main(shipped) == 0
        out = capsys.readouterr().out
        assert "crm publishes no OpenAPI: checked against its records of C00013" in out
        assert (
            main(["check", "--live", "--sample", "C00013", "--ownership", str(typo_map(tmp_path))])
            == 1
        )
        rows = rows_of(capsys.readouterr().out)
    assert [
        "crm",
        "Customer.displayName",
        "display_nam",
        "absent",
        "from",
        "the",
        "record",
        "of",
        "C00013",
    ] in rows
    # Without the sample, an unpublished OpenAPI is all there is to say.
    assert not any(r[:2] == ["crm", "/openapi.json"] for r in rows)


def test_sample_needs_live(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "--sample", "C00013", "--ownership", str(ROOT / "ownership.yaml")]) == 2
    assert "give --live too" in capsys.readouterr().err
