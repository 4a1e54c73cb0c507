"""Start every owner call a selection will need, wave by wave, before the executor asks.

The executor resolves a document level by level, and each level's fields
wait for their parents. Owners need not: every owner keyed by what is known
now (the entities' keys) is asked at once, and every owner keyed by what an
earlier answer brings (a crosswalk code, a list of contract numbers, the
keys a link holds) is asked from the callback of that answer, the moment it
arrives, before the executor turns to what the wave brought. So a query
costs one request per owner per wave, however deep the dependencies go.

The field resolvers read the same keys and await the same loads (the
request's DataLoaders cache them); they report whatever went wrong with its
path. Here a failure only means no head start.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any

from graphql import FieldNode, GraphQLObjectType

from ownergraph.sources import OwnerError

from .context import Context, Params
from .errors import BadUserInput
from .freshness import Stale
from .owned import EntityRef, key_in, params_for
from .plan import FieldPlan
from .selection import Selections


class Prefetch:
    """Starts the loads of one request's selections; each load is started once."""

    def __init__(self, context: Context, selections: Selections) -> None:
        self.context = context
        self.selections = selections
        self.schema = context.gateway.schema

    def entities(
        self, type_name: str, refs: Sequence[EntityRef], nodes: Sequence[FieldNode]
    ) -> None:
        """Start what the fields under `nodes` (fields of `type_name`) need for `refs`."""
        if not refs or not nodes or not self.context.gateway.batching:
            return
        gql_type = self.schema.type_map[type_name]
        assert isinstance(gql_type, GraphQLObjectType)
        plan = self.context.plan
        own_key = self.context.gateway.ownership.types[type_name].key
        for node in self.selections.children(nodes):
            name = node.name.value
            if name == own_key:
                continue  # the key it is known by: nothing to load (`key_value`)
            definition = gql_type.fields.get(name)
            try:
                field = plan.field(type_name, name)
            except KeyError:
                continue
            if definition is None or not field.allowed or field.ownership.entity is None:
                continue
            try:
                params = params_for(field, self.selections.arguments(definition, node))
            except BadUserInput:
                continue  # the field's own resolver reports it, with its path
            records = self.records(field, params, refs)
            if field.link is not None and node.selection_set is not None:
                self.follow(field, records, node)

    def records(
        self, field: FieldPlan, params: Params, refs: Sequence[EntityRef]
    ) -> list[asyncio.Future[Any]]:
        """Futures of what `field`'s owner answers for each of `refs`, loads started."""
        loop = asyncio.get_running_loop()
        type_name = refs[0].type_name
        keys = self.keys(type_name, field.ownership.key, refs)
        loader = self.context.loader(field, params)
        out: list[asyncio.Future[Any]] = [loop.create_future() for _ in refs]

        def load() -> None:
            for key_future, result in zip(keys, out, strict=True):
                key = _result(key_future)
                if key is None:
                    result.set_result(None)
                elif isinstance(key, list):
                    _settle_all([loader.load(k) for k in key], result)
                else:
                    _settle(loader.load(key), result)
            loader.dispatch_now()

        _when_all(keys, load)
        return out

    def keys(
        self, type_name: str, key_field: str, refs: Sequence[EntityRef]
    ) -> list[asyncio.Future[Any]]:
        """Futures of the key (or keys) under which `key_field`'s owner knows each of `refs`."""
        loop = asyncio.get_running_loop()
        if key_field == self.context.gateway.ownership.types[type_name].key:
            done = []
            for ref in refs:
                future = loop.create_future()
                future.set_result(ref.key)
                done.append(future)
            return done
        key_plan = self.context.plan.field(type_name, key_field)
        if key_plan.ownership.entity is None:
            return [_resolved(loop, None) for _ in refs]
        return [
            _mapped(loop, f, lambda r: None if isinstance(r, list) else key_in(key_plan, r))
            for f in self.records(key_plan, (), refs)
        ]

    def follow(
        self, field: FieldPlan, records: Sequence[asyncio.Future[Any]], node: FieldNode
    ) -> None:
        """When a link's records arrive, start what its entities' selected fields need."""
        assert field.link is not None
        target = field.link

        def linked() -> None:
            keys: dict[str, None] = {}
            for future in records:
                record = _result(future)
                if isinstance(record, Stale):
                    record = record.value
                value = field.value(record) if isinstance(record, dict) else None
                for key in value if isinstance(value, list) else [value]:
                    if key is not None:
                        keys[key] = None
            refs = [EntityRef(target, key) for key in keys]
            if refs:
                identity = self.context.plan.field(
                    target, self.context.gateway.ownership.types[target].key
                )
                if identity.ownership.entity is not None:
                    self.records(identity, (), refs)
                self.entities(target, refs, [node])

        _when_all(records, linked)


def _result(future: asyncio.Future[Any]) -> Any:
    """A done future's value; None for a failure (the resolver reports it)."""
    if future.cancelled() or future.exception() is not None:
        return None
    value = future.result()
    return None if isinstance(value, OwnerError) else value


def _resolved(loop: asyncio.AbstractEventLoop, value: Any) -> asyncio.Future[Any]:
    future = loop.create_future()
    future.set_result(value)
    return future


def _settle(source: asyncio.Future[Any], target: asyncio.Future[Any]) -> None:
    def done(future: asyncio.Future[Any]) -> None:
        target.set_result(_result(future))

    source.add_done_callback(done)


def _settle_all(sources: list[asyncio.Future[Any]], target: asyncio.Future[Any]) -> None:
    if not sources:
        target.set_result([])
        return
    _when_all(sources, lambda: target.set_result([_result(s) for s in sources]))


def _mapped(
    loop: asyncio.AbstractEventLoop, source: asyncio.Future[Any], convert: Callable[[Any], Any]
) -> asyncio.Future[Any]:
    target = loop.create_future()

    def done(future: asyncio.Future[Any]) -> None:
        try:
            target.set_result(convert(_result(future)))
        except Exception:  # a malformed record: the resolver reports it
            target.set_result(None)

    source.add_done_callback(done)
    return target


def _when_all(futures: Sequence[asyncio.Future[Any]], callback: Callable[[], None]) -> None:
    """Call `callback` once every one of `futures` is done (now, if they all are)."""
    pending = [f for f in futures if not f.done()]
    if not pending:
        callback()
        return
    remaining = len(pending)

    def one_done(_future: asyncio.Future[Any]) -> None:
        nonlocal remaining
        remaining -= 1
        if remaining == 0:
            callback()

    for future in pending:
        future.add_done_callback(one_done)
