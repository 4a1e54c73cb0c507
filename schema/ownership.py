"""The ownership map: load `ownership.yaml`, check it, and say exactly what is wrong.

The map says, for every field of the customer graph, which system owns it and
where the value lives in that system's records. Loading never stops at the
first problem: every problem is collected, each with the file, the line, the
bad value and, where one is close, a suggestion, and they are raised together
as one `OwnershipError`.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit

import yaml

from ownergraph.sources import BreakerConfig, Endpoint, EntityConfig, ErrorFormat, SystemConfig

DATA_CLASSES = ("none", "contact", "personal", "financial")
LOOKUP_KINDS = ("phone", "email")
FORMATS = ("cents", "decimal", "e164", "epoch", "iso")
SYSTEM_KINDS = ("rest",)
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}


@dataclass(frozen=True)
class Problem:
    """One thing wrong in the map, where it is and what to do about it."""

    file: str
    line: int
    message: str
    suggestion: str | None = None

    def __str__(self) -> str:
        text = f"{self.file}:{self.line}: {self.message}"
        return f"{text} ({self.suggestion})" if self.suggestion else text


class OwnershipError(Exception):
    """The ownership map cannot be used; `problems` lists every reason."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = sorted(problems, key=lambda p: (p.file, p.line, p.message))
        count = len(self.problems)
        head = f"{count} problem{'s' if count != 1 else ''} in the ownership map:"
        super().__init__("\n".join([head, *(f"  {p}" for p in self.problems)]))


@dataclass(frozen=True)
class ArgMapping:
    """How a GraphQL argument of an owned field is passed to the owner."""

    name: str
    param: str
    values: Mapping[str, str] | None = None
    line: int = 0


@dataclass(frozen=True)
class FieldOwnership:
    """Who owns one field, and where its value lives in the owner's record.

    On an entity type (Customer), a field names the `entity` it is read from
    and the field of the same type whose value keys that entity (`key`,
    normally the universal id; `erpCode` for the ERP). On a value type
    (Invoice), the owner and entity are the type's; only `source` matters.
    """

    type_name: str
    name: str
    owner: str
    entity: str | None
    source: tuple[str, ...] | None
    key: str
    data_class: str
    read: frozenset[str]
    max_age: float
    stale_if_error: float
    lookup: tuple[str, ...] | None
    """For a field composed from the owner's lookups, which ones (phone, email)."""
    format: str | None
    values: Mapping[str, str] | None
    args: Mapping[str, ArgMapping]
    line: int
    pattern: str | None = None
    """For an id: the regular expression every id matches (`C[0-9]{5}`); None if any."""

    @property
    def coordinate(self) -> str:
        return f"{self.type_name}.{self.name}"

    def readable_by(self, roles: frozenset[str]) -> bool:
        """Whether any of `roles` may read this field.

        `read:` decides when given. Without it, a field classed `none` is open
        to every role (anonymous included) and any other class to none: deny
        by default, so a new personal field is never exposed by omission.
        """
        if self.read:
            return not self.read.isdisjoint(roles)
        return self.data_class == "none"


@dataclass(frozen=True)
class TypeOwnership:
    """The ownership entries of one GraphQL type.

    `owner` is set for value types, whose whole record comes from one system.
    """

    name: str
    owner: str | None
    fields: Mapping[str, FieldOwnership]
    line: int


@dataclass(frozen=True)
class Lookup:
    """How one owner finds customers by a value (a phone number, an e-mail address).

    The search is the `entity` of the owner (a search endpoint); `datum` names
    what matched, for `matchedBy` (``crm.phone``); `weight` is how much a
    match from this owner alone says that the customer is the one.
    """

    kind: str
    owner: str
    entity: str
    datum: str
    weight: float
    line: int


INPUT_FORMATS = ("email", "phone")
"""Input normalisers: `email` trims and lower-cases, `phone` writes E.164 (the map's region)."""


@dataclass(frozen=True)
class InputMapping:
    """Where one input field of a mutation goes in the owner's request, and what it writes.

    The checks are made before the owner is called; a value that fails one
    is BAD_USER_INPUT naming the input field, and nothing is sent.
    """

    name: str
    to: str | None
    """The owner's body field; None for the field that fills the path's placeholder."""
    writes: str | None
    """The coordinate it changes (`Customer.emails`): its owner must be the mutation's."""
    values: Mapping[str, str] | None
    line: int
    max_length: int | None = None
    """Text: at most this many characters once trimmed, and not blank."""
    max_items: int | None = None
    """A list: at most this many items."""
    format: str | None = None
    """One of `INPUT_FORMATS`, applied to the value (or to each item of a list)."""
    pattern: str | None = None
    """A regular expression the whole value must match."""
    minimum: int | None = None
    """A number: at least this (`min:` in the map)."""
    id_of: str | None = None
    """The value is an id of this type: its id field's `pattern` applies."""
    only_when: Mapping[str, frozenset[str]] = field(default_factory=lambda: MappingProxyType({}))
    """Given only when each named input field holds one of these enum values."""


@dataclass(frozen=True)
class ResultMapping:
    """How a payload field is read back, fresh, from the owner after the write."""

    name: str
    key_from: str
    """`input.<field>` or `reply.<field>`: where the key of the record to read is."""
    entity: str | None
    """The owner's entity to read it from; None for a customer (read field by field)."""
    line: int


@dataclass(frozen=True)
class MutationOwnership:
    """A mutation: the one owner it writes to, how, who may, and what it reads back."""

    name: str
    owner: str
    method: str
    path: str
    write: frozenset[str]
    inputs: Mapping[str, InputMapping]
    results: Mapping[str, ResultMapping]
    line: int

    def writable_by(self, roles: frozenset[str]) -> bool:
        return not self.write.isdisjoint(roles)


@dataclass(frozen=True)
class Ownership:
    """A loaded, self-consistent ownership map."""

    path: Path
    roles: frozenset[str]
    systems: Mapping[str, SystemConfig]
    types: Mapping[str, TypeOwnership]
    system_lines: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))
    lookups: Mapping[str, tuple[Lookup, ...]] = field(default_factory=lambda: MappingProxyType({}))
    mutations: Mapping[str, MutationOwnership] = field(default_factory=lambda: MappingProxyType({}))

    def field(self, type_name: str, name: str) -> FieldOwnership:
        return self.types[type_name].fields[name]

    def problem(self, line: int, message: str, suggestion: str | None = None) -> Problem:
        return Problem(str(self.path), line, message, suggestion)


def parse_duration(value: Any) -> float | None:
    """Seconds in `value`: a number of seconds, or a string like ``"800ms"``, ``"5m"``."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value) if value >= 0 else None
    if isinstance(value, str) and (match := _DURATION.match(value)):
        return float(match.group(1)) * _UNITS[match.group(2)]
    return None


def suggest(value: str, choices: Iterable[str]) -> str | None:
    """'did you mean ...?' for the closest of `choices`, or a list of them when none is close."""
    options = sorted(choices)
    close = difflib.get_close_matches(value, options, n=1, cutoff=0.6)
    if close:
        return f"did you mean '{close[0]}'?"
    if options:
        return "expected one of: " + ", ".join(options)
    return None


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
    reader = _Reader(str(path), env)
    try:
        document = yaml.load(text, Loader=_make_loader(reader))
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark else 0
        raise OwnershipError(
            [Problem(str(path), line, f"not valid YAML: {error.problem or error}")]
        ) from None
    ownership = reader.read(document, path)
    if reader.problems:
        raise OwnershipError(reader.problems)
    return ownership


@dataclass(frozen=True)
class _Policy:
    """How a system is called; `defaults:` sets it for all, each system may override it."""

    timeout: float = 1.0
    max_batch: int = 100
    concurrency: int = 10
    retries: int = 1
    retry_budget: float = 0.2
    breaker: BreakerConfig = field(default_factory=BreakerConfig)


_POLICY_KEYS = ("timeout", "max_batch", "concurrency", "retries", "retry_budget", "breaker")


class _Map(dict[str, Any]):
    """A YAML mapping that remembers the line of itself and of each key."""

    def __init__(self, line: int = 0) -> None:
        super().__init__()
        self.line = line
        self.lines: dict[str, int] = {}


def _make_loader(reader: _Reader) -> type[yaml.SafeLoader]:
    class Loader(yaml.SafeLoader):
        pass

    def construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> _Map:
        loader.flatten_mapping(node)
        mapping = _Map(node.start_mark.line + 1)
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            if not isinstance(key, str):
                reader.add(line, f"key {key!r} is not a string")
                continue
            if key in mapping:
                reader.add(
                    line,
                    f"'{key}' is given twice (first on line {mapping.lines[key]})",
                    "remove one of them",
                )
            mapping[key] = loader.construct_object(value_node, deep=True)
            mapping.lines[key] = line
        return mapping

    Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, construct_mapping)
    return Loader


class _Reader:
    """Walks the YAML document, building the model and collecting problems."""

    def __init__(self, file: str, env: Mapping[str, str]) -> None:
        self.file = file
        self.env = env
        self.problems: list[Problem] = []

    def add(self, line: int, message: str, suggestion: str | None = None) -> None:
        self.problems.append(Problem(self.file, line, message, suggestion))

    # -- generic helpers -------------------------------------------------------------

    def mapping(
        self,
        value: Any,
        where: str,
        line: int,
        allowed: Iterable[str] | None,
        required: Iterable[str] = (),
    ) -> _Map | None:
        """`value` as a mapping with only `allowed` keys (None: any key) and all `required`."""
        if value is None:
            value = _Map(line)
        if not isinstance(value, _Map):
            self.add(line, f"{where} must be a mapping, not {_kind(value)}")
            return None
        if allowed is not None:
            allowed = tuple(allowed)
            for key, key_line in value.lines.items():
                if key not in allowed:
                    self.add(key_line, f"{where}: unknown key '{key}'", suggest(key, allowed))
        for key in required:
            if key not in value:
                self.add(value.line, f"{where}: '{key}' is missing")
        return value

    def string(self, value: Any, where: str, line: int) -> str | None:
        if isinstance(value, str) and value.strip():
            return value
        self.add(line, f"{where} must be a non-empty string, not {_kind(value)}")
        return None

    def integer(self, value: Any, where: str, line: int, default: int, low: int = 1) -> int:
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            self.add(line, f"{where} must be a whole number of at least {low}, not {value!r}")
            return default
        return value

    def duration(self, value: Any, where: str, line: int, default: float) -> float:
        if value is None:
            return default
        seconds = parse_duration(value)
        if seconds is None:
            self.add(
                line, f"{where} is not a duration: {value!r}", "write e.g. 800ms, 2s, 5m or 30"
            )
            return default
        return seconds

    def choice(self, value: Any, where: str, line: int, choices: Iterable[str]) -> str | None:
        choices = tuple(choices)
        if value in choices:
            return str(value)
        self.add(line, f"{where}: unknown value {value!r}", suggest(str(value), choices))
        return None

    def path(self, value: Any, where: str, line: int) -> tuple[str, ...] | None:
        text = self.string(value, where, line)
        if text is None:
            return None
        steps = tuple(text.split("."))
        if not all(steps):
            self.add(line, f"{where}: {text!r} is not a dotted path", "write e.g. address.city")
            return None
        return steps

    # -- the document ----------------------------------------------------------------

    def read(self, document: Any, path: Path) -> Ownership:
        top = self.mapping(
            document,
            "the ownership map",
            1,
            ("version", "roles", "defaults", "systems", "lookups", "types", "mutations"),
            ("version", "systems", "types"),
        )
        if top is None:
            return Ownership(path, frozenset(), {}, {})
        if "version" in top and top["version"] != 1:
            self.add(top.lines["version"], f"unsupported version {top['version']!r}", "use 1")
        roles = self.roles(top.get("roles"), top.lines.get("roles", top.line))
        defaults_line = top.lines.get("defaults", top.line)
        defaults = self.mapping(top.get("defaults"), "defaults", defaults_line, _POLICY_KEYS)
        base = self.policy(defaults or _Map(), "defaults", defaults_line, _Policy())
        systems_map = self.mapping(
            top.get("systems"), "systems", top.lines.get("systems", top.line), None
        )
        systems: dict[str, SystemConfig] = {}
        system_lines: dict[str, int] = {}
        if systems_map is not None:
            # Every key of `systems` is a system name: accept them all.
            for name, value in systems_map.items():
                line = systems_map.lines[name]
                system = self.system(name, value, line, base)
                if system is not None:
                    systems[name] = system
                    system_lines[name] = line
        lookups = self.lookups(top.get("lookups"), top.lines.get("lookups", top.line), systems)
        types_map = self.mapping(top.get("types"), "types", top.lines.get("types", top.line), None)
        types: dict[str, TypeOwnership] = {}
        if types_map is not None:
            for name, value in types_map.items():
                entry = self.type(name, value, types_map.lines[name], systems, roles)
                if entry is not None:
                    types[name] = entry
        return Ownership(
            path=path,
            roles=roles,
            systems=MappingProxyType(systems),
            types=MappingProxyType(types),
            system_lines=MappingProxyType(system_lines),
            lookups=MappingProxyType(lookups),
            mutations=MappingProxyType(
                self.mutations(
                    top.get("mutations"), top.lines.get("mutations", top.line), systems, roles
                )
            ),
        )

    def mutations(
        self,
        value: Any,
        line: int,
        systems: Mapping[str, SystemConfig],
        roles: frozenset[str],
    ) -> dict[str, MutationOwnership]:
        spec = self.mapping(value, "mutations", line, None)
        result: dict[str, MutationOwnership] = {}
        for name, entry in (spec or {}).items():
            mutation = self.mutation(name, entry, spec.lines[name], systems, roles)  # type: ignore[union-attr]
            if mutation is not None:
                result[name] = mutation
        return result

    def mutation(
        self,
        name: str,
        value: Any,
        line: int,
        systems: Mapping[str, SystemConfig],
        roles: frozenset[str],
    ) -> MutationOwnership | None:
        where = f"mutation {name}"
        spec = self.mapping(
            value,
            where,
            line,
            ("owner", "write", "request", "input", "result"),
            ("owner", "write", "request", "input"),
        )
        if spec is None or not {"owner", "write", "request", "input"} <= set(spec):
            return None
        at = spec.lines.get
        owner = self.owner(spec["owner"], where, at("owner", line), systems)
        write = self.read_roles(spec["write"], f"{where}: write", at("write", line), roles)
        request = self.mapping(
            spec["request"], f"{where}: request", at("request", line), ("post", "put", "patch")
        )
        methods = [m for m in ("post", "put", "patch") if request and m in request]
        if request is not None and len(methods) != 1:
            self.add(at("request", line), f"{where}: give exactly one of post:, put: or patch:")
        inputs: dict[str, InputMapping] = {}
        inputs_map = self.mapping(spec["input"], f"{where}: input", at("input", line), None)
        for field_name, field_value in (inputs_map or {}).items():
            field_line = inputs_map.lines[field_name]  # type: ignore[union-attr]
            field_where = f"{where}: input.{field_name}"
            inputs_entry = self.input(field_name, field_value, field_where, field_line)
            if inputs_entry is not None:
                inputs[field_name] = inputs_entry
        results: dict[str, ResultMapping] = {}
        results_map = self.mapping(spec.get("result"), f"{where}: result", at("result", line), None)
        for field_name, field_value in (results_map or {}).items():
            field_line = results_map.lines[field_name]  # type: ignore[union-attr]
            item = self.mapping(
                field_value,
                f"{where}: result.{field_name}",
                field_line,
                ("key", "entity"),
                ("key",),
            )
            if item is None or "key" not in item:
                continue
            key = str(item["key"])
            if not key.startswith(("input.", "reply.")):
                self.add(
                    field_line,
                    f"{where}: result.{field_name}: key must start with input. or reply.",
                )
            entity = item.get("entity")
            if entity is not None and owner is not None and entity not in systems[owner].entities:
                self.add(
                    field_line,
                    f"{where}: result.{field_name}: '{owner}' has no entity {entity!r}",
                    suggest(str(entity), systems[owner].entities),
                )
            results[field_name] = ResultMapping(field_name, key, entity, field_line)
        if owner is None or not methods or request is None:
            return None
        path = self.string(request[methods[0]], f"{where}: request", at("request", line)) or "/"
        return MutationOwnership(
            name=name,
            owner=owner,
            method=methods[0].upper(),
            path=path,
            write=write,
            inputs=MappingProxyType(inputs),
            results=MappingProxyType(results),
            line=line,
        )

    def input(self, name: str, value: Any, where: str, line: int) -> InputMapping | None:
        """One input field of a mutation: where it goes, what it writes, how it is checked."""
        item = self.mapping(
            value,
            where,
            line,
            (
                "to",
                "writes",
                "values",
                "path",
                "max_length",
                "max_items",
                "format",
                "pattern",
                "min",
                "id_of",
                "only_when",
            ),
        )
        if item is None:
            return None
        at = item.lines.get

        def count(key: str) -> int | None:
            if key not in item:
                return None
            return self.integer(item[key], f"{where}: {key}", at(key, line), 1)

        minimum = item.get("min")
        if minimum is not None and (isinstance(minimum, bool) or not isinstance(minimum, int)):
            self.add(at("min", line), f"{where}: min must be a whole number, not {minimum!r}")
            minimum = None
        fmt = None
        if "format" in item:
            fmt = self.choice(item["format"], f"{where}: format", at("format", line), INPUT_FORMATS)
        id_of = item.get("id_of")
        if id_of is not None and not isinstance(id_of, str):
            self.add(at("id_of", line), f"{where}: id_of must name a type, not {_kind(id_of)}")
            id_of = None
        return InputMapping(
            name=name,
            to=None if item.get("path") else str(item.get("to", name)),
            writes=item.get("writes"),
            values=self.values(item.get("values"), where, line),
            line=line,
            max_length=count("max_length"),
            max_items=count("max_items"),
            format=fmt,
            pattern=self.regex(item.get("pattern"), f"{where}: pattern", at("pattern", line)),
            minimum=minimum,
            id_of=id_of,
            only_when=self.only_when(item.get("only_when"), where, at("only_when", line)),
        )

    def only_when(self, value: Any, where: str, line: int) -> Mapping[str, frozenset[str]]:
        """`only_when: {channel: [PHONE, CHAT]}`: other inputs and the values they must hold."""
        if value is None:
            return MappingProxyType({})
        spec = self.mapping(value, f"{where}: only_when", line, None)
        result: dict[str, frozenset[str]] = {}
        for other, allowed in (spec or {}).items():
            if (
                not isinstance(allowed, list)
                or not allowed
                or not all(isinstance(v, str) for v in allowed)
            ):
                self.add(
                    spec.lines[other],  # type: ignore[union-attr]
                    f"{where}: only_when.{other} must list enum values, not {_kind(allowed)}",
                    f"write e.g. only_when: {{{other}: [A, B]}}",
                )
                continue
            result[other] = frozenset(allowed)
        return MappingProxyType(result)

    def lookups(
        self, value: Any, line: int, systems: dict[str, SystemConfig]
    ) -> dict[str, tuple[Lookup, ...]]:
        """`lookups: {phone: {crm: {...}}}`; each becomes a search entity of its owner."""
        spec = self.mapping(value, "lookups", line, LOOKUP_KINDS)
        result: dict[str, tuple[Lookup, ...]] = {}
        for kind, owners in (spec or {}).items():
            owners_map = self.mapping(owners, f"lookups.{kind}", spec.lines[kind], None)  # type: ignore[union-attr]
            found: list[Lookup] = []
            for owner, entry in (owners_map or {}).items():
                where = f"lookups.{kind}.{owner}"
                owner_line = owners_map.lines[owner]  # type: ignore[union-attr]
                if self.owner(owner, where, owner_line, systems) is None:
                    continue
                lookup = self.lookup(kind, owner, entry, where, owner_line, systems)
                if lookup is not None:
                    found.append(lookup)
            result[kind] = tuple(found)
        return result

    def lookup(
        self,
        kind: str,
        owner: str,
        value: Any,
        where: str,
        line: int,
        systems: dict[str, SystemConfig],
    ) -> Lookup | None:
        spec = self.mapping(
            value, where, line, ("search", "records", "id", "datum", "weight"), ("search", "id")
        )
        if spec is None or "search" not in spec or "id" not in spec:
            return None
        search = self.mapping(
            spec["search"],
            f"{where}: search",
            spec.lines["search"],
            ("get", "param"),
            ("get", "param"),
        )
        key_field = self.path(spec["id"], f"{where}: id", spec.lines["id"])
        weight = spec.get("weight", 0.5)
        if isinstance(weight, bool) or not isinstance(weight, int | float) or not 0 < weight <= 1:
            self.add(
                spec.lines.get("weight", line),
                f"{where}: weight must be above 0 and at most 1, not {weight!r}",
            )
            weight = 0.5
        if search is None or "get" not in search or "param" not in search or key_field is None:
            return None
        entity = f"{kind} lookup"
        system = systems[owner]
        config = EntityConfig(
            name=entity,
            key_field=key_field,
            records=spec.get("records"),
            search=Endpoint("GET", str(search["get"]), param=str(search["param"])),
        )
        systems[owner] = replace(
            system, entities=MappingProxyType({**system.entities, entity: config})
        )
        return Lookup(kind, owner, entity, str(spec.get("datum", kind)), float(weight), line)

    def roles(self, value: Any, line: int) -> frozenset[str]:
        if value is None:
            return frozenset()
        if not isinstance(value, list) or not all(isinstance(r, str) for r in value):
            self.add(line, "roles must be a list of role names")
            return frozenset()
        return frozenset(value)

    def system(self, name: str, value: Any, line: int, defaults: _Policy) -> SystemConfig | None:
        where = f"system '{name}'"
        if not _NAME.match(name):
            self.add(line, f"{where}: a system name must be lower-case letters, digits and _")
        spec = self.mapping(
            value,
            where,
            line,
            ("kind", "url", "description", "auth", "errors", "entities", *_POLICY_KEYS),
            ("url", "entities"),
        )
        if spec is None:
            return None
        at = spec.lines.get
        kind = self.choice(
            spec.get("kind", "rest"), f"{where}: kind", at("kind", line), SYSTEM_KINDS
        )
        env_name = f"OWNERGRAPH_{name.upper()}_URL"
        url: Any = self.env.get(env_name) or spec.get("url")
        url_where = f"{where}: url" + (f" (from {env_name})" if self.env.get(env_name) else "")
        parts = urlsplit(url) if isinstance(url, str) else None
        if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
            self.add(
                at("url", line),
                f"{url_where} is not an http(s) URL: {url!r}",
                "write e.g. https://crm.internal:8443",
            )
        policy = self.policy(spec, where, line, defaults)
        headers = self.auth(spec.get("auth"), where, at("auth", line)) if "auth" in spec else {}
        errors = self.errors(spec.get("errors"), where, at("errors", line))
        entities: dict[str, EntityConfig] = {}
        entities_map = self.mapping(
            spec.get("entities"), f"{where}: entities", at("entities", line), None
        )
        if entities_map is not None:
            if not entities_map:
                self.add(at("entities", line), f"{where}: declares no entities")
            for entity_name, entity_value in entities_map.items():
                entity = self.entity(
                    name, entity_name, entity_value, entities_map.lines[entity_name]
                )
                if entity is not None:
                    entities[entity_name] = entity
        return SystemConfig(
            name=name,
            base_url=str(url).rstrip("/") if isinstance(url, str) else "",
            kind=kind or "rest",
            timeout=policy.timeout,
            max_batch=policy.max_batch,
            concurrency=policy.concurrency,
            retries=policy.retries,
            retry_budget=policy.retry_budget,
            breaker=policy.breaker,
            headers=MappingProxyType(headers),
            errors=errors,
            entities=MappingProxyType(entities),
        )

    def errors(self, value: Any, where: str, line: int) -> ErrorFormat:
        """`errors: {message: error.detail, field: error.field}`: what its error bodies say."""
        default = ErrorFormat()
        if value is None:
            return default
        spec = self.mapping(value, f"{where}: errors", line, ("message", "field"))
        if spec is None:
            return default
        paths = {
            key: self.path(spec[key], f"{where}: errors.{key}", spec.lines[key])
            for key in ("message", "field")
            if key in spec
        }
        message = paths.get("message")
        field_path = paths.get("field")
        return ErrorFormat(
            message=(message,) if message else default.message,
            field=(field_path,) if field_path else default.field,
        )

    def policy(self, spec: _Map, where: str, line: int, base: _Policy) -> _Policy:
        """Timeouts, batching, retries and breaker of `spec`, falling back to `base`."""
        at = spec.lines.get
        timeout = self.duration(
            spec.get("timeout"), f"{where}: timeout", at("timeout", line), base.timeout
        )
        if timeout == 0:
            self.add(at("timeout", line), f"{where}: timeout must be more than 0")
            timeout = base.timeout
        budget = spec.get("retry_budget", base.retry_budget)
        if isinstance(budget, bool) or not isinstance(budget, int | float) or not 0 <= budget <= 1:
            self.add(
                at("retry_budget", line),
                f"{where}: retry_budget must be a share of calls from 0 to 1, not {budget!r}",
                "write e.g. 0.2",
            )
            budget = base.retry_budget
        return _Policy(
            timeout=timeout,
            max_batch=self.integer(
                spec.get("max_batch"), f"{where}: max_batch", at("max_batch", line), base.max_batch
            ),
            concurrency=self.integer(
                spec.get("concurrency"),
                f"{where}: concurrency",
                at("concurrency", line),
                base.concurrency,
            ),
            retries=self.integer(
                spec.get("retries"), f"{where}: retries", at("retries", line), base.retries, low=0
            ),
            retry_budget=float(budget),
            breaker=self.breaker(spec.get("breaker"), where, at("breaker", line), base.breaker),
        )

    def breaker(self, value: Any, where: str, line: int, base: BreakerConfig) -> BreakerConfig:
        if value is None:
            return base
        where = f"{where}: breaker"
        keys = ("failures", "window", "open_first", "open_for", "slow")
        spec = self.mapping(value, where, line, keys)
        if spec is None:
            return base
        at = spec.lines.get
        open_for = self.duration(
            spec.get("open_for"), f"{where}: open_for", at("open_for", line), base.open_for
        )
        written = spec.get("open_first")
        open_first = self.duration(
            written, f"{where}: open_first", at("open_first", line), base.open_first
        )
        # Checked only where written: an inherited first open time is cut to a shorter
        # `open_for` by the breaker itself.
        if written is not None and parse_duration(written) is not None:
            if open_first == 0:
                self.add(
                    at("open_first", line),
                    f"{where}: open_first must be more than 0",
                    "write e.g. 500ms; it doubles with each failed probe",
                )
                open_first = base.open_first
            elif open_first > open_for:
                self.add(
                    at("open_first", line),
                    f"{where}: open_first {written!r} is longer than open_for ({open_for:g}s), "
                    "the longest the breaker stays open",
                    f"make it at most {open_for:g}s, or raise open_for",
                )
                open_first = min(base.open_first, open_for)
        return BreakerConfig(
            failures=self.integer(
                spec.get("failures"), f"{where}: failures", at("failures", line), base.failures
            ),
            window=self.integer(
                spec.get("window"), f"{where}: window", at("window", line), base.window, low=2
            ),
            open_for=open_for,
            open_first=open_first,
            slow=self.duration(spec.get("slow"), f"{where}: slow", at("slow", line), base.slow),
        )

    def auth(self, value: Any, where: str, line: int) -> dict[str, str]:
        spec = self.mapping(value, f"{where}: auth", line, ("header", "env", "scheme"), ("env",))
        if spec is None or "env" not in spec:
            return {}
        variable = self.string(spec["env"], f"{where}: auth env", spec.lines["env"])
        if variable is None:
            return {}
        secret = self.env.get(variable)
        if not secret:
            self.add(
                spec.lines["env"],
                f"{where}: the credential variable {variable} is not set",
                f"export {variable}=... before starting",
            )
            return {}
        header = spec.get("header", "Authorization")
        scheme = spec.get("scheme", "Bearer" if header == "Authorization" else "")
        return {str(header): f"{scheme} {secret}".strip()}

    def entity(self, system: str, name: str, value: Any, line: int) -> EntityConfig | None:
        where = f"system '{system}': entity '{name}'"
        spec = self.mapping(
            value, where, line, ("key", "records", "many", "batch", "single"), ("key",)
        )
        if spec is None:
            return None
        at = spec.lines.get
        key_field = self.path(spec.get("key"), f"{where}: key", at("key", line)) or ("id",)
        many = spec.get("many", False)
        if not isinstance(many, bool):
            self.add(at("many", line), f"{where}: many must be true or false, not {many!r}")
            many = False
        records = spec.get("records")
        if records is not None and not isinstance(records, str):
            self.add(at("records", line), f"{where}: records must be the name of a reply field")
            records = None
        batch = self.endpoint(spec.get("batch"), f"{where}: batch", at("batch", line), batch=True)
        single = self.endpoint(
            spec.get("single"), f"{where}: single", at("single", line), batch=False
        )
        if batch is None and single is None and "batch" not in spec and "single" not in spec:
            self.add(line, f"{where}: has neither a batch nor a single endpoint", "declare batch")
        return EntityConfig(
            name=name, key_field=key_field, records=records, many=many, batch=batch, single=single
        )

    def endpoint(self, value: Any, where: str, line: int, *, batch: bool) -> Endpoint | None:
        if value is None:
            return None
        keys = ("get", "post", "param", "body") if batch else ("get",)
        spec = self.mapping(value, where, line, keys)
        if spec is None:
            return None
        methods = [m for m in ("get", "post") if m in spec]
        if len(methods) != 1:
            self.add(line, f"{where}: give exactly one of get: or post: with the path")
            return None
        method = methods[0]
        path = self.string(spec[method], f"{where}: {method}", spec.lines[method])
        if path is None:
            return None
        if not path.startswith("/"):
            self.add(spec.lines[method], f"{where}: path {path!r} must start with /")
        if not batch and "{key}" not in path:
            self.add(
                spec.lines[method],
                f"{where}: path {path!r} has no {{key}} placeholder",
                "write e.g. /customers/{key}",
            )
        if batch and method == "get" and "body" in spec:
            self.add(
                spec.lines["body"], f"{where}: a GET batch sends its keys in param:, not body:"
            )
        if batch and method == "post" and "param" in spec:
            self.add(
                spec.lines["param"], f"{where}: a POST batch sends its keys in body:, not param:"
            )
        return Endpoint(
            method=method.upper(),
            path=path,
            param=spec.get("param", "ids") if batch and method == "get" else None,
            body=spec.get("body", "ids") if batch and method == "post" else None,
        )

    def type(
        self,
        name: str,
        value: Any,
        line: int,
        systems: Mapping[str, SystemConfig],
        roles: frozenset[str],
    ) -> TypeOwnership | None:
        where = f"type {name}"
        spec = self.mapping(
            value,
            where,
            line,
            ("owner", "class", "read", "max_age", "stale_if_error", "fields"),
            ("fields",),
        )
        if spec is None:
            return None
        owner = None
        if "owner" in spec:
            owner = self.owner(spec["owner"], where, spec.lines["owner"], systems)
            if owner is None:
                # A value type whose owner is unknown: its fields cannot be read,
                # and saying so once per field would bury the one real problem.
                return None
        fields_map = self.mapping(
            spec.get("fields"), f"{where}: fields", spec.lines.get("fields", line), None
        )
        fields: dict[str, FieldOwnership] = {}
        for field_name, field_value in (fields_map or {}).items():
            entry = self.field(
                name,
                field_name,
                field_value,
                fields_map.lines[field_name],  # type: ignore[union-attr]
                type_owner=owner,
                type_defaults=spec,
                systems=systems,
                roles=roles,
            )
            if entry is not None:
                fields[field_name] = entry
        return TypeOwnership(name=name, owner=owner, fields=MappingProxyType(fields), line=line)

    def owner(
        self, value: Any, where: str, line: int, systems: Mapping[str, SystemConfig]
    ) -> str | None:
        if isinstance(value, str) and value in systems:
            return value
        self.add(line, f"{where}: unknown system {value!r}", suggest(str(value), systems))
        return None

    def field(
        self,
        type_name: str,
        name: str,
        value: Any,
        line: int,
        *,
        type_owner: str | None,
        type_defaults: _Map,
        systems: Mapping[str, SystemConfig],
        roles: frozenset[str],
    ) -> FieldOwnership | None:
        where = f"{type_name}.{name}"
        allowed = [
            "from",
            "class",
            "read",
            "max_age",
            "stale_if_error",
            "format",
            "values",
            "pattern",
        ]
        if type_owner is None:
            allowed += ["owner", "entity", "key", "args", "lookup"]
        spec = self.mapping(value, where, line, allowed, () if type_owner else ("owner",))
        if spec is None:
            return None
        at = spec.lines.get
        owner = type_owner
        entity: str | None = None
        lookup: tuple[str, ...] | None = None
        if type_owner is None:
            if "owner" not in spec:
                return None
            owner = self.owner(spec["owner"], where, at("owner", line), systems)
            if "lookup" in spec:
                # Composed by the owner's lookups (e.g. possible duplicates), not read.
                lookup = self.lookup_kinds(spec["lookup"], where, at("lookup", line))
            elif owner is not None:
                entity = self.entity_ref(
                    spec.get("entity"), where, at("entity", line), systems[owner]
                )
        if owner is None:
            return None
        # Without `from`, the value is the owner's field of the same name, or the
        # whole record for an object-typed field; which one is known once the
        # map is bound to the schema.
        source = (
            self.path(spec["from"], f"{where}: from", at("from", line)) if "from" in spec else None
        )
        key = spec.get("key", "id")
        if not isinstance(key, str):
            self.add(at("key", line), f"{where}: key must be a field name, not {_kind(key)}")
            key = "id"
        data_class = self.choice(
            spec.get("class", type_defaults.get("class", "none")),
            f"{where}: class",
            at("class", type_defaults.lines.get("class", line)),
            DATA_CLASSES,
        )
        read = self.read_roles(
            spec.get("read", type_defaults.get("read")),
            where,
            at("read", type_defaults.lines.get("read", line)),
            roles,
        )
        max_age = self.duration(
            spec.get("max_age", type_defaults.get("max_age")),
            f"{where}: max_age",
            at("max_age", type_defaults.lines.get("max_age", line)),
            0.0,
        )
        stale_if_error = self.duration(
            spec.get("stale_if_error", type_defaults.get("stale_if_error")),
            f"{where}: stale_if_error",
            at("stale_if_error", type_defaults.lines.get("stale_if_error", line)),
            0.0,
        )
        fmt = None
        if "format" in spec:
            fmt = self.choice(spec["format"], f"{where}: format", spec.lines["format"], FORMATS)
        values = self.values(spec.get("values"), where, at("values", line))
        args = self.args(spec.get("args"), where, at("args", line)) if "args" in spec else {}
        pattern = self.regex(spec.get("pattern"), f"{where}: pattern", at("pattern", line))
        return FieldOwnership(
            type_name=type_name,
            name=name,
            owner=owner,
            entity=entity,
            source=source,
            key=key,
            data_class=data_class or "none",
            read=read,
            max_age=max_age,
            stale_if_error=stale_if_error,
            lookup=lookup,
            format=fmt,
            values=values,
            args=MappingProxyType(args),
            line=line,
            pattern=pattern,
        )

    def regex(self, value: Any, where: str, line: int) -> str | None:
        if value is None:
            return None
        text = self.string(value, where, line)
        if text is None:
            return None
        try:
            re.compile(text)
        except re.error as error:
            self.add(line, f"{where}: {text!r} is not a regular expression: {error}")
            return None
        return text

    def lookup_kinds(self, value: Any, where: str, line: int) -> tuple[str, ...] | None:
        kinds = value if isinstance(value, list) else [value]
        if not kinds or not all(kind in LOOKUP_KINDS for kind in kinds):
            self.add(
                line,
                f"{where}: lookup must name lookups among {list(LOOKUP_KINDS)}, not {value!r}",
            )
            return None
        return tuple(kinds)

    def entity_ref(self, value: Any, where: str, line: int, system: SystemConfig) -> str | None:
        if value is None:
            self.add(line, f"{where}: 'entity' is missing", suggest("", system.entities))
            return None
        if isinstance(value, str) and value in system.entities:
            return value
        self.add(
            line,
            f"{where}: system '{system.name}' has no entity {value!r}",
            suggest(str(value), system.entities),
        )
        return None

    def read_roles(
        self, value: Any, where: str, line: int, roles: frozenset[str]
    ) -> frozenset[str]:
        if value is None:
            return frozenset()
        if not isinstance(value, list) or not all(isinstance(r, str) for r in value):
            self.add(line, f"{where}: read must be a list of roles")
            return frozenset()
        for role in value:
            if roles and role not in roles:
                self.add(line, f"{where}: unknown role {role!r}", suggest(role, roles))
        return frozenset(value)

    def values(self, value: Any, where: str, line: int) -> Mapping[str, str] | None:
        if value is None:
            return None
        if not isinstance(value, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in value.items()
        ):
            self.add(line, f"{where}: values must map owner values to enum values")
            return None
        return MappingProxyType(dict(value))

    def args(self, value: Any, where: str, line: int) -> dict[str, ArgMapping]:
        spec = self.mapping(value, f"{where}: args", line, None)
        result: dict[str, ArgMapping] = {}
        for arg, arg_value in (spec or {}).items():
            arg_line = spec.lines[arg]  # type: ignore[union-attr]
            if isinstance(arg_value, str):
                result[arg] = ArgMapping(arg, arg_value, None, arg_line)
                continue
            arg_spec = self.mapping(
                arg_value, f"{where}: args.{arg}", arg_line, ("param", "values"), ("param",)
            )
            if arg_spec is None or "param" not in arg_spec:
                continue
            param = self.string(arg_spec["param"], f"{where}: args.{arg}.param", arg_line)
            values = self.values(arg_spec.get("values"), f"{where}: args.{arg}", arg_line)
            if param is not None:
                result[arg] = ArgMapping(arg, param, values, arg_line)
        return result


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return f"{type(value).__name__} {value!r}"
