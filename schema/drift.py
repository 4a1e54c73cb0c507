"""Ownership drift: does each owner still publish what the map reads and writes?

Compares the map with each owner's OpenAPI document: every endpoint the map
calls must exist with its method, and every mapped field's path must still
exist in the records that endpoint returns, with a JSON type that fits the
GraphQL field. Fetching the documents is the caller's business; this only
compares.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from graphql import (
    GraphQLEnumType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
)

from ownergraph.ownership import FieldOwnership, Ownership, TypeKind
from ownergraph.sources import ABSENT, Endpoint, EntityConfig, find

from .binding import scalar_kind

_PLACEHOLDER = re.compile(r"\{[^}]*\}")
# The JSON types a scalar of each kind (or an ID) may be read from.
_KIND_TYPES = {
    "string": {"string"},
    "id": {"string", "integer"},
    "int": {"integer"},
    "float": {"number", "integer"},
    "boolean": {"boolean"},
    "decimal": {"string", "number", "integer"},
    "datetime": {"string"},
    "date": {"string"},
}
_FORMAT_TYPES = {
    "cents": {"integer"},
    "decimal": {"string", "number", "integer"},
    "epoch": {"integer", "number"},
    "iso": {"string"},
    "date": {"string"},
    "e164": {"string"},
}


@dataclass(frozen=True)
class Drift:
    """One thing the map expects that an owner no longer publishes."""

    system: str
    where: str
    mapped: str
    problem: str


def find_drift(
    ownership: Ownership, schema: GraphQLSchema, documents: Mapping[str, Any]
) -> list[Drift]:
    """Every drift between the map and the owners' OpenAPI `documents`, by system name."""
    return list(_Compare(ownership, schema, documents).drifts())


class _Compare:
    def __init__(
        self, ownership: Ownership, schema: GraphQLSchema, documents: Mapping[str, Any]
    ) -> None:
        self.ownership = ownership
        self.schema = schema
        self.documents = documents

    def drifts(self) -> Iterator[Drift]:
        for name, system in self.ownership.systems.items():
            if name not in self.documents:
                continue
            for entity in system.entities.values():
                for endpoint in (entity.batch, entity.single, entity.search):
                    if endpoint is not None and self.operation(name, endpoint) is None:
                        yield Drift(
                            name,
                            f"entity {entity.name}",
                            f"{endpoint.method} {endpoint.path}",
                            "the endpoint is gone",
                        )
        for mutation in self.ownership.mutations.values():
            if (
                mutation.owner in self.documents
                and self.operation(mutation.owner, Endpoint(mutation.method, mutation.path)) is None
            ):
                yield Drift(
                    mutation.owner,
                    f"mutation {mutation.name}",
                    f"{mutation.method} {mutation.path}",
                    "the endpoint is gone",
                )
        for entry in self.ownership.types.values():
            if entry.kind is not TypeKind.ENTITY:
                continue
            gql_type = self.schema.type_map[entry.name]
            assert isinstance(gql_type, GraphQLObjectType)
            for field in entry.fields.values():
                if field.entity is None or field.owner not in self.documents:
                    continue
                record = self.record_schema(field.owner, field.entity)
                if record is None:
                    continue
                yield from self.check(field, gql_type.fields[field.name].type, record)

    def check(self, field: FieldOwnership, gql_type: Any, record: Any) -> Iterator[Drift]:
        named = _named(gql_type)
        link = _is_link(self.ownership, named)
        path = (
            field.source
            if field.source is not None
            else (() if isinstance(named, GraphQLObjectType) and not link else (field.name,))
        )
        where = field.coordinate
        mapped = ".".join(path) or "(the whole record)"
        value = self.walk(field.owner, record, path)
        if value is None:
            yield Drift(field.owner, where, mapped, "no longer in the owner's records")
            return
        if isinstance(_strip(gql_type), GraphQLList) and field.entity is not None:
            entity = self.ownership.systems[field.owner].entities[field.entity]
            if not entity.many:
                value = self.items(field.owner, value)
        elif isinstance(_strip(gql_type), GraphQLList):
            value = self.items(field.owner, value)
        if value is None:
            yield Drift(field.owner, where, mapped, "is no longer a list")
            return
        if link:
            return  # the keys of another entity, checked with that entity's owner
        if isinstance(named, GraphQLObjectType):
            target = self.ownership.types.get(named.name)
            for child in target.fields.values() if target else ():
                yield from self.check(child, named.fields[child.name].type, value)
            return
        found = self.json_types(field.owner, value)
        wanted = self.wanted(field, named)
        if found and wanted and not found & wanted:
            yield Drift(
                field.owner,
                where,
                mapped,
                f"changed type: {'/'.join(sorted(found))}, expected {'/'.join(sorted(wanted))}",
            )

    def wanted(self, field: FieldOwnership, named: Any) -> set[str]:
        if field.format is not None:
            return _FORMAT_TYPES[field.format]
        if isinstance(named, GraphQLEnumType):
            return {"string"}
        if isinstance(named, GraphQLScalarType):
            kind = "id" if named.name == "ID" else scalar_kind(self.ownership, named.name)
            return _KIND_TYPES.get(kind or "", set())
        return set()

    # -- OpenAPI --------------------------------------------------------------

    def operation(self, system: str, endpoint: Endpoint) -> Any:
        paths = self.documents[system].get("paths", {})
        wanted = _PLACEHOLDER.sub("{}", endpoint.path)
        for path, item in paths.items():
            if _PLACEHOLDER.sub("{}", path) == wanted and isinstance(item, dict):
                return item.get(endpoint.method.lower())
        return None

    def record_schema(self, system: str, entity_name: str) -> Any:
        entity: EntityConfig = self.ownership.systems[system].entities[entity_name]
        endpoint = entity.batch or entity.single
        if endpoint is None:
            return None
        operation = self.operation(system, endpoint)
        if operation is None:
            return None  # reported as a missing endpoint
        responses = operation.get("responses", {})
        reply = next((responses[c] for c in ("200", "201") if c in responses), None)
        body = self.resolve(
            system, ((reply or {}).get("content", {}).get("application/json") or {}).get("schema")
        )
        if body is None:
            return None
        if entity.records is not None:
            body = self.walk(system, body, (entity.records,))
        if endpoint is entity.batch:
            return self.items(system, body)
        return body

    def walk(self, system: str, node: Any, path: tuple[str, ...]) -> Any:
        node = self.resolve(system, node)
        for step in path:
            properties = self.properties(system, node)
            if step not in properties:
                return None
            node = self.resolve(system, properties[step])
        return node

    def properties(self, system: str, node: Any) -> dict[str, Any]:
        found: dict[str, Any] = {}
        for option in self.options(system, node):
            found.update(option.get("properties", {}))
        return found

    def items(self, system: str, node: Any) -> Any:
        for option in self.options(system, node):
            if "items" in option:
                return self.resolve(system, option["items"])
        return None

    def json_types(self, system: str, node: Any) -> set[str]:
        found: set[str] = set()
        for option in self.options(system, node):
            kind = option.get("type")
            if isinstance(kind, list):
                found.update(kind)
            elif isinstance(kind, str):
                found.add(kind)
            elif "enum" in option:
                found.update(
                    {
                        "string" if isinstance(v, str) else "integer"
                        for v in option["enum"]
                        if v is not None
                    }
                )
        found.discard("null")
        return found

    def options(self, system: str, node: Any) -> list[dict[str, Any]]:
        """The alternatives of a schema (anyOf/oneOf/allOf flattened), references resolved."""
        node = self.resolve(system, node)
        if not isinstance(node, dict):
            return []
        alternatives = node.get("anyOf") or node.get("oneOf") or node.get("allOf")
        if alternatives:
            return [o for alt in alternatives for o in self.options(system, alt)]
        return [node]

    def resolve(self, system: str, node: Any) -> Any:
        seen = 0
        while isinstance(node, dict) and "$ref" in node and seen < 20:
            reference = str(node["$ref"])
            if not reference.startswith("#/"):
                return None
            target: Any = self.documents[system]
            for part in reference[2:].split("/"):
                target = target.get(part) if isinstance(target, dict) else None
            node = target
            seen += 1
        return node


def _is_link(ownership: Ownership, named: Any) -> bool:
    """Whether a field returning `named` reads the keys of another entity type."""
    entry = ownership.types.get(getattr(named, "name", ""))
    return entry is not None and entry.kind is TypeKind.ENTITY


def _strip(gql_type: Any) -> Any:
    return gql_type.of_type if isinstance(gql_type, GraphQLNonNull) else gql_type


def _named(gql_type: Any) -> Any:
    while isinstance(gql_type, GraphQLNonNull | GraphQLList):
        gql_type = gql_type.of_type
    return gql_type


def find_absent(
    ownership: Ownership,
    schema: GraphQLSchema,
    samples: Mapping[tuple[str, str], Any],
    key: str,
) -> list[Drift]:
    """Every mapped path absent from the owners' sample records of the entity keyed `key`.

    `samples` holds, by (system, entity), what the owner answered for it: a
    record, a list of records (one-to-many), None (the owner does not know
    it) or an exception (it could not be read). A path is absent when an
    object lacks its key: a null is a value the owner does not have, fine.
    """
    return list(_Sample(ownership, schema, samples, key).drifts())


class _Sample:
    def __init__(
        self,
        ownership: Ownership,
        schema: GraphQLSchema,
        samples: Mapping[tuple[str, str], Any],
        key: str,
    ) -> None:
        self.ownership = ownership
        self.schema = schema
        self.samples = samples
        self.key = key

    def drifts(self) -> Iterator[Drift]:
        reported: set[tuple[str, str]] = set()
        for entry in self.ownership.types.values():
            if entry.kind is not TypeKind.ENTITY:
                continue
            gql_type = self.schema.type_map[entry.name]
            assert isinstance(gql_type, GraphQLObjectType)
            for field in entry.fields.values():
                if field.entity is None:
                    continue
                where = (field.owner, field.entity)
                if where not in self.samples:
                    continue
                sample = self.samples[where]
                if sample is None or isinstance(sample, Exception) or sample == []:
                    if where not in reported:
                        reported.add(where)
                        yield Drift(
                            field.owner,
                            f"entity {field.entity}",
                            "",
                            self.nothing(sample),
                        )
                    continue
                if isinstance(sample, list):
                    sample = sample[0]  # the first record stands for all
                yield from self.check(field, gql_type.fields[field.name].type, sample)

    def nothing(self, sample: Any) -> str:
        if isinstance(sample, Exception):
            return f"could not read a sample for {self.key}: {sample}"
        return f"no record for {self.key} to check: sample another key"

    def check(self, field: FieldOwnership, gql_type: Any, record: Any) -> Iterator[Drift]:
        named = _named(gql_type)
        link = _is_link(self.ownership, named)
        path = (
            field.source
            if field.source is not None
            else (() if isinstance(named, GraphQLObjectType) and not link else (field.name,))
        )
        value = find(record, path) if path else record
        if value is ABSENT:
            yield Drift(
                field.owner,
                field.coordinate,
                ".".join(path),
                f"absent from the record of {self.key}",
            )
            return
        if not isinstance(named, GraphQLObjectType) or value is None or link:
            return
        if isinstance(value, list):
            if not value:
                return  # nothing to check the items against
            value = value[0]
        target = self.ownership.types.get(named.name)
        for child in target.fields.values() if target else ():
            yield from self.check(child, named.fields[child.name].type, value)
