"""YAML that remembers where each value was written, so a problem can name its line."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import yaml


class LineMap(dict[str, Any]):
    """A YAML mapping that remembers its own line and the line of each key."""

    def __init__(self, line: int = 0) -> None:
        super().__init__()
        self.line = line
        self.lines: dict[str, int] = {}


class LineList(list[Any]):
    """A YAML sequence that remembers its own line and the line of each item."""

    def __init__(self, line: int = 0) -> None:
        super().__init__()
        self.line = line
        self.lines: list[int] = []


class YAMLSyntaxError(Exception):
    """The text is not YAML; `line` says where the parser gave up."""

    def __init__(self, line: int, reason: str) -> None:
        self.line = line
        super().__init__(reason)


def load(text: str, complain: Callable[[int, str, str | None], None]) -> Any:
    """The YAML document in `text`, mappings as `LineMap`, sequences as `LineList`.

    `complain(line, message, suggestion)` hears what YAML allows but a map
    must not hold: a key given twice, a key that is not a string.
    """

    class Loader(yaml.SafeLoader):
        pass

    def construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> LineMap:
        loader.flatten_mapping(node)
        mapping = LineMap(node.start_mark.line + 1)
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            if not isinstance(key, str):
                complain(line, f"key {key!r} is not a string", "quote it")
                continue
            if key in mapping:
                complain(
                    line,
                    f"'{key}' is given twice (first on line {mapping.lines[key]})",
                    "remove one of them",
                )
            mapping[key] = loader.construct_object(value_node, deep=True)
            mapping.lines[key] = line
        return mapping

    def construct_sequence(loader: yaml.SafeLoader, node: yaml.SequenceNode) -> LineList:
        sequence = LineList(node.start_mark.line + 1)
        for item in node.value:
            sequence.append(loader.construct_object(item, deep=True))
            sequence.lines.append(item.start_mark.line + 1)
        return sequence

    Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, construct_mapping)
    Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, construct_sequence)
    try:
        return yaml.load(text, Loader=Loader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        raise YAMLSyntaxError(mark.line + 1 if mark else 0, str(error.problem or error)) from None
    except yaml.YAMLError as error:
        raise YAMLSyntaxError(0, str(error)) from None


def line_of(document: Any, path: Sequence[str | int]) -> int:
    """The line of the deepest value of `path` in `document` that was written."""
    line = getattr(document, "line", 1) or 1
    node = document
    for step in path:
        if isinstance(node, LineMap) and isinstance(step, str) and step in node:
            line = node.lines.get(step, line)
            node = node[step]
        elif isinstance(node, LineList) and isinstance(step, int) and 0 <= step < len(node):
            line = node.lines[step]
            node = node[step]
        else:
            break
    return line
