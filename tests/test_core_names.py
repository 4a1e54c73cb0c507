"""The core is a framework over any graph: it names nothing of the shipped demo graph.

A name of the demo graph in a core module means a declaration is missing
from the map. The demo owners, the shipped graph's files, the docs and the
tests may name them; nothing else may.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORE = ("ownergraph", "schema", "resolvers", "sources")
# Beside the core, in its folders, and free to name the demo graph.
NOT_CORE = ("ownergraph/demo/", "ownergraph/static/")
DEMO_NAMES = re.compile(r"\bCustomer\b|\bcrm\b|\berp\b|erpCode|customerByPhone|C00013|[\"']IT[\"']")


def core_files() -> list[Path]:
    files: list[Path] = []
    for package in CORE:
        for path in sorted((ROOT / package).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            # ownergraph/ links schema/, resolvers/ and sources/: read each once.
            if relative.startswith(("ownergraph/schema/", "ownergraph/resolvers/")):
                continue
            if relative.startswith("ownergraph/sources/") or relative.startswith(NOT_CORE):
                continue
            files.append(path)
    return files


def test_the_core_names_nothing_of_the_demo_graph() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in core_files()
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if DEMO_NAMES.search(line)
    ]
    assert not found, "demo names in the core:\n" + "\n".join(found)


def test_the_check_reads_the_core() -> None:
    names = {path.relative_to(ROOT).as_posix() for path in core_files()}
    for expected in (
        "ownergraph/app.py",
        "ownergraph/ownership/_build.py",
        "schema/build.py",
        "resolvers/roots.py",
        "sources/rest.py",
    ):
        assert expected in names
