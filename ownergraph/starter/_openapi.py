"""What an owner's OpenAPI document says it can be asked: its records, and how to read them.

Each operation of the document is recognised as one of:

- a single read: ``GET /things/{param}`` answering one record;
- a batch read: ``GET /things?ids=a,b`` with a query parameter that takes
  several keys (an array, ``style: form, explode: false``, a description that
  says "comma", or a name like ``ids``, ``codes``, ``order_numbers``), or a
  ``POST`` whose JSON body has one array of strings, answering a list of
  records (the reply itself, or its one array of records);
- a one-to-many read: a batch whose records are keyed by another field than
  their own (``GET /orders?buyer_ids=``, records keyed by ``buyer_id``);
- a search: ``GET`` with a ``phone``, ``email`` or ``q`` parameter answering records;
- a write: ``POST``, ``PUT`` or ``PATCH`` that is no batch read;

and the reads of the same records by the same key are one entity. What had
to be guessed is said in the entity's `notes`, for the map to mark TODO.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from ._names import singular, snake, words
from ._schemas import Schemas, Shape
from ._source import OwnerDocument

METHODS = ("get", "post", "put", "patch", "delete")
_PLACEHOLDER = re.compile(r"\{([^}]+)\}")
_KEY_LIST_NAME = re.compile(
    r"(^|_)(ids|keys|codes|numbers|refs|uuids)$|[a-z0-9](Ids|Keys|Codes|Numbers|Refs|Uuids)$"
)
_SEARCH_NAMES = frozenset({"phone", "email", "q", "query", "search", "term"})
_SEARCH_SUFFIXES = ("_phone", "_email")
# Path segments that say how a batch is asked, not what it returns.
_VERBS = frozenset({"batch", "lookup", "search", "bulk", "query", "find", "list", "get", "fetch"})
# Paths that keep a service running rather than serve its data.
_OPERATIONAL = frozenset(
    {"healthz", "health", "livez", "readyz", "metrics", "ping", "openapi.json", "openapi.yaml"}
    | {"openapi", "swagger.json", "docs"}
)
_AT_MOST = re.compile(r"\bat most (\d+)\b", re.IGNORECASE)


@dataclass(frozen=True)
class Record:
    """The schema of one kind of record an owner answers with."""

    shape: Shape
    collection: str
    """The path's last word that names what it returns, e.g. ``orders``."""

    @property
    def identity(self) -> str:
        """Which records these are: their component, else the path they come from."""
        return self.shape.component or f"/{self.collection}"


@dataclass(frozen=True)
class Batch:
    method: str
    path: str
    keys: str
    """The query parameter (GET) or body property (POST) the keys go in."""


@dataclass(frozen=True)
class Option:
    """Another parameter of a batch read: a candidate argument of the field reading it."""

    name: str
    shape: Shape
    description: str | None
    default: Any = None


@dataclass
class Entity:
    """One kind of record of a system, read by one key: what the map's `entities:` hold."""

    record: Record
    key: tuple[str, ...]
    name: str = ""
    records: str | None = None
    many: bool = False
    batch: Batch | None = None
    single: str | None = None
    options: list[Option] = field(default_factory=list)
    max_batch: int | None = None
    notes: dict[str, str] = field(default_factory=dict)
    """What was guessed, by the map key it is on (key, many, batch, records, max_batch)."""


@dataclass(frozen=True)
class Search:
    path: str
    params: tuple[str, ...]
    record: Record
    records: str | None


@dataclass(frozen=True)
class Write:
    method: str
    path: str
    summary: str | None
    body: str | None
    """The component the body is, when it is one."""
    idempotent: bool
    """It takes an Idempotency-Key header."""


@dataclass
class Reading:
    """Everything recognised in one document."""

    owner: OwnerDocument
    schemas: Schemas
    entities: list[Entity]
    searches: list[Search]
    writes: list[Write]
    unread: list[tuple[str, str]]
    """Operations recognised as nothing: ('GET /path', why)."""


@dataclass(frozen=True)
class _Operation:
    method: str
    path: str
    spec: dict[str, Any]
    params: list[dict[str, Any]]

    @property
    def summary(self) -> str | None:
        for key in ("summary", "description"):
            text = self.spec.get(key)
            if isinstance(text, str) and text.strip():
                return text.strip()
        return None

    @property
    def where(self) -> str:
        return f"{self.method} {self.path}"


def read_owner(owner: OwnerDocument) -> Reading:
    """Recognise the entities, searches and writes of one owner's document."""
    return _Reader(owner).read()


class _Reader:
    def __init__(self, owner: OwnerDocument) -> None:
        self.owner = owner
        self.schemas = Schemas(owner.document)
        self.singles: list[Entity] = []
        self.batches: list[Entity] = []
        self.searches: list[Search] = []
        self.writes: list[Write] = []
        self.unread: list[tuple[str, str]] = []

    def read(self) -> Reading:
        for operation in self.operations():
            if operation.method == "GET":
                self.get(operation)
            elif operation.method == "POST":
                if not self.post_batch(operation):
                    self.write(operation)
            elif operation.method in ("PUT", "PATCH"):
                self.write(operation)
            else:
                self.unread.append((operation.where, "no mutation deletes"))
        entities = self.entities()
        return Reading(self.owner, self.schemas, entities, self.searches, self.writes, self.unread)

    # -- the document's operations ----------------------------------------------------

    def operations(self) -> Iterator[_Operation]:
        for path, item in self.owner.document["paths"].items():
            item, _ = self.schemas.resolve(item)
            if not isinstance(path, str) or not isinstance(item, dict):
                continue
            shared = self.parameters(item.get("parameters"))
            for method in METHODS:
                spec = item.get(method)
                if not isinstance(spec, dict):
                    continue
                operation = _Operation(
                    method.upper(),
                    path,
                    spec,
                    _override(shared, self.parameters(spec.get("parameters"))),
                )
                why = _internal(path, spec)
                if why is not None:
                    self.unread.append((operation.where, why))
                    continue
                yield operation

    def parameters(self, given: Any) -> list[dict[str, Any]]:
        found = []
        for parameter in given if isinstance(given, list) else []:
            resolved, _ = self.schemas.resolve(parameter)
            if isinstance(resolved, dict) and isinstance(resolved.get("name"), str):
                found.append(resolved)
        return found

    def reply(self, operation: _Operation) -> Shape | None:
        """The schema of the operation's successful JSON reply."""
        responses = operation.spec.get("responses")
        if not isinstance(responses, dict):
            return None
        codes = ["200", "201", *sorted(c for c in map(str, responses) if c.startswith("2"))]
        for code in [*codes, "2XX", "default"]:
            response, _ = self.schemas.resolve(responses.get(code, responses.get(_int(code))))
            schema = _json_content(response)
            if schema is not None:
                return self.schemas.shape(schema)
        return None

    def request_body(self, operation: _Operation) -> tuple[Shape, str | None] | None:
        body, _ = self.schemas.resolve(operation.spec.get("requestBody"))
        schema = _json_content(body)
        if schema is None:
            return None
        shape = self.schemas.shape(schema)
        return shape, shape.component

    # -- reads --------------------------------------------------------------------------

    def get(self, operation: _Operation) -> None:
        reply = self.reply(operation)
        if reply is None:
            self.unread.append((operation.where, "no JSON reply"))
            return
        placeholders = _PLACEHOLDER.findall(operation.path)
        last = operation.path.rstrip("/").rsplit("/", 1)[-1]
        if len(placeholders) == 1 and last == "{" + placeholders[0] + "}" and reply.is_record:
            self.single(operation, placeholders[0], reply)
            return
        if placeholders:
            self.unread.append((operation.where, "a read under another record's key"))
            return
        found = self.records_in(reply, operation)
        if found is None:
            self.unread.append((operation.where, "answers no list of records"))
            return
        records, record, note = found
        keys = self.key_parameter(operation)
        if keys is not None:
            self.get_batch(operation, keys, records, record, note)
            return
        searched = tuple(
            p["name"] for p in operation.params if p.get("in") == "query" and _searches(p["name"])
        )
        if searched:
            self.searches.append(Search(operation.path, searched, record, records))
            return
        self.unread.append((operation.where, "takes no list of keys"))

    def single(self, operation: _Operation, parameter: str, reply: Shape) -> None:
        record = Record(reply, _collection(operation.path))
        key, note = self.key_for(record, parameter, single=True)
        entity = Entity(
            record=record,
            key=key,
            single=operation.path.replace("{" + parameter + "}", "{key}"),
        )
        if note:
            entity.notes["key"] = note
        self.singles.append(entity)

    def get_batch(
        self,
        operation: _Operation,
        keys: tuple[dict[str, Any], str | None],
        records: str | None,
        record: Record,
        records_note: str | None,
    ) -> None:
        parameter, note = keys
        name = parameter["name"]
        key, key_note = self.key_for(record, name)
        entity = Entity(
            record=record,
            key=key,
            records=records,
            batch=Batch("GET", operation.path, name),
            options=[
                Option(p["name"], self.schemas.shape(p.get("schema", {})), p.get("description"))
                for p in operation.params
                if p.get("in") == "query" and p["name"] != name
            ],
        )
        entity.max_batch = _max_items(self.schemas.shape(parameter.get("schema", {})))
        if entity.max_batch is None:
            self.max_from_text(entity, parameter.get("description"))
        for where, text in (("batch", note), ("key", key_note), ("records", records_note)):
            if text:
                entity.notes[where] = text
        self.batches.append(entity)

    def post_batch(self, operation: _Operation) -> bool:
        """A POST whose body has one array of strings and whose reply lists records."""
        body = self.request_body(operation)
        reply = self.reply(operation)
        if body is None or reply is None:
            return False
        shape, _ = body
        lists = []
        for name, node in self.schemas.properties(shape).items():
            items = self.schemas.items(self.schemas.shape(node))
            if items is not None and items.kind in ("string", "integer"):
                lists.append(name)
        found = self.records_in(reply, operation)
        if len(lists) != 1 or found is None:
            return False
        records, record, records_note = found
        [name] = lists
        key, key_note = self.key_for(record, name)
        entity = Entity(
            record=record,
            key=key,
            records=records,
            batch=Batch("POST", operation.path, name),
            options=[
                Option(
                    other,
                    self.schemas.shape(node),
                    self.schemas.shape(node).description,
                    node.get("default") if isinstance(node, dict) else None,
                )
                for other, node in self.schemas.properties(shape).items()
                if other != name
            ],
        )
        keys_shape = self.schemas.shape(self.schemas.properties(shape)[name])
        entity.max_batch = _max_items(keys_shape)
        for where, text in (("key", key_note), ("records", records_note)):
            if text:
                entity.notes[where] = text
        self.batches.append(entity)
        return True

    def max_from_text(self, entity: Entity, description: Any) -> None:
        match = _AT_MOST.search(description) if isinstance(description, str) else None
        if match:
            entity.max_batch = int(match.group(1))
            entity.notes["max_batch"] = f"read from the parameter's description: {match.group(0)!r}"

    def records_in(
        self, reply: Shape, operation: _Operation
    ) -> tuple[str | None, Record, str | None] | None:
        """Where the reply's records are (None: the reply is the list), and what they are."""
        collection = _collection(operation.path)
        items = self.schemas.items(reply)
        if items is not None:
            return (None, Record(items, collection), None) if items.is_record else None
        if reply.kind != "object":
            return None
        lists = []
        for name, node in self.schemas.properties(reply).items():
            inner = self.schemas.items(self.schemas.shape(node))
            if inner is not None and inner.is_record:
                lists.append((name, inner))
        if not lists:
            return None
        name, inner = lists[0]
        note = None
        if len(lists) > 1:
            others = ", ".join(n for n, _ in lists[1:])
            note = f"the reply has several lists of records ({others} too): {name} was taken"
        return name, Record(inner, collection), note

    def key_parameter(self, operation: _Operation) -> tuple[dict[str, Any], str | None] | None:
        """The query parameter taking several keys, and what was guessed about it."""
        found = []
        for parameter in operation.params:
            if parameter.get("in") != "query":
                continue
            taken = self.takes_keys(parameter)
            if taken is not None:
                found.append((parameter, taken))
        if not found:
            return None
        found.sort(key=lambda pair: not pair[0].get("required", False))
        parameter, note = found[0]
        if len(found) > 1:
            others = ", ".join(p["name"] for p, _ in found[1:])
            note = "; ".join(filter(None, [note, f"{others} may take keys too"]))
        return parameter, note or None

    def takes_keys(self, parameter: dict[str, Any]) -> str | None:
        """'' when the parameter surely takes several keys, a note when guessed, else None."""
        shape = self.schemas.shape(parameter.get("schema", {}))
        style = parameter.get("style", "form")
        explode = parameter.get("explode", style == "form")
        description = parameter.get("description")
        said = isinstance(description, str) and "comma" in description.lower()
        if shape.kind == "array":
            if style == "form" and explode is True and not said:
                return (
                    f"{parameter['name']} is an array the owner may want repeated "
                    f"({parameter['name']}=a&{parameter['name']}=b): ownergraph sends "
                    f"{parameter['name']}=a,b; check the owner takes that"
                )
            return ""
        if shape.kind not in ("string", "unknown"):
            return None
        if (style == "form" and explode is False) or said:
            return ""
        if _KEY_LIST_NAME.search(parameter["name"]):
            return (
                f"guessed from the name {parameter['name']!r}: check it takes keys "
                "separated by commas"
            )
        return None

    def key_for(
        self, record: Record, asked: str, *, single: bool = False
    ) -> tuple[tuple[str, ...], str | None]:
        """The record field holding the key `asked` for (a path parameter or a list of keys)."""
        properties = self.schemas.properties(record.shape)
        wanted = asked if single else singular(asked)
        by_words = {snake(name): name for name in properties}
        if snake(wanted) in by_words:
            return (by_words[snake(wanted)],), None
        parts = words(wanted)
        if len(parts) > 1:
            found = self.nested_key(properties, parts)
            if found is not None:
                return found, (
                    f"keyed by {'.'.join(found)}, guessed from {asked!r}: check it holds "
                    "what the owner is asked for"
                )
        if "id" in properties:
            return ("id",), f"{asked!r} names no field of the records: id was taken as the key"
        for name, node in properties.items():
            if self.schemas.shape(node).kind in ("string", "integer"):
                return (name,), (
                    f"{asked!r} names no field of the records: their first field, {name}, "
                    "was taken as the key"
                )
        return (next(iter(properties)),), f"no key found for {asked!r}: check the key"

    def nested_key(self, properties: dict[str, Any], parts: list[str]) -> tuple[str, ...] | None:
        """``buyer.id`` or ``buyer.external_id`` for ``buyer_id``, when the record has them."""
        prefix, suffix = "_".join(parts[:-1]), parts[-1]
        for name, node in properties.items():
            if snake(name) != prefix:
                continue
            inner = self.schemas.shape(node)
            for inner_name in self.schemas.properties(inner):
                written = snake(inner_name)
                if written == suffix or written.endswith("_" + suffix):
                    return (name, inner_name)
        return None

    def write(self, operation: _Operation) -> None:
        body = self.request_body(operation)
        idempotent = any(
            p.get("in") == "header" and str(p["name"]).lower() == "idempotency-key"
            for p in operation.params
        )
        self.writes.append(
            Write(
                operation.method,
                operation.path,
                operation.summary,
                body[1] if body is not None else None,
                idempotent,
            )
        )

    # -- entities -----------------------------------------------------------------------

    def entities(self) -> list[Entity]:
        """Single and batch reads merged where they read the same records by the same key."""
        own = {entity.record.identity: entity.key for entity in self.singles}
        entities = list(self.singles)
        for batch in self.batches:
            record = batch.record
            own_key = own.get(record.identity)
            if own_key is None and "id" in self.schemas.properties(record.shape):
                own_key = ("id",)
            if own_key is not None:
                batch.many = batch.key != own_key
            else:
                batch.many = _foreign(batch.key, record)
            if batch.many:
                batch.notes["many"] = (
                    f"one-to-many: each {'.'.join(batch.key)} has several records"
                    + (f" (theirs is {'.'.join(own_key)})" if own_key else "")
                )
                entities.append(batch)
                continue
            same = next(
                (
                    e
                    for e in entities
                    if e.batch is None
                    and not e.many
                    and e.record.identity == record.identity
                    and e.key == batch.key
                ),
                None,
            )
            if same is None:
                entities.append(batch)
                continue
            same.batch, same.records, same.options = batch.batch, batch.records, batch.options
            same.max_batch = batch.max_batch
            for where, note in batch.notes.items():
                same.notes.setdefault(where, note)
        taken: set[str] = set()
        for entity in entities:
            entity.name = _unique(_entity_name(entity), taken)
            taken.add(entity.name)
        return entities


def _entity_name(entity: Entity) -> str:
    if entity.many:
        return snake(entity.record.collection) or "records"
    component = entity.record.shape.component
    return snake(component) if component else snake(singular(entity.record.collection)) or "record"


def _unique(name: str, taken: set[str]) -> str:
    if name not in taken:
        return name
    number = 2
    while f"{name}_{number}" in taken:
        number += 1
    return f"{name}_{number}"


def _foreign(key: tuple[str, ...], record: Record) -> bool:
    """Whether a key like ``buyer_id`` names another kind of record than these."""
    parts = words("_".join(key))
    if len(parts) < 2:
        return False
    own = {snake(singular(record.collection))}
    if record.shape.component:
        own.add(snake(record.shape.component))
    return "_".join(parts[:-1]) not in own


def _collection(path: str) -> str:
    """The last word of the path that names what it returns: ``orders`` of /orders/batch."""
    static = [s for s in path.strip("/").split("/") if s and not _PLACEHOLDER.search(s)]
    named = [s for s in static if s.lower() not in _VERBS]
    return (named or static or ["records"])[-1]


def _searches(name: str) -> bool:
    lowered = name.lower()
    return lowered in _SEARCH_NAMES or lowered.endswith(_SEARCH_SUFFIXES)


def _internal(path: str, spec: dict[str, Any]) -> str | None:
    """Why an operation is none of the graph's business, if it is not."""
    segments = [s for s in path.strip("/").split("/") if s]
    if any(s.startswith("_") for s in segments):
        return "an internal path (it starts with _)"
    if segments and segments[-1].lower() in _OPERATIONAL:
        return "an operational endpoint"
    if spec.get("x-internal") is True:
        return "marked x-internal"
    if spec.get("deprecated") is True:
        return "deprecated"
    return None


def _override(shared: list[dict[str, Any]], own: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A path's parameters with the operation's own in their place."""
    mine = {(p["name"], p.get("in")) for p in own}
    return [p for p in shared if (p["name"], p.get("in")) not in mine] + own


def _json_content(node: Any) -> Any:
    content = node.get("content") if isinstance(node, dict) else None
    if not isinstance(content, dict):
        return None
    exact = content.get("application/json")
    if isinstance(exact, dict) and "schema" in exact:
        return exact["schema"]
    for media, entry in content.items():
        if "json" in str(media) and isinstance(entry, dict) and "schema" in entry:
            return entry["schema"]
    return None


def _max_items(shape: Shape) -> int | None:
    value = shape.schema.get("maxItems")
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def _int(code: str) -> int | str:
    return int(code) if code.isdigit() else code
