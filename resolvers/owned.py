"""Owner-backed field resolvers: find the field's owner in the plan, load, project.

A field keyed by the universal id is loaded at once; a field keyed by another
field (the ERP by `erpCode`) first loads that field from its own owner, which
makes the second wave. Both go through the request's DataLoaders, so however
many customers a query touches, each owner is asked once per wave.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from enum import Enum
from typing import Any

import strawberry
from graphql import FieldNode, GraphQLObjectType

from ownergraph.sources import OwnerError

from .context import Context, OwnerLoader, Params
from .errors import BadUserInput, Forbidden
from .freshness import Stale
from .plan import FieldPlan
from .selection import Selections

Info = strawberry.Info[Context, None]

MAX_LIST = 100
"""The most items a list argument (`first`, `ids`) may ask for."""


class EntityRef:
    """An entity (a customer) the graph is resolving: its type and universal id, no data."""

    __slots__ = ("id", "type_name")

    def __init__(self, type_name: str, id: str) -> None:
        self.type_name = type_name
        self.id = id

    def __repr__(self) -> str:
        return f"EntityRef({self.type_name!r}, {self.id!r})"


async def owned_value(root: Any, info: Info, **args: Any) -> Any:
    """Resolve the field `info` points at from its owner, as the ownership map says."""
    context = info.context
    plan = context.plan.field(root.type_name, info.field_name)
    if not plan.allowed:
        raise Forbidden(plan.ownership.coordinate)
    params = params_for(plan, args)
    record = await load_record(context, plan, root, params)
    if isinstance(record, Stale):
        context.report.stale(info.path.as_list(), plan.owner, record.age)
        record = record.value
    if record is None:
        return None
    value = plan.value(record)
    first = args.get("first")
    if first is not None and isinstance(value, list):
        # Owners are asked for `first` per key; never pass on more than asked.
        value = value[:first]
    return value


def params_for(plan: FieldPlan, args: Mapping[str, Any]) -> Params:
    """The owner's query parameters for the field's GraphQL arguments."""
    params: list[tuple[str, str | int]] = []
    for name, mapping in plan.ownership.args.items():
        value = args.get(name, plan.arg_defaults.get(name))
        if value is None:
            continue
        if name == "first" and not (isinstance(value, int) and 1 <= value <= MAX_LIST):
            raise BadUserInput(name, f"must be between 1 and {MAX_LIST}, got {value!r}")
        if isinstance(value, Enum):
            value = value.name
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
    return await context.loader(plan, params).load(key)


async def key_of(context: Context, plan: FieldPlan, root: EntityRef) -> str | None:
    """The key under which `plan`'s owner knows `root`: its id, or a crosswalk field."""
    key_field = plan.ownership.key
    if key_field == "id":
        return root.id
    key_plan = context.plan.field(plan.ownership.type_name, key_field)
    try:
        record = await load_record(context, key_plan, root, ())
    except OwnerError:
        # Without the crosswalk the owner cannot be asked at all.
        context.report.skip(plan.owner)
        raise
    return _key_in(key_plan, record)


def _key_in(key_plan: FieldPlan, record: Any) -> str | None:
    """The key `key_plan` reads from the key owner's `record` (None: no record, no key)."""
    if isinstance(record, Stale):
        record = record.value  # the key is the owner's last known; what it keys is read live
    value = key_plan.value(record) if record is not None else None
    return None if value is None else str(value)


def prefetch(
    context: Context,
    refs: Sequence[EntityRef],
    selections: Selections,
    nodes: Sequence[FieldNode],
    gql_type: GraphQLObjectType,
) -> None:
    """Start loading what the fields under `nodes` (of type `gql_type`) need for `refs`.

    The identity owner is asked whether the customers exist; meanwhile the
    other owners are already being asked, so that no owner waits for another
    unless its key comes from it. An owner keyed by another owner's field
    (the ERP by the CRM's `erpCode`) is asked from the callback of that
    field's load: the moment the key arrives, before the executor goes on
    to complete what the first wave brought.
    """
    if not refs or not nodes or not context.gateway.batching:
        return
    type_name = refs[0].type_name
    for node in selections.children(nodes):
        name = node.name.value
        definition = gql_type.fields.get(name)
        try:
            plan = context.plan.field(type_name, name)
        except KeyError:
            continue
        if definition is None or not plan.allowed or plan.ownership.entity is None:
            continue
        try:
            params = params_for(plan, selections.arguments(definition, node))
        except BadUserInput:
            continue  # the field's own resolver reports it, with its path
        loader = context.loader(plan, params)
        if plan.ownership.key == "id":
            for ref in refs:
                loader.load(ref.id).add_done_callback(_retrieve)
            continue
        key_plan = context.plan.field(plan.ownership.type_name, plan.ownership.key)
        if key_plan.ownership.key != "id" or key_plan.ownership.entity is None:
            continue  # a key two hops away: its resolver finds it
        key_loader = context.loader(key_plan)
        wave = _SecondWave(loader, key_plan, len(refs))
        for ref in refs:
            key_loader.load(ref.id).add_done_callback(wave.keyed)


def selections_of(info: Info) -> Selections:
    """The document's selections as `info`'s operation runs them: fragments, variables."""
    raw = info._raw_info
    return Selections(raw.fragments, info.variable_values)


class _SecondWave:
    """Loads from `loader` under the keys `key_plan` reads from the key owner's records.

    Each of `pending` key loads calls `keyed` when its record arrives (they
    all arrive in one batch); after the last, the batch goes out at once,
    before the executor turns to what the first wave brought. The field's
    resolver reads the same key and awaits the same load, and it reports
    whatever went wrong with its path: here a failure only means no head start.
    """

    def __init__(self, loader: OwnerLoader, key_plan: FieldPlan, pending: int) -> None:
        self.loader = loader
        self.key_plan = key_plan
        self.pending = pending

    def keyed(self, future: asyncio.Future[Any]) -> None:
        try:
            key = self._key(future)
            if key is not None:
                self.loader.load(key).add_done_callback(_retrieve)
        finally:
            self.pending -= 1
            if self.pending == 0:
                self.loader.dispatch_now()

    def _key(self, future: asyncio.Future[Any]) -> str | None:
        if future.cancelled() or future.exception() is not None:
            return None
        try:
            return _key_in(self.key_plan, future.result())
        except Exception:
            return None


def _retrieve(future: asyncio.Future[Any]) -> None:
    # The field's resolver awaits this future too and reports its error with
    # a path; this only stops asyncio complaining if the field never runs.
    if not future.cancelled():
        future.exception()
