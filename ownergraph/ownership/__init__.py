"""The ownership model: load `ownership.yaml`, check it, and say exactly what is wrong.

The map says, for every field of a graph, which system owns it and where the
value lives in that system's records. It is declared once, as models
(`_spec`), from which both its checks and its JSON Schema come. Loading
never stops at the first problem: every problem is collected, each with the
file, the line, the bad value and, where one is close, a suggestion, and
they are raised together as one `OwnershipError`.

This package sits at the bottom of the house, above only `sources` (whose
system configurations it builds): the schema builder and the resolvers both
read the model it makes.
"""

from __future__ import annotations

import re
import types
import typing
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from ._build import Builder
from ._model import (
    ArgMapping,
    ComposedField,
    FieldOwnership,
    InputMapping,
    Lookup,
    LookupOwner,
    MutationOwnership,
    Ownership,
    ResultMapping,
    RootField,
    Scalar,
    TypeKind,
    TypeOwnership,
)
from ._problems import OwnershipError, Problem, suggest
from ._spec import (
    COMPOSED_PARTS,
    DATA_CLASSES,
    FORMATS,
    INPUT_FORMATS,
    NORMALISERS,
    SCALAR_KINDS,
    OwnershipSpec,
    json_schema,
    parse_duration,
)
from ._yaml import LineMap, YAMLSyntaxError, line_of, load

__all__ = [
    "COMPOSED_PARTS",
    "DATA_CLASSES",
    "FORMATS",
    "INPUT_FORMATS",
    "NORMALISERS",
    "SCALAR_KINDS",
    "ArgMapping",
    "ComposedField",
    "FieldOwnership",
    "InputMapping",
    "Lookup",
    "LookupOwner",
    "MutationOwnership",
    "Ownership",
    "OwnershipError",
    "Problem",
    "ResultMapping",
    "RootField",
    "Scalar",
    "TypeKind",
    "TypeOwnership",
    "json_schema",
    "load_ownership",
    "parse_duration",
    "parse_ownership",
    "read_ownership",
    "suggest",
]


def load_ownership(path: str | Path, env: Mapping[str, str] | None = None) -> Ownership:
    """Load and check the ownership map at `path`.

    `env` supplies `OWNERGRAPH_<SYSTEM>_URL` overrides and credentials; it is
    passed in (not read here) so that settings are read in one place.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        reason = error.strerror or str(error)
        raise OwnershipError([Problem(str(path), 0, f"cannot read the file: {reason}")]) from None
    return parse_ownership(text, path, env or {})


def parse_ownership(text: str, path: Path, env: Mapping[str, str]) -> Ownership:
    """Check the YAML `text` as an ownership map (see `load_ownership`)."""
    ownership, problems = read_ownership(text, path, env)
    if problems or ownership is None:
        raise OwnershipError(problems)
    return ownership


def read_ownership(
    text: str, path: Path, env: Mapping[str, str]
) -> tuple[Ownership | None, list[Problem]]:
    """The map in `text` as far as it can be read, and every problem in it.

    With problems, the model holds what could be built (its `broken` names
    what could not), so that what it says can still be checked against the
    SDL; None when not even that could be read.
    """
    file = str(path)
    problems: list[Problem] = []

    def complain(line: int, message: str, suggestion: str | None) -> None:
        problems.append(Problem(file, line, message, suggestion))

    try:
        document = load(text, complain)
    except YAMLSyntaxError as error:
        return None, [Problem(file, error.line, f"not valid YAML: {error}")]
    if not isinstance(document, LineMap):
        return None, [Problem(file, 1, "the ownership map must be a mapping")]
    spec, shape = _validated(document, file)
    problems.extend(shape)
    if spec is None:
        return None, problems
    builder = Builder(spec, document, path, env)
    ownership = builder.build()
    # What is left of a part whose shape was wrong is checked too, but a line
    # already named for its shape says it first.
    named = {problem.line for problem in shape}
    problems.extend(p for p in builder.problems if p.line not in named)
    return ownership, problems


def _validated(document: Any, file: str) -> tuple[OwnershipSpec | None, list[Problem]]:
    """The map as a spec, and every problem of shape in it.

    When parts are of the wrong shape, they are left out and the rest is
    validated again, so that what refers to what can still be checked and
    every problem is reported at once.
    """
    problems: list[Problem] = []
    current: Any = document
    for _ in range(_REPAIRS):
        try:
            return OwnershipSpec.model_validate(current), problems
        except ValidationError as error:
            errors = error.errors(include_url=False)
            found = _shape_problems(error, document, file)
            problems.extend(p for p in found if p not in problems)
            repaired = _without(current, [tuple(e["loc"]) for e in errors], errors)
            if repaired is None:
                return None, problems
            current = repaired
    return None, problems


_REPAIRS = 6
"""Rounds of leaving out what is wrong, after which the map is not read further."""


def _without(document: Any, locs: list[tuple[Any, ...]], errors: list[Any]) -> Any | None:
    """A copy of `document` without the parts `locs` point at (None if nothing changes)."""
    copy = _copied(document)
    removed = False
    for loc, error in zip(locs, errors, strict=True):
        # A missing key spoils the mapping that lacks it: leave that out instead.
        target = loc[:-1] if error["type"] == "missing" else loc
        if len(target) < 2:
            return None  # the top of the map itself is wrong: nothing left to read
        removed = _remove(copy, target) or removed
    return copy if removed else None


def _copied(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _copied(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_copied(item) for item in value]
    return value


def _remove(document: Any, loc: tuple[Any, ...]) -> bool:
    node = document
    for step in loc[:-1]:
        if not _holds(node, step):
            return False
        node = node[step]
    last = loc[-1]
    if not _holds(node, last):
        return False
    del node[last]
    return True


def _holds(node: Any, step: Any) -> bool:
    if isinstance(node, dict):
        return step in node
    return isinstance(node, list) and isinstance(step, int) and 0 <= step < len(node)


# -- what pydantic says, as the map's author needs to hear it ---------------------------

_SUGGESTION = re.compile(r"^(?P<message>.*?)\s*\((?P<suggestion>[^()]*)\)$")


def _shape_problems(error: ValidationError, document: Any, file: str) -> list[Problem]:
    problems = []
    for item in error.errors(include_url=False):
        loc = tuple(item["loc"])
        kind = item["type"]
        where = ".".join(str(step) for step in loc) or "the ownership map"
        line = line_of(document, loc)
        suggestion: str | None = None
        if kind == "extra_forbidden":
            parent = ".".join(str(step) for step in loc[:-1]) or "the ownership map"
            message = f"{parent}: unknown key '{loc[-1]}'"
            suggestion = suggest(str(loc[-1]), _keys_at(OwnershipSpec, loc[:-1]))
        elif kind == "missing":
            parent = ".".join(str(step) for step in loc[:-1]) or "the ownership map"
            message = f"{parent}: '{loc[-1]}' is missing"
        elif kind == "literal_error":
            expected = re.findall(r"'([^']*)'", str(item.get("ctx", {}).get("expected", "")))
            message = f"{where}: unknown value {item['input']!r}"
            suggestion = suggest(str(item["input"]), expected)
        elif kind == "value_error":
            said = str(item.get("ctx", {}).get("error", item["msg"]))
            match = _SUGGESTION.match(said)
            if match:
                said, suggestion = match["message"], match["suggestion"]
            message = f"{where}: {said}"
        elif kind == "greater_than_equal" and isinstance(item["input"], int):
            least = item.get("ctx", {}).get("ge")
            message = f"{where} must be a whole number of at least {least}, not {item['input']!r}"
        elif kind in ("int_type", "int_parsing", "int_from_float"):
            message = f"{where} must be a whole number, not {_shown(item['input'])}"
        else:
            said = str(item["msg"]).replace("Input should be", "must be")
            message = f"{where} {said}, not {_shown(item['input'])}"
        problems.append(Problem(file, line, message, suggestion))
    return problems


def _shown(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return repr(value)


def _keys_at(model: Any, loc: Sequence[str | int]) -> list[str]:
    """The keys the map allows at `loc`: the fields of the model found there."""
    current: Any = model
    for step in loc:
        current = _unwrap(current)
        if isinstance(current, type) and issubclass(current, BaseModel):
            field = next(
                (f for name, f in current.model_fields.items() if step in (name, f.alias)), None
            )
            if field is None:
                return []
            current = field.annotation
        elif typing.get_origin(current) in (dict, list, tuple):
            args = typing.get_args(current)
            current = args[-1] if args else None
        else:
            return []
    current = _unwrap(current)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return [f.alias or name for name, f in current.model_fields.items()]
    return []


def _unwrap(annotation: Any) -> Any:
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            members = [a for a in typing.get_args(annotation) if a is not type(None)]
            if len(members) != 1:
                return annotation
            annotation = members[0]
        else:
            return annotation
