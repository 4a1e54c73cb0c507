"""The audit log: one JSON line per operation, saying who read what, never the values.

Each line: when, which client with which roles, the operation's name and the
SHA-256 of its document, the field coordinates it asked for (`Type.field`)
with the decision on each (allowed or denied), the entities it touched as
pseudonyms (an HMAC of the key, so lines about one entity can be linked by
whoever holds the key, and by no one else), the owners called and the outcome.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from graphql import (
    DocumentNode,
    FieldNode,
    GraphQLSchema,
    OperationDefinitionNode,
    TypeInfo,
    TypeInfoVisitor,
    Visitor,
    get_named_type,
    visit,
)

from ownergraph.ownership import Ownership
from ownergraph.resolvers import Context, iso

from .execution import Hook, Operation


class AuditLog:
    """Where audit lines go, and the key that makes entity keys pseudonymous."""

    def __init__(self, key: bytes, stream: IO[str] | None = None, path: Path | None = None):
        self._key = key
        self._stream = stream
        self._path = path

    @classmethod
    def open(cls, destination: str, key: str | None) -> AuditLog | None:
        """`stdout`, `stderr`, `off`, or a file path (appended to).

        Without a key, pseudonyms are stable only for this process's life.
        """
        secret = key.encode() if key else secrets.token_bytes(32)
        if destination == "off":
            return None
        if destination == "stdout":
            return cls(secret, stream=sys.stdout)
        if destination == "stderr":
            return cls(secret, stream=sys.stderr)
        path = Path(destination)
        path.open("a", encoding="utf-8").close()  # fail at start-up if it cannot be written
        return cls(secret, path=path)

    def pseudonym(self, key: str) -> str:
        return hmac.new(self._key, key.encode(), hashlib.sha256).hexdigest()[:20]

    def write(self, entry: dict[str, Any]) -> None:
        line = json.dumps(entry, separators=(",", ":"), sort_keys=True) + "\n"
        if self._path is not None:
            # Opened per line: each line is on disk when the operation is answered,
            # and no file handle outlives the app however it is shut down.
            with self._path.open("a", encoding="utf-8") as file:
                file.write(line)
            return
        assert self._stream is not None
        self._stream.write(line)
        self._stream.flush()


def audit_hook(log: AuditLog, ownership: Ownership) -> Hook:
    """A hook writing one line to `log` per operation."""

    @contextmanager
    def audit(operation: Operation) -> Iterator[None]:
        started = time.perf_counter()
        at = datetime.now(UTC)
        yield
        log.write(_entry(log, ownership, operation, at, time.perf_counter() - started))

    return audit


def _entry(
    log: AuditLog, ownership: Ownership, operation: Operation, at: datetime, seconds: float
) -> dict[str, Any]:
    context = operation.context
    errors = operation.all_errors
    data = operation.result.data if operation.result is not None else None
    fields = _requested(ownership_schema(context), operation.document, operation.operation_name)
    viewer = context.viewer if isinstance(context, Context) else None
    roles = viewer.roles if viewer else frozenset()
    return {
        "at": iso(at),
        "client": viewer.client if viewer else None,
        "roles": sorted(roles),
        "operation": operation.operation_name,
        "document": hashlib.sha256(operation.query.encode()).hexdigest(),
        "fields": fields,
        "denied": sorted(f for f in fields if not _readable(ownership, f, roles)),
        "entities": sorted(log.pseudonym(i) for i in context.entities)
        if isinstance(context, Context)
        else [],
        "owners": sorted(
            name
            for name, report in (
                context.report.as_dict().items() if isinstance(context, Context) else ()
            )
            if report["calls"]
        ),
        "outcome": _outcome(data, errors, operation.executed),
        "errors": sorted({str((e.extensions or {}).get("code", "GRAPHQL")) for e in errors}),
        "ms": round(seconds * 1000, 1),
    }


def ownership_schema(context: Any) -> GraphQLSchema | None:
    return context.gateway.schema if isinstance(context, Context) else None


def _outcome(data: Any, errors: list[Any], executed: bool) -> str:
    if not errors:
        return "ok"
    return "partial" if executed and data is not None else "rejected"


def _readable(ownership: Ownership, coordinate: str, roles: frozenset[str]) -> bool:
    type_name, _, name = coordinate.partition(".")
    entry = ownership.types.get(type_name)
    field = entry.fields.get(name) if entry else None
    return field is None or field.readable_by(roles)


class FieldCoordinates(Visitor):
    """The coordinates (`Type.field`) a document selects, each node of its text visited once.

    Fragments are visited where they are defined, never expanded where they
    are spread: the walk stays linear in the document's size however its
    fragments spread each other. `visited` counts the field nodes walked.
    """

    def __init__(self, type_info: TypeInfo) -> None:
        super().__init__()
        self.type_info = type_info
        self.found: set[str] = set()
        self.visited = 0

    def enter_field(self, node: FieldNode, *_args: Any) -> None:
        self.visited += 1
        parent = self.type_info.get_parent_type()
        if parent is not None and not node.name.value.startswith("__"):
            self.found.add(f"{get_named_type(parent).name}.{node.name.value}")


def requested(
    schema: GraphQLSchema, document: DocumentNode, operation_name: str | None
) -> FieldCoordinates:
    """What the operation named `operation_name` (or the only one) selects, fragments included."""
    type_info = TypeInfo(schema)
    chosen = [
        d
        for d in document.definitions
        if not isinstance(d, OperationDefinitionNode)
        or operation_name is None
        or (d.name is not None and d.name.value == operation_name)
    ]
    coordinates = FieldCoordinates(type_info)
    # The chosen operation and every fragment: a fragment only the other
    # operations of a multi-operation document use may be over-reported,
    # which errs on the side of accountability.
    visit(document.__class__(definitions=tuple(chosen)), TypeInfoVisitor(type_info, coordinates))
    return coordinates


def _requested(
    schema: GraphQLSchema | None, document: DocumentNode | None, operation_name: str | None
) -> list[str]:
    if document is None or schema is None:
        return []
    return sorted(requested(schema, document, operation_name).found)
