"""JSON Schemas of an OpenAPI document, read the way a starter graph needs them.

References are followed (local ones: ``#/...``), a nullable is unwrapped
however it is written (``anyOf``/``oneOf`` with ``{type: null}``, ``type:
[string, "null"]``, ``nullable: true``, an enum listing null), and ``allOf``
is merged into one object.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

_COMPONENT = "#/components/schemas/"
_MAX_HOPS = 32


@dataclass(frozen=True)
class Shape:
    """One schema, references followed and null taken out."""

    schema: dict[str, Any]
    nullable: bool = False
    component: str | None = None
    """The name under components.schemas it was a reference to, if it was one."""
    description: str | None = None
    """Its description, or the description given beside the reference."""

    @property
    def kind(self) -> str:
        """object, array, string, integer, number, boolean, enum, or unknown."""
        schema = self.schema
        if "enum" in schema:
            return "enum"
        if "const" in schema:
            return _json_type(schema["const"])
        given = schema.get("type")
        if isinstance(given, str):
            return given
        if "properties" in schema:
            return "object"
        if "items" in schema:
            return "array"
        return "unknown"

    @property
    def is_record(self) -> bool:
        """An object with named properties: something a type can be made of."""
        return self.kind == "object" and bool(self.schema.get("properties"))


@dataclass
class Schemas:
    """The schemas of one document."""

    document: dict[str, Any]

    def resolve(self, node: Any) -> tuple[Any, str | None]:
        """`node` with its references followed, and the component it named last."""
        component = None
        for _ in range(_MAX_HOPS):
            if not (isinstance(node, dict) and isinstance(node.get("$ref"), str)):
                return node, component
            reference: str = node["$ref"]
            if not reference.startswith("#/"):
                return {}, component  # another file's: not followed
            if reference.startswith(_COMPONENT):
                component = _unescape(reference[len(_COMPONENT) :])
            target: Any = self.document
            for part in reference[2:].split("/"):
                target = target.get(_unescape(part)) if isinstance(target, dict) else None
            node = target
        return {}, component

    def shape(self, node: Any) -> Shape:
        """What `node` is, references followed, null and allOf taken apart."""
        outer = node.get("description") if isinstance(node, dict) else None
        resolved, component = self.resolve(node)
        if not isinstance(resolved, dict):
            return Shape({}, component=component)
        description = _text(outer) or _text(resolved.get("description"))
        nullable = resolved.get("nullable") is True
        schema = resolved
        alternatives = schema.get("anyOf") or schema.get("oneOf")
        if isinstance(alternatives, list):
            others = [alt for alt in alternatives if not self._is_null(alt)]
            nullable = nullable or len(others) < len(alternatives)
            if len(others) == 1:
                inner = self.shape(others[0])
                return Shape(
                    inner.schema,
                    nullable=nullable or inner.nullable,
                    component=inner.component or component,
                    description=description or inner.description,
                )
            # Several alternatives that are not null: a union, left for a person to read.
        given = schema.get("type")
        if isinstance(given, list):
            types = [t for t in given if t != "null"]
            nullable = nullable or len(types) < len(given)
            schema = {**schema, "type": types[0] if len(types) == 1 else types}
        if isinstance(schema.get("enum"), list) and None in schema["enum"]:
            nullable = True
            schema = {**schema, "enum": [v for v in schema["enum"] if v is not None]}
        if isinstance(schema.get("allOf"), list):
            merged = self._merge(schema)
            if merged is not None:
                return Shape(merged.schema, nullable, merged.component or component, description)
        return Shape(schema, nullable, component, description)

    def properties(self, shape: Shape) -> dict[str, Any]:
        """The properties of an object, as written (each still to be shaped)."""
        found = shape.schema.get("properties")
        return dict(found) if isinstance(found, dict) else {}

    def items(self, shape: Shape) -> Shape | None:
        """What an array holds."""
        if shape.kind != "array":
            return None
        return self.shape(shape.schema.get("items", {}))

    def _is_null(self, node: Any) -> bool:
        resolved, _ = self.resolve(node)
        if not isinstance(resolved, dict):
            return False
        return resolved.get("type") == "null" or resolved.get("enum") == [None]

    def _merge(self, schema: dict[str, Any]) -> Shape | None:
        """allOf: one object of every member's properties (a later member's win)."""
        members = [self.shape(member) for member in schema["allOf"]]
        if len(members) == 1 and not schema.get("properties"):
            return members[0]
        properties: dict[str, Any] = {}
        required: list[str] = []
        for member in members:
            if member.kind not in ("object", "unknown"):
                return None
            properties.update(self.properties(member))
            required += [r for r in member.schema.get("required", []) if isinstance(r, str)]
        properties.update(schema.get("properties") or {})
        merged = {k: v for k, v in schema.items() if k != "allOf"}
        merged.update(type="object", properties=properties, required=required)
        return Shape(merged)


def _unescape(part: str) -> str:
    return part.replace("~1", "/").replace("~0", "~")


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "unknown"


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value.strip() else None
