"""The benchmark scenarios: start the processes, run load generator jobs, keep the figures.

Everything here measures; nothing formats. `run()` returns a JSON-ready dict that
`bench.report` turns into RESULTS.md.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from . import machine, procs
from .stats import latency_summary

CUSTOMERS = 10_000
CALLER_ID = "C00013"
CALLER_FIRST = 5
CALLER_SCREEN = (
    '{ customer(id: "__ID__") { displayName phones credit { balance overdue } '
    "invoices(status: UNPAID, first: 5) { number amount dueDate } "
    "tickets(first: 5) { id subject status } "
    "interactions(first: 5) { channel at summary } } }"
)
MANY_CUSTOMERS = (
    "{ customers(ids: __IDS__) { displayName credit { balance } invoices { number } "
    "tickets { id } interactions { channel } } }"
)


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
    loop_warmup_s: float = 2.0
    loop_duration_s: float = 10.0

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
        )


def _per_request_ms(cpu_s: float | None, requests: int) -> float | None:
    return None if cpu_s is None or not requests else 1000 * cpu_s / requests


def _log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


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

    def job(self, job: dict[str, Any], timeout: float) -> Any:
        return procs.run_loadgen(job, repo=self.repo, pinning=self.pinning, timeout=timeout)

    def with_system(
        self, latency_ms: int, body: Callable[[procs.Service, procs.Service], None]
    ) -> None:
        """Start owners (at `latency_ms`) and a fresh gateway, run `body`, stop both."""
        _log(f"starting owners at {latency_ms} ms and the gateway")
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
                body(owners, gateway)

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
                "query": CALLER_SCREEN.replace("__ID__", CALLER_ID),
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
                "template": MANY_CUSTOMERS,
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
                "template": CALLER_SCREEN,
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
    }

    def at_latency(latency_ms: int) -> Callable[[procs.Service, procs.Service], None]:
        def body(owners: procs.Service, gateway: procs.Service) -> None:
            results["pinning"]["affinity"][f"owners at {latency_ms} ms"] = runner.affinity
            for repeat in range(config.repeats):
                if latency_ms == config.owner_latency_ms:
                    _log(f"repeat {repeat + 1}: round trips")
                    results["round_trips"].append(runner.round_trips(owners, gateway))
                    _log(f"repeat {repeat + 1}: caller screen")
                    results["caller_screen"].append(runner.caller_screen(owners, gateway))
                    _log(f"repeat {repeat + 1}: owner requests per query")
                    results["owner_requests"].append(runner.owner_requests(owners, gateway, repeat))
                if latency_ms in config.loop_latencies_ms:
                    for concurrency in config.loop_concurrency:
                        _log(
                            f"repeat {repeat + 1}: closed loop, owners at {latency_ms} ms, "
                            f"concurrency {concurrency}"
                        )
                        results["closed_loop"].append(
                            runner.closed_loop(
                                owners,
                                gateway,
                                latency_ms=latency_ms,
                                concurrency=concurrency,
                                repeat=repeat,
                            )
                        )

        return body

    latencies = [config.owner_latency_ms] + [
        ms for ms in config.loop_latencies_ms if ms != config.owner_latency_ms
    ]
    for latency_ms in latencies:
        runner.with_system(latency_ms, at_latency(latency_ms))
    results["duration_s"] = time.monotonic() - started
    return results
