"""Read a graph's SDL file: every syntax or type error with its file and line, all at once."""

from __future__ import annotations

from pathlib import Path

from graphql import (
    DocumentNode,
    GraphQLError,
    GraphQLSchema,
    GraphQLSyntaxError,
    Node,
    build_ast_schema,
    parse,
    validate_schema,
)
from graphql.language import Source
from graphql.validation.validate import validate_sdl

from ownergraph.ownership import OwnershipError, Problem


def read_sdl(path: str | Path) -> tuple[str, Path]:
    """The text of the SDL file at `path`, or `OwnershipError` saying why it cannot be read."""
    path = Path(path)
    try:
        return path.read_text(encoding="utf-8"), path
    except OSError as error:
        reason = error.strerror or str(error)
        raise OwnershipError([Problem(str(path), 0, f"cannot read the file: {reason}")]) from None


def parse_sdl(text: str, path: Path) -> DocumentNode:
    """The SDL document, or `OwnershipError` naming the line of the syntax error."""
    try:
        return parse(Source(text, str(path)), no_location=False)
    except GraphQLSyntaxError as error:
        line = error.locations[0].line if error.locations else 0
        raise OwnershipError(
            [Problem(str(path), line, f"not valid GraphQL SDL: {error.message}")]
        ) from None


def build_sdl(document: DocumentNode, path: Path) -> GraphQLSchema:
    """The schema the SDL declares, or `OwnershipError` with every type error in it."""
    errors = validate_sdl(document)
    if errors:
        raise OwnershipError(_problems(errors, path))
    schema = build_ast_schema(document, assume_valid_sdl=True)
    errors = validate_schema(schema)
    if errors:
        raise OwnershipError(_problems(errors, path))
    return schema


def line_of(node: Node | None) -> int:
    """The line of `node`'s name in its SDL file (past its description; 0 when unknown)."""
    if node is None:
        return 0
    name = getattr(node, "name", None)
    located = name if isinstance(name, Node) and name.loc is not None else node
    if located.loc is None:
        return 0
    return located.loc.source.get_location(located.loc.start).line


def _problems(errors: list[GraphQLError], path: Path) -> list[Problem]:
    problems = []
    for error in errors:
        line = error.locations[0].line if error.locations else 0
        message = error.message.rstrip(".")
        problems.append(Problem(str(path), line, message))
    return problems
