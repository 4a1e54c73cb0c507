"""Pieces of the utility systems' OpenAPI 3.1 documents: references, parameters, records,
and what every idempotent write answers.
"""

from __future__ import annotations

from ._http import KEY_HEADER, MAX_BATCH, MAX_KEY_LENGTH, REPLAYED_HEADER, JSONObject

__all__ = [
    "ACCOUNT_ID",
    "CONTRACT_NUMBER",
    "DATE",
    "KEY_PARAM",
    "METER_ID",
    "document",
    "keys_param",
    "list_schema",
    "nullable",
    "param",
    "record_schema",
    "ref",
    "reply",
    "request_body",
    "write_responses",
]


def ref(name: str) -> JSONObject:
    """A reference to the component schema ``name``."""
    return {"$ref": f"#/components/schemas/{name}"}


def nullable(schema: JSONObject) -> JSONObject:
    """OpenAPI 3.1's spelling of "this or null"."""
    return {"anyOf": [schema, {"type": "null"}]}


def reply(description: str, schema: JSONObject, media_type: str = "application/json") -> JSONObject:
    return {"description": description, "content": {media_type: {"schema": schema}}}


def request_body(schema: JSONObject) -> JSONObject:
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def param(
    where: str, name: str, description: str, schema: JSONObject, *, required: bool = False
) -> JSONObject:
    return {
        "name": name,
        "in": where,
        "required": required or where == "path",
        "description": description,
        "schema": schema,
    }


def keys_param(name: str, what: str, example: str) -> JSONObject:
    """A batch read's list of keys, as :func:`._http.query_keys` parses it."""
    return {
        **param(
            "query",
            name,
            f"{what}, comma-separated or the parameter repeated: 1 to {MAX_BATCH} items, "
            "repeats counted. Unknown ones are simply absent from the reply.",
            {
                "type": "array",
                "items": {"type": "string"},
                "minItems": 1,
                "maxItems": MAX_BATCH,
                "examples": [[example]],
            },
            required=True,
        ),
        "style": "form",
        "explode": False,
    }


KEY_PARAM = param(
    "header",
    KEY_HEADER,
    f"Required. One key per intended write, 1 to {MAX_KEY_LENGTH} printable ASCII characters, "
    "sent again only to retry that write. The same key with the same request (method, path, "
    "JSON body; key order and whitespace aside) gets the first reply again, with "
    f"{REPLAYED_HEADER}: true and nothing written twice; with a different request, a 422; "
    "while the first is still in progress, a 409. Only a write that succeeded is "
    "remembered, for the life of the system: after a refusal the key is free again.",
    {"type": "string", "minLength": 1, "maxLength": MAX_KEY_LENGTH},
    required=True,
)
_KEY_REFUSAL: JSONObject = {
    "type": "object",
    "description": "A refusal of the idempotency layer, the same on every system.",
    "required": ["message"],
    "properties": {"message": {"type": "string"}},
    "additionalProperties": False,
}


def write_responses(
    status: str, schema: JSONObject, description: str, error: JSONObject
) -> JSONObject:
    """An idempotent write's replies: ``status`` with ``schema``, and the refusals, whose
    400 is either the system's ``error`` (a bad body) or a key refusal (a bad key).
    """
    replayed = {
        REPLAYED_HEADER: {
            "description": "true on the stored reply to an earlier request with the same key.",
            "schema": {"const": "true"},
        }
    }
    key_refusal = ref("KeyRefusal")
    return {
        status: {**reply(description, schema), "headers": replayed},
        "400": reply(
            f"A bad body (the error names the field), or a missing or malformed {KEY_HEADER} "
            "(a KeyRefusal).",
            {"anyOf": [error, key_refusal]},
        ),
        "409": reply(f"A request with this {KEY_HEADER} is still in progress.", key_refusal),
        "422": reply(f"This {KEY_HEADER} was used for a different request.", key_refusal),
    }


def document(title: str, description: str, paths: JSONObject, schemas: JSONObject) -> JSONObject:
    """A system's OpenAPI 3.1 document: its business routes and their schemas."""
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": "1.0.0", "description": description},
        "paths": paths,
        "components": {"schemas": {**schemas, "KeyRefusal": _KEY_REFUSAL}},
    }


def record_schema(properties: JSONObject, description: str) -> JSONObject:
    """A record: every property present (``null`` where empty), no other."""
    return {
        "type": "object",
        "description": description,
        "required": list(properties),
        "properties": properties,
        "additionalProperties": False,
    }


def list_schema(field: str, item: str, description: str) -> JSONObject:
    return record_schema({field: {"type": "array", "items": ref(item)}}, description)


ACCOUNT_ID = {"type": "string", "pattern": "^A-[0-9]{4}$", "examples": ["A-1001"]}
CONTRACT_NUMBER = {"type": "string", "pattern": "^CT-[0-9]{4}$", "examples": ["CT-0001"]}
METER_ID = {"type": "string", "pattern": "^M-[0-9]{5}$", "examples": ["M-00001"]}
DATE = {"type": "string", "format": "date"}
