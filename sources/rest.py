"""Read records from an owner that speaks REST/JSON.

`RestSource.fetch()` takes any number of keys and returns one result per key,
in key order: a record (or a list of records for one-to-many entities), None
for a key the owner does not know, or an `OwnerError` for a key whose read
failed. It never raises for an owner's failure, so one bad batch cannot take
down keys that were fetched fine.

Every call is bounded by the system's timeout and the request's deadline,
refused at once while the owner's circuit breaker is open, and retried (a
read only, on a refused or broken connection, 502/503/504 or 429, within
the retry budget and the deadline) at most `retries` times. A write is never
retried, and says "nothing was sent" only when no connection was made
(`failures.classify`).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import orjson

from .breaker import CircuitBreaker, Permit
from .budget import RetryBudget
from .calls import Call, CallObserver
from .config import EntityConfig, SystemConfig
from .deadline import Deadline
from .errors import (
    CircuitOpen,
    DeadlineExceeded,
    OutcomeUnknown,
    OwnerBadResponse,
    OwnerError,
    OwnerHTTPError,
    OwnerNotFound,
    OwnerRateLimited,
    OwnerRejected,
    OwnerTimeout,
    OwnerUnavailable,
    owner_words,
)
from .failures import TRANSPORT_ERRORS, classify
from .http import OwnerHTTP, OwnerRequest, OwnerResponse
from .slots import Slots, Within

# One result per key: a record, a list of records, None (unknown key) or the error.
Result = Any

_UNAVAILABLE_STATUSES = frozenset({502, 503, 504})
_BACKOFF = 0.025
"""First retry waits about this long (jittered); each further one twice as long."""


def dig(record: Any, path: Sequence[str]) -> Any:
    """Follow `path` into nested JSON objects; None where any step is missing."""
    value = record
    for step in path:
        if not isinstance(value, dict):
            return None
        value = value.get(step)
    return value


ABSENT: Any = type("Absent", (), {"__repr__": lambda self: "ABSENT", "__slots__": ()})()
"""What `find` gives for a path the record does not have (as opposed to a null there)."""


def find(record: Any, path: Sequence[str]) -> Any:
    """Like `dig`, but `ABSENT` where an object lacks a step of `path`.

    A null (or a non-object) on the way is a null: the owner said it has no
    value there. Only a key missing from an object is absent.
    """
    value = record
    for step in path:
        if not isinstance(value, dict):
            return None
        value = value.get(step, ABSENT)
        if value is ABSENT:
            return ABSENT
    return value


class _Asking:
    """On whose behalf calls are made: who hears about them, and by when."""

    __slots__ = ("deadline", "observer")

    def __init__(self, observer: CallObserver | None, deadline: Deadline | None) -> None:
        self.observer = observer
        self.deadline = deadline

    def time_left(self) -> float:
        return self.deadline.remaining() if self.deadline is not None else float("inf")


@dataclass
class OwnerHealth:
    """What the last call to an owner said about it, for readiness probes."""

    status: str | None = None
    latency: float | None = None
    at: datetime | None = None


class RestSource:
    """A pooled client for one owning system.

    One instance serves every request of the process: the connection pool,
    the concurrency cap, the circuit breaker and the retry budget belong to
    the system, so a slow owner uses up only its own connections.
    """

    def __init__(
        self,
        config: SystemConfig,
        http: OwnerHTTP,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self.name = config.name
        self.breaker = CircuitBreaker(config.breaker, clock)
        self.budget = RetryBudget(config.retry_budget)
        self.health = OwnerHealth()
        self._http = http
        self._clock = clock
        self._slots = Slots(config.concurrency)

    async def aclose(self) -> None:
        await self._http.aclose()

    def _request(
        self,
        method: str,
        path: str,
        entity: str,
        keys: int,
        route: str,
        *,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> OwnerRequest:
        # What the call is for travels with the request, so that a wrapper
        # (tracing) can name it without knowing the map: names from the map
        # (`entity`, the `route` as declared), never the path with its ids.
        return OwnerRequest(
            method,
            path,
            query=params,
            json_body=json_body,
            headers=headers,
            system=self.name,
            entity=entity,
            keys=keys,
            route=route,
        )

    async def fetch(
        self,
        entity: str,
        keys: Sequence[str],
        params: Mapping[str, Any] | None = None,
        observer: CallObserver | None = None,
        deadline: Deadline | None = None,
    ) -> list[Result]:
        """Read `keys` of `entity`, batched as the system allows, all batches at once."""
        if not keys:
            return []
        spec = self.config.entities[entity]
        params = params or {}
        asking = _Asking(observer, deadline)
        if spec.batch is not None:
            size = self.config.max_batch
            if len(keys) <= size:
                # One batch: awaited in place, not wrapped in a task one loop turn later.
                return await self._fetch_batch(spec, keys, params, asking)
            chunks = [keys[i : i + size] for i in range(0, len(keys), size)]
            parts = await asyncio.gather(
                *(self._fetch_batch(spec, chunk, params, asking) for chunk in chunks)
            )
            return [result for part in parts for result in part]
        assert spec.single is not None  # the ownership loader guarantees one of the two
        return list(
            await asyncio.gather(*(self._fetch_one(spec, key, params, asking) for key in keys))
        )

    async def search(
        self,
        entity: str,
        value: str,
        observer: CallObserver | None = None,
        deadline: Deadline | None = None,
    ) -> list[Any] | OwnerError:
        """The records the owner finds for `value` through the entity's search endpoint."""
        spec = self.config.entities[entity]
        assert spec.search is not None  # the ownership loader guarantees it
        search = spec.search
        request = self._request(
            "GET", search.path, spec.name, 1, search.path, params={search.param or "q": value}
        )
        try:
            payload = await self._send(
                request, spec, 1, _Asking(observer, deadline), not_found_ok=True
            )
            return [] if payload is None else self._records(payload, spec)
        except OwnerError as error:
            return error

    async def write(
        self,
        method: str,
        path: str,
        body: Mapping[str, Any],
        idempotency_key: str,
        observer: CallObserver | None = None,
        deadline: Deadline | None = None,
        *,
        name: str,
        route: str,
    ) -> Any:
        """Send one write, once, and return the owner's record; raise what went wrong.

        Never retried: a write whose answer did not come is `OutcomeUnknown`,
        and only the client, retrying with the same idempotency key, may send
        it again. What certainly was not applied (refused connection, open
        breaker, no time left) says so. `name` (the mutation's, in the map)
        and `route` (its declared path, placeholders unfilled) name the call
        in metrics and traces: `path` holds ids, which must never be a label.
        """
        spec = EntityConfig(name=name, key_field=("id",))
        asking = _Asking(observer, deadline)
        started = self._clock()
        permit, time_left = self._admit(asking, spec, 1, started, attempt=0)
        request = self._request(
            method,
            path,
            spec.name,
            1,
            route,
            json_body=dict(body),
            headers={"Idempotency-Key": idempotency_key},
        )
        status = "cancelled"
        http_status: int | None = None
        try:
            response = await self._exchange(request, time_left)
            http_status = response.status
            status = "ok" if http_status < 400 else "error"
            if http_status < 500:
                self.breaker.success(permit)
            else:
                self.breaker.failure(permit, self._clock() - started)
            return self._written(response)
        except TimeoutError:
            self.breaker.failure(permit, self._clock() - started)
            if not request.sent:
                # Cut by our own clock while waiting for a slot or a connection.
                status = "unavailable"
                raise OwnerUnavailable(
                    self.name, "no connection in time; nothing was sent"
                ) from None
            status = "unknown"
            raise OutcomeUnknown(self.name, "no answer in time") from None
        except TRANSPORT_ERRORS as error:
            self.breaker.failure(permit, self._clock() - started)
            failure = classify(error)
            if not failure.sent:
                status = "unavailable"
                raise OwnerUnavailable(
                    self.name, "could not be reached; nothing was sent"
                ) from None
            status = "unknown"
            reason = (
                "no answer in time"
                if failure.timed_out
                else "the connection broke after the request was sent"
            )
            raise OutcomeUnknown(self.name, reason) from None
        finally:
            if status == "cancelled":
                self.breaker.release(permit)
            self._report(asking, spec, 1, started, status, http_status, 0, sent=True)

    def _written(self, response: OwnerResponse) -> Any:
        status, body = response.status, response.body
        if status == 404:
            raise OwnerNotFound(self.name, "such record")
        if status == 409:
            raise OutcomeUnknown(self.name, "a write with this key is still in progress")
        if status == 422:
            raise OwnerRejected(
                self.name, status, "this idempotencyKey was used with a different request"
            )
        if 400 <= status < 500:
            detail, field = self._refusal(body)
            raise OwnerRejected(self.name, status, f"HTTP {status}", detail=detail, field=field)
        if status >= 500:
            # The owner failed while handling it: applied or not, nobody can say.
            raise OutcomeUnknown(self.name, f"it answered HTTP {status}")
        try:
            return orjson.loads(body)
        except ValueError:
            raise OutcomeUnknown(self.name, "its answer was not JSON") from None

    def _refusal(self, body: bytes) -> tuple[str | None, str | None]:
        """What the owner's error body says is wrong, and the field it blames, if anything."""
        try:
            payload = orjson.loads(body)
        except ValueError:
            return None, None
        formats = self.config.errors
        message = _first_text(payload, formats.message)
        field = _first_text(payload, formats.field)
        return (
            owner_words(message) if message else None,
            owner_words(field) if field else None,
        )

    async def _fetch_batch(
        self,
        spec: EntityConfig,
        keys: Sequence[str],
        params: Mapping[str, Any],
        asking: _Asking,
    ) -> list[Result]:
        assert spec.batch is not None
        endpoint = spec.batch
        if endpoint.method == "GET":
            query = {**params, endpoint.param or "ids": ",".join(keys)}
            request = self._request(
                "GET", endpoint.path, spec.name, len(keys), endpoint.path, params=query
            )
        else:
            body = {**params, endpoint.body or "ids": list(keys)}
            request = self._request(
                endpoint.method, endpoint.path, spec.name, len(keys), endpoint.path, json_body=body
            )
        try:
            payload = await self._send(request, spec, len(keys), asking, not_found_ok=False)
            results = self._by_key(self._records(payload, spec), spec, keys)
        except OwnerError as error:
            return [error] * len(keys)
        if spec.single is not None and not spec.many:
            # A key missing from a batch reply is either unknown or was lost by a
            # truncated reply; a single read tells which, so a customer is never
            # reported unknown because a reply came back short.
            missing = [i for i, result in enumerate(results) if result is None]
            confirmed = await asyncio.gather(
                *(self._fetch_one(spec, keys[i], params, asking) for i in missing)
            )
            for index, result in zip(missing, confirmed, strict=True):
                results[index] = result
        return results

    async def _fetch_one(
        self,
        spec: EntityConfig,
        key: str,
        params: Mapping[str, Any],
        asking: _Asking,
    ) -> Result:
        assert spec.single is not None
        endpoint = spec.single
        path = endpoint.path.replace("{key}", quote(key, safe=""))
        request = self._request(
            endpoint.method,
            path,
            spec.name,
            1,
            endpoint.path,
            params=params if endpoint.method == "GET" else None,
        )
        try:
            payload = await self._send(request, spec, 1, asking, not_found_ok=True)
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
        request: OwnerRequest,
        spec: EntityConfig,
        keys: int,
        asking: _Asking,
        *,
        not_found_ok: bool,
    ) -> Any:
        """Send one read, retrying it where that is safe and there is time and budget."""
        attempt = 0
        while True:
            try:
                return await self._attempt(request, spec, keys, asking, attempt, not_found_ok)
            except OwnerUnavailable as error:
                if isinstance(error, CircuitOpen):
                    raise
                pause = self._retry_pause(error, attempt, asking)
                if pause is None:
                    raise
                attempt += 1
                await asyncio.sleep(pause)

    def _retry_pause(self, error: OwnerUnavailable, attempt: int, asking: _Asking) -> float | None:
        """How long to wait before retrying, or None when the read must not be retried."""
        if attempt >= self.config.retries:
            return None
        pause = (
            error.retry_after
            if error.retry_after is not None
            else _BACKOFF * (2**attempt) * random.uniform(0.5, 1.5)  # jitter
        )
        # Only if a retry could still answer in time; then only within budget.
        if pause >= asking.time_left() or not self.budget.spend():
            return None
        return pause

    async def _attempt(
        self,
        request: OwnerRequest,
        spec: EntityConfig,
        keys: int,
        asking: _Asking,
        attempt: int,
        not_found_ok: bool,
    ) -> Any:
        """One HTTP exchange, under the breaker, the cap, the timeout and the deadline."""
        started = self._clock()
        permit, time_left = self._admit(asking, spec, keys, started, attempt)
        if attempt == 0:
            self.budget.earn()
        cut_by_deadline = time_left < self.config.timeout
        status = "cancelled"
        http_status: int | None = None
        try:
            response = await self._exchange(request, time_left)
            http_status = response.status
            payload = self._decode(response, not_found_ok)
            status = "ok"
            self.breaker.success(permit)
            return payload
        except TimeoutError:
            if cut_by_deadline:
                status = "deadline"
                self._judge_cut(permit, started)
                raise DeadlineExceeded(self.name) from None
            status = "timeout"
            self.breaker.failure(permit, self._clock() - started)
            raise OwnerTimeout(self.name, self.config.timeout) from None
        except TRANSPORT_ERRORS as error:
            self.breaker.failure(permit, self._clock() - started)
            failure = classify(error)
            if failure.timed_out:
                status = "timeout"
                raise OwnerTimeout(self.name, self.config.timeout) from None
            # Refused, or broken on the way: a read is safe to ask again (see `_send`).
            status = "unavailable"
            reason = "could not be reached" if not failure.sent else "the connection broke"
            raise OwnerUnavailable(self.name, reason) from None
        except OwnerError as error:
            status = error.status
            if isinstance(error, OwnerHTTPError) and error.http_status < 500:
                self.breaker.success(permit)  # the owner is well; the request was refused
            else:
                self.breaker.failure(permit, self._clock() - started)
            raise
        except Exception:
            status = "error"
            self.breaker.failure(permit, self._clock() - started)
            raise
        finally:
            if status == "cancelled":
                self.breaker.release(permit)
            self._report(asking, spec, keys, started, status, http_status, attempt, sent=True)

    def _admit(
        self, asking: _Asking, spec: EntityConfig, keys: int, started: float, attempt: int
    ) -> tuple[Permit, float]:
        """The breaker's permit and the seconds this call may take.

        Refuses at once when the breaker is open or time is up.
        """
        permit = self.breaker.allow()
        if permit is None:
            self._report(asking, spec, keys, started, "unavailable", None, attempt, sent=False)
            raise CircuitOpen(self.name)
        time_left = asking.time_left()
        if time_left <= 0:
            self.breaker.release(permit)
            self._report(asking, spec, keys, started, "deadline", None, attempt, sent=False)
            raise DeadlineExceeded(self.name)
        return permit, time_left

    async def _exchange(self, request: OwnerRequest, time_left: float) -> OwnerResponse:
        """One HTTP exchange under the system's cap, within its timeout and the time left."""
        async with Within(min(self.config.timeout, time_left)), self._slots:
            return await self._http.send(request)

    def _judge_cut(self, permit: Permit, started: float) -> None:
        """A call cut short by the request's deadline: the owner's fault only if it was slow."""
        if self._clock() - started >= self.config.breaker.slow:
            self.breaker.failure(permit, self._clock() - started)
        else:
            self.breaker.release(permit)

    def _decode(self, response: OwnerResponse, not_found_ok: bool) -> Any:
        status, body = response.status, response.body
        if not_found_ok and status == 404:
            return None
        if status == 429:
            raise OwnerRateLimited(self.name, _retry_after(response))
        if status in _UNAVAILABLE_STATUSES:
            raise OwnerUnavailable(
                self.name,
                f"it answered HTTP {status}",
                http_status=status,
                retry_after=_retry_after(response),
            )
        if status >= 400:
            raise OwnerHTTPError(self.name, status)
        try:
            return orjson.loads(body)
        except ValueError:
            raise OwnerBadResponse(self.name, "the body is not JSON") from None

    def _report(
        self,
        asking: _Asking,
        spec: EntityConfig,
        keys: int,
        started: float,
        status: str,
        http_status: int | None,
        attempt: int,
        *,
        sent: bool,
    ) -> None:
        ended = self._clock()
        answered_at = datetime.now(UTC)
        if sent:
            self.health = OwnerHealth(status, ended - started, answered_at)
        if asking.observer is not None:
            asking.observer.record(
                Call(
                    system=self.name,
                    entity=spec.name,
                    keys=keys,
                    started=started,
                    ended=ended,
                    status=status,
                    answered_at=answered_at,
                    http_status=http_status,
                    attempt=attempt,
                    sent=sent,
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


def _retry_after(response: OwnerResponse) -> float | None:
    """Seconds from a `Retry-After` header given in seconds; None otherwise."""
    value = response.headers.get("retry-after", "").strip()
    try:
        seconds = float(value)
    except ValueError:
        return None
    return seconds if seconds >= 0 else None


def _first_text(payload: Any, paths: Sequence[Sequence[str]]) -> str | None:
    for path in paths:
        value = dig(payload, path)
        if isinstance(value, str) and value.strip():
            return value
    return None


def _get(payload: Any, name: str) -> Any:
    return payload.get(name) if isinstance(payload, dict) else None
