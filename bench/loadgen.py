"""The load generator: an asyncio HTTP client (aiohttp) run as its own process.

`python -m bench.loadgen` reads one job as JSON on stdin and writes its raw measurements as
JSON on stdout. Jobs:

- ``round_trips``: `GET /healthz` round trips, back to back and spaced out;
- ``sequential``: the gateway and the owners timed directly (the floor), at concurrency 1,
  with the owners' request counters around them;
- ``owner_requests``: queries of growing size, with the owners' request counters around them,
  and optionally their floor;
- ``closed_loop``: N workers, each sending its next request as soon as the last one answered;
- ``call_comes_in``: the caller screen looked up by phone, and its floor, at concurrency 1;
- ``failing_owner``: N workers on the caller screen while one owner is made to hang, fail
  and recover, phase after phase; every response with its times and whether it carried
  that owner's data;
- ``hostile_documents``: documents whose fragments fan out, each sent a few times one at a
  time, then by N clients in a loop, with `GET /healthz` probed on an idle gateway and
  under that load; each answer's time, status and error codes.

Every GraphQL request carries the demo agent's key and sends its arguments as variables,
but for the hostile documents, sent with and without the key, as an attacker would. A job
takes any gateway (ours, the naive baseline, the peers) with that gateway's documents;
`idle_pids` names the gateways left idle meanwhile, whose CPU time is read too.

It only measures; summarising and reporting happen in the orchestrating process.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import random
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp

from bench import procs

GATEWAY_HEADERS = {
    "Content-Type": "application/json",
    "Accept": "application/json",
    "Authorization": f"Bearer {procs.DEMO_KEY}",
}
# The gateway asks owners with `Accept: application/json`; the floor does the same.
OWNER_HEADERS = {"Accept": "application/json"}
REQUEST_TIMEOUT_S = 30.0
MAX_ERROR_SAMPLES = 5

Job = Mapping[str, Any]


def _ms(seconds: float) -> float:
    return seconds * 1000.0


def graphql_payload(document: str, variables: Mapping[str, Any]) -> bytes:
    """The request body: the fixed document and this request's variables."""
    return json.dumps({"query": document, "variables": dict(variables)}).encode()


class Outcome:
    """What one GraphQL request returned, classified for error counting."""

    __slots__ = ("body", "codes", "kind", "message", "status")

    def __init__(self) -> None:
        self.status: int | None = None
        self.body: Any = None
        self.kind = "ok"  # ok | http | graphql | transport
        self.codes: list[str] = []
        self.message = ""


async def post_graphql(session: aiohttp.ClientSession, url: str, payload: bytes) -> Outcome:
    """POST one query; the body is parsed after the caller has stopped its clock."""
    outcome = Outcome()
    try:
        async with session.post(url, data=payload, headers=GATEWAY_HEADERS) as response:
            raw = await response.read()
            outcome.status = response.status
    except (aiohttp.ClientError, TimeoutError, OSError) as error:
        outcome.kind = "transport"
        outcome.message = f"{type(error).__name__}: {error}"[:300]
        return outcome
    outcome.body = raw
    return outcome


def classify(outcome: Outcome) -> Outcome:
    """Decode the body and sort the outcome into ok / http / graphql / transport."""
    if outcome.kind == "transport":
        return outcome
    raw = outcome.body
    try:
        body = json.loads(raw)
    except ValueError:
        body = None
    outcome.body = body
    if outcome.status != 200:
        outcome.kind = "http"
        outcome.message = f"HTTP {outcome.status}: {bytes(raw)[:200]!r}"
        return outcome
    errors = body.get("errors") if isinstance(body, dict) else None
    if body is None or errors:
        outcome.kind = "graphql"
        for error in errors or [{"message": "body is not JSON"}]:
            extensions = error.get("extensions") or {}
            outcome.codes.append(str(extensions.get("code", "NO_CODE")))
        first = (errors or [{}])[0]
        outcome.message = json.dumps(first)[:300]
    return outcome


def _session(limit: int, timeout_s: float = REQUEST_TIMEOUT_S) -> aiohttp.ClientSession:
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=limit, limit_per_host=limit),
        timeout=aiohttp.ClientTimeout(total=timeout_s),
    )


class CpuClock:
    """CPU seconds of the gateway, the owners, this process and the whole machine.

    `idle` names the other gateways left running, unloaded, on the gateway's core: their CPU
    seconds are read too (as `idle:<name>`), to show they stayed idle.
    """

    def __init__(
        self,
        gateway_pid: int,
        owners_pid: int,
        idle: Mapping[str, int] | None = None,
        *,
        tree: bool = False,
    ) -> None:
        self.pids = {"gateway": gateway_pid, "owners": owners_pid}
        self.pids.update({f"idle:{name}": pid for name, pid in (idle or {}).items()})
        # With `tree`, the gateway is a process and its descendants (uvicorn's supervisor
        # and its workers): its CPU time is theirs summed, and each one's is kept too.
        self.tree = tree
        self.members_before: dict[int, float] = {}
        self.members_used: dict[int, float] = {}
        cores = procs.affinity(gateway_pid)
        # The gateway's core, when it is pinned to one: what else ran there is read too.
        self.core = cores[0] if len(cores) == 1 else None
        self.started_at = 0.0
        self.before: dict[str, float | None] = {}

    @classmethod
    def of(cls, job: Job) -> CpuClock:
        """The clock for a job's `gateway_pid`, `owners_pid`, `idle_pids` and `gateway_tree`."""
        return cls(
            job["gateway_pid"],
            job["owners_pid"],
            job.get("idle_pids"),
            tree=bool(job.get("gateway_tree")),
        )

    def _members(self) -> dict[int, float]:
        return procs.tree_cpu_seconds(self.pids["gateway"]) if self.tree else {}

    def _read(self) -> dict[str, float | None]:
        readings: dict[str, float | None] = {
            name: procs.cpu_seconds(pid) for name, pid in self.pids.items()
        }
        readings["loadgen"] = time.process_time()
        machine = procs.machine_cpu_seconds()
        readings["machine"] = None if machine is None else machine[0]
        readings["steal"] = None if machine is None else machine[1]
        readings["gateway_core"] = None if self.core is None else procs.core_cpu_seconds(self.core)
        return readings

    def start(self) -> None:
        self.members_before = self._members()
        self.before = self._read()
        self.started_at = time.perf_counter()

    def stop(self) -> dict[str, Any]:
        after = self._read()
        members = self._members()
        elapsed = time.perf_counter() - self.started_at
        used: dict[str, float | None] = {}
        for name, before in self.before.items():
            now = after[name]
            used[name] = None if before is None or now is None else now - before
        if self.tree:
            # The members there at both readings (one gone meanwhile took its time along).
            self.members_used = {
                pid: seconds - self.members_before[pid]
                for pid, seconds in members.items()
                if pid in self.members_before
            }
            used["gateway"] = sum(self.members_used.values())
        ours = [used[name] for name in (*self.pids, "loadgen")]
        machine = used["machine"]
        used["others"] = (
            None
            if machine is None or any(v is None for v in ours)
            else max(0.0, machine - sum(v or 0.0 for v in ours))
        )
        # Other processes on the gateway's core: its busy time less the gateways pinned there.
        on_core = [
            used[name] for name in self.pids if name == "gateway" or name.startswith("idle:")
        ]
        core = used["gateway_core"]
        used["gateway_core_others"] = (
            None
            if core is None or any(v is None for v in on_core)
            else max(0.0, core - sum(v or 0.0 for v in on_core))
        )
        out: dict[str, Any] = {"elapsed_s": elapsed, "cpu_s": used}
        if self.tree:
            out["gateway_processes_cpu_s"] = {str(pid): s for pid, s in self.members_used.items()}
        return out


# --------------------------------------------------------------------------- owner calls


async def _timed(call: Callable[[], Awaitable[bytes]]) -> tuple[float, bytes]:
    started = time.perf_counter()
    body = await call()
    return time.perf_counter() - started, body


async def _owner_get(session: aiohttp.ClientSession, url: str, params: Mapping[str, str]) -> bytes:
    async with session.get(url, params=params, headers=OWNER_HEADERS) as response:
        body = await response.read()
        if response.status != 200:
            raise RuntimeError(f"owner GET {url} answered {response.status}: {body[:200]!r}")
        return body


async def _owner_post(session: aiohttp.ClientSession, url: str, body: Mapping[str, Any]) -> bytes:
    async with session.post(url, json=body, headers=OWNER_HEADERS) as response:
        raw = await response.read()
        if response.status != 200:
            raise RuntimeError(f"owner POST {url} answered {response.status}: {raw[:200]!r}")
        return raw


async def _owner_stats(
    session: aiohttp.ClientSession, owners: Mapping[str, str], method: str
) -> dict[str, Any]:
    async def one(url: str) -> Any:
        async with session.request(method, f"{url}/_stats") as response:
            response.raise_for_status()
            return await response.json()

    replies = await asyncio.gather(*(one(url) for url in owners.values()))
    return dict(zip(owners, replies, strict=True))


class OwnerCalls:
    """Owner requests made directly (the floor): timed, and counted as the owners count them.

    The counts let the gateway's own requests be told apart from the floor's on the owners'
    counters (`/_stats`), which see both.
    """

    def __init__(self, session: aiohttp.ClientSession, owners: Mapping[str, str]) -> None:
        self.session = session
        self.owners = owners
        self.counts: Counter[tuple[str, str]] = Counter()

    async def get(self, system: str, route: str, params: Mapping[str, str]) -> tuple[float, bytes]:
        self.counts[system, f"GET {route}"] += 1
        url = f"{self.owners[system]}{route}"
        return await _timed(lambda: _owner_get(self.session, url, params))

    async def post(self, system: str, route: str, body: Mapping[str, Any]) -> tuple[float, bytes]:
        self.counts[system, f"POST {route}"] += 1
        url = f"{self.owners[system]}{route}"
        return await _timed(lambda: _owner_post(self.session, url, body))

    def counted(self) -> dict[str, dict[str, int]]:
        by_system: dict[str, dict[str, int]] = {}
        for (system, route), count in sorted(self.counts.items()):
            by_system.setdefault(system, {})[route] = count
        return by_system


# --------------------------------------------------------------------------- sequential


async def _floor_once(calls: OwnerCalls, customer_id: str, first: int) -> dict[str, float]:
    """The owner requests the gateway makes for the caller screen, made directly.

    Wave 1 (crm, helpdesk, contactcenter) in parallel; then wave 2 (erp account and
    invoices, keyed by the ERP code read from the CRM's answer) in parallel.
    """
    crm, helpdesk, center = await asyncio.gather(
        calls.get("crm", "/customers", {"ids": customer_id}),
        calls.get("helpdesk", "/tickets", {"limit": str(first), "requester_ids": customer_id}),
        calls.post(
            "contactcenter", "/interactions/search", {"limit": first, "customer_ids": [customer_id]}
        ),
    )
    records = json.loads(crm[1])["customers"]
    code = records[0]["erp_code"]
    account, invoices = await asyncio.gather(
        calls.post("erp", "/accounts/batch", {"codes": [code]}),
        calls.get(
            "erp",
            "/invoices",
            {"limit": str(first), "status": "unpaid", "customer_codes": code},
        ),
    )
    wave1 = max(crm[0], helpdesk[0], center[0])
    wave2 = max(account[0], invoices[0])
    return {
        "floor": _ms(wave1 + wave2),
        "wave1": _ms(wave1),
        "wave2": _ms(wave2),
        "crm": _ms(crm[0]),
        "helpdesk": _ms(helpdesk[0]),
        "contactcenter": _ms(center[0]),
        "erp_account": _ms(account[0]),
        "erp_invoices": _ms(invoices[0]),
    }


def _gateway_requests(
    stats: Mapping[str, Any], floor: Mapping[str, Mapping[str, int]]
) -> dict[str, dict[str, int]]:
    """Per system and route, the requests the owners counted less those the floor made."""
    return {
        system: {
            route: count - floor.get(system, {}).get(route, 0)
            for route, count in entry["routes"].items()
        }
        for system, entry in stats.items()
    }


async def sequential(job: Job) -> dict[str, Any]:
    """Gateway request and floor iteration, alternating, one at a time."""
    url = f"{job['gateway']}/graphql"
    payload = graphql_payload(job["query"], job["variables"])
    owners: Mapping[str, str] = job["owners"]
    gateway_ms: list[float] = []
    floor: dict[str, list[float]] = {}
    owner_wait: dict[str, list[float]] = {}
    errors: Counter[str] = Counter()
    samples: list[str] = []
    clock = CpuClock.of(job)
    async with _session(8) as session:
        calls = OwnerCalls(session, owners)
        for index in range(job["warmup"] + job["requests"]):
            measured = index >= job["warmup"]
            if index == job["warmup"]:
                await _owner_stats(session, owners, "DELETE")
                calls.counts.clear()
                clock.start()
            started = time.perf_counter()
            outcome = await post_graphql(session, url, payload)
            elapsed = time.perf_counter() - started
            classify(outcome)
            figures = await _floor_once(calls, job["customer_id"], job["first"])
            if not measured:
                continue
            gateway_ms.append(_ms(elapsed))
            for name, value in figures.items():
                floor.setdefault(name, []).append(value)
            if outcome.kind != "ok":
                errors[outcome.kind] += 1
                if len(samples) < MAX_ERROR_SAMPLES:
                    samples.append(outcome.message)
                continue
            reported = (outcome.body.get("extensions") or {}).get("owners", {})
            for system, entry in reported.items():
                owner_wait.setdefault(system, []).append(float(entry.get("ms", "nan")))
        cpu = clock.stop()
        stats = await _owner_stats(session, owners, "GET")
    return {
        "cpu": cpu,
        "gateway_ms": gateway_ms,
        "floor_ms": floor,
        "owner_wait_ms": owner_wait,
        # Counted from the end of the warm-up, like the floor's requests.
        "gateway_requests": _gateway_requests(stats, calls.counted()),
        "errors": dict(errors),
        "error_samples": samples,
    }


# --------------------------------------------------------------------------- round trips


async def _round_trips(
    session: aiohttp.ClientSession, url: str, count: int, gap_s: float
) -> list[float]:
    samples: list[float] = []
    for _ in range(count):
        started = time.perf_counter()
        async with session.get(url, headers=OWNER_HEADERS) as response:
            await response.read()
            if response.status != 200:
                raise RuntimeError(f"GET {url} answered {response.status}")
        samples.append(_ms(time.perf_counter() - started))
        if gap_s:
            await asyncio.sleep(gap_s)
    return samples


async def round_trips(job: Job) -> dict[str, Any]:
    """`GET /healthz` on one keep-alive connection per target: back to back, then spaced.

    Health checks do no work and are never delayed, so this is the HTTP round trip alone.
    Targets are measured side by side, each on its own connection.
    """
    targets: Mapping[str, str] = job["targets"]

    async def one(url: str) -> dict[str, list[float]]:
        async with _session(1) as session:
            await _round_trips(session, url, 2, 0)  # open the connection
            return {
                "back_to_back": await _round_trips(session, url, job["count"], 0),
                "spaced": await _round_trips(session, url, job["spaced_count"], job["gap_s"]),
            }

    names = list(targets)
    replies = await asyncio.gather(*(one(f"{targets[name]}/healthz") for name in names))
    return dict(zip(names, replies, strict=True))


# --------------------------------------------------------------------------- owner requests


async def _many_floor_once(calls: OwnerCalls, ids: Sequence[str], limit: int) -> dict[str, float]:
    """The owner requests the gateway makes for `customers(ids:)`, made directly.

    Wave 1 (crm records, helpdesk tickets, contactcenter interactions, all keys in one
    request each) in parallel; then wave 2 (erp accounts and invoices, by the ERP codes
    the CRM's records give) in parallel.
    """
    joined = ",".join(ids)
    crm, tickets, interactions = await asyncio.gather(
        calls.get("crm", "/customers", {"ids": joined}),
        calls.get("helpdesk", "/tickets", {"limit": str(limit), "requester_ids": joined}),
        calls.post(
            "contactcenter", "/interactions/search", {"limit": limit, "customer_ids": list(ids)}
        ),
    )
    codes = [r["erp_code"] for r in json.loads(crm[1])["customers"] if r.get("erp_code")]
    wave2 = 0.0
    if codes:
        account, invoices = await asyncio.gather(
            calls.post("erp", "/accounts/batch", {"codes": codes}),
            calls.get("erp", "/invoices", {"limit": str(limit), "customer_codes": ",".join(codes)}),
        )
        wave2 = max(account[0], invoices[0])
    wave1 = max(crm[0], tickets[0], interactions[0])
    return {"floor": _ms(wave1 + wave2), "wave1": _ms(wave1), "wave2": _ms(wave2)}


async def owner_requests(job: Job) -> dict[str, Any]:
    """For each list of ids, the latency of its queries and the owners' counters around them.

    Each size gets `queries` queries, or fewer when they take more than `max_s` seconds
    in all (never fewer than `min_queries`): the naive baseline's largest size is slow.
    With `floor_queries`, that many floor iterations follow (the same owner requests made
    directly, after the owners' counters were read).
    """
    url = f"{job['gateway']}/graphql"
    owners: Mapping[str, str] = job["owners"]
    results: list[dict[str, Any]] = []
    async with _session(8) as session:
        calls = OwnerCalls(session, owners)
        for ids in job["ids_by_size"]:
            payload = graphql_payload(job["query"], {"ids": ids})
            for _ in range(job["warmup"]):
                classify(await post_graphql(session, url, payload))
            await _owner_stats(session, owners, "DELETE")
            clock = CpuClock.of(job)
            clock.start()
            latencies: list[float] = []
            errors: Counter[str] = Counter()
            samples: list[str] = []
            returned: list[int] = []
            began = time.perf_counter()
            while len(latencies) < job["queries"] and (
                len(latencies) < job["min_queries"] or time.perf_counter() - began < job["max_s"]
            ):
                started = time.perf_counter()
                outcome = await post_graphql(session, url, payload)
                latencies.append(_ms(time.perf_counter() - started))
                classify(outcome)
                if outcome.kind != "ok":
                    errors[outcome.kind] += 1
                    if len(samples) < MAX_ERROR_SAMPLES:
                        samples.append(outcome.message)
                    continue
                found = outcome.body["data"]["customers"]
                returned.append(sum(1 for item in found if item is not None))
            cpu = clock.stop()
            stats = await _owner_stats(session, owners, "GET")
            floor: dict[str, list[float]] = {}
            for _ in range(job.get("floor_queries", 0)):
                figures = await _many_floor_once(calls, ids, job["limit"])
                for name, value in figures.items():
                    floor.setdefault(name, []).append(value)
            results.append(
                {
                    "cpu": cpu,
                    "size": len(ids),
                    "queries": len(latencies),
                    "latency_ms": latencies,
                    "floor_ms": floor,
                    "owner_stats": stats,
                    "customers_returned": returned,
                    "errors": dict(errors),
                    "error_samples": samples,
                }
            )
    return {"sizes": results}


# --------------------------------------------------------------------------- closed loop


class _Window:
    def __init__(self) -> None:
        self.start = float("inf")
        self.end = float("inf")
        self.stop = False


async def closed_loop(job: Job) -> dict[str, Any]:
    """`concurrency` workers loop over random customers.

    Counted: every request answered inside the timed window (after a warm-up at the same
    concurrency), whenever it was sent. With `owners`, the owners' counters are reset as the
    window opens and read as it closes: the owner requests made meanwhile, which a gateway
    that batches across queries makes fewer of than one per owner call of a query.
    """
    owners: Mapping[str, str] = job.get("owners") or {}
    url = f"{job['gateway']}/graphql"
    document: str = job["query"]
    concurrency: int = job["concurrency"]
    customers: int = job["customers"]
    gateway_pid: int = job["gateway_pid"]
    window = _Window()
    # (started, ended, kind, codes, message, customer found)
    records: list[tuple[float, float, str, list[str], str, bool]] = []

    async def worker(seed: int, session: aiohttp.ClientSession) -> None:
        rng = random.Random(seed)
        while not window.stop:
            customer_id = f"C{rng.randint(1, customers):05d}"
            payload = graphql_payload(document, {"id": customer_id})
            started = time.perf_counter()
            outcome = await post_graphql(session, url, payload)
            ended = time.perf_counter()
            if ended < window.start or ended > window.end:
                continue  # answered during warm-up or after the window: not measured
            classify(outcome)
            found = (
                outcome.kind == "ok"
                and (outcome.body.get("data") or {}).get("customer") is not None
            )
            records.append((started, ended, outcome.kind, outcome.codes, outcome.message, found))

    owner_stats: dict[str, Any] = {}
    # The owners' counters on connections of their own: the workers' are all busy.
    async with _session(concurrency) as session, _session(len(owners) or 1) as counters:
        tasks = [
            asyncio.create_task(worker(job["seed"] * 1000 + i, session)) for i in range(concurrency)
        ]
        await asyncio.sleep(job["warmup_s"])
        rss_reset = procs.reset_peak_rss(gateway_pid)
        if owners:
            await _owner_stats(counters, owners, "DELETE")
        clock = CpuClock.of(job)
        clock.start()
        window.start = time.perf_counter()
        await asyncio.sleep(job["duration_s"])
        window.end = time.perf_counter()
        cpu = clock.stop()
        if owners:
            owner_stats = await _owner_stats(counters, owners, "GET")
        peak = procs.peak_rss_kib(gateway_pid)
        rss_now = procs.rss_kib(gateway_pid)
        window.stop = True
        drained_at = time.perf_counter()
        await asyncio.wait(tasks, timeout=REQUEST_TIMEOUT_S + 5)
        drain_s = time.perf_counter() - drained_at

    latencies = [_ms(end - start) for start, end, *_ in records]
    kinds = Counter(kind for _, _, kind, *_ in records)
    codes: Counter[str] = Counter(code for record in records for code in record[3])
    samples = list(dict.fromkeys(r[4] for r in records if r[2] != "ok"))[:MAX_ERROR_SAMPLES]
    return {
        "concurrency": concurrency,
        "window_s": window.end - window.start,
        "completed": len(records),
        "latency_ms": latencies,
        "outcomes": dict(kinds),
        "error_codes": dict(codes),
        "error_samples": samples,
        "customers_found": sum(1 for r in records if r[5]),
        "owner_requests": {name: stats["requests"] for name, stats in owner_stats.items()},
        "cpu_s": cpu["cpu_s"],
        # With `gateway_tree`: each of the gateway's processes (supervisor, workers).
        "gateway_processes_cpu_s": cpu.get("gateway_processes_cpu_s"),
        "gateway_peak_rss_kib": peak,
        "gateway_rss_kib": rss_now,
        "peak_rss_reset": rss_reset,
        "drain_s": drain_s,
    }


# --------------------------------------------------------------------------- the call comes in


async def _call_floor_once(
    calls: OwnerCalls, caller: Mapping[str, str], first: int, limit: int
) -> dict[str, float]:
    """The owner requests the gateway makes for the screen looked up by phone, made directly.

    Lookup wave (crm, helpdesk, contactcenter searched by the E.164 number) in parallel;
    then the fetch wave (the same three, by customer id) in parallel; then the ERP wave
    (account and unpaid invoices, by the ERP code from the CRM's record) in parallel.
    """
    phone = {"phone": caller["e164"]}
    crm_search, helpdesk_search, center_search = await asyncio.gather(
        calls.get("crm", "/customers/search", phone),
        calls.get("helpdesk", "/requesters/search", phone),
        calls.get("contactcenter", "/callers/search", phone),
    )
    ids = [record["id"] for record in json.loads(crm_search[1])["customers"]]
    if ids != [caller["id"]]:
        raise RuntimeError(f"crm search for {caller['e164']} found {ids}, not {caller['id']}")
    customer_id = caller["id"]
    crm, tickets, interactions = await asyncio.gather(
        calls.get("crm", "/customers", {"ids": customer_id}),
        calls.get(
            "helpdesk",
            "/tickets",
            {"requester_ids": customer_id, "status": "open", "limit": str(limit)},
        ),
        calls.post(
            "contactcenter",
            "/interactions/search",
            {"customer_ids": [customer_id], "limit": first},
        ),
    )
    code = json.loads(crm[1])["customers"][0]["erp_code"]
    account, invoices = await asyncio.gather(
        calls.post("erp", "/accounts/batch", {"codes": [code]}),
        calls.get(
            "erp",
            "/invoices",
            {"customer_codes": code, "status": "unpaid", "limit": str(limit)},
        ),
    )
    lookup = max(crm_search[0], helpdesk_search[0], center_search[0])
    fetch = max(crm[0], tickets[0], interactions[0])
    erp = max(account[0], invoices[0])
    return {
        "floor": _ms(lookup + fetch + erp),
        "lookup": _ms(lookup),
        "fetch": _ms(fetch),
        "erp": _ms(erp),
        "crm_search": _ms(crm_search[0]),
        "helpdesk_search": _ms(helpdesk_search[0]),
        "contactcenter_search": _ms(center_search[0]),
        "crm_customers": _ms(crm[0]),
        "helpdesk_tickets": _ms(tickets[0]),
        "contactcenter_interactions": _ms(interactions[0]),
        "erp_account": _ms(account[0]),
        "erp_invoices": _ms(invoices[0]),
    }


async def _check_callers(calls: OwnerCalls, callers: Sequence[Mapping[str, str]]) -> None:
    """Every number is on its customer's CRM record, and every customer has an ERP code."""
    ids = ",".join(dict.fromkeys(caller["id"] for caller in callers))
    _, raw = await calls.get("crm", "/customers", {"ids": ids})
    records = {record["id"]: record for record in json.loads(raw)["customers"]}
    for caller in callers:
        record = records.get(caller["id"])
        if record is None:
            raise RuntimeError(f"the CRM does not know {caller['id']}")
        if caller["phone"] not in (record.get("phones") or []):
            raise RuntimeError(
                f"{caller['phone']!r} is not among {caller['id']}'s CRM phones {record['phones']}"
            )
        if not record.get("erp_code"):
            raise RuntimeError(f"{caller['id']} has no ERP code: the screen skips the ERP")


def _check_answer(outcome: Outcome, caller: Mapping[str, str]) -> None:
    """A lookup that answered without errors must have found the expected customer."""
    if outcome.kind != "ok":
        return
    lookup = (outcome.body.get("data") or {}).get("customerByPhone") or {}
    best = lookup.get("best") or {}
    if lookup.get("phone") != caller["e164"] or best.get("id") != caller["id"]:
        outcome.kind = "wrong_answer"
        outcome.message = (
            f"{caller['phone']!r}: expected {caller['e164']} -> {caller['id']}, got "
            f"{lookup.get('phone')} -> {best.get('id')}"
        )


async def call_comes_in(job: Job) -> dict[str, Any]:
    """The screen looked up by phone, one request at a time, and its floor.

    Numbers are taken in turn. After every `floor_every`-th request, one floor iteration
    for the same number. The owners' counters are reset after the warm-up and read at the
    end; the floor's own requests, counted here, are reported alongside so that they can
    be subtracted.
    """
    url = f"{job['gateway']}/graphql"
    owners: Mapping[str, str] = job["owners"]
    callers: Sequence[Mapping[str, str]] = job["callers"]
    every: int = job["floor_every"]
    gateway_ms: list[float] = []
    by_caller: dict[str, list[float]] = {}
    matched_by: dict[str, list[str]] = {}
    floor: dict[str, list[float]] = {}
    owner_wait: dict[str, list[float]] = {}
    errors: Counter[str] = Counter()
    warmup_errors: Counter[str] = Counter()
    samples: list[str] = []
    clock = CpuClock.of(job)
    async with _session(8) as session:
        calls = OwnerCalls(session, owners)
        await _check_callers(calls, callers)
        for index in range(job["warmup"]):
            caller = callers[index % len(callers)]
            payload = graphql_payload(job["query"], {"phone": caller["phone"]})
            outcome = classify(await post_graphql(session, url, payload))
            _check_answer(outcome, caller)
            if outcome.kind != "ok":
                warmup_errors[outcome.kind] += 1
                if len(samples) < MAX_ERROR_SAMPLES:
                    samples.append(f"warm-up: {outcome.message}")
            await _call_floor_once(calls, caller, job["first"], job["limit"])
        await _owner_stats(session, owners, "DELETE")
        calls.counts.clear()
        clock.start()
        for index in range(job["requests"]):
            caller = callers[index % len(callers)]
            payload = graphql_payload(job["query"], {"phone": caller["phone"]})
            started = time.perf_counter()
            outcome = await post_graphql(session, url, payload)
            elapsed = _ms(time.perf_counter() - started)
            classify(outcome)
            _check_answer(outcome, caller)
            gateway_ms.append(elapsed)
            by_caller.setdefault(caller["phone"], []).append(elapsed)
            if outcome.kind != "ok":
                errors[outcome.kind] += 1
                if len(samples) < MAX_ERROR_SAMPLES:
                    samples.append(outcome.message)
            else:
                body = outcome.body
                if caller["phone"] not in matched_by:
                    match = body["data"]["customerByPhone"]["matches"][0]
                    matched_by[caller["phone"]] = list(match["matchedBy"])
                reported = body.get("extensions", {}).get("owners", {})
                for system, entry in reported.items():
                    owner_wait.setdefault(system, []).append(float(entry.get("ms", "nan")))
            if index % every == 0:
                figures = await _call_floor_once(calls, caller, job["first"], job["limit"])
                for name, value in figures.items():
                    floor.setdefault(name, []).append(value)
        cpu = clock.stop()
        stats = await _owner_stats(session, owners, "GET")
    return {
        "cpu": cpu,
        "gateway_ms": gateway_ms,
        "by_caller_ms": by_caller,
        "matched_by": matched_by,
        "floor_ms": floor,
        "owner_wait_ms": owner_wait,
        "owner_stats": stats,
        "floor_requests": calls.counted(),
        "errors": dict(errors),
        "warmup_errors": dict(warmup_errors),
        "error_samples": samples,
    }


# --------------------------------------------------------------------------- a failing owner


async def _set_fault(
    session: aiohttp.ClientSession, url: str, fault: Mapping[str, Any] | None
) -> None:
    """Set the owner's fault over its `PUT /_faults`; None clears it."""
    if fault is None:
        request = session.delete(f"{url}/_faults")
    else:
        request = session.put(f"{url}/_faults", json=dict(fault))
    async with request as response:
        response.raise_for_status()


async def _owner_requests(session: aiohttp.ClientSession, url: str) -> int:
    """Business requests the owner has counted so far (`GET /_stats`)."""
    async with session.get(f"{url}/_stats") as response:
        response.raise_for_status()
        return int((await response.json())["requests"])


async def _customers_known_to(
    calls: OwnerCalls, customers: int, sample: int, seed: int
) -> list[str]:
    """A random sample of customers the CRM links to the ERP (prospects have no ERP data)."""
    rng = random.Random(seed)
    ids = [f"C{n:05d}" for n in rng.sample(range(1, customers + 1), sample)]
    _, raw = await calls.get("crm", "/customers", {"ids": ",".join(ids)})
    linked = [record["id"] for record in json.loads(raw)["customers"] if record.get("erp_code")]
    if not linked:
        raise RuntimeError(f"none of {sample} sampled customers has an ERP code")
    return linked


def _carries(outcome: Outcome, system: str, fields: Sequence[str]) -> bool:
    """Whether the screen shows `system`'s data: its fields there and no error of its own."""
    body = outcome.body
    if outcome.kind not in ("ok", "graphql") or not isinstance(body, dict):
        return False
    customer = (body.get("data") or {}).get("customer")
    if not isinstance(customer, dict) or any(customer.get(name) is None for name in fields):
        return False
    return not any(
        (error.get("extensions") or {}).get("owner") == system for error in body.get("errors") or []
    )


def _foreign_errors(outcome: Outcome, system: str) -> bool:
    """Whether the response failed for another reason than `system` (which is the point)."""
    if outcome.kind in ("http", "transport"):
        return True
    body = outcome.body if isinstance(outcome.body, dict) else {}
    errors = body.get("errors") or []
    return any((error.get("extensions") or {}).get("owner") != system for error in errors)


async def failing_owner(job: Job) -> dict[str, Any]:
    """`concurrency` workers on the caller screen while `system` goes through `phases`.

    After a warm-up with the owner healthy, each phase sets the owner's fault (`PUT
    /_faults`; none: `DELETE`) and lasts `phase_s`. Every response answered after the
    warm-up is kept, with when it was sent and answered (seconds from the first change),
    so that the orchestrator can tell which phase it belongs to.
    """
    url = f"{job['gateway']}/graphql"
    document: str = job["query"]
    concurrency: int = job["concurrency"]
    system: str = job["system"]
    fields: Sequence[str] = job["fields"]
    owner_url: str = job["owners"][system]
    window = _Window()
    # (sent, answered, kind, carried the owner's data, the owner's status, foreign errors)
    records: list[tuple[float, float, str, bool, str | None, bool]] = []
    samples: list[str] = []
    phases: list[dict[str, Any]] = []

    async def worker(seed: int, session: aiohttp.ClientSession, ids: Sequence[str]) -> None:
        rng = random.Random(seed)
        while not window.stop:
            payload = graphql_payload(document, {"id": rng.choice(ids)})
            sent = time.perf_counter()
            outcome = classify(await post_graphql(session, url, payload))
            answered = time.perf_counter()
            if sent < window.start:
                continue  # warm-up
            body = outcome.body if isinstance(outcome.body, dict) else {}
            reported = (body.get("extensions") or {}).get("owners", {}).get(system) or {}
            foreign = _foreign_errors(outcome, system)
            if foreign and len(samples) < MAX_ERROR_SAMPLES:
                samples.append(outcome.message)
            records.append(
                (
                    sent - window.start,
                    answered - window.start,
                    outcome.kind,
                    _carries(outcome, system, fields),
                    reported.get("status"),
                    foreign,
                )
            )

    async with _session(concurrency + 2) as session:
        calls = OwnerCalls(session, job["owners"])
        ids = await _customers_known_to(calls, job["customers"], job["sample"], job["seed"])
        await _set_fault(session, owner_url, None)
        tasks = [
            asyncio.create_task(worker(job["seed"] * 1000 + i, session, ids))
            for i in range(concurrency)
        ]
        clock = CpuClock.of(job)
        try:
            await asyncio.sleep(job["warmup_s"])
            clock.start()
            window.start = time.perf_counter()
            for index, phase in enumerate(job["phases"]):
                asked = time.perf_counter()
                await _set_fault(session, owner_url, phase["fault"])
                changed = time.perf_counter()
                requests = await _owner_requests(session, owner_url)
                phases.append(
                    {
                        "kind": phase["kind"],
                        "asked_s": asked - window.start,
                        "set_s": changed - window.start,
                        "owner_requests_before": requests,
                    }
                )
                # Phases keep to a fixed schedule, whatever the calls above took.
                until = window.start + (index + 1) * job["phase_s"]
                await asyncio.sleep(max(0.0, until - time.perf_counter()))
            window.end = time.perf_counter()
            end_requests = await _owner_requests(session, owner_url)
            cpu = clock.stop()
        finally:
            window.stop = True
            await _set_fault(session, owner_url, None)
            await asyncio.wait(tasks, timeout=REQUEST_TIMEOUT_S + 5)
    for this, after in zip(phases, [*phases[1:], None], strict=True):
        following = end_requests if after is None else after["owner_requests_before"]
        this["owner_requests"] = following - this.pop("owner_requests_before")
    names = ("sent_s", "answered_s", "kind", "carried", "owner_status", "foreign_error")
    return {
        "phases": phases,
        "end_s": window.end - window.start,
        "customers": len(ids),
        # One list per figure, one entry per response, in the order they were answered.
        "responses": {name: [record[i] for record in records] for i, name in enumerate(names)},
        "error_samples": samples,
        "cpu": cpu,
    }


# --------------------------------------------------------------------------- hostile documents

# Refusals before execution answer 400 in this media type (200 in plain JSON): the status
# then says whether a document was executed.
HOSTILE_ACCEPT = "application/graphql-response+json"


def _hostile_headers(key: str | None) -> dict[str, str]:
    headers = {"Content-Type": "application/json", "Accept": HOSTILE_ACCEPT}
    if key is not None:
        headers["Authorization"] = f"Bearer {key}"
    return headers


def answer_of(status: int, raw: bytes) -> tuple[str, dict[str, dict[str, Any]]]:
    """How an answer reads, e.g. `400 BAD_USER_INPUT (cost)` or `200 data`, and its refusals.

    The label is the status, `data` when some root field has a value, and each error code
    once (with the limit it names); refusals maps each limit refused to its `max` and
    `value`.
    """
    try:
        body = json.loads(raw)
    except ValueError:
        return f"{status} not JSON", {}
    if not isinstance(body, dict):
        return f"{status} not an object", {}
    items: list[str] = []
    data = body.get("data")
    if isinstance(data, dict) and any(value is not None for value in data.values()):
        items.append("data")
    refusals: dict[str, dict[str, Any]] = {}
    for error in body.get("errors") or []:
        extensions = (error.get("extensions") if isinstance(error, dict) else None) or {}
        code = str(extensions.get("code", "NO_CODE"))
        limit = extensions.get("limit")
        if limit is not None:
            refusals.setdefault(
                str(limit), {"max": extensions.get("max"), "value": extensions.get("value")}
            )
            code += f" ({limit})"
        if code not in items:
            items.append(code)
    return " ".join([str(status), " + ".join(items) or "empty"]), refusals


@dataclass(frozen=True)
class HostileAnswer:
    """One document's answer: milliseconds to its last byte, how it reads, its refusals."""

    ms: float
    label: str
    refusals: dict[str, dict[str, Any]]
    answered: bool = True


async def _send_hostile(
    session: aiohttp.ClientSession, url: str, document: str, key: str | None
) -> HostileAnswer:
    payload = json.dumps({"query": document}).encode()
    started = time.perf_counter()
    try:
        async with session.post(url, data=payload, headers=_hostile_headers(key)) as response:
            raw = await response.read()
            status = response.status
    except (aiohttp.ClientError, TimeoutError, OSError) as error:
        elapsed = _ms(time.perf_counter() - started)
        return HostileAnswer(elapsed, f"no answer ({type(error).__name__})", {}, answered=False)
    elapsed = _ms(time.perf_counter() - started)
    return HostileAnswer(elapsed, *answer_of(status, raw))


async def _probe(
    session: aiohttp.ClientSession, url: str, seconds: float, gap_s: float
) -> tuple[list[float], int]:
    """`GET url` every `gap_s` for `seconds`: each round trip's time, and the failures."""
    samples: list[float] = []
    failures = 0
    until = time.perf_counter() + seconds
    while time.perf_counter() < until:
        started = time.perf_counter()
        try:
            async with session.get(url, headers=OWNER_HEADERS) as response:
                await response.read()
                failures += response.status != 200
        except (aiohttp.ClientError, TimeoutError, OSError):
            failures += 1
        samples.append(_ms(time.perf_counter() - started))
        await asyncio.sleep(gap_s)
    return samples, failures


async def hostile_documents(job: Job) -> dict[str, Any]:
    """Documents sent one at a time, then by `clients` in a loop, with /healthz probed.

    Three phases: /healthz probed on the idle gateway for `idle_s`; each case's document
    sent `each` times, one at a time (a case stops at its first request left unanswered
    after `timeout_s`: the rest would only wait as long); then `clients` clients send the
    cases' documents back to back, each starting at a different case, while /healthz is
    probed for `load_s`. Every text is made new by a trailing comment, so that no cache of
    the gateway has seen it.
    """
    url = f"{job['gateway']}/graphql"
    cases: Sequence[Mapping[str, Any]] = job["cases"]
    health = f"{job['gateway']}/healthz"
    gap_s: float = job["probe_gap_s"]
    nonce = itertools.count()

    def text(case: Mapping[str, Any]) -> str:
        return f"{case['document']}\n# {job['seed']}-{next(nonce)}"

    results: list[dict[str, Any]] = []
    async with (
        _session(1, job["timeout_s"]) as prober,
        _session(job["clients"], job["timeout_s"]) as session,
    ):
        # The probes keep one connection of their own, opened before anything is timed.
        await _round_trips(prober, health, 2, 0)
        idle_ms, idle_failures = await _probe(prober, health, job["idle_s"], gap_s)
        for case in cases:
            latencies: list[float] = []
            answers: Counter[str] = Counter()
            refusals: dict[str, dict[str, Any]] = {}
            clock = CpuClock.of(job)
            clock.start()
            for _ in range(job["each"]):
                answer = await _send_hostile(session, url, text(case), case["key"])
                latencies.append(answer.ms)
                answers[answer.label] += 1
                for limit, figures in answer.refusals.items():
                    refusals.setdefault(limit, figures)
                if not answer.answered:
                    break
            cpu = clock.stop()
            results.append(
                {
                    "latency_ms": latencies,
                    "answers": dict(answers),
                    "refusals": refusals,
                    "gateway_cpu_s": cpu["cpu_s"]["gateway"],
                }
            )

        window = _Window()
        # (answered, ms, label)
        records: list[tuple[float, float, str]] = []

        async def client(start: int) -> None:
            index = start
            while not window.stop:
                case = cases[index % len(cases)]
                index += 1
                answer = await _send_hostile(session, url, text(case), case["key"])
                records.append((time.perf_counter(), answer.ms, answer.label))

        step = max(1, len(cases) // job["clients"])
        tasks = [asyncio.create_task(client(i * step)) for i in range(job["clients"])]
        clock = CpuClock.of(job)
        try:
            await asyncio.sleep(job["ramp_s"])
            clock.start()
            window.start = time.perf_counter()
            load_ms, load_failures = await _probe(prober, health, job["load_s"], gap_s)
            window.end = time.perf_counter()
            cpu = clock.stop()
        finally:
            window.stop = True
            _, pending = await asyncio.wait(tasks, timeout=job["timeout_s"] + 1)
            for task in pending:
                task.cancel()
    measured = [
        (ms, label) for answered, ms, label in records if window.start <= answered <= window.end
    ]
    return {
        "idle": {"probe_ms": idle_ms, "probe_failures": idle_failures},
        "cases": results,
        "load": {
            "window_s": window.end - window.start,
            "probe_ms": load_ms,
            "probe_failures": load_failures,
            "latency_ms": [ms for ms, _ in measured],
            "answers": dict(Counter(label for _, label in measured)),
            "cpu": cpu,
        },
    }


JOBS: dict[str, Callable[[Job], Coroutine[Any, Any, dict[str, Any]]]] = {
    "round_trips": round_trips,
    "sequential": sequential,
    "owner_requests": owner_requests,
    "closed_loop": closed_loop,
    "call_comes_in": call_comes_in,
    "failing_owner": failing_owner,
    "hostile_documents": hostile_documents,
}


def main() -> int:
    job = json.load(sys.stdin)
    result = asyncio.run(JOBS[job["kind"]](job))
    json.dump(result, sys.stdout)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
