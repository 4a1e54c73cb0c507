"""Owner-backed field resolvers: find the field's owner in the plan, load, project.

A field keyed by its entity's key is loaded at once; a field keyed by another
field (an ERP keyed by the CRM's code for the customer) first loads that
field from its own owner, and so on to any depth: each hop is a wave. A key
may be a list (several contracts per customer): every key is loaded and the
records combined. A field that returns entities (a link) reads their keys
and hands on references. All of it goes through the request's DataLoaders,
so however many entities a query touches, each owner is asked once per wave.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from graphql import GraphQLResolveInfo

from ownergraph.sources import OwnerError

from .context import Context, NotLoaded, OwnerLoader, Params
from .errors import BadUserInput, Forbidden
from .freshness import Stale
from .plan import FieldPlan

Info = GraphQLResolveInfo
"""What graphql-core hands a resolver; `info.context` is the request's `Context`."""


class EntityRef:
    """An entity the graph is resolving: its type and key, no data."""

    __slots__ = ("key", "type_name")

    def __init__(self, type_name: str, key: str) -> None:
        self.type_name = type_name
        self.key = key

    def __repr__(self) -> str:
        return f"EntityRef({self.type_name!r}, {self.key!r})"

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, EntityRef)
            and other.type_name == self.type_name
            and other.key == self.key
        )

    def __hash__(self) -> int:
        return hash((self.type_name, self.key))


def key_value(root: EntityRef, info: Info) -> str:
    """The entity's own key field: the key it is known by, no owner call."""
    context: Context = info.context
    plan = context.plan.field(root.type_name, info.field_name)
    if not plan.allowed:
        raise Forbidden(plan.ownership.coordinate)
    return root.key


async def owned_value(root: EntityRef, info: Info, **args: Any) -> Any:
    """Resolve the field `info` points at from its owner, as the ownership map says."""
    context: Context = info.context
    plan = context.plan.field(root.type_name, info.field_name)
    if not plan.allowed:
        raise Forbidden(plan.ownership.coordinate)
    params = params_for(plan, args)
    loaded = await load_record(context, plan, root, params)
    record = fresh(context, plan, info.path.as_list, loaded)
    if record is None:
        return None
    value = plan.value(record)
    size = args.get(plan.size_arg) if plan.size_arg is not None else None
    if size is not None and isinstance(value, list):
        # Owners are asked for so many per key; never pass on more than asked.
        value = value[:size]
    if plan.link is None:
        return value
    return await linked(context, plan.link, value)


def fresh(
    context: Context | None, plan: FieldPlan, where: Callable[[], list[str | int]], loaded: Any
) -> Any:
    """What was loaded, a stale value labelled in the report, combined over list keys.

    `where` gives the field's path, for the label; with no `context`, nothing is labelled.
    """
    if isinstance(loaded, Stale):
        if context is not None:
            context.report.stale(where(), plan.owner, loaded.age)
        return loaded.value
    if not isinstance(loaded, PerKey):
        return loaded
    combined: list[Any] = []
    for item in loaded.results:
        if isinstance(item, Stale):
            if context is not None:
                context.report.stale(where(), plan.owner, item.age)
            item = item.value
        if item is None:
            continue
        if loaded.many:
            combined.extend(item)
        else:
            combined.append(item)
    return combined


class PerKey:
    """What a field keyed by a list of keys loaded: one result per key."""

    __slots__ = ("many", "results")

    def __init__(self, results: list[Any], many: bool) -> None:
        self.results = results
        self.many = many


async def linked(context: Context, type_name: str, keys: Any) -> Any:
    """References to the entities of `type_name` under `keys`, those that exist.

    Whether each exists is asked of the owner of the type's key field, in
    the same batch as its other fields: a key its owner does not know is
    left out of a list, and null for one entity. An owner that fails keeps
    the reference: its fields carry the error.
    """
    if keys is None:
        return None
    many = isinstance(keys, list)
    refs = [EntityRef(type_name, key) for key in (keys if many else [keys])]
    entry = context.gateway.ownership.types[type_name]
    identity = context.plan.field(type_name, entry.key)
    if identity.ownership.entity is None:
        return refs if many else refs[0]
    found = await load_all(context.loader(identity), [ref.key for ref in refs])
    context.entities.update(ref.key for ref in refs)
    kept = [ref for ref, record in zip(refs, found, strict=True) if record is not None]
    if many:
        return kept
    return kept[0] if kept else None


def linked_now(context: Context, type_name: str, keys: Any) -> Any:
    """`linked`, from what this request has loaded already (the compiled path)."""
    if keys is None:
        return None
    many = isinstance(keys, list)
    refs = [EntityRef(type_name, key) for key in (keys if many else [keys])]
    entry = context.gateway.ownership.types[type_name]
    identity = context.plan.field(type_name, entry.key)
    if identity.ownership.entity is None:
        return refs if many else refs[0]
    loader = context.loader(identity)
    found = [settled_or_error(loader, ref.key) for ref in refs]
    context.entities.update(ref.key for ref in refs)
    kept = [ref for ref, record in zip(refs, found, strict=True) if record is not None]
    if many:
        return kept
    return kept[0] if kept else None


def params_for(plan: FieldPlan, args: Mapping[str, Any]) -> Params:
    """The owner's query parameters for the field's GraphQL arguments."""
    params: list[tuple[str, str | int]] = []
    for name, mapping in plan.ownership.args.items():
        value = args.get(name, plan.arg_defaults.get(name))
        if value is None:
            continue
        if mapping.maximum is not None or mapping.minimum is not None:
            low = mapping.minimum if mapping.minimum is not None else value
            high = mapping.maximum if mapping.maximum is not None else value
            if not (isinstance(value, int) and low <= value <= high):
                raise BadUserInput(name, f"must be between {low} and {high}, got {value!r}")
        if name in plan.enum_args:
            # Enum values go to the owner in its own words: as the map says, or
            # the value's name in lower case. A map lists every value the owner
            # knows: asking it for another would only earn its refusal.
            if mapping.values is None:
                value = str(value).lower()
            elif value in mapping.values:
                value = mapping.values[value]
            else:
                known = ", ".join(mapping.values)
                raise BadUserInput(
                    name, f"{plan.owner} has no {value} values to filter by (it knows {known})"
                )
        # Typed, not stringified: a JSON body must carry numbers as numbers.
        params.append((mapping.param, value))
    return tuple(sorted(params))


async def load_record(context: Context, plan: FieldPlan, root: EntityRef, params: Params) -> Any:
    """The owner's record (or records) for `root` that `plan` reads from."""
    key = await key_of(context, plan, root)
    if key is None:
        context.report.skip(plan.owner)
        return None
    loader = context.loader(plan, params)
    if isinstance(key, list):
        results = await load_all(loader, key)
        for result in results:
            if isinstance(result, OwnerError):
                raise result
        entity = context.gateway.sources[plan.owner].config.entities[plan.ownership.entity or ""]
        return PerKey(list(results), entity.many)
    return await loader.load(key)


async def key_of(context: Context, plan: FieldPlan, root: EntityRef) -> str | list[str] | None:
    """The key under which `plan`'s owner knows `root`: its own key, or a crosswalk's."""
    key_field = plan.ownership.key
    if key_field == context.gateway.ownership.types[root.type_name].key:
        return root.key
    key_plan = context.plan.field(root.type_name, key_field)
    try:
        record = await load_record(context, key_plan, root, ())
    except OwnerError:
        # Without the crosswalk the owner cannot be asked at all.
        context.report.skip(plan.owner)
        raise
    return key_in(key_plan, record)


def record_now(
    context: Context, plan: FieldPlan, root: EntityRef, params: Params, *, report: bool = True
) -> Any:
    """`load_record`, from what this request has loaded already (the compiled path).

    Raises `NotLoaded` for a value nobody asked for yet; with `report` off,
    a missing key is not reported (the waves read ahead, the shaper reports).
    """
    key = key_now(context, plan, root, report=report)
    if key is None:
        if report:
            context.report.skip(plan.owner)
        return None
    loader = context.loader(plan, params)
    if isinstance(key, list):
        results = [settled_or_error(loader, k) for k in key]
        for result in results:
            if isinstance(result, OwnerError):
                raise result
        entity = context.gateway.sources[plan.owner].config.entities[plan.ownership.entity or ""]
        return PerKey(results, entity.many)
    return loader.settled(key)


def key_now(
    context: Context, plan: FieldPlan, root: EntityRef, *, report: bool = True
) -> str | list[str] | None:
    """`key_of`, from what this request has loaded already."""
    key_field = plan.ownership.key
    if key_field == context.gateway.ownership.types[root.type_name].key:
        return root.key
    key_plan = context.plan.field(root.type_name, key_field)
    try:
        record = record_now(context, key_plan, root, (), report=report)
    except OwnerError:
        if report:
            context.report.skip(plan.owner)
        raise
    return key_in(key_plan, record)


def settled_or_error(loader: OwnerLoader, key: str) -> Any:
    """What was loaded for `key`, or the error it failed with (as `load_all` gives it)."""
    try:
        return loader.settled(key)
    except NotLoaded:
        raise
    except Exception as error:
        return error


def key_in(key_plan: FieldPlan, record: Any) -> str | list[str] | None:
    """The key (or keys) `key_plan` reads from the key owner's `record`."""
    if isinstance(record, Stale):
        record = record.value  # the key is the owner's last known; what it keys is read live
    if isinstance(record, PerKey):
        return None  # a key read through a list of keys: not supported as a crosswalk
    value = key_plan.value(record) if record is not None else None
    if value is None:
        return None
    if isinstance(value, list):
        return [str(v) for v in value if v is not None]
    return str(value)


async def load_all(loader: OwnerLoader, keys: Sequence[str]) -> list[Any]:
    """One result per key, a failed key's error in its place (never raised here)."""
    if not keys:
        return []
    return list(await asyncio.gather(*(loader.load(k) for k in keys), return_exceptions=True))
