"""The per-request context: one DataLoader per (system, entity, parameters).

The `Gateway` is built once per app and shared; the `Context` is built for
every request and dies with it, so no owner value outlives the request unless
its field declares `max_age`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from aiodataloader import DataLoader

from sources import RestSource

from .freshness import RecordCache
from .plan import FieldPlan, Plan
from .report import OwnerReport

if TYPE_CHECKING:
    from schema.ownership import Ownership

Params = tuple[tuple[str, str | int], ...]


class Gateway:
    """What every request shares: the map, its compiled plan, the owners' clients."""

    def __init__(
        self,
        ownership: Ownership,
        plan: Plan,
        sources: Mapping[str, RestSource],
        cache: RecordCache | None = None,
    ) -> None:
        self.ownership = ownership
        self.plan = plan
        self.sources = sources
        self.cache = cache if cache is not None else RecordCache()

    async def aclose(self) -> None:
        for source in self.sources.values():
            await source.aclose()


class OwnerLoader(DataLoader[str, Any]):
    """Batches every key of one (system, entity, parameters) asked in a request."""

    def __init__(
        self,
        source: RestSource,
        entity: str,
        params: Params,
        report: OwnerReport,
        cache: RecordCache,
        max_age: float,
    ) -> None:
        super().__init__()
        self.source = source
        self.entity = entity
        self.params = params
        self.report = report
        # Not `self.cache`: DataLoader uses that name for its own per-request switch.
        self.kept = cache
        self.max_age = max_age

    async def batch_load_fn(self, keys: Sequence[str]) -> list[Any]:
        results: list[Any] = [None] * len(keys)
        missing: list[int] = []
        for index, key in enumerate(keys):
            kept = self.kept.get(self._cache_key(key), self.max_age) if self.max_age else None
            if kept is None:
                missing.append(index)
            else:
                results[index] = kept.value
                self.report.reuse(self.source.name, kept.answered_at)
        if missing:
            fetched = await self.source.fetch(
                self.entity, [keys[i] for i in missing], dict(self.params), self.report
            )
            now = datetime.now(UTC)
            for index, value in zip(missing, fetched, strict=True):
                results[index] = value
                if self.max_age and not isinstance(value, Exception):
                    self.kept.put(self._cache_key(keys[index]), value, now)
        return results

    def _cache_key(self, key: str) -> tuple[str, str, Params, str]:
        return (self.source.name, self.entity, self.params, key)


class Context:
    """Everything a resolver needs for one request."""

    def __init__(self, gateway: Gateway, request: Any = None, response: Any = None) -> None:
        self.gateway = gateway
        self.plan = gateway.plan
        self.report = OwnerReport()
        self.request = request
        self.response = response
        self._loaders: dict[tuple[str, str, Params, float], OwnerLoader] = {}

    def loader(self, field: FieldPlan, params: Params = ()) -> OwnerLoader:
        """The request's loader for the entity that `field` is read from."""
        owner = field.ownership
        assert owner.entity is not None
        key = (owner.owner, owner.entity, params, owner.max_age)
        loader = self._loaders.get(key)
        if loader is None:
            loader = OwnerLoader(
                self.gateway.sources[owner.owner],
                owner.entity,
                params,
                self.report,
                self.gateway.cache,
                owner.max_age,
            )
            self._loaders[key] = loader
        return loader
