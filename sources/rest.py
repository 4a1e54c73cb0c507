"""Read records from an owner that speaks REST/JSON.

`RestSource.fetch()` takes any number of keys and returns one result per key,
in key order: a record (or a list of records for one-to-many entities), None
for a key the owner does not know, or an `OwnerError` for a key whose read
failed. It never raises for an owner's failure, so one bad batch cannot take
down keys that were fetched fine.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import httpx

from .calls import Call, CallObserver
from .config import EntityConfig, SystemConfig
from .errors import (
    OwnerBadResponse,
    OwnerError,
    OwnerHTTPError,
    OwnerTimeout,
    OwnerUnavailable,
)

# One result per key: a record, a list of records, None (unknown key) or the error.
Result = Any

_UNAVAILABLE_STATUSES = frozenset({502, 503, 504})


def dig(record: Any, path: Sequence[str]) -> Any:
    """Follow `path` into nested JSON objects; None where any step is missing."""
    value = record
    for step in path:
        if not isinstance(value, dict):
            return None
        value = value.get(step)
    return value


class RestSource:
    """A pooled client for one owning system.

    One instance serves every request of the process: the client's connection
    pool and the concurrency cap belong to the system, so a slow owner uses up
    only its own connections.
    """

    def __init__(self, config: SystemConfig, client: httpx.AsyncClient) -> None:
        self.config = config
        self.name = config.name
        self._client = client
        self._slots = asyncio.Semaphore(config.concurrency)

    async def aclose(self) -> None:
        await self._client.aclose()

    async def fetch(
        self,
        entity: str,
        keys: Sequence[str],
        params: Mapping[str, Any] | None = None,
        observer: CallObserver | None = None,
    ) -> list[Result]:
        """Read `keys` of `entity`, batched as the system allows, all batches at once."""
        spec = self.config.entities[entity]
        params = params or {}
        if spec.batch is not None:
            size = self.config.max_batch
            chunks = [keys[i : i + size] for i in range(0, len(keys), size)]
            parts = await asyncio.gather(
                *(self._fetch_batch(spec, chunk, params, observer) for chunk in chunks)
            )
            return [result for part in parts for result in part]
        assert spec.single is not None  # the ownership loader guarantees one of the two
        return list(
            await asyncio.gather(*(self._fetch_one(spec, key, params, observer) for key in keys))
        )

    async def _fetch_batch(
        self,
        spec: EntityConfig,
        keys: Sequence[str],
        params: Mapping[str, Any],
        observer: CallObserver | None,
    ) -> list[Result]:
        assert spec.batch is not None
        endpoint = spec.batch
        if endpoint.method == "GET":
            query = {**params, endpoint.param or "ids": ",".join(keys)}
            request = self._client.build_request("GET", endpoint.path, params=query)
        else:
            body = {**params, endpoint.body or "ids": list(keys)}
            request = self._client.build_request(endpoint.method, endpoint.path, json=body)
        try:
            payload = await self._send(request, spec, len(keys), observer, not_found_ok=False)
            records = self._records(payload, spec)
            return self._by_key(records, spec, keys)
        except OwnerError as error:
            return [error] * len(keys)

    async def _fetch_one(
        self,
        spec: EntityConfig,
        key: str,
        params: Mapping[str, Any],
        observer: CallObserver | None,
    ) -> Result:
        assert spec.single is not None
        endpoint = spec.single
        path = endpoint.path.replace("{key}", quote(key, safe=""))
        request = self._client.build_request(
            endpoint.method, path, params=params if endpoint.method == "GET" else None
        )
        try:
            payload = await self._send(request, spec, 1, observer, not_found_ok=True)
            if payload is None:
                return [] if spec.many else None
            if spec.many:
                return self._records(payload, spec)
            if not isinstance(payload, dict):
                raise OwnerBadResponse(self.name, f"'{spec.name}' record is not a JSON object")
            return payload
        except OwnerError as error:
            return error

    async def _send(
        self,
        request: httpx.Request,
        spec: EntityConfig,
        keys: int,
        observer: CallObserver | None,
        *,
        not_found_ok: bool,
    ) -> Any:
        """Send one request under the system's cap and timeout; decode its JSON."""
        status = "ok"
        http_status: int | None = None
        async with self._slots:
            started = time.perf_counter()
            try:
                async with asyncio.timeout(self.config.timeout):
                    response = await self._client.send(request)
                    body = await response.aread()
                http_status = response.status_code
                if not_found_ok and http_status == 404:
                    return None
                if http_status in _UNAVAILABLE_STATUSES:
                    raise OwnerUnavailable(self.name, f"it answered HTTP {http_status}")
                if http_status >= 400:
                    raise OwnerHTTPError(self.name, http_status)
                try:
                    return json.loads(body)
                except ValueError:
                    raise OwnerBadResponse(self.name, "the body is not JSON") from None
            except TimeoutError:
                status = "timeout"
                raise OwnerTimeout(self.name, self.config.timeout) from None
            except httpx.TimeoutException as error:
                if _timed_out(error):
                    status = "timeout"
                    raise OwnerTimeout(self.name, self.config.timeout) from None
                status = "unavailable"
                raise OwnerUnavailable(self.name) from None
            except httpx.TransportError:
                status = "unavailable"
                raise OwnerUnavailable(self.name) from None
            except OwnerError as error:
                status = error.status
                raise
            finally:
                if observer is not None:
                    observer.record(
                        Call(
                            system=self.name,
                            entity=spec.name,
                            keys=keys,
                            started=started,
                            ended=time.perf_counter(),
                            status=status,
                            answered_at=datetime.now(UTC),
                            http_status=http_status,
                        )
                    )

    def _records(self, payload: Any, spec: EntityConfig) -> list[Any]:
        records = payload if spec.records is None else _get(payload, spec.records)
        if not isinstance(records, list):
            where = f"field '{spec.records}'" if spec.records else "the body"
            raise OwnerBadResponse(self.name, f"{where} of the '{spec.name}' reply is not a list")
        return records

    def _by_key(self, records: list[Any], spec: EntityConfig, keys: Sequence[str]) -> list[Result]:
        found: dict[str, Any] = {}
        for record in records:
            key = dig(record, spec.key_field)
            if key is None:
                raise OwnerBadResponse(
                    self.name,
                    f"a '{spec.name}' record has no key field '{'.'.join(spec.key_field)}'",
                )
            key = str(key)
            if spec.many:
                found.setdefault(key, []).append(record)
            else:
                found.setdefault(key, record)
        if spec.many:
            return [found.get(key, []) for key in keys]
        return [found.get(key) for key in keys]


def _timed_out(error: httpx.TimeoutException) -> bool:
    """Whether a timeout really is one.

    The aiohttp transport reports a refused connection as `ConnectTimeout`;
    its cause tells the two apart, and a refused connection must not be
    reported (or later retried) as a slow owner.
    """
    cause = error.__cause__
    return cause is None or isinstance(cause, TimeoutError)


def _get(payload: Any, name: str) -> Any:
    return payload.get(name) if isinstance(payload, dict) else None
