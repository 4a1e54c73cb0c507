"""Build the ownership model from a map whose shape is valid, checking what refers to what.

The shape (keys, types, ranges) was checked by the spec models; here every
name the map uses is looked up where it must be defined (systems, entities,
roles, lookups, types, fields, inputs), and each miss is a problem with its
line and, where one is close, a suggestion. Everything is checked; nothing
stops at the first problem.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit

import phonenumbers

from ownergraph.sources import (
    BreakerConfig,
    Endpoint,
    EntityConfig,
    ErrorFormat,
    SystemConfig,
)

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
from ._problems import Problem, suggest
from ._spec import (
    COMPOSED_PARTS,
    ArgSpec,
    EntitySpec,
    FieldSpec,
    LookupSpec,
    MutationSpec,
    OwnershipSpec,
    PolicySpec,
    ScalarSpec,
    SystemSpec,
    TypeSpec,
)
from ._yaml import line_of

# How a system is called when neither `defaults:` nor the system says otherwise.
_POLICY = {
    "timeout": 1.0,
    "max_batch": 100,
    "concurrency": 10,
    "retries": 1,
    "retry_budget": 0.2,
}


class Builder:
    """Turns a valid `OwnershipSpec` into an `Ownership`, collecting every problem."""

    def __init__(
        self, spec: OwnershipSpec, document: Any, path: Path, env: Mapping[str, str]
    ) -> None:
        self.spec = spec
        self.document = document
        self.path = path
        self.env = env
        self.problems: list[Problem] = []
        self.broken: set[str] = set()
        """Coordinates whose entries could not be built: already reported, not to report again."""

    def add(self, at: Sequence[str | int], message: str, suggestion: str | None = None) -> None:
        self.problems.append(
            Problem(str(self.path), line_of(self.document, at), message, suggestion)
        )

    def build(self) -> Ownership:
        spec = self.spec
        roles = frozenset(spec.roles)
        if spec.phone_region is not None and spec.phone_region not in (
            phonenumbers.SUPPORTED_REGIONS
        ):
            self.add(
                ["phone_region"],
                f"phone_region {spec.phone_region!r} is not a region",
                "an ISO 3166 region like IT, DE or US",
            )
        systems = {name: self.system(name, system) for name, system in spec.systems.items()}
        lookups = {
            name: self.lookup(name, lookup, systems) for name, lookup in spec.lookups.items()
        }
        types = {name: self.type(name, entry, systems, roles) for name, entry in spec.types.items()}
        ownership = Ownership(
            path=self.path,
            roles=roles,
            systems=MappingProxyType(systems),
            types=MappingProxyType(types),
            system_lines=MappingProxyType(
                {name: line_of(self.document, ["systems", name]) for name in systems}
            ),
            lookups=MappingProxyType(lookups),
            queries=MappingProxyType(
                {name: self.root(name, query) for name, query in spec.queries.items()}
            ),
            mutations=MappingProxyType(
                {
                    name: self.mutation(name, mutation, systems, roles)
                    for name, mutation in spec.mutations.items()
                }
            ),
            scalars=MappingProxyType(
                {name: self.scalar(name, given) for name, given in spec.scalars.items()}
            ),
            phone_region=spec.phone_region,
            sample=spec.sample,
        )
        self.cross_check(ownership)
        if self.broken:
            ownership = replace(ownership, broken=frozenset(self.broken))
        return ownership

    # -- systems -----------------------------------------------------------------------

    def system(self, name: str, spec: SystemSpec) -> SystemConfig:
        at = ["systems", name]
        env_name = f"OWNERGRAPH_{name.upper()}_URL"
        url = self.env.get(env_name) or spec.url
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            origin = f" (from {env_name})" if self.env.get(env_name) else ""
            self.add(
                [*at, "url"],
                f"systems.{name}.url{origin} is not an http(s) URL: {url!r}",
                "write e.g. https://billing.internal:8443",
            )
        policy = self.policy(name, spec)
        headers: dict[str, str] = {}
        if spec.auth is not None:
            secret = self.env.get(spec.auth.env)
            if not secret:
                self.add(
                    [*at, "auth", "env"],
                    f"systems.{name}: the credential variable {spec.auth.env} is not set",
                    f"export {spec.auth.env}=... before starting",
                )
            else:
                scheme = spec.auth.scheme
                if scheme is None:
                    scheme = "Bearer" if spec.auth.header == "Authorization" else ""
                headers[spec.auth.header] = f"{scheme} {secret}".strip()
        errors = ErrorFormat()
        if spec.errors is not None:
            errors = ErrorFormat(
                message=(spec.errors.message,) if spec.errors.message else errors.message,
                field=(spec.errors.field,) if spec.errors.field else errors.field,
            )
        return SystemConfig(
            name=name,
            base_url=url.rstrip("/"),
            kind=spec.kind,
            headers=MappingProxyType(headers),
            errors=errors,
            entities=MappingProxyType(
                {entity: _entity(entity, e) for entity, e in spec.entities.items()}
            ),
            **policy,
        )

    def policy(self, name: str, spec: SystemSpec) -> dict[str, Any]:
        """The system's call policy: its own settings, else `defaults:`, else ours."""
        defaults = self.spec.defaults or PolicySpec()
        chosen = {
            key: _first(getattr(spec, key), getattr(defaults, key), fallback)
            for key, fallback in _POLICY.items()
        }
        if chosen["timeout"] == 0:
            self.add(["systems", name, "timeout"], f"systems.{name}: timeout must be more than 0")
            chosen["timeout"] = _POLICY["timeout"]
        chosen["breaker"] = self.breaker(name, spec)
        return chosen

    def breaker(self, name: str, spec: SystemSpec) -> BreakerConfig:
        base = BreakerConfig()
        given = spec.breaker
        default = self.spec.defaults.breaker if self.spec.defaults is not None else None
        values = {
            key: _first(
                getattr(given, key) if given else None,
                getattr(default, key) if default else None,
                getattr(base, key),
            )
            for key in ("failures", "window", "open_first", "open_for", "slow")
        }
        given_first = given is not None and given.open_first is not None
        where = ["systems", name, "breaker"] if given_first else ["defaults", "breaker"]
        shown = ".".join(where)
        if values["open_first"] == 0:
            self.add(
                [*where, "open_first"],
                f"{shown}: open_first must be more than 0",
                "write e.g. 250ms; it doubles with each probe that hung",
            )
            values["open_first"] = base.open_first
        if values["open_first"] > values["open_for"]:
            written = _written(self.document, [*where, "open_first"])
            if written is not None and (given is None or given.open_first is not None):
                self.add(
                    [*where, "open_first"],
                    f"{shown}: open_first {written!r} is longer than open_for "
                    f"({values['open_for']:g}s), the longest the breaker stays open",
                    f"make it at most {values['open_for']:g}s, or raise open_for",
                )
            values["open_first"] = values["open_for"]
        return BreakerConfig(**values)

    # -- types -------------------------------------------------------------------------

    def type(
        self,
        name: str,
        spec: TypeSpec,
        systems: Mapping[str, SystemConfig],
        roles: frozenset[str],
    ) -> TypeOwnership:
        at = ["types", name]
        line = line_of(self.document, at)
        if spec.composed is not None:
            return self.composed(name, spec, line)
        owner = spec.owner
        if owner is not None and owner not in systems:
            self.add(
                [*at, "owner"], f"type {name}: unknown system {owner!r}", suggest(owner, systems)
            )
            owner = None
        kind = TypeKind.VALUE if spec.owner is not None else TypeKind.ENTITY
        if kind is TypeKind.VALUE and spec.key is not None:
            self.add([*at, "key"], f"type {name}: a value type has no key", "remove key:")
        key = spec.key or "id"
        fields: dict[str, FieldOwnership] = {}
        for field_name, field_spec in spec.fields.items():
            entry = self.field(name, field_name, field_spec, spec, kind, owner, key, systems, roles)
            if entry is not None:
                fields[field_name] = entry
            else:
                self.broken.add(f"{name}.{field_name}")
        if kind is TypeKind.ENTITY and key not in spec.fields:
            self.add(
                [*at, "key"] if spec.key else at,
                f"type {name}: its key field {key!r} is not among its fields",
                suggest(key, spec.fields) if spec.key else "name the key field with key:",
            )
        return TypeOwnership(
            name=name, kind=kind, owner=owner, fields=MappingProxyType(fields), line=line, key=key
        )

    def composed(self, name: str, spec: TypeSpec, line: int) -> TypeOwnership:
        at = ["types", name]
        kind = TypeKind.LOOKUP if spec.composed == "lookup" else TypeKind.MATCH
        allowed = COMPOSED_PARTS[str(spec.composed)]
        for key in ("owner", "key", "class_", "read", "max_age", "stale_if_error"):
            if getattr(spec, key) is not None:
                shown = key.rstrip("_")
                self.add(
                    [*at, shown],
                    f"type {name}: a composed type takes no {shown}: (the gateway composes it)",
                )
        parts: dict[str, ComposedField] = {}
        for field_name, field_spec in spec.fields.items():
            where = [*at, "fields", field_name]
            part = field_spec.is_
            if part not in allowed:
                self.add(
                    [*where, "is"] if part else where,
                    f"{name}.{field_name}: a field of a composed {spec.composed} must say "
                    f"which part it is with is:, one of {', '.join(allowed)}",
                    suggest(part, allowed) if part else None,
                )
                continue
            others = field_spec.model_dump(exclude={"is_"}, exclude_none=True)
            if others:
                self.add(
                    where,
                    f"{name}.{field_name}: a composed field takes only is:, not "
                    f"{', '.join(sorted(others))}",
                )
            parts[field_name] = ComposedField(name, field_name, part, line_of(self.document, where))
        return TypeOwnership(
            name=name,
            kind=kind,
            owner=None,
            fields=MappingProxyType({}),
            line=line,
            parts=MappingProxyType(parts),
        )

    def field(
        self,
        type_name: str,
        name: str,
        spec: FieldSpec,
        type_spec: TypeSpec,
        kind: TypeKind,
        type_owner: str | None,
        type_key: str,
        systems: Mapping[str, SystemConfig],
        roles: frozenset[str],
    ) -> FieldOwnership | None:
        at = ["types", type_name, "fields", name]
        where = f"{type_name}.{name}"
        if spec.is_ is not None:
            self.add([*at, "is"], f"{where}: is: is only for fields of a composed type")
        owner = type_owner
        entity = None
        if kind is TypeKind.VALUE:
            for key in ("owner", "entity", "key", "args", "lookup"):
                if getattr(spec, key) is not None:
                    self.add(
                        [*at, key],
                        f"{where}: a value type's fields are read from the record its field "
                        f"fetched; {key}: belongs on an entity type's field",
                        f"remove {key}:",
                    )
        else:
            if spec.owner is None:
                self.add(at, f"{where}: 'owner' is missing", "name the system that owns it")
                return None
            owner = spec.owner
            if owner not in systems:
                self.add(
                    [*at, "owner"], f"{where}: unknown system {owner!r}", suggest(owner, systems)
                )
                return None
            if spec.lookup is not None:
                self.lookup_use(where, at, owner, spec.lookup)
            elif spec.entity is None:
                self.add(at, f"{where}: 'entity' is missing", suggest("", systems[owner].entities))
            elif spec.entity not in systems[owner].entities:
                self.add(
                    [*at, "entity"],
                    f"{where}: system '{owner}' has no entity {spec.entity!r}",
                    suggest(spec.entity, systems[owner].entities),
                )
            else:
                entity = spec.entity
        if owner is None:
            return None
        read = spec.read if spec.read is not None else type_spec.read
        for role in read or ():
            if roles and role not in roles:
                self.add([*at, "read"], f"{where}: unknown role {role!r}", suggest(role, roles))
        return FieldOwnership(
            type_name=type_name,
            name=name,
            owner=owner,
            entity=entity,
            source=spec.from_,
            key=spec.key or type_key,
            data_class=spec.class_ or type_spec.class_ or "none",
            read=frozenset(read or ()),
            max_age=_first(spec.max_age, type_spec.max_age, 0.0),
            stale_if_error=_first(spec.stale_if_error, type_spec.stale_if_error, 0.0),
            lookup=MappingProxyType(dict(spec.lookup)) if spec.lookup is not None else None,
            format=spec.format,
            values=MappingProxyType(dict(spec.values)) if spec.values is not None else None,
            args=MappingProxyType(
                {arg: self.arg(at, arg, given) for arg, given in (spec.args or {}).items()}
            ),
            line=line_of(self.document, at),
            pattern=spec.pattern,
        )

    def lookup_use(self, where: str, at: list[str], owner: str, uses: Mapping[str, str]) -> None:
        for name in uses:
            lookup = self.spec.lookups.get(name)
            if lookup is None:
                self.add(
                    [*at, "lookup"],
                    f"{where}: unknown lookup {name!r}",
                    suggest(name, self.spec.lookups),
                )
            elif owner not in lookup.owners:
                self.add(
                    [*at, "lookup"],
                    f"{where} is composed from the {name} lookup of '{owner}', "
                    "which the map does not declare",
                    f"add lookups: {{{name}: {{owners: {{{owner}: ...}}}}}}",
                )

    def arg(self, at: list[str], name: str, given: ArgSpec) -> ArgMapping:
        line = line_of(self.document, [*at, "args", name])
        minimum = given.min if given.min is not None else (1 if given.max is not None else None)
        return ArgMapping(
            name,
            given.param,
            MappingProxyType(dict(given.values)) if given.values is not None else None,
            line,
            minimum,
            given.max,
            given.size,
        )

    # -- lookups, roots, mutations, scalars --------------------------------------------

    def lookup(self, name: str, spec: LookupSpec, systems: dict[str, SystemConfig]) -> Lookup:
        """`lookups: {phone: {...}}`: each owner's search becomes a search entity of it."""
        found: list[LookupOwner] = []
        for owner, entry in spec.owners.items():
            at = ["lookups", name, "owners", owner]
            system = systems.get(owner)
            if system is None:
                self.add(at, f"lookups.{name}: unknown system {owner!r}", suggest(owner, systems))
                continue
            entity = f"{name} lookup"
            config = EntityConfig(
                name=entity,
                key_field=entry.id,
                records=entry.records,
                search=Endpoint("GET", entry.search.get, param=entry.search.param),
            )
            systems[owner] = replace(
                system, entities=MappingProxyType({**system.entities, entity: config})
            )
            found.append(
                LookupOwner(
                    owner, entity, entry.datum or name, entry.weight, line_of(self.document, at)
                )
            )
        return Lookup(
            name,
            spec.normalise,
            spec.finds,
            tuple(found),
            line_of(self.document, ["lookups", name]),
        )

    def root(self, name: str, spec: Any) -> RootField:
        return RootField(
            name=name,
            entity=spec.entity,
            lookup=spec.lookup,
            by=spec.by,
            maximum=spec.max,
            line=line_of(self.document, ["queries", name]),
        )

    def mutation(
        self,
        name: str,
        spec: MutationSpec,
        systems: Mapping[str, SystemConfig],
        roles: frozenset[str],
    ) -> MutationOwnership:
        at = ["mutations", name]
        if spec.owner not in systems:
            self.add(
                [*at, "owner"],
                f"mutation {name}: unknown system {spec.owner!r}",
                suggest(spec.owner, systems),
            )
        for role in spec.write:
            if roles and role not in roles:
                self.add(
                    [*at, "write"], f"mutation {name}: unknown role {role!r}", suggest(role, roles)
                )
        request = spec.request
        method, path = next(
            (m.upper(), p)
            for m, p in (("post", request.post), ("put", request.put), ("patch", request.patch))
            if p is not None
        )
        inputs = {
            field_name: InputMapping(
                name=field_name,
                to=None if given.path else (given.to or field_name),
                writes=given.writes,
                values=MappingProxyType(dict(given.values)) if given.values is not None else None,
                line=line_of(self.document, [*at, "input", field_name]),
                max_length=given.max_length,
                max_items=given.max_items,
                format=given.format,
                pattern=given.pattern,
                minimum=given.min,
                id_of=given.id_of,
                only_when=MappingProxyType(
                    {other: frozenset(values) for other, values in (given.only_when or {}).items()}
                ),
            )
            for field_name, given in spec.input.items()
        }
        results: dict[str, ResultMapping] = {}
        for field_name, result in spec.result.items():
            line = line_of(self.document, [*at, "result", field_name])
            system = systems.get(spec.owner)
            if (
                result.entity is not None
                and system is not None
                and result.entity not in system.entities
            ):
                self.add(
                    [*at, "result", field_name, "entity"],
                    f"mutation {name}: result.{field_name}: '{spec.owner}' has no entity "
                    f"{result.entity!r}",
                    suggest(result.entity, system.entities),
                )
            results[field_name] = ResultMapping(field_name, result.key, result.entity, line)
        return MutationOwnership(
            name=name,
            owner=spec.owner,
            method=method,
            path=path,
            write=frozenset(spec.write),
            inputs=MappingProxyType(inputs),
            results=MappingProxyType(results),
            line=line_of(self.document, at),
        )

    def scalar(self, name: str, given: ScalarSpec) -> Scalar:
        line = line_of(self.document, ["scalars", name])
        if given.places is not None and given.kind != "decimal":
            self.add(["scalars", name, "places"], f"scalars.{name}: places: is for decimals only")
        return Scalar(name, given.kind, given.places, line)

    # -- what refers to what -----------------------------------------------------------

    def cross_check(self, ownership: Ownership) -> None:
        types = ownership.types
        entity_types = {t.name for t in ownership.entity_types()}
        for name, lookup in ownership.lookups.items():
            if lookup.finds not in entity_types:
                self.add(
                    ["lookups", name, "finds"],
                    f"lookups.{name}: finds {lookup.finds!r}, which is no entity type of the map",
                    suggest(lookup.finds, entity_types),
                )
        for name, root in ownership.queries.items():
            at = ["queries", name]
            if root.entity is not None and root.entity not in entity_types:
                self.add(
                    [*at, "entity"],
                    f"queries.{name}: {root.entity!r} is no entity type of the map",
                    suggest(root.entity, entity_types),
                )
            if root.lookup is not None and root.lookup not in ownership.lookups:
                self.add(
                    [*at, "lookup"],
                    f"queries.{name}: unknown lookup {root.lookup!r}",
                    suggest(root.lookup, ownership.lookups),
                )
        for entry in types.values():
            for field in entry.fields.values():
                self.check_key(entry, field)
                for kind, source in (field.lookup or {}).items():
                    if source not in entry.fields:
                        self.add(
                            ["types", entry.name, "fields", field.name, "lookup", kind],
                            f"{field.coordinate}: the {kind} lookup asks the values of "
                            f"{entry.name}.{source}, which has no owner",
                            suggest(source, entry.fields),
                        )
        for mutation in ownership.mutations.values():
            self.check_mutation(ownership, mutation)

    def check_key(self, entry: TypeOwnership, field: FieldOwnership) -> None:
        if entry.kind is not TypeKind.ENTITY or field.key == entry.key:
            return
        at = ["types", entry.name, "fields", field.name, "key"]
        seen = [field.name]
        current: FieldOwnership | None = field
        while current is not None and current.key != entry.key:
            key_field = entry.fields.get(current.key)
            if key_field is None:
                self.add(
                    at,
                    f"{field.coordinate} is keyed by {entry.name}.{current.key}, "
                    "which has no owner",
                    suggest(current.key, entry.fields),
                )
                return
            if key_field.name in seen:
                chain = " -> ".join([*seen, key_field.name])
                self.add(at, f"{field.coordinate}: keys go round in a loop: {chain}")
                return
            seen.append(key_field.name)
            current = key_field

    def check_mutation(self, ownership: Ownership, mutation: MutationOwnership) -> None:
        at = ["mutations", mutation.name, "input"]
        for name, mapping in mutation.inputs.items():
            if mapping.writes is not None and not (
                mutation.owner not in ownership.systems
                or mapping.writes in self.broken
                or mapping.writes.partition(".")[0] in self.broken
            ):
                type_name, _, field_name = mapping.writes.partition(".")
                entry = ownership.types.get(type_name)
                written = entry.fields.get(field_name) if entry else None
                if written is None:
                    self.add(
                        [*at, name, "writes"],
                        f"mutation {mutation.name}: input.{name} writes {mapping.writes}, "
                        "which has no owner",
                    )
                elif written.owner != mutation.owner:
                    self.add(
                        [*at, name, "writes"],
                        f"mutation {mutation.name}: input.{name} writes {mapping.writes}, owned "
                        f"by '{written.owner}', but the mutation writes to '{mutation.owner}'",
                        "a mutation changes only what its one owner owns: split it",
                    )
            if mapping.id_of is not None:
                target = ownership.types.get(mapping.id_of)
                if target is None or target.kind is not TypeKind.ENTITY:
                    self.add(
                        [*at, name, "id_of"],
                        f"mutation {mutation.name}: input.{name}: id_of names "
                        f"{mapping.id_of!r}, which is no entity type with a key",
                        suggest(mapping.id_of, [t.name for t in ownership.entity_types()]),
                    )
            for other in mapping.only_when:
                if other not in mutation.inputs:
                    self.add(
                        [*at, name, "only_when"],
                        f"mutation {mutation.name}: input.{name}: only_when names "
                        f"input.{other}, which does not exist",
                        suggest(other, mutation.inputs),
                    )


def _entity(name: str, spec: EntitySpec) -> EntityConfig:
    batch = None
    if spec.batch is not None:
        given = spec.batch
        if given.get is not None:
            batch = Endpoint("GET", given.get, param=given.param or "ids")
        else:
            assert given.post is not None
            batch = Endpoint("POST", given.post, body=given.body or "ids")
    single = Endpoint("GET", spec.single.get) if spec.single is not None else None
    return EntityConfig(
        name=name,
        key_field=spec.key,
        records=spec.records,
        many=spec.many,
        batch=batch,
        single=single,
    )


def _written(document: Any, path: Sequence[str]) -> Any:
    """What the map's author wrote at `path`, as written (None when it is not there)."""
    node = document
    for step in path:
        if not isinstance(node, dict) or step not in node:
            return None
        node = node[step]
    return node


def _first(*values: Any) -> Any:
    return next(v for v in values if v is not None)
