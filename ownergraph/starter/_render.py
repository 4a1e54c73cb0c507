"""A starter graph written out: its SDL file and its ownership map, with TODOs.

Both are written as text rather than dumped: the map's comments (what was
guessed, what was left out, which writes could become mutations) are the
point of a starting point, and a YAML dumper drops them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

from ._graph import Arg, Graph, Lookup, ObjectType
from ._names import camel, pascal, plural
from ._openapi import Entity, Reading

READER = "reader"
"""The one role of a starter map: who may read every type until the company says otherwise."""

_PLAIN = re.compile(r"^[A-Za-z_/][A-Za-z0-9_./-]*$")
_URL = re.compile(r"^https?://[^\s#'\"{}\[\],]+$")
_YAML_WORDS = frozenset({"true", "false", "null", "yes", "no", "on", "off", "y", "n", "~"})


def render_sdl(graph: Graph) -> str:
    """The graph's SDL: the Query roots, then its types, enums and scalars."""
    lines = [
        "# A starting point written by `ownergraph init` from the owners' OpenAPI",
        "# documents: rename, describe, trim and add to it. Who owns each field, and",
        "# how it is read, is in ownership.yaml beside it.",
        "",
        '"""Read the graph. Every value comes from its owner, now."""',
        "type Query {",
    ]
    for index, root in enumerate(graph.roots):
        if index:
            lines.append("")
        lines += _description(root.description, "  ")
        lines.append(f"  {root.name}({root.arg}: {root.arg_type}): {root.returns}")
    lines.append("}")
    for object_type in graph.types:
        lines.append("")
        lines += _description(object_type.description, "")
        lines.append(f"type {object_type.name} {{")
        for index, item in enumerate(object_type.fields):
            if index and (item.description or item.args):
                lines.append("")
            lines += _description(item.description, "  ")
            lines.append(f"  {item.name}{_arguments(item.args)}: {item.gql}")
        lines.append("}")
    for enum in graph.enums:
        lines.append("")
        lines += _description(enum.description, "")
        lines.append(f"enum {enum.name} {{")
        lines += [f"  {value}" for value in enum.values]
        lines.append("}")
    scalars = {
        "Date": "A calendar day, ISO 8601 (2026-01-31).",
        "DateTime": "A moment, ISO 8601 with its offset.",
    }
    for name in graph.scalars:
        lines += ["", *_description(scalars[name], ""), f"scalar {name}"]
    return "\n".join(lines) + "\n"


def render_map(graph: Graph) -> str:
    """The ownership map: systems as the documents describe them, types, roots, TODOs."""
    lines = [
        "# Who owns each field of the graph in schema.graphql beside this file, and how",
        "# it is read: a starting point written by `ownergraph init` from the owners'",
        "# OpenAPI documents, to edit. Lines marked TODO are guesses to check.",
        "# `ownergraph check --schema schema.graphql --ownership ownership.yaml` checks",
        "# the pair; with --live it also compares the map with what the owners publish.",
        "#",
        "# Read roles are the company's to set. Until then every type may be read by the",
        f"# role {READER!r} only (an API key or token that carries it; `ownergraph keys",
        f"# --client NAME --roles {READER}` makes a key): nothing is open to anonymous",
        "# callers by omission. Name your roles under roles:, and give types and fields",
        "# the roles that may read them (read:) and their data class (class:).",
        "",
        "version: 1",
        f"roles: [{READER}]  # TODO: the company's roles",
    ]
    if graph.scalars:
        lines += ["", "scalars:"]
        lines += [f"  {name}: {kind}" for name, kind in graph.scalars.items()]
    if graph.sample:
        lines += ["", "# The query GraphiQL opens with.", "sample: |"]
        lines += [f"  {line}" for line in graph.sample.splitlines()]
    lines += ["", "systems:"]
    for index, reading in enumerate(graph.readings):
        if index:
            lines.append("")
        lines += _system(reading, graph)
    lines += ["", "queries:"]
    width = max((len(root.name) for root in graph.roots), default=0) + 1
    lines += [f"  {(root.name + ':').ljust(width)} {_flow(root.spec)}" for root in graph.roots]
    lines += ["", "types:"]
    for index, object_type in enumerate(graph.types):
        if index:
            lines.append("")
        lines += _type(object_type, graph)
    lines += _lookups(graph.lookups, graph)
    return "\n".join(lines) + "\n"


# -- the map's parts -----------------------------------------------------------------------


def _system(reading: Reading, graph: Graph) -> list[str]:
    owner = reading.owner
    name = owner.name
    override = f"OWNERGRAPH_{name.upper()}_URL overrides it"
    if owner.url_guessed:
        where = f"# TODO: where {name} is (the document names no server); {override}"
    else:
        where = f"# {override}"
    url = owner.url if _URL.match(owner.url) else _scalar(owner.url)
    lines = [f"  {name}:", f"    url: {url}  {where}"]
    info = owner.document.get("info")
    title = info.get("title") if isinstance(info, dict) else None
    described = info.get("description") if isinstance(info, dict) else None
    text = described if isinstance(described, str) and described.strip() else title
    if isinstance(text, str) and text.strip():
        lines.append(f"    description: {_scalar(' '.join(text.split()))}")
    batches = [e for e in reading.entities if e.max_batch is not None]
    if batches:
        smallest = min(batches, key=lambda e: e.max_batch or 0)
        note = smallest.notes.get("max_batch")
        lines.append(
            f"    max_batch: {smallest.max_batch}"
            + (f"  # TODO: {note}" if note else "  # keys per batch, as the owner allows")
        )
    lines.append("    entities:")
    for entity in reading.entities:
        lines += _entity(entity, graph.unused.get((name, entity.name)))
    if reading.unread:
        lines.append("    # Not read (a person may find a use for them):")
        by_why: dict[str, list[str]] = {}
        for where, why in reading.unread:
            by_why.setdefault(why, []).append(where)
        for why, operations in by_why.items():
            lines.append(f"    #   {', '.join(operations)}: {why}")
    if reading.writes:
        lines += [
            "    # Writes the owner takes, candidates for mutations: none is generated, as",
            "    # each needs its input type and payload in the SDL, the roles that may call",
            "    # it and how its result is read back (see mutations: in the README):",
        ]
        for write in reading.writes:
            said = [write.summary.splitlines()[0].rstrip(".") if write.summary else ""]
            if write.body:
                said.append(f"body {write.body}")
            if write.idempotent:
                said.append("takes an Idempotency-Key")
            lines.append(f"    #   {write.method} {write.path}: " + "; ".join(s for s in said if s))
    return lines


def _entity(entity: Entity, unused: str | None) -> list[str]:
    notes = entity.notes
    head = f"      {entity.name}:" + (f"  # TODO: read by no type: {unused}" if unused else "")
    lines = [head, _noted("        key: " + ".".join(entity.key), notes.get("key"))]
    if entity.records is not None:
        lines.append(_noted(f"        records: {_scalar(entity.records)}", notes.get("records")))
    if entity.many:
        lines.append(_noted("        many: true", notes.get("many")))
    if entity.batch is not None:
        batch = entity.batch
        spec = (
            {"get": batch.path, "param": batch.keys}
            if batch.method == "GET"
            else {"post": batch.path, "body": batch.keys}
        )
        lines.append(_noted(f"        batch: {_flow(spec)}", notes.get("batch")))
    if entity.single is not None:
        lines.append(f"        single: {_flow({'get': entity.single})}")
    return lines


def _type(object_type: ObjectType, graph: Graph) -> list[str]:
    lines = [f"  {object_type.name}:"]
    if not object_type.is_entity:
        lines.append(f"    owner: {object_type.system}")
    elif object_type.key != "id":
        lines.append(f"    key: {object_type.key}")
    lines += [
        "    class: none  # TODO: contact, personal or financial? (personal data is audited)",
        f"    read: [{READER}]",
        "    fields:",
    ]
    width = max(len(f.name) for f in object_type.fields) + 1
    for item in object_type.fields:
        lines.append(
            _noted(f"      {(item.name + ':').ljust(width)} {_flow(item.spec)}", item.todo)
        )
    prefix = f"{object_type.name}."
    left_out = [s[len(prefix) :] for s in graph.skipped if s.startswith(prefix)]
    if left_out:
        lines.append("      # Left out of the graph:")
        lines += [f"      #   {line}" for line in left_out]
    return lines


def _lookups(lookups: list[Lookup], graph: Graph) -> list[str]:
    if not lookups:
        return []
    lines = [
        "",
        "# Searches the owners publish, as lookups (commented out: a lookup also needs a",
        "# root and a composed match type in the SDL, below; uncomment and edit all three):",
        "#",
        "# lookups:",
    ]
    roots: list[str] = []
    matches: dict[str, None] = {}
    for lookup in lookups:
        lines += [
            f"#   {lookup.name}:",
            f"#     normalise: {lookup.normalise}",
            f"#     finds: {lookup.finds}",
            "#     owners:",
        ]
        for system, search, where in lookup.owners:
            entry: dict[str, Any] = {"search": {"get": search.path, "param": search.params[0]}}
            if search.records is not None:
                entry["records"] = search.records
            entry["id"] = where
            lines.append(f"#       {system}: {_flow(entry)}")
        root = camel(plural(lookup.finds)) + "By" + pascal(lookup.name)
        roots.append(f"{root}: {{lookup: {lookup.name}, by: {lookup.name}}}")
        matches[lookup.finds] = None
    lines += ["#", "# queries:"] + [f"#   {root}" for root in roots]
    lines += ["#", "# types:"]
    for finds in matches:
        lines += [
            f"#   {finds}Match:",
            "#     composed: match",
            f"#     fields: {{{camel(finds)}: {{is: entity}}, confidence: {{is: confidence}}, "
            "matchedBy: {is: matched_by}}",
        ]
    lines += ["#", "# and in schema.graphql, in type Query:"]
    for lookup in lookups:
        root = camel(plural(lookup.finds)) + "By" + pascal(lookup.name)
        lines.append(f"#   {root}({lookup.name}: String!): [{lookup.finds}Match!]!")
    lines.append("# with:")
    for finds in matches:
        lines.append(
            f"#   type {finds}Match {{ {camel(finds)}: {finds}!  confidence: Float!  "
            "matchedBy: [String!]! }"
        )
    return lines


# -- text ----------------------------------------------------------------------------------


def _noted(line: str, todo: str | None) -> str:
    return f"{line}  # TODO: {todo}" if todo else line


def _flow(value: Any) -> str:
    """`value` as YAML on one line: flow mappings and lists, scalars quoted when they must."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_scalar(k)}: {_flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_flow(v) for v in value) + "]"
    return _scalar(value)


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, int | float):
        return str(value)
    text = str(value)
    if _PLAIN.match(text) and text.lower() not in _YAML_WORDS:
        return text
    return json.dumps(text, ensure_ascii=False)


def _description(text: str | None, indent: str) -> list[str]:
    if not text or not text.strip():
        return []
    text = text.strip().replace('"""', '\\"""')
    if "\n" in text or text.endswith(('"', "\\")):
        return [
            f'{indent}"""',
            *(f"{indent}{line}".rstrip() for line in text.splitlines()),
            f'{indent}"""',
        ]
    return [f'{indent}"""{text}"""']


def _arguments(args: Iterable[Arg]) -> str:
    given = list(args)
    if not given:
        return ""
    if not any(arg.description for arg in given):
        return "(" + ", ".join(_argument(arg) for arg in given) + ")"
    lines = ["("]
    for index, arg in enumerate(given):
        if index and arg.description:
            lines.append("")
        lines += _description(arg.description, "    ")
        lines.append(f"    {_argument(arg)}")
    lines.append("  )")
    return "\n".join(lines)


def _argument(arg: Arg) -> str:
    default = f" = {arg.default}" if arg.default is not None else ""
    return f"{arg.name}: {arg.gql}{default}"
