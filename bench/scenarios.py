"""The benchmark scenarios: start the processes, run load generator jobs, keep the figures.

Four gateways are measured over the same demo owners, pinned to the same core: ours
(`ours`), ours with batching off (`naive`, `OWNERGRAPH_BATCHING=false`: one owner call per
field), Hive Gateway (`peer`, bench/peer.py) and Tailcall (`tailcall`, bench/tailcall.py),
the two peers installed from npm. At each owner latency the owners and every
gateway needed there run side by side, but only one gateway is under load at a time: each
job loads one, and reads the CPU time of the others to show they stayed idle. The order of
the gateways rotates from repeat to repeat, so drift on a shared machine spreads over all.
Ours is also measured as `serve --workers 2` on both cores (scenario 7, right after ours'
own closed loop with the owners at 0 ms in each repeat), and once per run, before
everything else, in instructions per caller screen under callgrind (scenario 8,
bench.instructions).

Everything here measures; nothing formats. `run()` returns a JSON-ready dict that
`bench.report` turns into RESULTS.md.
"""

from __future__ import annotations

import bisect
import math
import os
import random
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import phonenumbers
import yaml

from . import hostile, machine, procs
from . import peer as peer_gw
from . import tailcall as tailcall_gw
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
MANY_LIMIT = 20  # invoices, tickets and interactions per customer: the schema's default `first`
# The plan's minimum for the caller screen and for customers(ids:) at any N: one request
# per owner entity and wave (crm records; erp accounts and invoices; helpdesk tickets;
# contactcenter interactions).
PLAN_REQUESTS = {"crm": 1, "erp": 2, "helpdesk": 1, "contactcenter": 1}
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


# 5. A failing owner: the ERP hangs, then fails, then is healthy again, over and over. A
# response "carries the ERP's data" when the caller screen's ERP fields are there and no
# error names the ERP.
FAULT_SYSTEM = "erp"
FAULT_LABEL = "ERP"  # how the report names it
FAULT_FIELDS = ("credit", "invoices")
HEALTHY = "healthy"
FAULT_PHASES: tuple[tuple[str, dict[str, Any] | None], ...] = (
    ("hanging", {"mode": "hang"}),
    ("failing", {"mode": "status", "status": 503}),
    (HEALTHY, None),
)
FAULT_SAMPLE = 100  # random customers asked of the CRM; those with an ERP code are used

# 6. Hostile documents: fragments that each spread the next one 2 or 3 times, 10 to 30
# levels deep (bench.hostile.fan_out), sent with no key (the anonymous role) and with the
# demo agent's. Ending in an owner-backed field, they should be refused on their cost
# before any owner is called; ending in `__typename`, which costs nothing on the limits,
# they are executed.
HOSTILE_LEAVES = ("displayName", "__typename")
HOSTILE_KEYS: tuple[str | None, ...] = (None, procs.DEMO_KEY)

# Ours, the peers (Hive Gateway, bench/peer.py; Tailcall, bench/tailcall.py) and the naive
# baseline (procs.NAIVE_ENV).
GATEWAYS = ("ours", "peer", "tailcall", "naive")
# The gateways installed from npm: each may be missing, and is then "not measured".
PEERS = ("peer", "tailcall")
PEER_NAMES = {"peer": "Hive Gateway", "tailcall": "Tailcall"}


@dataclass(frozen=True)
class Documents:
    """One gateway's documents for the caller screen and customers(ids:)."""

    caller_screen: str
    many_customers: str


def documents(gateway: str) -> Documents:
    """The peers ask the same fields under their own (the owners') names."""
    if gateway == "peer":
        return Documents(peer_gw.CALLER_SCREEN, peer_gw.MANY_CUSTOMERS)
    if gateway == "tailcall":
        return Documents(tailcall_gw.CALLER_SCREEN, tailcall_gw.MANY_CUSTOMERS)
    return Documents(CALLER_SCREEN, MANY_CUSTOMERS)


def normalised(gateway: str, reply: Mapping[str, Any]) -> Any:
    """A gateway's answer as ours would write it: the peers' mapped, ours' as it is."""
    if gateway == "peer":
        return peer_gw.normalise(reply)
    if gateway == "tailcall":
        return tailcall_gw.normalise(reply)
    return reply.get("data")


@dataclass(frozen=True)
class Config:
    """How much to measure; `quick()` is a smoke run."""

    mode: str = "full"
    repeats: int = 3
    owner_latency_ms: int = 20
    # Which gateways to measure, and whether to run scenario 4 (`--only` narrows both).
    gateways: tuple[str, ...] = GATEWAYS
    call_scenario: bool = True
    # Every gateway, once started, serves this long a closed loop before anything is
    # measured, so that none (Node's JIT least of all) is measured cold.
    start_warmup_s: float = 1.0
    start_warmup_concurrency: int = 10
    # Answers compared between the gateways: the caller screen for CALLER_ID and this many
    # random customers, and customers(ids:) for the first repeat's lists of ids.
    same_data_customers: int = 10
    # 0. round trips of a request that does nothing
    rtt_count: int = 15
    rtt_spaced_count: int = 6
    rtt_gap_s: float = 0.1
    # 1. caller screen, concurrency 1
    caller_warmup: int = 10
    caller_requests: int = 100
    # 2. owner requests per query against the number of customers. Each size gets
    # `size_queries` queries, or fewer (at least `size_min_queries`) when they take more
    # than `size_max_s` (the naive baseline at N=100); ours' run is followed by
    # `size_floor_queries` floor iterations per size.
    sizes: tuple[int, ...] = (1, 10, 100)
    naive_sizes: tuple[int, ...] = (1, 10, 100)
    size_warmup: int = 2
    size_queries: int = 15
    size_min_queries: int = 3
    size_max_s: float = 4.0
    size_floor_queries: int = 10
    # 3. closed loop: ours and the peers at every latency and concurrency, the naive
    # baseline at these (owner latency ms, concurrency) only.
    loop_latencies_ms: tuple[int, ...] = (0, 20)
    loop_concurrency: tuple[int, ...] = (10, 50)
    naive_loops: tuple[tuple[int, int], ...] = ((20, 50),)
    loop_warmup_s: float = 1.0
    loop_duration_s: float = 5.0
    # 4. the call comes in: lookup by phone, concurrency 1. The floor runs after every
    # `call_floor_every`-th request (it takes as long as a request); keep it coprime with the
    # number of CALLERS so that every number gets floor iterations.
    call_latency_ms: int = 50
    call_warmup: int = 9
    call_requests: int = 126
    call_floor_every: int = 4
    call_target_p95_ms: float = 300.0
    # 5. a failing owner: `fault_concurrency` clients on the caller screen, owners at
    # `owner_latency_ms`, while the ERP goes through FAULT_PHASES (`fault_phase_s` each)
    # `fault_cycles` times, after `fault_warmup_s` healthy and not measured. Run once, on
    # processes of its own, after everything else.
    fault_scenario: bool = True
    fault_concurrency: int = 20
    fault_phase_s: float = 5.0
    fault_cycles: int = 4
    fault_warmup_s: float = 2.0
    fault_target_share: float = 0.95
    # 6. hostile documents: every case (each of `hostile_levels` x `hostile_spreads` x
    # HOSTILE_LEAVES x HOSTILE_KEYS) sent `hostile_each` times, one at a time; /healthz
    # probed every `hostile_probe_gap_s`, for `hostile_idle_s` on the idle gateway, then for
    # `hostile_load_s` while `hostile_clients` clients send the cases back to back (after
    # `hostile_ramp_s`). A request unanswered after `hostile_timeout_s` ends its case, so
    # that a document that blocks the gateway again costs the run seconds, not minutes. Run
    # once, on processes of its own, before scenario 5.
    hostile_scenario: bool = True
    hostile_levels: tuple[int, ...] = (10, 20, 30)
    hostile_spreads: tuple[int, ...] = (2, 3)
    hostile_each: int = 20
    hostile_clients: int = 4
    hostile_idle_s: float = 2.0
    hostile_load_s: float = 4.0
    hostile_ramp_s: float = 0.5
    hostile_probe_gap_s: float = 0.01
    hostile_timeout_s: float = 10.0
    # 7. several workers: ours with `serve --workers N` on every core, closed loop on the
    # caller screen at `workers_concurrency` with owners at `workers_latency_ms`, started
    # afresh in every repeat right after ours' own figures there (the one-worker closed loop
    # at the same concurrency it is compared with). Needs ours and that closed loop.
    workers: int = 2
    workers_latency_ms: int = 0
    workers_concurrency: int = 50
    # 8. instructions per caller screen (bench.instructions: the gateway under callgrind),
    # counted once per run, before everything else, on processes of its own: the count
    # moves by 0.3 % from run to run, so one suffices.
    instructions_scenario: bool = True
    instructions_query: str = "caller-screen"
    instructions_requests: int = 60
    instructions_warmup: int = 10
    # Targets of issue #7 (the report says where each stands).
    target_overhead_p50_ms: float = 3.0
    target_concurrency: int = 50

    @classmethod
    def quick(cls, **changes: Any) -> Config:
        settings: dict[str, Any] = {
            "mode": "quick",
            "repeats": 1,
            "start_warmup_s": 0.5,
            "same_data_customers": 3,
            "caller_warmup": 5,
            "caller_requests": 30,
            "size_warmup": 1,
            "size_queries": 5,
            "size_max_s": 2.0,
            "size_floor_queries": 3,
            "loop_warmup_s": 0.5,
            "loop_duration_s": 3.0,
            "call_requests": 30,
            "fault_cycles": 1,
            "hostile_each": 5,
            "hostile_idle_s": 1.0,
            "hostile_load_s": 2.0,
        }
        settings.update(changes)
        return cls(**settings)

    def loops(self, gateway: str, latency_ms: int) -> list[int]:
        """The closed-loop concurrencies `gateway` is measured at with owners at `latency_ms`."""
        if gateway == "naive":
            return [c for ms, c in self.naive_loops if ms == latency_ms]
        return list(self.loop_concurrency) if latency_ms in self.loop_latencies_ms else []

    def gateways_at(self, latency_ms: int) -> list[str]:
        """The gateways with something to measure with owners at `latency_ms`."""
        out = []
        for gateway in GATEWAYS:
            screens = latency_ms == self.owner_latency_ms or bool(self.loops(gateway, latency_ms))
            call = gateway == "ours" and self.call_scenario and latency_ms == self.call_latency_ms
            if (gateway in self.gateways and screens) or call:
                out.append(gateway)
        return out

    def workers_at(self, latency_ms: int) -> bool:
        """Whether scenario 7 runs with the owners at `latency_ms`."""
        return (
            self.workers > 1
            and "ours" in self.gateways
            and latency_ms == self.workers_latency_ms
            and self.workers_concurrency in self.loops("ours", latency_ms)
        )

    def latencies(self) -> list[int]:
        """Every owner latency with something to measure, in the order they run."""
        candidates = [self.owner_latency_ms, *self.loop_latencies_ms, self.call_latency_ms]
        return [ms for ms in dict.fromkeys(candidates) if self.gateways_at(ms)]


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


def size_ids(config: Config, repeat: int) -> dict[int, list[str]]:
    """Per size, the distinct random customer ids every gateway is asked for in `repeat`."""
    rng = random.Random(100 + repeat)
    return {
        size: [f"C{n:05d}" for n in rng.sample(range(1, CUSTOMERS + 1), size)]
        for size in config.sizes
    }


def rotated(items: Sequence[str], repeat: int) -> list[str]:
    """`items` starting from a different one each repeat."""
    if not items:
        return []
    shift = repeat % len(items)
    return [*items[shift:], *items[:shift]]


def _per_query(
    routes: Mapping[str, Mapping[str, int]], queries: int
) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
    """Requests per query per system, and per system and route (routes never asked left out)."""
    if not queries:
        return {name: math.nan for name in routes}, {}
    per_system = {name: sum(counts.values()) / queries for name, counts in routes.items()}
    per_route = {
        name: {route: count / queries for route, count in counts.items() if count}
        for name, counts in routes.items()
    }
    return per_system, per_route


@dataclass
class System:
    """The owners at one latency and the gateways started over them."""

    latency_ms: int
    owners: procs.Service
    gateways: dict[str, procs.Service] = field(default_factory=dict)
    # Each gateway's resident memory once it answered, before its warm-up (MiB).
    started_rss_mib: dict[str, float | None] = field(default_factory=dict)

    def idle_pids(self, loaded: str) -> dict[str, int]:
        """The gateways left idle while `loaded` is measured."""
        return {name: service.pid for name, service in self.gateways.items() if name != loaded}


class Runner:
    """Owns the processes under test and runs load generator jobs against them."""

    def __init__(self, config: Config, repo: Path, out_dir: Path) -> None:
        self.config = config
        self.repo = repo
        self.out_dir = out_dir
        self.data_dir = out_dir / "data"
        self.log_dir = out_dir / "logs"
        self.pinning = procs.detect_pinning()
        self.timings: dict[str, float] = {}
        # Why each peer is not measured (None while it is); set by `prepare_peers`.
        self.unavailable: dict[str, str | None] = {name: "not prepared" for name in PEERS}

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

    # ------------------------------------------------------------------ processes

    def prepare_peers(self) -> dict[str, dict[str, Any]]:
        """Each peer's set-up (`npm ci` when node_modules is missing); what happened."""
        return {name: self._prepare_peer(name) for name in PEERS}

    def _prepare_peer(self, name: str) -> dict[str, Any]:
        if name not in self.config.gateways:
            self.unavailable[name] = "not selected for this run (--only)"
            return {"reason": self.unavailable[name], "installed_during_run": False}
        module = peer_gw if name == "peer" else tailcall_gw
        was_installed = module.installed(self.repo)
        started = time.monotonic()
        with self.timed(f"{name} install check"):
            self.unavailable[name] = module.prepare(self.repo)
        install_s = time.monotonic() - started
        if self.unavailable[name] is not None:
            _log(f"{PEER_NAMES[name]} not measured: {self.unavailable[name]}")
        installed_now = not was_installed and self.unavailable[name] is None
        if installed_now:
            _log(f"{PEER_NAMES[name]}: npm ci took {install_s:.0f} s")
        return {
            "reason": self.unavailable[name],
            "installed_during_run": installed_now,
            "install_s": install_s if installed_now else 0.0,
            "versions": module.versions(self.repo),
        }

    @contextmanager
    def system(self, latency_ms: int, gateways: Sequence[str]) -> Iterator[System]:
        """Owners at `latency_ms` and each of `gateways`, all running; stopped on exit.

        A peer is left out, and `unavailable` says why, when it cannot be started.
        """
        _log(f"starting owners at {latency_ms} ms and {', '.join(gateways)}")
        with ExitStack() as stack:
            with self.timed("processes"):
                owners = procs.start_owners(
                    repo=self.repo,
                    pinning=self.pinning,
                    latency_ms=latency_ms,
                    data_dir=self.data_dir,
                    log_path=self.log_dir / f"owners-{latency_ms}ms.log",
                )
                stack.enter_context(procs.running(owners))
                system = System(latency_ms, owners)
                for name in gateways:
                    service = self._start(name, owners, latency_ms)
                    if service is not None:
                        system.gateways[name] = stack.enter_context(procs.running(service))
                        rss = procs.rss_kib(service.pid)
                        system.started_rss_mib[name] = None if rss is None else rss / 1024
            with self.timed("start-up warm-up"):
                for name in system.gateways:
                    self.start_warmup(system, name)
            yield system
            with self.timed("processes"):
                stack.close()

    def _start(self, name: str, owners: procs.Service, latency_ms: int) -> procs.Service | None:
        log_path = self.log_dir / f"{name}-{latency_ms}ms.log"
        if name in ("ours", "naive"):
            return procs.start_gateway(
                repo=self.repo,
                pinning=self.pinning,
                owner_urls=owners.urls,
                log_path=log_path,
                env=procs.NAIVE_ENV if name == "naive" else None,
                name=name,
            )
        if self.unavailable[name] is not None:
            return None
        start = peer_gw.start_peer if name == "peer" else tailcall_gw.start_tailcall
        try:
            return start(
                owners.urls,
                procs.free_port_block(1),
                self.pinning,
                repo=self.repo,
                build_dir=self.out_dir / name / f"{latency_ms}ms",
                log_path=log_path,
            )
        except (RuntimeError, OSError) as error:
            reason = f"it failed to start ({str(error).splitlines()[0]}; see {log_path})"
            self.unavailable[name] = reason
            _log(f"{PEER_NAMES[name]} not measured: {reason}")
            return None

    def start_warmup(
        self, system: System, gateway: str, service: procs.Service | None = None
    ) -> None:
        """A short closed loop on the caller screen, discarded: nothing is measured cold.

        `service` is the gateway's process when it is not one of the system's (scenario 7).
        """
        c = self.config
        service = service or system.gateways[gateway]
        self.job(
            {
                "kind": "closed_loop",
                "gateway": service.urls["gateway"],
                "gateway_pid": service.pid,
                "owners_pid": system.owners.pid,
                "query": documents(gateway).caller_screen,
                "customers": CUSTOMERS,
                "concurrency": c.start_warmup_concurrency,
                "warmup_s": 0.0,
                "duration_s": c.start_warmup_s,
                "seed": 7,
            },
            timeout=c.start_warmup_s + 120,
        )

    # ------------------------------------------------------------------ same data

    def answers(self, system: System, gateway: str) -> dict[str, dict[str, Any]]:
        """The gateway's answers to the documents compared across gateways (ours' shape)."""
        c = self.config
        docs = documents(gateway)
        url = system.gateways[gateway].urls["gateway"]
        rng = random.Random(5)
        screens = [
            CALLER_ID,
            *(f"C{rng.randint(1, CUSTOMERS):05d}" for _ in range(c.same_data_customers)),
        ]
        cases: list[tuple[str, str, dict[str, Any]]] = [
            (f"caller screen {cid}", docs.caller_screen, {"id": cid}) for cid in screens
        ]
        cases += [
            (f"customers(ids:) N={size}", docs.many_customers, {"ids": ids})
            for size, ids in size_ids(c, 0).items()
        ]
        out: dict[str, dict[str, Any]] = {}
        for label, document, variables in cases:
            try:
                reply = peer_gw.post(url, document, variables, timeout=120)
            except (OSError, ValueError) as error:
                reply = {"errors": [{"message": f"{type(error).__name__}: {error}"}]}
            data = normalised(gateway, reply)
            out[label] = {"data": data, "errors": reply.get("errors") or []}
        return out

    def same_data(self, system: System) -> dict[str, Any]:
        """Whether the peers and the naive baseline answer exactly what ours answers."""
        if "ours" not in system.gateways:
            return {}
        ours = self.answers(system, "ours")
        out: dict[str, Any] = {}
        for gateway in system.gateways:
            if gateway == "ours":
                continue
            theirs = self.answers(system, gateway)
            differences: list[str] = []
            errors: list[str] = []
            for label, mine in ours.items():
                other = theirs[label]
                differences += [
                    f"{label}: {line}" for line in peer_gw.differences(mine["data"], other["data"])
                ]
                errors += [f"{label}: ours: {e.get('message')}" for e in mine["errors"]]
                errors += [f"{label}: {gateway}: {e.get('message')}" for e in other["errors"]]
            out[gateway] = {
                "checked": list(ours),
                "same": not differences and not errors,
                "differences": differences[:20],
                "difference_count": len(differences),
                "errors": errors[:10],
            }
            verdict = "same data" if out[gateway]["same"] else "DIFFERENT data"
            _log(f"{gateway} vs ours: {verdict} ({len(ours)} answers compared)")
        return out

    # ------------------------------------------------------------------ round trips

    def round_trips(self, system: System, gateway: str) -> dict[str, Any]:
        c = self.config
        raw = self.job(
            {
                "kind": "round_trips",
                "targets": {
                    **system.owners.urls,
                    "gateway": system.gateways[gateway].urls["gateway"],
                },
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

    def caller_screen(self, system: System, gateway: str) -> dict[str, Any]:
        c = self.config
        service = system.gateways[gateway]
        raw = self.job(
            {
                "kind": "sequential",
                "gateway": service.urls["gateway"],
                "gateway_pid": service.pid,
                "owners_pid": system.owners.pid,
                "idle_pids": system.idle_pids(gateway),
                "owners": system.owners.urls,
                "query": documents(gateway).caller_screen,
                "variables": {"id": CALLER_ID},
                "customer_id": CALLER_ID,
                "first": CALLER_FIRST,
                "warmup": c.caller_warmup,
                "requests": c.caller_requests,
            },
            timeout=600,
        )
        measured = len(raw["gateway_ms"])
        gateway_summary = latency_summary(raw["gateway_ms"])
        floor = {name: latency_summary(values) for name, values in raw["floor_ms"].items()}
        per_system, per_route = _per_query(raw["gateway_requests"], measured)
        return {
            "gateway": gateway_summary,
            "floor": floor,
            "overhead_p50_ms": gateway_summary["p50"] - floor["floor"]["p50"],
            "requests_per_query": per_system,
            "routes_per_query": per_route,
            "owner_wait_p50_ms": {
                name: latency_summary(values)["p50"]
                for name, values in raw["owner_wait_ms"].items()
            },
            "errors": raw["errors"],
            "error_samples": raw["error_samples"],
            "cpu": raw["cpu"],
            "gateway_cpu_per_request_ms": _per_request_ms(raw["cpu"]["cpu_s"]["gateway"], measured),
        }

    # ------------------------------------------------------------------ scenario 2

    def owner_requests(self, system: System, gateway: str, repeat: int) -> list[dict[str, Any]]:
        c = self.config
        service = system.gateways[gateway]
        ids = size_ids(c, repeat)
        sizes = c.naive_sizes if gateway == "naive" else c.sizes
        raw = self.job(
            {
                "kind": "owner_requests",
                "gateway": service.urls["gateway"],
                "gateway_pid": service.pid,
                "owners_pid": system.owners.pid,
                "idle_pids": system.idle_pids(gateway),
                "owners": system.owners.urls,
                "query": documents(gateway).many_customers,
                "ids_by_size": [ids[size] for size in sizes],
                "warmup": c.size_warmup,
                "queries": c.size_queries,
                "min_queries": c.size_min_queries,
                "max_s": c.size_max_s,
                # The floor does not depend on the gateway: measured once, with ours.
                "floor_queries": c.size_floor_queries if gateway == "ours" else 0,
                "limit": MANY_LIMIT,
            },
            timeout=900,
        )
        rows: list[dict[str, Any]] = []
        for entry in raw["sizes"]:
            queries = entry["queries"]
            stats = entry["owner_stats"]
            per_system, per_route = _per_query(
                {name: stats[name]["routes"] for name in procs.SYSTEMS}, queries
            )
            rows.append(
                {
                    "size": entry["size"],
                    "queries": queries,
                    "latency": latency_summary(entry["latency_ms"]),
                    "floor": {
                        name: latency_summary(values) for name, values in entry["floor_ms"].items()
                    },
                    "requests_per_query": per_system,
                    "keys_per_query": {
                        name: stats[name]["keys"] / queries if queries else math.nan
                        for name in procs.SYSTEMS
                    },
                    "routes_per_query": per_route,
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
        system: System,
        gateway: str,
        *,
        concurrency: int,
        repeat: int,
        service: procs.Service | None = None,
    ) -> dict[str, Any]:
        """One closed-loop window on `gateway`'s caller screen.

        With `service` (a gateway of several workers, not one of the system's), that process
        and its descendants are loaded and their CPU time summed, and every gateway of the
        system is idle meanwhile.
        """
        c = self.config
        latency_ms = system.latency_ms
        tree = service is not None
        if service is None:
            service = system.gateways[gateway]
            idle = system.idle_pids(gateway)
        else:
            idle = {name: other.pid for name, other in system.gateways.items()}
        raw = self.job(
            {
                "kind": "closed_loop",
                "gateway": service.urls["gateway"],
                "gateway_pid": service.pid,
                "gateway_tree": tree,
                "owners_pid": system.owners.pid,
                "idle_pids": idle,
                # Counted over the window: owner requests per answer under load.
                "owners": system.owners.urls,
                "query": documents(gateway).caller_screen,
                "customers": CUSTOMERS,
                "concurrency": concurrency,
                "warmup_s": c.loop_warmup_s,
                "duration_s": c.loop_duration_s,
                # The same customers for every gateway in a repeat.
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
            "gateway_name": gateway,
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
            # Owner requests made during the window, per request answered in it (the
            # owners' own counts): a gateway that batches across queries makes fewer than
            # a query alone needs.
            "owner_requests_per_answer": (
                {name: count / raw["completed"] for name, count in raw["owner_requests"].items()}
                if raw["completed"]
                else {}
            ),
            "cpu_s": cpu,
            "idle_gateways_cpu_s": sum(
                seconds or 0.0 for name, seconds in cpu.items() if name.startswith("idle:")
            ),
            "gateway_cpu_per_request_ms": _per_request_ms(cpu["gateway"], raw["completed"]),
            "others_cpu_pct": None if cpu["others"] is None else 100 * cpu["others"] / window,
            "steal_cpu_pct": None if cpu["steal"] is None else 100 * cpu["steal"] / window,
            "gateway_peak_rss_mib": None if peak is None else peak / 1024,
            "gateway_rss_mib": (
                None if raw["gateway_rss_kib"] is None else raw["gateway_rss_kib"] / 1024
            ),
            "peak_rss_reset": raw["peak_rss_reset"],
            "drain_s": raw["drain_s"],
            **({"gateway_processes_cpu_s": raw["gateway_processes_cpu_s"]} if tree else {}),
        }

    # ------------------------------------------------------------------ scenario 7

    def several_workers(self, system: System, repeat: int) -> dict[str, Any]:
        """Ours as `serve --workers N` on every core: one closed-loop window, fresh processes.

        Started after the system's gateways, over the same owners, and stopped after its
        window, so that no other measurement shares the cores with its workers.
        """
        c = self.config
        started = time.monotonic()
        service = procs.start_gateway(
            repo=self.repo,
            pinning=self.pinning,
            owner_urls=system.owners.urls,
            log_path=self.log_dir / f"ours-{c.workers}-workers-{system.latency_ms}ms.log",
            name=f"ours --workers {c.workers}",
            workers=c.workers,
        )
        with procs.running(service):
            healthy_s = time.monotonic() - started
            self.start_warmup(system, "ours", service)
            loop = self.closed_loop(
                system, "ours", concurrency=c.workers_concurrency, repeat=repeat, service=service
            )
            processes = procs.descendants(service.pid)
        by_process: dict[str, float] = loop["gateway_processes_cpu_s"]
        supervisor = by_process.get(str(service.pid), 0.0)
        # The busiest descendants are the workers; the rest (multiprocessing's resource
        # tracker) is counted in the total but not as a worker.
        children = sorted(
            (seconds for pid, seconds in by_process.items() if pid != str(service.pid)),
            reverse=True,
        )
        window = loop["window_s"]
        return {
            **loop,
            "gateway_name": f"ours --workers {c.workers}",
            "workers": c.workers,
            "affinity": service.affinity,
            "processes": len(processes) + 1,
            "healthy_after_s": healthy_s,
            "supervisor_cpu_s": supervisor,
            "workers_cpu_s": children[: c.workers],
            "workers_cpu_pct": [100 * seconds / window for seconds in children[: c.workers]],
            # VmHWM and VmRSS of the supervisor alone: not the workers' memory.
            "gateway_peak_rss_mib": None,
            "gateway_rss_mib": None,
            "supervisor_peak_rss_mib": loop["gateway_peak_rss_mib"],
        }

    # ------------------------------------------------------------------ scenario 4

    def call_comes_in(self, system: System) -> dict[str, Any]:
        c = self.config
        owners, gateway = system.owners, system.gateways["ours"]
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

    # ------------------------------------------------------------------ scenario 5

    def failing_owner(self, system: System) -> dict[str, Any]:
        c = self.config
        owners, gateway = system.owners, system.gateways["ours"]
        phases = [
            {"kind": kind, "fault": fault}
            for _ in range(c.fault_cycles)
            for kind, fault in FAULT_PHASES
        ]
        raw = self.job(
            {
                "kind": "failing_owner",
                "gateway": gateway.urls["gateway"],
                "gateway_pid": gateway.pid,
                "owners_pid": owners.pid,
                "owners": owners.urls,
                "system": FAULT_SYSTEM,
                "fields": list(FAULT_FIELDS),
                "query": CALLER_SCREEN,
                "customers": CUSTOMERS,
                "sample": FAULT_SAMPLE,
                "seed": 11,
                "concurrency": c.fault_concurrency,
                "warmup_s": c.fault_warmup_s,
                "phase_s": c.fault_phase_s,
                "phases": phases,
            },
            timeout=c.fault_warmup_s + c.fault_phase_s * len(phases) + 120,
        )
        return {
            **summarise_failing_owner(raw),
            "system": FAULT_SYSTEM,
            "label": FAULT_LABEL,
            "fields": list(FAULT_FIELDS),
            "faults": {kind: fault for kind, fault in FAULT_PHASES},
            "breaker": breaker_settings(self.repo, FAULT_SYSTEM),
            "concurrency": c.fault_concurrency,
            "phase_s": c.fault_phase_s,
            "cycles": c.fault_cycles,
            "query": CALLER_SCREEN,
        }

    # ------------------------------------------------------------------ scenario 6

    def hostile_cases(self) -> list[dict[str, Any]]:
        """Every fan-out the scenario sends, with or without a key, in the order sent."""
        c = self.config
        return [
            {
                "leaf": leaf,
                "spreads": spreads,
                "levels": levels,
                "key": key,
                "document": hostile.fan_out(levels, spreads, leaf),
            }
            for leaf in HOSTILE_LEAVES
            for spreads in c.hostile_spreads
            for levels in c.hostile_levels
            for key in HOSTILE_KEYS
        ]

    def hostile_documents(self, system: System) -> dict[str, Any]:
        c = self.config
        owners, gateway = system.owners, system.gateways["ours"]
        cases = self.hostile_cases()
        raw = self.job(
            {
                "kind": "hostile_documents",
                "gateway": gateway.urls["gateway"],
                "gateway_pid": gateway.pid,
                "owners_pid": owners.pid,
                "cases": cases,
                "each": c.hostile_each,
                "clients": c.hostile_clients,
                "idle_s": c.hostile_idle_s,
                "load_s": c.hostile_load_s,
                "ramp_s": c.hostile_ramp_s,
                "probe_gap_s": c.hostile_probe_gap_s,
                "timeout_s": c.hostile_timeout_s,
                "seed": 13,
            },
            timeout=(
                c.hostile_idle_s
                + c.hostile_ramp_s
                + c.hostile_load_s
                + len(cases) * c.hostile_timeout_s
                + 120
            ),
        )
        return {
            **summarise_hostile_documents(raw, cases),
            "clients": c.hostile_clients,
            "each": c.hostile_each,
            "probe_gap_s": c.hostile_probe_gap_s,
            "timeout_s": c.hostile_timeout_s,
            "root": hostile.ROOT,
        }


def breaker_settings(repo: Path, system: str) -> dict[str, Any]:
    """The `breaker:` settings of `system` in the map the gateway runs, as written there.

    That is the shipped map unless `OWNERGRAPH_OWNERSHIP`, which the gateway inherits,
    names another.
    """
    path = Path(os.environ.get("OWNERGRAPH_OWNERSHIP") or repo / "ownership.yaml")
    document = yaml.safe_load(path.read_text()) or {}
    settings = dict((document.get("defaults") or {}).get("breaker") or {})
    spec = (document.get("systems") or {}).get(system) or {}
    settings.update(spec.get("breaker") or {})
    return settings


def summarise_failing_owner(raw: Mapping[str, Any]) -> dict[str, Any]:
    """Each response put in the phase it lived in, and the figures of each phase and kind.

    A response belongs to a phase when it was sent after the owner confirmed that phase's
    change and answered before the next change was asked for; one that saw two phases is
    counted apart (`across_changes`), since neither can be blamed for it.
    """
    phases: list[dict[str, Any]] = raw["phases"]
    ends = [phase["asked_s"] for phase in phases[1:]] + [raw["end_s"]]
    starts = [phase["set_s"] for phase in phases]
    responses = raw["responses"]
    members: list[list[int]] = [[] for _ in phases]
    across = 0
    for i, (sent, answered) in enumerate(
        zip(responses["sent_s"], responses["answered_s"], strict=True)
    ):
        if sent >= raw["end_s"]:
            continue  # sent after the last phase: not measured
        index = bisect.bisect_right(starts, sent) - 1
        if index >= 0 and answered < ends[index]:
            members[index].append(i)
        else:
            across += 1
    per_phase: list[dict[str, Any]] = []
    for phase, start, end, indices in zip(phases, starts, ends, members, strict=True):
        carried = [i for i in indices if responses["carried"][i]]
        first = min((responses["answered_s"][i] for i in carried), default=None)
        per_phase.append(
            {
                "kind": phase["kind"],
                "start_s": start,
                "length_s": end - start,
                "responses": len(indices),
                "carried": len(carried),
                "share": len(carried) / len(indices) if indices else math.nan,
                # How long into the phase the first response with the owner's data came back.
                "first_carried_after_s": None if first is None else first - start,
                "owner_requests": phase["owner_requests"],
            }
        )
    kinds: dict[str, dict[str, Any]] = {}
    for kind in dict.fromkeys(phase["kind"] for phase in phases):
        chosen = [n for n, phase in enumerate(phases) if phase["kind"] == kind]
        indices = [i for n in chosen for i in members[n]]
        with_data = sum(1 for i in indices if responses["carried"][i])
        statuses = Counter(str(responses["owner_status"][i]) for i in indices)
        seconds = sum(per_phase[n]["length_s"] for n in chosen)
        kinds[kind] = {
            "phases": len(chosen),
            "responses": len(indices),
            "carried": with_data,
            "share": with_data / len(indices) if indices else math.nan,
            "responses_per_s": len(indices) / seconds if seconds else math.nan,
            "latency": latency_summary(
                [1000 * (responses["answered_s"][i] - responses["sent_s"][i]) for i in indices]
            ),
            "owner_status": dict(statuses),
            "owner_requests": [per_phase[n]["owner_requests"] for n in chosen],
            "foreign_errors": sum(1 for i in indices if responses["foreign_error"][i]),
        }
    return {
        "phases": per_phase,
        "kinds": kinds,
        "across_changes": across,
        "customers": raw["customers"],
        "error_samples": raw["error_samples"],
        "cpu": raw["cpu"],
    }


def summarise_hostile_documents(
    raw: Mapping[str, Any], cases: Sequence[Mapping[str, Any]]
) -> dict[str, Any]:
    """Each case's latency and answers, and /healthz idle and under the documents' load."""
    rows: list[dict[str, Any]] = []
    for case, figures in zip(cases, raw["cases"], strict=True):
        sent = len(figures["latency_ms"])
        rows.append(
            {
                "leaf": case["leaf"],
                "spreads": case["spreads"],
                "levels": case["levels"],
                "key": case["key"],
                "bytes": len(case["document"].encode()),
                # Copies of the last field in the document expanded: what a walk that
                # follows every spread again would visit.
                "copies": case["spreads"] ** case["levels"],
                "sent": sent,
                "latency": latency_summary(figures["latency_ms"]),
                "answers": figures["answers"],
                "refusals": figures["refusals"],
                "gateway_cpu_s": figures["gateway_cpu_s"],
                "gateway_cpu_per_request_ms": _per_request_ms(figures["gateway_cpu_s"], sent),
            }
        )
    load = raw["load"]
    window = load["window_s"]
    answered = len(load["latency_ms"])
    gateway_cpu = load["cpu"]["cpu_s"]["gateway"]
    return {
        "cases": rows,
        "idle": {
            "probes": latency_summary(raw["idle"]["probe_ms"]),
            "probe_failures": raw["idle"]["probe_failures"],
        },
        "load": {
            "window_s": window,
            "probes": latency_summary(load["probe_ms"]),
            "probe_failures": load["probe_failures"],
            "answered": answered,
            "answered_per_s": answered / window if window else math.nan,
            "latency": latency_summary(load["latency_ms"]),
            "answers": load["answers"],
            "gateway_cpu_pct": None if gateway_cpu is None else 100 * gateway_cpu / window,
            "gateway_cpu_per_request_ms": _per_request_ms(gateway_cpu, answered),
            "cpu": load["cpu"],
        },
    }


def run(config: Config, repo: Path, out_dir: Path) -> dict[str, Any]:
    """Run every scenario `config.repeats` times; the raw figures of every run."""
    started = time.monotonic()
    described = machine.describe(repo)  # before this process is pinned to one core
    runner = Runner(config, repo, out_dir)
    # Before anything else runs: its owners and gateway take ports of their own, and the
    # gateway under callgrind is not pinned (nor slowed by sharing this process's core).
    instructions = _instructions(runner) if config.instructions_scenario else None
    runner.pinning.pin_self()
    peer_status = runner.prepare_peers()
    results: dict[str, Any] = {
        "config": asdict(config),
        "machine": described,
        "pinning": {
            "enabled": runner.pinning.enabled,
            "note": runner.pinning.note,
            "affinity": {},
        },
        # Ours: scenarios 0 to 6.
        "round_trips": [],
        "caller_screen": [],
        "owner_requests": [],
        "closed_loop": [],
        "call_comes_in": [],
        "failing_owner": [],
        "hostile_documents": [],
        # Ours again: scenario 7 (`serve --workers N`), scenario 8 (instructions, or None
        # when not run).
        "workers": [],
        "instructions": instructions,
        # The peers and the naive baseline: scenarios 1 to 3, in the same shape.
        **{
            name: {
                "status": peer_status[name],
                "caller_screen": [],
                "owner_requests": [],
                "closed_loop": [],
            }
            for name in PEERS
        },
        "naive": {"caller_screen": [], "owner_requests": [], "closed_loop": []},
        "same_data": {},
        "started_rss_mib": {},
        "plan_requests": PLAN_REQUESTS,
        "timings_s": runner.timings,
    }

    def figures(gateway: str) -> dict[str, Any]:
        return results if gateway == "ours" else results[gateway]

    for latency_ms in config.latencies():
        with runner.system(latency_ms, config.gateways_at(latency_ms)) as system:
            results["pinning"]["affinity"][f"owners at {latency_ms} ms"] = {
                "owners": system.owners.affinity,
                **{name: service.affinity for name, service in system.gateways.items()},
            }
            results["started_rss_mib"][f"owners at {latency_ms} ms"] = system.started_rss_mib
            if latency_ms == config.owner_latency_ms and len(system.gateways) > 1:
                with runner.timed("same data"):
                    results["same_data"] = runner.same_data(system)
            for repeat in range(config.repeats):
                for gateway in rotated(list(system.gateways), repeat):
                    _measure(runner, system, gateway, repeat, figures(gateway))
                    if gateway == "ours" and config.workers_at(latency_ms):
                        loop = _several_workers(runner, system, repeat)
                        results["workers"].append(loop)
                        phase = results["pinning"]["affinity"][f"owners at {latency_ms} ms"]
                        phase[loop["gateway_name"]] = loop["affinity"]
    if config.hostile_scenario:
        # On processes of its own: whatever these documents do to the gateway stays there.
        with runner.system(config.owner_latency_ms, ["ours"]) as system:
            results["pinning"]["affinity"]["hostile documents"] = {
                "owners": system.owners.affinity,
                "ours": system.gateways["ours"].affinity,
            }
            _log(
                f"hostile documents: {len(runner.hostile_cases())} fan-outs, "
                f"{config.hostile_each} of each one at a time, then "
                f"{config.hostile_clients} clients for {config.hostile_load_s:g} s"
            )
            with runner.timed("hostile_documents"):
                documents = runner.hostile_documents(system)
            results["hostile_documents"].append(documents)
            slowest = max(row["latency"].get("max", math.nan) for row in documents["cases"])
            _log(
                f"hostile documents: slowest answer {slowest:.0f} ms; /healthz p99 "
                f"{documents['idle']['probes']['p99']:.1f} ms idle, "
                f"{documents['load']['probes']['p99']:.1f} ms under their load"
            )
    if config.fault_scenario:
        # Last, on processes of its own: no fault can outlast it into another scenario.
        with runner.system(config.owner_latency_ms, ["ours"]) as system:
            results["pinning"]["affinity"]["failing owner"] = {
                "owners": system.owners.affinity,
                "ours": system.gateways["ours"].affinity,
            }
            _log(
                f"a failing owner: {config.fault_cycles} cycle(s) of "
                + ", ".join(kind for kind, _ in FAULT_PHASES)
                + f", {config.fault_phase_s:g} s each"
            )
            with runner.timed("failing_owner"):
                failing = runner.failing_owner(system)
            results["failing_owner"].append(failing)
            _report_errors(
                "a failing owner (other than the failing owner's)",
                {"errors": sum(kind["foreign_errors"] for kind in failing["kinds"].values())},
            )
            healthy = failing["kinds"].get(HEALTHY, {})
            _log(
                f"a failing owner: {100 * healthy.get('share', math.nan):.1f} % of the "
                f"healthy-phase responses carried the {FAULT_LABEL}'s data"
            )
    for name in PEERS:
        results[name]["status"]["reason"] = runner.unavailable[name]
    results["duration_s"] = time.monotonic() - started
    _log(
        "time per phase: "
        + ", ".join(f"{phase} {seconds:.0f} s" for phase, seconds in runner.timings.items())
    )
    errors, requests = _error_totals(results)
    _log(f"errors: {errors} of {requests} measured requests" + ("" if errors else " (none)"))
    return results


def _several_workers(runner: Runner, system: System, repeat: int) -> dict[str, Any]:
    c = runner.config
    _log(
        f"repeat {repeat + 1}, ours --workers {c.workers}: closed loop, owners at "
        f"{system.latency_ms} ms, concurrency {c.workers_concurrency}, on every core"
    )
    with runner.timed("workers"):
        loop = runner.several_workers(system, repeat)
    _report_errors(
        f"ours --workers {c.workers} closed loop",
        {k: v for k, v in loop["outcomes"].items() if k != "ok"},
    )
    return loop


def _instructions(runner: Runner) -> dict[str, Any]:
    """Scenario 8: the instructions per caller screen, or why they were not counted."""
    # Imported here: bench.instructions reads this module's documents as it is imported.
    from . import instructions

    c = runner.config
    figures: dict[str, Any] = {
        "query": c.instructions_query,
        "requests": c.instructions_requests,
        "warmup": c.instructions_warmup,
        "concurrency": 1,
        "per_request": None,
        "reason": instructions.missing(),
    }
    if figures["reason"] is not None:
        _log(f"instructions not counted: {figures['reason']}")
        return figures
    _log(
        f"instructions: {c.instructions_requests} {c.instructions_query} requests under "
        f"callgrind after {c.instructions_warmup} warm-up"
    )
    try:
        with runner.timed("instructions"):
            figures["per_request"] = instructions.count(
                c.instructions_query, c.instructions_requests, 1, warmup=c.instructions_warmup
            )
    except (RuntimeError, OSError, subprocess.SubprocessError) as error:
        figures["reason"] = f"callgrind failed: {str(error).splitlines()[0][:200]}"
        _log(f"instructions not counted: {figures['reason']}")
        return figures
    _log(f"instructions: {figures['per_request'] / 1e6:.2f} M per request")
    return figures


def _measure(
    runner: Runner, system: System, gateway: str, repeat: int, into: dict[str, Any]
) -> None:
    """One repeat of every scenario `gateway` has at the system's owner latency."""
    config = runner.config
    latency_ms = system.latency_ms
    step = f"repeat {repeat + 1}, {gateway}"
    selected = gateway in config.gateways  # else started for scenario 4 alone
    if selected and latency_ms == config.owner_latency_ms:
        if gateway == "ours":
            _log(f"{step}: round trips")
            with runner.timed("round_trips"):
                into["round_trips"].append(runner.round_trips(system, gateway))
        _log(f"{step}: caller screen")
        with runner.timed(f"caller_screen:{gateway}"):
            screen = runner.caller_screen(system, gateway)
        into["caller_screen"].append(screen)
        _report_errors(f"{gateway} caller screen", screen["errors"])
        _log(f"{step}: owner requests per query")
        with runner.timed(f"owner_requests:{gateway}"):
            rows = runner.owner_requests(system, gateway, repeat)
        into["owner_requests"].append(rows)
        for row in rows:
            _report_errors(f"{gateway} owner requests, N={row['size']}", row["errors"])
    for concurrency in config.loops(gateway, latency_ms) if selected else []:
        _log(f"{step}: closed loop, owners at {latency_ms} ms, concurrency {concurrency}")
        with runner.timed(f"closed_loop:{gateway}"):
            loop = runner.closed_loop(system, gateway, concurrency=concurrency, repeat=repeat)
        into["closed_loop"].append(loop)
        _report_errors(
            f"{gateway} closed loop {latency_ms} ms / {concurrency}",
            {k: v for k, v in loop["outcomes"].items() if k != "ok"},
        )
    if gateway == "ours" and config.call_scenario and latency_ms == config.call_latency_ms:
        _log(f"{step}: the call comes in, owners at {latency_ms} ms")
        with runner.timed("call_comes_in"):
            call = runner.call_comes_in(system)
        into["call_comes_in"].append(call)
        _report_errors("the call comes in", call["errors"])
        _report_errors("the call comes in (warm-up)", call["warmup_errors"])


def _error_totals(results: dict[str, Any]) -> tuple[int, int]:
    """Errors and measured GraphQL requests over every scenario and gateway of the run."""
    errors = requests = 0
    for figures in (results, *(results[name] for name in PEERS), results["naive"]):
        for run in [*figures["caller_screen"], *figures.get("call_comes_in", [])]:
            errors += _error_count(run["errors"])
            requests += int(run["gateway"]["n"])
        for rows in figures["owner_requests"]:
            for row in rows:
                errors += _error_count(row["errors"])
                requests += int(row["latency"]["n"])
        for loop in [*figures["closed_loop"], *figures.get("workers", [])]:
            errors += int(loop["errors"])
            requests += int(loop["completed"])
    return errors, requests


def _report_errors(scenario: str, errors: dict[str, int]) -> None:
    """Say so at once when a scenario saw errors: its figures are not what they seem."""
    if _error_count(errors):
        _log(f"WARNING: {scenario}: errors {errors}")
