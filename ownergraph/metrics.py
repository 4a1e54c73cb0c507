"""Prometheus metrics at `/metrics`: requests, latency, owner calls, errors, breakers.

One registry per app, so that two apps in a process (tests, an embedding
host) never share counters. Label values a client controls are bounded: an
operation name that is not a plain GraphQL name, or one beyond the first
hundred seen, is counted as `other`.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from ownergraph.resolvers import Gateway
from ownergraph.sources import Call

from .execution import Hook, Operation

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
_MAX_OPERATIONS = 100
_BREAKER_STATES = {"closed": 0, "half_open": 1, "open": 2}
_LATENCY = (0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0, 2.0, 5.0)
_BATCH = (1, 2, 5, 10, 20, 50, 100, 200)


class Metrics:
    """The app's metrics; also the `CallObserver` that hears every owner call."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "ownergraph_requests",
            "GraphQL operations by name and outcome (ok, partial, rejected).",
            ["operation", "outcome"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "ownergraph_request_duration_seconds",
            "Time to answer a GraphQL operation.",
            ["operation"],
            buckets=_LATENCY,
            registry=self.registry,
        )
        self.errors = Counter(
            "ownergraph_errors",
            "Errors returned to clients, by code.",
            ["code"],
            registry=self.registry,
        )
        self.owner_calls = Counter(
            "ownergraph_owner_calls",
            "Calls to owning systems, by owner, entity and status.",
            ["owner", "entity", "status"],
            registry=self.registry,
        )
        self.absent_fields = Counter(
            "ownergraph_owner_field_absent",
            "Reads of a field whose path the owner's record lacks (absent, not null): "
            "a from: in the map that reads nothing, or an owner that stopped sending it.",
            ["owner", "field"],
            registry=self.registry,
        )
        self.owner_latency = Histogram(
            "ownergraph_owner_call_duration_seconds",
            "Time an owning system took to answer one call.",
            ["owner"],
            buckets=_LATENCY,
            registry=self.registry,
        )
        self.batch_keys = Histogram(
            "ownergraph_owner_batch_keys",
            "Keys asked in one owner call: how well reads are batched.",
            ["owner"],
            buckets=_BATCH,
            registry=self.registry,
        )
        self._operations: set[str] = set()
        # Labelled children, looked up once: `labels()` takes a lock and builds a key
        # on every call, and there are several per owner call.
        self._calls: dict[tuple[str, str, str], Counter] = {}
        self._owners: dict[str, tuple[Histogram, Histogram]] = {}
        self._requests: dict[tuple[str, str], Counter] = {}
        self._latencies: dict[str, Histogram] = {}

    def watch(self, gateway: Gateway) -> None:
        """Report the breakers of `gateway`'s owners at every scrape."""
        self.registry.register(_Breakers(gateway))

    def record(self, call: Call) -> None:
        """An owner call ended (`sources.CallObserver`)."""
        key = (call.system, call.entity, call.status)
        counter = self._calls.get(key)
        if counter is None:
            counter = self._calls[key] = self.owner_calls.labels(*key)
        counter.inc()
        if call.sent:
            histograms = self._owners.get(call.system)
            if histograms is None:
                histograms = self._owners[call.system] = (
                    self.owner_latency.labels(call.system),
                    self.batch_keys.labels(call.system),
                )
            latency, keys = histograms
            latency.observe(call.ended - call.started)
            keys.observe(call.keys)

    def absent(self, owner: str, coordinate: str) -> None:
        """A read found no value at the path of the field `coordinate` (the map's name)."""
        self.absent_fields.labels(owner, coordinate).inc()

    def operation(self, name: str | None) -> str:
        if name is None:
            return "anonymous"
        if not _NAME.match(name):
            return "other"
        if name not in self._operations:
            if len(self._operations) >= _MAX_OPERATIONS:
                return "other"
            self._operations.add(name)
        return name

    def hook(self) -> Hook:
        """A hook counting each operation in these metrics."""
        metrics = self

        @contextmanager
        def measure(operation: Operation) -> Iterator[None]:
            started = time.perf_counter()
            yield
            name = metrics.operation(operation.operation_name)
            errors = operation.all_errors
            data = operation.result.data if operation.result is not None else None
            if not errors:
                outcome = "ok"
            else:
                outcome = "partial" if operation.executed and data is not None else "rejected"
            counted = metrics._requests.get((name, outcome))
            if counted is None:
                counted = metrics._requests[(name, outcome)] = metrics.requests.labels(
                    name, outcome
                )
            counted.inc()
            timed = metrics._latencies.get(name)
            if timed is None:
                timed = metrics._latencies[name] = metrics.latency.labels(name)
            timed.observe(time.perf_counter() - started)
            for error in errors:
                code = (error.extensions or {}).get("code", "GRAPHQL_VALIDATION_FAILED")
                metrics.errors.labels(str(code)).inc()

        return measure


class _Breakers(Collector):
    """Each owner's breaker state, read at scrape time."""

    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway

    def collect(self) -> Iterable[Metric]:
        family = GaugeMetricFamily(
            "ownergraph_owner_breaker_state",
            "Each owner's circuit breaker: 0 closed, 1 half-open, 2 open.",
            labels=["owner"],
        )
        open_time = GaugeMetricFamily(
            "ownergraph_owner_breaker_open_seconds",
            "How long each owner's breaker stays open this time (closed: the next time); "
            "doubled by each failed probe.",
            labels=["owner"],
        )
        for name, source in self.gateway.sources.items():
            family.add_metric([name], _BREAKER_STATES[source.breaker.state])
            open_time.add_metric([name], source.breaker.open_time)
        yield family
        yield open_time

    def describe(self) -> Iterable[Metric]:
        return []
