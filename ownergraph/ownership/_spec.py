"""The document `ownership.yaml` is: every key it may hold, with its type, declared once.

These models check the map's shape (unknown keys, missing keys, wrong types,
values out of range) and are where its JSON Schema comes from (`json_schema`).
What needs more than one place of the map to check (does this owner exist?
does that field?) is checked when the model is built (`_build`).
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    WithJsonSchema,
    model_validator,
)

FORMATS = ("cents", "decimal", "e164", "epoch", "iso", "date")
"""How an owner writes a value: whole cents, a decimal, a phone number to write as E.164,
seconds since the epoch, an ISO 8601 date-time, an ISO date."""
NORMALISERS = ("e164", "email", "trim", "upper", "none")
"""How a looked-up value is written before the owners are asked."""
SCALAR_KINDS = ("decimal", "datetime", "date", "string", "int", "float", "boolean")
"""What a custom scalar of the SDL is on the wire."""
DATA_CLASSES = ("none", "contact", "personal", "financial")
INPUT_FORMATS = ("email", "phone")
COMPOSED = ("lookup", "match")
COMPOSED_PARTS = {
    "lookup": ("value", "matches", "best"),
    "match": ("entity", "confidence", "matched_by"),
}
"""What a composed type's fields may be: a lookup's answer, or one match of it."""

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}


def parse_duration(value: Any) -> float | None:
    """Seconds in `value`: a number of seconds, or a string like ``"800ms"``, ``"5m"``."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value) if value >= 0 else None
    if isinstance(value, str) and (match := _DURATION.match(value)):
        return float(match.group(1)) * _UNITS[match.group(2)]
    return None


def _duration(value: Any) -> float:
    seconds = parse_duration(value)
    if seconds is None:
        raise ValueError(f"not a duration: {value!r} (write e.g. 800ms, 2s, 5m or 30)")
    return seconds


def _path(value: Any) -> tuple[str, ...]:
    if isinstance(value, tuple):
        return value
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"not a dotted path: {value!r} (write e.g. address.city)")
    steps = tuple(value.split("."))
    if not all(steps):
        raise ValueError(f"not a dotted path: {value!r} (write e.g. address.city)")
    return steps


def _regex(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"not a regular expression: {value!r}")
    try:
        re.compile(value)
    except re.error as error:
        raise ValueError(f"{value!r} is not a regular expression: {error}") from None
    return value


def _url_path(value: Any) -> str:
    if not isinstance(value, str) or not value.startswith("/"):
        raise ValueError(f"path {value!r} must start with /")
    return value


Duration = Annotated[
    float,
    BeforeValidator(_duration),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "number", "minimum": 0},
                {"type": "string", "pattern": r"^\s*\d+(\.\d+)?\s*(ms|s|m|h)?\s*$"},
            ],
            "description": "Seconds, or a duration like 800ms, 2s, 5m, 1h.",
        }
    ),
]
DottedPath = Annotated[
    tuple[str, ...],
    BeforeValidator(_path),
    WithJsonSchema(
        {"type": "string", "pattern": r"^[^.]+(\.[^.]+)*$", "description": "A dotted path."}
    ),
]
Regex = Annotated[
    str,
    BeforeValidator(_regex),
    WithJsonSchema({"type": "string", "format": "regex"}),
]
UrlPath = Annotated[str, BeforeValidator(_url_path), WithJsonSchema({"type": "string"})]
Positive = Annotated[int, Field(ge=1, strict=True)]
Share = Annotated[float, Field(ge=0, le=1)]
SystemName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]


class Spec(BaseModel):
    """A part of the map: unknown keys are refused, names may use `from`, `class`, `is`."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def _or_string(description: str) -> Any:
    """JSON Schema for a part that may also be written as one string (its main value)."""

    def extra(schema: dict[str, Any]) -> None:
        written_out = dict(schema)
        schema.clear()
        schema["anyOf"] = [{"type": "string", "description": description}, written_out]

    return extra


class BreakerSpec(Spec):
    failures: Positive | None = Field(None, description="Open after this many failures in a row.")
    window: Annotated[int, Field(ge=2, strict=True)] | None = Field(
        None, description="...or when half of the last `window` calls failed."
    )
    open_first: Duration | None = Field(
        None, description="How long it first stays open (refusing at once), before one probe."
    )
    open_for: Duration | None = Field(
        None, description="The longest it stays open: a probe that hung doubles the open time."
    )
    slow: Duration | None = Field(
        None, description="A call cut by the request's deadline counts as failed past this."
    )


class PolicySpec(Spec):
    timeout: Duration | None = Field(None, description="Per call to the system.")
    max_batch: Positive | None = Field(None, description="Keys per batch request.")
    concurrency: Positive | None = Field(None, description="Simultaneous calls, process-wide.")
    retries: Annotated[int, Field(ge=0, strict=True)] | None = Field(
        None, description="Extra attempts for a read refused, broken, 502/503/504 or 429."
    )
    retry_budget: Share | None = Field(None, description="Retries as a share of calls, at most.")
    breaker: BreakerSpec | None = None


class AuthSpec(Spec):
    env: str = Field(description="The environment variable holding the credential.")
    header: str = "Authorization"
    scheme: str | None = Field(None, description="Default Bearer for Authorization, else none.")


class ErrorsSpec(Spec):
    message: DottedPath | None = Field(None, description="Where an error body says what.")
    field: DottedPath | None = Field(None, description="Where it names the field at fault.")


class BatchSpec(Spec):
    get: UrlPath | None = Field(None, description="GET path; keys go comma-separated in param.")
    post: UrlPath | None = Field(None, description="POST path; keys go as a JSON list in body.")
    param: str | None = None
    body: str | None = None

    @model_validator(mode="after")
    def _one_method(self) -> BatchSpec:
        if (self.get is None) == (self.post is None):
            raise ValueError("give exactly one of get: or post: with the path")
        if self.get is not None and self.body is not None:
            raise ValueError("a GET batch sends its keys in param:, not body:")
        if self.post is not None and self.param is not None:
            raise ValueError("a POST batch sends its keys in body:, not param:")
        return self


class SingleSpec(Spec):
    get: UrlPath = Field(description="A path with {key}, e.g. /customers/{key}.")

    @model_validator(mode="after")
    def _placeholder(self) -> SingleSpec:
        if "{key}" not in self.get:
            raise ValueError(f"path {self.get!r} has no {{key}} placeholder")
        return self


class EntitySpec(Spec):
    key: DottedPath = Field(description="The record field holding the key (dotted).")
    records: str | None = Field(None, description="The reply field holding the records.")
    many: bool = Field(False, description="One-to-many: each key has a list of records.")
    batch: BatchSpec | None = None
    single: SingleSpec | None = None

    @model_validator(mode="after")
    def _readable(self) -> EntitySpec:
        if self.batch is None and self.single is None:
            raise ValueError("has neither a batch nor a single endpoint (declare batch:)")
        return self


class SystemSpec(PolicySpec):
    kind: Literal["rest"] = Field("rest", description="How the system is spoken to.")
    url: str = Field(description="Base URL; OWNERGRAPH_<SYSTEM>_URL overrides it.")
    description: str | None = None
    auth: AuthSpec | None = None
    errors: ErrorsSpec | None = None
    entities: Annotated[dict[str, EntitySpec], Field(min_length=1)]


class ArgSpec(Spec):
    """An argument's way to the owner; a string is the owner's parameter alone."""

    model_config = ConfigDict(
        json_schema_extra=_or_string("The owner's parameter (enum values in lower case).")
    )

    @model_validator(mode="before")
    @classmethod
    def _short(cls, value: Any) -> Any:
        return {"param": value} if isinstance(value, str) else value

    param: str = Field(description="The owner's query parameter (or body field).")
    values: dict[str, str] | None = Field(None, description="Enum value -> the owner's word.")
    min: int | None = Field(None, description="Smallest value allowed (with max: 1).")
    max: Positive | None = Field(None, description="Largest value allowed.")
    size: bool = Field(
        False, description="The argument is how many items the list returns, at most."
    )


class FieldSpec(Spec):
    owner: str | None = Field(None, description="The system that owns the field.")
    entity: str | None = Field(None, description="The owner's entity the value is read from.")
    from_: DottedPath | None = Field(
        None, alias="from", description="Where the value is in the record (dotted)."
    )
    key: str | None = Field(
        None, description="The field whose value keys the entity (default: the type's key)."
    )
    class_: Literal[DATA_CLASSES] | None = Field(None, alias="class")  # type: ignore[valid-type]
    read: list[str] | None = Field(None, description="Roles that may read it.")
    max_age: Duration | None = Field(None, description="How old a value may be served.")
    stale_if_error: Duration | None = Field(
        None, description="How old a value may be served, labelled, when the owner fails."
    )
    format: Literal[FORMATS] | None = None  # type: ignore[valid-type]
    values: dict[str, str] | None = Field(None, description="Owner value -> enum value.")
    args: dict[str, ArgSpec] | None = Field(
        None, description="How each GraphQL argument goes to the owner."
    )
    pattern: Regex | None = Field(None, description="On a key: what every key looks like.")
    lookup: dict[str, str] | None = Field(
        None, description="Composed from lookups: lookup name -> the field whose values it asks."
    )
    is_: str | None = Field(None, alias="is", description="On a composed type: which part.")


class TypeSpec(Spec):
    owner: str | None = Field(
        None, description="A value type: its whole record comes from this system."
    )
    key: str | None = Field(None, description="An entity type: the field holding its key.")
    composed: Literal[COMPOSED] | None = Field(  # type: ignore[valid-type]
        None, description="A type the gateway composes: a lookup's answer, or one match."
    )
    class_: Literal[DATA_CLASSES] | None = Field(None, alias="class")  # type: ignore[valid-type]
    read: list[str] | None = None
    max_age: Duration | None = None
    stale_if_error: Duration | None = None
    fields: dict[str, FieldSpec]


class SearchSpec(Spec):
    get: UrlPath
    param: str


class LookupOwnerSpec(Spec):
    search: SearchSpec
    records: str | None = None
    id: DottedPath = Field(description="Where each found record holds the found entity's key.")
    datum: str | None = Field(None, description="What matched, for matchedBy.")
    weight: Annotated[float, Field(gt=0, le=1)] = Field(
        0.5, description="How much one match from this owner alone says."
    )


class LookupSpec(Spec):
    normalise: Literal[NORMALISERS] = Field(  # type: ignore[valid-type]
        description="How the value is written before the owners are asked."
    )
    finds: str = Field(description="The entity type whose keys the owners answer.")
    owners: Annotated[dict[str, LookupOwnerSpec], Field(min_length=1)]


class QuerySpec(Spec):
    entity: str | None = Field(None, description="Read this entity type by its key.")
    lookup: str | None = Field(None, description="Answer with this lookup.")
    by: str = Field(description="The argument holding the key, the keys, or the value.")
    max: Positive | None = Field(None, description="For a list of keys: at most this many.")

    @model_validator(mode="after")
    def _one_kind(self) -> QuerySpec:
        if (self.entity is None) == (self.lookup is None):
            raise ValueError("give exactly one of entity: or lookup:")
        return self


class InputSpec(Spec):
    to: str | None = Field(None, description="The owner's body field (default: the same name).")
    path: bool = Field(False, description="The input fills the request path's placeholder.")
    writes: str | None = Field(None, description="The coordinate it changes (Type.field).")
    values: dict[str, str] | None = Field(None, description="Enum value -> the owner's word.")
    max_length: Positive | None = None
    max_items: Positive | None = None
    format: Literal[INPUT_FORMATS] | None = None  # type: ignore[valid-type]
    pattern: Regex | None = None
    min: int | None = None
    id_of: str | None = Field(None, description="An entity type whose key pattern applies.")
    only_when: dict[str, list[str]] | None = Field(
        None, description="Given only when these inputs hold one of these enum values."
    )


class RequestSpec(Spec):
    post: str | None = None
    put: str | None = None
    patch: str | None = None

    @model_validator(mode="after")
    def _one_method(self) -> RequestSpec:
        if sum(v is not None for v in (self.post, self.put, self.patch)) != 1:
            raise ValueError("give exactly one of post:, put: or patch:")
        return self


class ResultSpec(Spec):
    key: Annotated[str, Field(pattern=r"^(input|reply)\.[A-Za-z0-9_.]+$")] = Field(
        description="input.<field> or reply.<path>: where the key of what to read back is."
    )
    entity: str | None = Field(None, description="For a value type: the owner's entity.")


class MutationSpec(Spec):
    owner: str
    write: list[str] = Field(description="Roles that may call it.")
    request: RequestSpec
    input: dict[str, InputSpec]
    result: dict[str, ResultSpec] = Field(default_factory=dict)


class ScalarSpec(Spec):
    """What a custom scalar is on the wire; a string is its kind alone."""

    model_config = ConfigDict(json_schema_extra=_or_string("The scalar's kind."))

    @model_validator(mode="before")
    @classmethod
    def _short(cls, value: Any) -> Any:
        return {"kind": value} if isinstance(value, str) else value

    kind: Literal[SCALAR_KINDS]  # type: ignore[valid-type]
    places: Annotated[int, Field(ge=0, le=12)] | None = Field(
        None, description="For a decimal: the digits after the point it is written with."
    )


class OwnershipSpec(Spec):
    """An ownership map: who owns each field of a graph, and how to read and write it."""

    version: Literal[1]
    roles: list[str] = Field(default_factory=list, description="Roles read: and write: may name.")
    phone_region: str | None = Field(
        None, description="Region of phone numbers written without a country code, e.g. IT."
    )
    sample: str | None = Field(None, description="The query GraphiQL opens with.")
    scalars: dict[str, ScalarSpec] = Field(
        default_factory=dict, description="Custom scalars of the SDL: what each is on the wire."
    )
    defaults: PolicySpec | None = None
    systems: dict[SystemName, SystemSpec]
    lookups: dict[str, LookupSpec] = Field(default_factory=dict)
    queries: dict[str, QuerySpec] = Field(default_factory=dict)
    types: dict[str, TypeSpec]
    mutations: dict[str, MutationSpec] = Field(default_factory=dict)


def json_schema() -> dict[str, Any]:
    """The JSON Schema of `ownership.yaml`, for editors to check and complete the map."""
    schema = OwnershipSpec.model_json_schema(by_alias=True)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        **schema,
        "title": "ownergraph ownership map",
    }
