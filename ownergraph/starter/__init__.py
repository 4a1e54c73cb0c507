"""A starter graph from the owners' own descriptions: `ownergraph init --openapi ...`.

Each owner's OpenAPI document becomes one system of a starter ownership map;
its records become the types of a starter SDL, with Query roots over the
entities it can read by key. The pair passes `ownergraph check` and serves,
and is a starting point a company edits: what was guessed is marked TODO in
the map, searches are commented-out lookups, writes are listed as mutation
candidates.

    documents = [read_document("https://billing.internal/openapi.json")]
    starter = make_starter(documents)
    starter.sdl, starter.ownership   # the two files' text
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ._graph import build
from ._openapi import read_owner
from ._render import READER, render_map, render_sdl
from ._source import OwnerDocument, StarterError, read_document

SCHEMA_FILE = "schema.graphql"
OWNERSHIP_FILE = "ownership.yaml"


@dataclass(frozen=True)
class Starter:
    """A starter graph's two files, and what they hold."""

    sdl: str
    ownership: str
    systems: int
    types: int
    roots: int

    @property
    def todos(self) -> int:
        """How many guesses the map marks for a person to check."""
        return self.ownership.count("# TODO:")


def make_starter(documents: Sequence[OwnerDocument]) -> Starter:
    """The starter graph of the owners' `documents`, one system each."""
    names = [document.name for document in documents]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise StarterError(
            f"two documents would be the system {repeated[0]!r}: name them apart with "
            f"--name SYSTEM=SOURCE"
        )
    graph = build([read_owner(document) for document in documents])
    if not graph.roots:
        read = ", ".join(document.source for document in documents)
        raise StarterError(
            f"{read}: no entity to read by key was found: a starter graph needs a "
            "GET /things/{key} answering a record, or a batch read like GET /things?ids=a,b"
        )
    return Starter(
        sdl=render_sdl(graph),
        ownership=render_map(graph),
        systems=len(graph.readings),
        types=len(graph.types),
        roots=len(graph.roots),
    )


def write_starter(starter: Starter, out: Path, *, force: bool = False) -> tuple[Path, Path]:
    """Write the two files into `out`; existing ones only with `force`."""
    schema, ownership = out / SCHEMA_FILE, out / OWNERSHIP_FILE
    existing = [str(path) for path in (schema, ownership) if path.exists()]
    if existing and not force:
        raise StarterError(
            f"{' and '.join(existing)} already exist{'s' if len(existing) == 1 else ''}: "
            "give --force to overwrite, or --out another directory"
        )
    out.mkdir(parents=True, exist_ok=True)
    schema.write_text(starter.sdl, encoding="utf-8")
    ownership.write_text(starter.ownership, encoding="utf-8")
    return schema, ownership


__all__ = [
    "OWNERSHIP_FILE",
    "READER",
    "SCHEMA_FILE",
    "OwnerDocument",
    "Starter",
    "StarterError",
    "make_starter",
    "read_document",
    "write_starter",
]
