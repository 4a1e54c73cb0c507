"""The built wheel: one top-level import name, safe beside any other distribution."""

from __future__ import annotations

import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(out), str(ROOT)],
        check=True,
    )
    [built] = out.glob("ownergraph-*.whl")
    return built


def test_the_wheel_installs_ownergraph_alone_at_the_top(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        tops = {name.split("/", 1)[0] for name in archive.namelist()}
        names = archive.namelist()
    assert {top for top in tops if not top.endswith(".dist-info")} == {"ownergraph"}
    # The repository's top-level folders are inside it, under ownergraph.
    for package in ("schema", "resolvers", "sources"):
        assert f"ownergraph/{package}/__init__.py" in names


def test_ownergraph_check_runs_beside_pypis_schema(wheel: Path, tmp_path: Path) -> None:
    """PyPI's `schema` owns the top-level name `schema`; it must not shadow ours."""
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    subprocess.run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            str(wheel),
            "schema==0.7.8",
        ],
        check=True,
    )
    # PyPI's schema really is there, under the name ours used to have.
    probe = subprocess.run(
        [str(python), "-c", "import schema; print(schema.__version__)"],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
    )
    assert probe.stdout.strip() == "0.7.8"
    result = subprocess.run(
        [str(env_dir / "bin" / "ownergraph"), "check", "--ownership", str(ROOT / "ownership.yaml")],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert ": ok:" in result.stdout
    # The shipped graph's two files are installed with the package: no arguments needed.
    shipped = subprocess.run(
        [str(env_dir / "bin" / "ownergraph"), "check"], capture_output=True, text=True, cwd=tmp_path
    )
    assert shipped.returncode == 0, shipped.stderr
    assert "customers.graphql + " in shipped.stdout and ": ok:" in shipped.stdout
