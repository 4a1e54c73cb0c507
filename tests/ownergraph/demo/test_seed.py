"""Seeding: deterministic, atomic, safe to race, regenerated when the generator changes."""

from __future__ import annotations

import contextlib
import hashlib
import shutil
import sqlite3
import threading
from pathlib import Path

import pytest

from ownergraph.demo import SYSTEMS, default_data_dir, ensure_seeded
from ownergraph.demo.seed import SEED_VERSION, db_path


def _digest(path: Path) -> dict[str, str]:
    """A hash of every row of every table, in rowid order."""
    digests: dict[str, str] = {}
    with contextlib.closing(sqlite3.connect(path)) as conn:
        tables = [
            row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        ]
        for table in sorted(tables):
            digest = hashlib.sha256()
            for row in conn.execute(f"SELECT * FROM {table} ORDER BY rowid"):
                digest.update(repr(row).encode())
            digests[table] = digest.hexdigest()
    return digests


def _user_version(path: Path) -> int:
    with contextlib.closing(sqlite3.connect(path)) as conn:
        version: int = conn.execute("PRAGMA user_version").fetchone()[0]
    return version


@pytest.fixture(scope="module")
def raced_dir(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Exception]]:
    """A second data dir, seeded by two threads at once, as two processes starting together."""
    directory = tmp_path_factory.mktemp("raced")
    errors: list[Exception] = []

    def seed() -> None:
        try:
            ensure_seeded(directory)
        except Exception as exc:  # a thread's exception would be lost; the test reports it
            errors.append(exc)

    threads = [threading.Thread(target=seed) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return directory, errors


@pytest.fixture(scope="module")
def regenerated(
    raced_dir: tuple[Path, list[Exception]], tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, Path]:
    """A data dir with stale, missing and half-written files and a stale log, after
    ``ensure_seeded``.

    Built from copies of ``raced_dir``, never from the suite's shared data dir: the owners
    write to that one (and add tables of their own), so it is not a pristine seed.
    Returns the directory and the junk file a crashed run had left in it.
    """
    source, _errors = raced_dir
    directory = tmp_path_factory.mktemp("regenerated")
    for system in ("crm", "erp", "helpdesk"):
        shutil.copy(db_path(source, system), db_path(directory, system))
    # crm comes from an older generator; contactcenter is missing; a crashed run left junk.
    with contextlib.closing(sqlite3.connect(db_path(directory, "crm"))) as conn:
        conn.execute("DELETE FROM customers WHERE id = 'C00001'")
        conn.execute(f"PRAGMA user_version = {SEED_VERSION - 1}")
        conn.commit()
    leftover = directory / ".crm.sqlite3.999.tmp"
    leftover.write_bytes(b"half a database")
    # An owner that crashed left its write-ahead log: it belongs to the file being replaced.
    (directory / "crm.sqlite3-wal").write_bytes(b"a stale log")
    ensure_seeded(directory)
    return directory, leftover


def test_seeding_twice_gives_identical_data(
    raced_dir: tuple[Path, list[Exception]], regenerated: tuple[Path, Path]
) -> None:
    # Two separate generations (the racing seeders' and the regeneration's) agree.
    first, _errors = raced_dir
    second, _leftover = regenerated
    for system in SYSTEMS:
        assert _digest(db_path(second, system)) == _digest(db_path(first, system)), system


def test_racing_seeders_both_succeed_and_leave_no_temp_files(
    raced_dir: tuple[Path, list[Exception]],
) -> None:
    directory, errors = raced_dir
    assert errors == []
    names = sorted(path.name for path in directory.iterdir() if not path.name.startswith("."))
    assert names == sorted(f"{system}.sqlite3" for system in SYSTEMS)
    assert [path.name for path in directory.glob("*.tmp")] == []
    assert [path.name for path in directory.glob(".*.tmp")] == []


def test_current_data_is_not_regenerated(data_dir: Path) -> None:
    before = {system: db_path(data_dir, system).stat().st_mtime_ns for system in SYSTEMS}
    ensure_seeded(data_dir)
    after = {system: db_path(data_dir, system).stat().st_mtime_ns for system in SYSTEMS}
    assert after == before
    assert all(_user_version(db_path(data_dir, system)) == SEED_VERSION for system in SYSTEMS)


def test_stale_or_missing_files_are_regenerated(regenerated: tuple[Path, Path]) -> None:
    directory, leftover = regenerated
    assert not leftover.exists()
    assert not (directory / "crm.sqlite3-wal").exists()
    for system in SYSTEMS:
        assert _user_version(db_path(directory, system)) == SEED_VERSION
    with contextlib.closing(sqlite3.connect(db_path(directory, "crm"))) as conn:
        assert conn.execute("SELECT COUNT(*) FROM customers WHERE id = 'C00001'").fetchone() == (1,)


def test_default_data_dir_honours_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("OWNERGRAPH_DEMO_DATA", str(tmp_path / "here"))
    assert default_data_dir() == tmp_path / "here"
    monkeypatch.delenv("OWNERGRAPH_DEMO_DATA")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert default_data_dir() == tmp_path / ".cache" / "ownergraph" / "demo"


def test_db_path_rejects_unknown_systems(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown demo system 'billing'"):
        db_path(tmp_path, "billing")
