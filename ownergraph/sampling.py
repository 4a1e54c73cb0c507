"""Sample records: what each owner holds for one key, read to compare with the map.

For owners that publish no OpenAPI, a record is the only evidence of what
they send: `ownergraph check --live --sample KEY` reads, for the entity with
universal id KEY, one record of every entity the map reads (following the
map's crosswalk keys, a billing system by the code a CRM holds), then reports every
mapped path absent from them (`schema.drift.find_absent`).
"""

from __future__ import annotations

from typing import Any

from ownergraph.ownership import Ownership
from ownergraph.resolvers import Plan
from ownergraph.sources import RestSource, open_source


async def sample_records(ownership: Ownership, plan: Plan, key: str) -> dict[tuple[str, str], Any]:
    """By (system, entity): the owner's answer for the entity keyed `key`, crosswalks followed.

    A record, a list of records, None for an unknown key, or the error; an
    entity whose key could not be found (its crosswalk is null) is left out.
    """
    sources = {name: open_source(system) for name, system in ownership.systems.items()}
    try:
        return await _Sampler(ownership, plan, sources, key).run()
    finally:
        for source in sources.values():
            await source.aclose()


class _Sampler:
    def __init__(
        self, ownership: Ownership, plan: Plan, sources: dict[str, RestSource], key: str
    ) -> None:
        self.ownership = ownership
        self.plan = plan
        self.sources = sources
        self.key = key
        self.samples: dict[tuple[str, str], Any] = {}

    async def run(self) -> dict[tuple[str, str], Any]:
        wanted = [
            (entry.name, field)
            for entry in self.ownership.types.values()
            if entry.owner is None
            for field in entry.fields.values()
            if field.entity is not None
        ]
        # Wave by wave: what the id keys first, then what their records key.
        for _ in range(len(wanted)):
            ready = []
            for type_name, field in wanted:
                assert field.entity is not None
                where = (field.owner, field.entity)
                if where in self.samples:
                    continue
                key = self.key_of(type_name, field.key)
                if key is not None:
                    ready.append((where, key))
            if not ready:
                break
            for (system, entity), key in dict(ready).items():
                [self.samples[(system, entity)]] = await self.sources[system].fetch(entity, [key])
        return self.samples

    def key_of(self, type_name: str, key_field: str) -> str | None:
        """The key under which an owner knows the sampled entity, once it can be told."""
        if key_field == "id":
            return self.key
        key_plan = self.plan.field(type_name, key_field)
        entity = key_plan.ownership.entity
        record = self.samples.get((key_plan.owner, entity or ""))
        if record is None or isinstance(record, Exception):
            return None
        value = key_plan.value(record)
        return None if value is None else str(value)
