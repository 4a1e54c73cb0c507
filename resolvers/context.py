"""The per-request context: one DataLoader per (system, entity, parameters).

The `Gateway` is built once per app and shared; the `Context` is built for
every request and dies with it, so no owner value outlives the request unless
its field declares `max_age`.
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from graphql import GraphQLSchema

from ownergraph.ownership import Ownership
from ownergraph.sources import CallObserver, Deadline, OwnerError, RestSource

from .freshness import RecordCache, Stale
from .plan import FieldPlan, Plan
from .report import OwnerReport

Params = tuple[tuple[str, str | int], ...]


@dataclass(frozen=True)
class Viewer:
    """Who is asking: a client name for the audit, and the roles that decide what it may read."""

    client: str
    roles: frozenset[str]


ANONYMOUS = Viewer(client="anonymous", roles=frozenset({"anonymous"}))


class Gateway:
    """What every request shares: the map, its compiled plans, the owners' clients."""

    def __init__(
        self,
        ownership: Ownership,
        plan_for: Callable[[frozenset[str]], Plan],
        sources: Mapping[str, RestSource],
        cache: RecordCache | None = None,
        phone_region: str | None = None,
        calls: CallObserver | None = None,
        batching: bool = True,
        schema: GraphQLSchema | None = None,
    ) -> None:
        self.ownership = ownership
        self.schema = schema if schema is not None else GraphQLSchema()
        """The executable schema, whose types the prefetch reads arguments by."""
        self.batching = batching
        """False only to measure what batching buys: every field then makes its own owner call."""
        self.phone_region = phone_region
        self.calls = calls
        """Hears every owner call of every request (metrics); None for no one."""
        self.plan_for = plan_for
        self.sources = sources
        self.cache = cache if cache is not None else RecordCache()

    async def aclose(self) -> None:
        for source in self.sources.values():
            await source.aclose()


class NotLoaded(Exception):
    """A value read before it was loaded: the plan that should have asked for it did not."""

    def __init__(self, system: str, entity: str, key: str) -> None:
        super().__init__(f"{system}'s {entity} {key!r} was read before it was loaded")


class OwnerLoader:
    """Batches every key of one (system, entity, parameters) asked in a request.

    `load(key)` gives a future of the key's value (the same one for the same
    key all request long); the keys asked meanwhile go to the owner together,
    two loop turns after the first (as aiodataloader times it, so that every
    resolver of a level has asked), or at once with `dispatch_now()`.

    With `max_age`, a value read within that many seconds is served again
    instead of asking the owner. With `stale_if_error`, a failed key is served
    its last value read within that many seconds, wrapped in `Stale` so the
    resolver can label it; without it, a failure is never hidden.

    Written for this rather than taken from aiodataloader: its batch went
    through three tasks and coroutines of its own per dispatch, and a loader
    checked its function with `inspect` when built, five loaders a request.
    """

    def __init__(
        self,
        source: RestSource,
        entity: str,
        params: Params,
        context: Context,
        max_age: float,
        stale_if_error: float,
        batching: bool = True,
    ) -> None:
        self.source = source
        self.entity = entity
        self.params = params
        # The context's report and deadline, not the context: a loader kept by its
        # context and keeping it would make each request a cycle that only the
        # garbage collector frees, and under load its collections cost a quarter of
        # the process's time.
        self.report = context.report
        self.deadline = context.deadline
        self.kept = context.gateway.cache
        self.max_age = max_age
        self.stale_if_error = stale_if_error
        # Without batching, each load is its own call and nothing is shared.
        self.batching = batching
        self._futures: dict[str, asyncio.Future[Any]] = {}
        self._queue: list[tuple[str, asyncio.Future[Any]]] = []
        self._loop = asyncio.get_running_loop()

    def load(self, key: str) -> asyncio.Future[Any]:
        """A future of `key`'s value; it raises what its read failed with."""
        future = self._futures.get(key)
        if future is not None:
            return future
        future = self._loop.create_future()
        self._queue.append((key, future))
        if not self.batching:
            self.dispatch_now()
            return future
        self._futures[key] = future
        if len(self._queue) == 1:
            self._loop.call_soon(self._loop.call_soon, self.dispatch_now)
        return future

    def dispatch_now(self) -> None:
        """Ask the owner for the queued keys now.

        Right after the first wave, the executor would otherwise complete
        every field the first wave brought before the second wave went out.
        The dispatch scheduled for later finds an empty queue.
        """
        if self._queue:
            queue, self._queue = self._queue, []
            self._loop.create_task(self._dispatch(queue))

    async def _dispatch(self, queue: list[tuple[str, asyncio.Future[Any]]]) -> None:
        try:
            values = await self.batch_load_fn([key for key, _ in queue])
        except Exception as error:
            for key, future in queue:
                # Not kept: a later load in this request asks again.
                self._futures.pop(key, None)
                if not future.done():
                    future.set_exception(error)
            return
        for (_, future), value in zip(queue, values, strict=True):
            if not future.done():
                if isinstance(value, Exception):
                    future.set_exception(value)
                else:
                    future.set_result(value)

    async def batch_load_fn(self, keys: Sequence[str]) -> list[Any]:
        report = self.report
        results: list[Any] = [None] * len(keys)
        missing: list[int] = []
        for index, key in enumerate(keys):
            kept = self.kept.get(self._cache_key(key), self.max_age) if self.max_age else None
            if kept is None:
                missing.append(index)
            else:
                results[index] = kept.value
                report.reuse(self.source.name, kept.answered_at)
        if not missing:
            return results
        fetched = await self.source.fetch(
            self.entity,
            [keys[i] for i in missing],
            dict(self.params),
            report,
            self.deadline,
        )
        keep = self.max_age or self.stale_if_error
        now = datetime.now(UTC)
        for index, value in zip(missing, fetched, strict=True):
            cache_key = self._cache_key(keys[index])
            if isinstance(value, OwnerError) and self.stale_if_error:
                kept = self.kept.get(cache_key, self.stale_if_error)
                if kept is not None:
                    value = Stale(kept.value, self.kept.age(kept), value)
            elif keep and not isinstance(value, Exception):
                self.kept.put(cache_key, value, now)
            results[index] = value
        return results

    def settled(self, key: str) -> Any:
        """The value loaded for `key` in this request, without waiting; raises what it failed with.

        Raises `NotLoaded` when `key` was never asked for or its answer is not in.
        """
        future = self._futures.get(key)
        if future is None or not future.done():
            raise NotLoaded(self.source.name, self.entity, key)
        error = future.exception()
        if error is not None:
            raise error
        return future.result()

    def _cache_key(self, key: str) -> tuple[str, str, Params, str]:
        return (self.source.name, self.entity, self.params, key)


class Context:
    """Everything a resolver needs for one request."""

    def __init__(
        self,
        gateway: Gateway,
        request: Any = None,
        response: Any = None,
        deadline: Deadline | None = None,
        viewer: Viewer = ANONYMOUS,
    ) -> None:
        self.gateway = gateway
        self.viewer = viewer
        self.plan = gateway.plan_for(viewer.roles)
        self.entities: set[str] = set()
        """Keys of the entities this request touched, for the audit log."""
        self.report = OwnerReport(gateway.calls)
        self.request = request
        self.response = response
        self.deadline = deadline
        self._loaders: dict[tuple[str, str, Params, float, float], OwnerLoader] = {}
        self.searches: dict[tuple[str, str, str], asyncio.Future[Any]] = {}
        """Each lookup's search of one owner for one value, asked once per request."""

    def replica(self) -> Context:
        """The same request for a second run of its operation: the same loaders (what was
        loaded is not asked for again), a report and entities of its own."""
        twin = copy.copy(self)
        twin.report = OwnerReport(None)
        twin.entities = set()
        return twin

    def forget(self) -> None:
        """Drop what this request has read: after a write it is no longer the owner's truth."""
        self._loaders.clear()
        self.searches.clear()

    def loader(self, field: FieldPlan, params: Params = ()) -> OwnerLoader:
        """The request's loader for the entity that `field` is read from."""
        owner = field.ownership
        assert owner.entity is not None
        key = (owner.owner, owner.entity, params, owner.max_age, owner.stale_if_error)
        loader = self._loaders.get(key)
        if loader is None:
            loader = OwnerLoader(
                self.gateway.sources[owner.owner],
                owner.entity,
                params,
                self,
                owner.max_age,
                owner.stale_if_error,
                batching=self.gateway.batching,
            )
            self._loaders[key] = loader
        return loader
