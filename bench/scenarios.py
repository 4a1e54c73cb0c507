"""The benchmark scenarios: start the processes, run load generator jobs, keep the figures.

Everything here measures; nothing formats. `run()` returns a JSON-ready dict that
`bench.report` turns into RESULTS.md.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import phonenumbers

from . import machine, procs
from .stats import latency_summary

CUSTOMERS = 10_000
CALLER_ID = "C00013"
CALLER_FIRST = 5
# Documents are fixed and arguments travel as variables, as real clients send them.
CALLER_SCREEN = (
    "query CallerScreen($id: ID!) { customer(id: $id) { displayName phones "
    "credit { balance overdue } "
    "invoices(status: UNPAID, first: 5) { number amount dueDate } "
    "tickets(first: 5) { id subject status } "
    "interactions(first: 5) { channel at summary } } }"
)
MANY_CUSTOMERS = (
    "query Customers($ids: [ID!]!) { customers(ids: $ids) { displayName credit { balance } "
    "invoices { number } tickets { id } interactions { channel } } }"
)
# 4. The call comes in: the screen an agent sees when a call rings, looked up by the number.
CALL_SCREEN = """query Screen($phone: String!) {
  customerByPhone(phone: $phone) {
    phone
    matches { customer { id } confidence matchedBy }
    best {
      id displayName
      tickets(status: OPEN) { id subject }
      invoices(status: UNPAID) { number amount }
      interactions(first: 5) { channel at }
      credit { balance overdue }
    }
  }
}"""
# Demo customers with an ERP code, each called on a number exactly as its CRM record
# writes it (checked against the CRM before every run): each format people type.
CALLERS: tuple[tuple[str, str], ...] = (
    ("C00002", "02 4223 7058"),
    ("C00003", "388/4823344"),
    ("C00010", "380.446.1472"),
    ("C00020", "(035) 725 2667"),
    ("C00041", "051-637-1348"),
    ("C00068", "+393332460059"),
    ("C00092", "3332786982"),
    ("C00110", "0039 02 31135572"),
    ("C00009", "+39 336 206 1469"),
)
PHONE_REGION = "IT"  # the gateway's default for numbers without a country code
CALL_FIRST = 5  # interactions(first: 5)
CALL_LIMIT = 20  # tickets and invoices: the schema's default `first`
# Owner requests the screen should cost: lookup wave, fetch wave, and the ERP's wave.
CALL_EXPECTED_REQUESTS = {"crm": 2, "erp": 2, "helpdesk": 2, "contactcenter": 2}


@dataclass(frozen=True)
class Config:
    """How much to measure; `quick()` is a smoke run."""

    mode: str = "full"
    repeats: int = 3
    owner_latency_ms: int = 20
    # 0. round trips of a request that does nothing
    rtt_count: int = 15
    rtt_spaced_count: int = 6
    rtt_gap_s: float = 0.1
    # 1. caller screen, concurrency 1
    caller_warmup: int = 20
    caller_requests: int = 200
    # 2. owner requests per query against the number of customers
    sizes: tuple[int, ...] = (1, 10, 100)
    size_warmup: int = 3
    size_queries: int = 20
    # 3. closed loop
    loop_latencies_ms: tuple[int, ...] = (0, 20)
    loop_concurrency: tuple[int, ...] = (10, 50)
    # 6 s windows (with scenario 4) keep the whole run near six minutes.
    loop_warmup_s: float = 1.5
    loop_duration_s: float = 6.0
    # 4. the call comes in: lookup by phone, concurrency 1. The floor runs after every
    # `call_floor_every`-th request (it takes as long as a request); keep it coprime with the
    # number of CALLERS so that every number gets floor iterations.
    call_latency_ms: int = 50
    call_warmup: int = 9
    call_requests: int = 200
    call_floor_every: int = 4
    call_target_p95_ms: float = 300.0

    @classmethod
    def quick(cls) -> Config:
        return cls(
            mode="quick",
            repeats=1,
            caller_warmup=5,
            caller_requests=30,
            size_warmup=1,
            size_queries=5,
            loop_warmup_s=0.5,
            loop_duration_s=3.0,
            call_requests=30,
        )


def _per_request_ms(cpu_s: float | None, requests: int) -> float | None:
    return None if cpu_s is None or not requests else 1000 * cpu_s / requests


def _log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def e164(phone: str) -> str:
    """The number as the gateway normalises it (and asks the owners for it)."""
    number = phonenumbers.parse(phone, PHONE_REGION)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _error_count(errors: dict[str, int]) -> int:
    return sum(errors.values())


class Runner:
    """Owns the processes under test and runs load generator jobs against them."""

    def __init__(self, config: Config, repo: Path, out_dir: Path) -> None:
        self.config = config
        self.repo = repo
        self.out_dir = out_dir
        self.data_dir = out_dir / "data"
        self.log_dir = out_dir / "logs"
        self.pinning = procs.detect_pinning()
        self.affinity: dict[str, list[int]] = {}
        self.timings: dict[str, float] = {}

    @contextmanager
    def timed(self, phase: str) -> Iterator[None]:
        """Add the wall-clock time of the block to `phase` (to keep the whole run short)."""
        started = time.monotonic()
        try:
            yield
        finally:
            self.timings[phase] = self.timings.get(phase, 0.0) + time.monotonic() - started

    def job(self, job: dict[str, Any], timeout: float) -> Any:
        return procs.run_loadgen(job, repo=self.repo, pinning=self.pinning, timeout=timeout)

    def with_system(
        self, latency_ms: int, body: Callable[[procs.Service, procs.Service], None]
    ) -> None:
        """Start owners (at `latency_ms`) and a fresh gateway, run `body`, stop both."""
        _log(f"starting owners at {latency_ms} ms and the gateway")
        started = time.monotonic()
        owners = procs.start_owners(
            repo=self.repo,
            pinning=self.pinning,
            latency_ms=latency_ms,
            data_dir=self.data_dir,
            log_path=self.log_dir / f"owners-{latency_ms}ms.log",
        )
        with procs.running(owners):
            gateway = procs.start_gateway(
                repo=self.repo,
                pinning=self.pinning,
                owner_urls=owners.urls,
                log_path=self.log_dir / f"gateway-{latency_ms}ms.log",
            )
            with procs.running(gateway):
                self.affinity = {"gateway": gateway.affinity, "owners": owners.affinity}
                self.timings["processes"] = (
                    self.timings.get("processes", 0.0) + time.monotonic() - started
                )
                body(owners, gateway)
                started = time.monotonic()
        self.timings["processes"] = self.timings.get("processes", 0.0) + time.monotonic() - started

    # ------------------------------------------------------------------ round trips

    def round_trips(self, owners: procs.Service, gateway: procs.Service) -> dict[str, Any]:
        c = self.config
        raw = self.job(
            {
                "kind": "round_trips",
                "targets": {**owners.urls, "gateway": gateway.urls["gateway"]},
                "count": c.rtt_count,
                "spaced_count": c.rtt_spaced_count,
                "gap_s": c.rtt_gap_s,
            },
            timeout=120,
        )
        return {
            name: {pattern: latency_summary(samples) for pattern, samples in entry.items()}
            for name, entry in raw.items()
        }

    # ------------------------------------------------------------------ scenario 1

    def caller_screen(self, owners: procs.Service, gateway: procs.Service) -> dict[str, Any]:
        c = self.config
        raw = self.job(
            {
                "kind": "sequential",
                "gateway": gateway.urls["gateway"],
                "gateway_pid": gateway.pid,
                "owners_pid": owners.pid,
                "owners": owners.urls,
                "query": CALLER_SCREEN,
                "variables": {"id": CALLER_ID},
                "customer_id": CALLER_ID,
                "first": CALLER_FIRST,
                "warmup": c.caller_warmup,
                "requests": c.caller_requests,
            },
            timeout=600,
        )
        gateway_summary = latency_summary(raw["gateway_ms"])
        floor = {name: latency_summary(values) for name, values in raw["floor_ms"].items()}
        return {
            "gateway": gateway_summary,
            "floor": floor,
            "overhead_p50_ms": gateway_summary["p50"] - floor["floor"]["p50"],
            "owner_wait_p50_ms": {
                name: latency_summary(values)["p50"]
                for name, values in raw["owner_wait_ms"].items()
            },
            "errors": raw["errors"],
            "error_samples": raw["error_samples"],
            "cpu": raw["cpu"],
            "gateway_cpu_per_request_ms": _per_request_ms(
                raw["cpu"]["cpu_s"]["gateway"], len(raw["gateway_ms"])
            ),
        }

    # ------------------------------------------------------------------ scenario 2

    def owner_requests(
        self, owners: procs.Service, gateway: procs.Service, repeat: int
    ) -> list[dict[str, Any]]:
        c = self.config
        raw = self.job(
            {
                "kind": "owner_requests",
                "gateway": gateway.urls["gateway"],
                "gateway_pid": gateway.pid,
                "owners_pid": owners.pid,
                "owners": owners.urls,
                "query": MANY_CUSTOMERS,
                "sizes": list(c.sizes),
                "customers": CUSTOMERS,
                "warmup": c.size_warmup,
                "queries": c.size_queries,
                "seed": 100 + repeat,
            },
            timeout=600,
        )
        rows: list[dict[str, Any]] = []
        for entry in raw["sizes"]:
            queries = entry["queries"]
            stats = entry["owner_stats"]
            rows.append(
                {
                    "size": entry["size"],
                    "latency": latency_summary(entry["latency_ms"]),
                    "requests_per_query": {
                        name: stats[name]["requests"] / queries for name in procs.SYSTEMS
                    },
                    "keys_per_query": {
                        name: stats[name]["keys"] / queries for name in procs.SYSTEMS
                    },
                    "routes_per_query": {
                        name: {
                            route: count / queries
                            for route, count in stats[name]["routes"].items()
                            if count
                        }
                        for name in procs.SYSTEMS
                    },
                    "customers_returned": entry["customers_returned"],
                    "cpu": entry["cpu"],
                    "gateway_cpu_per_request_ms": _per_request_ms(
                        entry["cpu"]["cpu_s"]["gateway"], queries
                    ),
                    "errors": entry["errors"],
                    "error_samples": entry["error_samples"],
                }
            )
        return rows

    # ------------------------------------------------------------------ scenario 3

    def closed_loop(
        self,
        owners: procs.Service,
        gateway: procs.Service,
        *,
        latency_ms: int,
        concurrency: int,
        repeat: int,
    ) -> dict[str, Any]:
        c = self.config
        raw = self.job(
            {
                "kind": "closed_loop",
                "gateway": gateway.urls["gateway"],
                "gateway_pid": gateway.pid,
                "owners_pid": owners.pid,
                "query": CALLER_SCREEN,
                "customers": CUSTOMERS,
                "concurrency": concurrency,
                "warmup_s": c.loop_warmup_s,
                "duration_s": c.loop_duration_s,
                "seed": 1000 * latency_ms + 10 * concurrency + repeat,
            },
            timeout=c.loop_warmup_s + c.loop_duration_s + 120,
        )
        outcomes: dict[str, int] = raw["outcomes"]
        errors = sum(count for kind, count in outcomes.items() if kind != "ok")
        window = raw["window_s"]
        cpu = raw["cpu_s"]
        peak = raw["gateway_peak_rss_kib"]
        return {
            "owner_latency_ms": latency_ms,
            "concurrency": concurrency,
            "repeat": repeat,
            "window_s": window,
            "completed": raw["completed"],
            "rps": raw["completed"] / window,
            "latency": latency_summary(raw["latency_ms"]),
            "errors": errors,
            "outcomes": outcomes,
            "error_codes": raw["error_codes"],
            "error_samples": raw["error_samples"],
            "customers_found": raw["customers_found"],
            "cpu_s": cpu,
            "gateway_cpu_per_request_ms": _per_request_ms(cpu["gateway"], raw["completed"]),
            "others_cpu_pct": None if cpu["others"] is None else 100 * cpu["others"] / window,
            "steal_cpu_pct": None if cpu["steal"] is None else 100 * cpu["steal"] / window,
            "gateway_peak_rss_mib": None if peak is None else peak / 1024,
            "gateway_rss_mib": (
                None if raw["gateway_rss_kib"] is None else raw["gateway_rss_kib"] / 1024
            ),
            "peak_rss_reset": raw["peak_rss_reset"],
            "drain_s": raw["drain_s"],
        }

    # ------------------------------------------------------------------ scenario 4

    def call_comes_in(self, owners: procs.Service, gateway: procs.Service) -> dict[str, Any]:
        c = self.config
        if math.gcd(c.call_floor_every, len(CALLERS)) != 1:
            raise ValueError(
                f"call_floor_every={c.call_floor_every} would leave some of the "
                f"{len(CALLERS)} numbers without a floor: pick one coprime with it"
            )
        callers = [{"id": cid, "phone": phone, "e164": e164(phone)} for cid, phone in CALLERS]
        raw = self.job(
            {
                "kind": "call_comes_in",
                "gateway": gateway.urls["gateway"],
                "gateway_pid": gateway.pid,
                "owners_pid": owners.pid,
                "owners": owners.urls,
                "query": CALL_SCREEN,
                "callers": callers,
                "first": CALL_FIRST,
                "limit": CALL_LIMIT,
                "warmup": c.call_warmup,
                "requests": c.call_requests,
                "floor_every": c.call_floor_every,
            },
            timeout=120 + 2 * (c.call_warmup + c.call_requests),
        )
        measured = len(raw["gateway_ms"])
        stats = raw["owner_stats"]
        floor_requests: dict[str, dict[str, int]] = raw["floor_requests"]
        # The owners count the floor's requests too: what the floor made is taken off.
        gateway_routes = {
            name: {
                route: count - floor_requests.get(name, {}).get(route, 0)
                for route, count in stats[name]["routes"].items()
            }
            for name in procs.SYSTEMS
        }
        gateway_summary = latency_summary(raw["gateway_ms"])
        floor = {name: latency_summary(values) for name, values in raw["floor_ms"].items()}
        return {
            "gateway": gateway_summary,
            "floor": floor,
            "overhead_p50_ms": gateway_summary["p50"] - floor["floor"]["p50"],
            "requests_per_query": {
                name: sum(routes.values()) / measured for name, routes in gateway_routes.items()
            },
            "routes_per_query": {
                name: {route: count / measured for route, count in routes.items() if count}
                for name, routes in gateway_routes.items()
            },
            "floor_requests": floor_requests,
            "query": CALL_SCREEN,
            "expected_requests_per_query": CALL_EXPECTED_REQUESTS,
            "callers": [
                {**caller, "matched_by": raw["matched_by"].get(caller["phone"])}
                for caller in callers
            ],
            "callers_p50_ms": {
                phone: latency_summary(values)["p50"]
                for phone, values in raw["by_caller_ms"].items()
            },
            "owner_wait_p50_ms": {
                name: latency_summary(values)["p50"]
                for name, values in raw["owner_wait_ms"].items()
            },
            "errors": raw["errors"],
            "warmup_errors": raw["warmup_errors"],
            "error_samples": raw["error_samples"],
            "cpu": raw["cpu"],
            "gateway_cpu_per_request_ms": _per_request_ms(raw["cpu"]["cpu_s"]["gateway"], measured),
        }


def run(config: Config, repo: Path, out_dir: Path) -> dict[str, Any]:
    """Run every scenario `config.repeats` times; the raw figures of every run."""
    started = time.monotonic()
    described = machine.describe(repo)  # before this process is pinned to one core
    runner = Runner(config, repo, out_dir)
    runner.pinning.pin_self()
    results: dict[str, Any] = {
        "config": asdict(config),
        "machine": described,
        "pinning": {
            "enabled": runner.pinning.enabled,
            "note": runner.pinning.note,
            "affinity": {},
        },
        "round_trips": [],
        "caller_screen": [],
        "owner_requests": [],
        "closed_loop": [],
        "call_comes_in": [],
        "timings_s": runner.timings,
    }

    def at_latency(latency_ms: int) -> Callable[[procs.Service, procs.Service], None]:
        def body(owners: procs.Service, gateway: procs.Service) -> None:
            results["pinning"]["affinity"][f"owners at {latency_ms} ms"] = runner.affinity
            for repeat in range(config.repeats):
                if latency_ms == config.owner_latency_ms:
                    _log(f"repeat {repeat + 1}: round trips")
                    with runner.timed("round_trips"):
                        results["round_trips"].append(runner.round_trips(owners, gateway))
                    _log(f"repeat {repeat + 1}: caller screen")
                    with runner.timed("caller_screen"):
                        screen = runner.caller_screen(owners, gateway)
                    results["caller_screen"].append(screen)
                    _report_errors("caller screen", screen["errors"])
                    _log(f"repeat {repeat + 1}: owner requests per query")
                    with runner.timed("owner_requests"):
                        rows = runner.owner_requests(owners, gateway, repeat)
                    results["owner_requests"].append(rows)
                    for row in rows:
                        _report_errors(f"owner requests, N={row['size']}", row["errors"])
                if latency_ms in config.loop_latencies_ms:
                    for concurrency in config.loop_concurrency:
                        _log(
                            f"repeat {repeat + 1}: closed loop, owners at {latency_ms} ms, "
                            f"concurrency {concurrency}"
                        )
                        with runner.timed("closed_loop"):
                            loop = runner.closed_loop(
                                owners,
                                gateway,
                                latency_ms=latency_ms,
                                concurrency=concurrency,
                                repeat=repeat,
                            )
                        results["closed_loop"].append(loop)
                        _report_errors(
                            f"closed loop {latency_ms} ms / {concurrency}",
                            {k: v for k, v in loop["outcomes"].items() if k != "ok"},
                        )
                if latency_ms == config.call_latency_ms:
                    _log(f"repeat {repeat + 1}: the call comes in, owners at {latency_ms} ms")
                    with runner.timed("call_comes_in"):
                        call = runner.call_comes_in(owners, gateway)
                    results["call_comes_in"].append(call)
                    _report_errors("the call comes in", call["errors"])
                    _report_errors("the call comes in (warm-up)", call["warmup_errors"])

        return body

    latencies = list(
        dict.fromkeys([config.owner_latency_ms, *config.loop_latencies_ms, config.call_latency_ms])
    )
    for latency_ms in latencies:
        runner.with_system(latency_ms, at_latency(latency_ms))
    results["duration_s"] = time.monotonic() - started
    _log(
        "time per phase: "
        + ", ".join(f"{phase} {seconds:.0f} s" for phase, seconds in runner.timings.items())
    )
    errors, requests = _error_totals(results)
    _log(f"errors: {errors} of {requests} measured requests" + ("" if errors else " (none)"))
    return results


def _error_totals(results: dict[str, Any]) -> tuple[int, int]:
    """Errors and measured GraphQL requests over every scenario of the run."""
    errors = requests = 0
    for run in [*results["caller_screen"], *results["call_comes_in"]]:
        errors += _error_count(run["errors"])
        requests += int(run["gateway"]["n"])
    for rows in results["owner_requests"]:
        for row in rows:
            errors += _error_count(row["errors"])
            requests += int(row["latency"]["n"])
    for loop in results["closed_loop"]:
        errors += int(loop["errors"])
        requests += int(loop["completed"])
    return errors, requests


def _report_errors(scenario: str, errors: dict[str, int]) -> None:
    """Say so at once when a scenario saw errors: its figures are not what they seem."""
    if _error_count(errors):
        _log(f"WARNING: {scenario}: errors {errors}")
