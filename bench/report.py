"""Turn the measured figures (`bench.scenarios.run()`) into RESULTS.md.

Nothing here measures: every number comes from the results dict, and every figure is
shown as min / median / max over the repeated runs.
"""

from __future__ import annotations

import json
import math
from typing import Any

from . import gaps, headline, targets
from .procs import SYSTEMS
from .stats import Spread
from .tables import Row, at, counts, error_text, median, spread, spread_at, table


def render(results: dict[str, Any], total_s: float) -> str:
    parts = [
        _header(results, total_s),
        targets.section(results),
        headline.targets_table(results),
        headline.versus_peer(results),
        headline.versus_tailcall(results),
        gaps.section(results, "tailcall"),
        headline.batching(results),
        _machine(results),
        _method(results),
        _round_trips(results),
        _caller_screen(results),
        _owner_requests(results),
        _closed_loop(results),
        _call_comes_in(results),
        _failing_owner(results),
        _hostile_documents(results),
        _several_workers(results),
        _instructions(results),
        _observations(results),
    ]
    return "\n\n".join(part for part in parts if part).rstrip() + "\n"


def _header(results: dict[str, Any], total_s: float) -> str:
    config = results["config"]
    repeats = config["repeats"]
    mode = "quick smoke run" if config["mode"] == "quick" else "full run"
    installs = [
        f"{status.get('install_s', 0):.0f} s installing {headline.PEER_NAMES[name]} (`npm ci`)"
        for name in headline.PEER_NAMES
        if (status := (results.get(name) or {}).get("status") or {}).get("installed_during_run")
    ]
    install = f", of which {' and '.join(installs)}" if installs else ""
    gateways = ", ".join(
        label
        for gateway, label in headline.LABELS.items()
        if any(headline.figures(results, gateway).get(key) for key in _SCENARIOS)
    )
    peer = ""
    for name, label in headline.PEER_NAMES.items():
        measured, reason = headline.peer_status(results, name)
        if not measured:
            peer += f" **{label} not measured: {reason}.**"
    return (
        "# Benchmark results\n\n"
        f"Written by `python -m bench` ({mode}, {repeats} repeat(s) of every scenario; the "
        f"whole run took {total_s:.0f} s{install}). Gateways measured: {gateways}.{peer} "
        f"Every figure is **min / median / max over the {repeats} run(s)**; latencies in "
        "milliseconds, percentiles of each run interpolated linearly between the closest "
        "ranks."
    )


_SCENARIOS = (
    "caller_screen",
    "owner_requests",
    "closed_loop",
    "call_comes_in",
    "failing_owner",
    "hostile_documents",
)


def _machine(results: dict[str, Any]) -> str:
    m = results["machine"]
    pinning = results["pinning"]
    packages = ", ".join(f"{name} {version}" for name, version in m["packages"].items())
    affinity = "; ".join(
        f"{phase}: " + ", ".join(f"{name} on cores {cores}" for name, cores in a.items())
        for phase, a in pinning.get("affinity", {}).items()
    )
    versions = ((results.get("peer") or {}).get("status") or {}).get("versions") or {}
    peer = ", ".join(f"{name} {version}" for name, version in versions.items())
    versions = ((results.get("tailcall") or {}).get("status") or {}).get("versions") or {}
    tailcall = ", ".join(f"{name} {version}" for name, version in versions.items())
    rows = [
        ("Date", m["date"]),
        ("CPU", m["cpu_model"]),
        ("Cores", f"{m['logical_cpus']} logical, {m['usable_cpus']} usable by the benchmark"),
        ("OS", m["os"]),
        ("Python", m["python"]),
        ("Packages", packages),
        ("Peer", peer or "n/a"),
        ("Tailcall", tailcall or "n/a"),
        ("Code measured", f"commit {m['revision']}"),
        (
            "Pinning",
            pinning["note"] + (f" (as the kernel reported: {affinity})" if affinity else ""),
        ),
    ]
    return "## Machine\n\n" + table(("", ""), rows)


def _method(results: dict[str, Any]) -> str:
    c = results["config"]
    lines = [
        "Real processes talking HTTP/1.1 on loopback, nothing else: the four demo owners "
        "(`ownergraph owners`, one process), the gateways and the load generator (an "
        "asyncio client on aiohttp, its own process, keep-alive connections, 30 s timeout "
        "per request).",
        "Four gateways, each one process pinned to the same core: **ours** (`ownergraph "
        "serve --demo-keys`, uvicorn as shipped, no access log); the **naive baseline**, the "
        "same with `OWNERGRAPH_BATCHING=false` (every field its own owner call); the "
        "**peer**, Hive Gateway over a supergraph composed from the same owners (bench/peer/, "
        "`NODE_ENV=production`, `--fork 1`); **Tailcall**, its binary from npm over a "
        "configuration written for the same owners (bench/tailcall/, one worker thread, "
        "logging at `warn`, no usage reports).",
        "At each owner latency one owners process serves every gateway measured there, and "
        "all of them run side by side, but **only one is under load at a time**: each job "
        "loads one gateway while the others sit idle (their CPU time over each measurement "
        "is read too, and reported with the closed loop). Each repeat measures the gateways "
        "one after the other, starting with a different one each repeat, so that a repeat's "
        "figures are a pair measured minutes apart at most. Every gateway first serves a "
        f"{c.get('start_warmup_s', 0):g} s closed loop (concurrency "
        f"{c.get('start_warmup_concurrency', 0)}) that is not measured, so none (Node's JIT "
        "least of all) is measured cold.",
        "Every GraphQL request is authenticated as a real client's would be: "
        "`Authorization: Bearer demo-agent` (the agent role, allowed every field asked for). "
        "The peers ignore the header.",
        "Our gateway runs with `OWNERGRAPH_AUDIT_LOG=off`: by default it writes one audit "
        "line per request to stdout, which production would ship to a file instead; writing "
        "that line is not part of these figures. The peers log at `warn`: nothing per request.",
        "Queries are fixed documents with their arguments as variables (`$id`, `$ids`, "
        "`$phone`), as real clients send them; the peers' ask the same fields under the "
        "owners' names (bench/peer/*.graphql, bench/tailcall/*.graphql). Our gateway caches "
        "parsed and validated "
        "documents, so after the first request each one skips parsing and validation: the "
        "realistic path, not the cost of a new document every time.",
        "Owner latency is the owners' `--latency-ms`: an asynchronous sleep before every "
        "business reply, so concurrent calls overlap as with a remote system.",
        f"Processes: owners at {c['owner_latency_ms']} ms with every gateway for scenarios 1 "
        f"and 2 and that half of scenario 3; owners at the other latencies of scenario 3 "
        "with ours and the peers; scenario 4 (owners at "
        f"{c.get('call_latency_ms', 50)} ms) with ours alone, its repeats one after the other.",
        f"Sizes: caller screen {c['caller_requests']} requests after {c['caller_warmup']} "
        f"warm-up; owner requests {c['size_queries']} queries per size after "
        f"{c['size_warmup']} warm-up (fewer, at least {c.get('size_min_queries', 1)}, when "
        f"they take over {c.get('size_max_s', 0):g} s) and "
        f"{c.get('size_floor_queries', 0)} floor iterations; closed loop "
        f"{c['loop_duration_s']:.0f} s windows after "
        f"{c['loop_warmup_s']:.1f} s warm-up at the same concurrency"
        + (
            f"; the call comes in {c['call_requests']} requests after {c['call_warmup']} warm-up."
            if "call_requests" in c
            else "."
        ),
        "An error is a non-200 answer, a transport failure or a GraphQL response with "
        "`errors`; in scenario 4 also an answer naming another number or customer than the "
        "one called (a wrong answer).",
    ]
    timings: dict[str, float] = results.get("timings_s") or {}
    if timings:
        lines.append(
            "Wall-clock time per part of the run (all repeats): "
            + ", ".join(f"{_phase(phase)} {seconds:.0f} s" for phase, seconds in timings.items())
            + "."
        )
    return "## How it was measured\n\n" + "\n".join(f"- {line}" for line in lines)


def _phase(key: str) -> str:
    phase, _, gateway = key.partition(":")
    name = _PHASES.get(phase, phase)
    return f"{name} ({gateway})" if gateway else name


_PHASES = {
    "peer install check": "checking (or installing) the peer's packages",
    "tailcall install check": "checking (or installing) Tailcall's package",
    "start-up warm-up": "warming up freshly started gateways",
    "same data": "comparing answers",
    "processes": "starting and stopping processes (composing the peer's supergraph, writing "
    "Tailcall's configuration)",
    "round_trips": "round trips",
    "caller_screen": "caller screen",
    "owner_requests": "owner requests",
    "closed_loop": "closed loop",
    "call_comes_in": "the call comes in",
    "failing_owner": "a failing owner",
    "hostile_documents": "hostile documents",
    "workers": "several workers (starting, warming up and loading `serve --workers N`)",
    "instructions": "counting instructions under callgrind",
}


def _round_trips(results: dict[str, Any]) -> str:
    runs = results.get("round_trips") or []
    if not runs:
        return ""
    c = results["config"]
    rows: list[Row] = []
    for name in runs[0]:
        rows.append(
            (
                name,
                spread_at(runs, name, "back_to_back", "p50"),
                spread_at(runs, name, "back_to_back", "max"),
                spread_at(runs, name, "spaced", "p50"),
                spread_at(runs, name, "spaced", "max"),
            )
        )
    return (
        "## 0. Round trip of a request that does no work\n\n"
        "A baseline for everything below: `GET /healthz` (never delayed by `--latency-ms`) "
        f"on one keep-alive connection per process, {c['rtt_count']} requests back to back "
        f"(each sent as soon as the previous answer is read), then {c['rtt_spaced_count']} "
        f"requests {1000 * c['rtt_gap_s']:.0f} ms apart. On loopback both should be about "
        "a millisecond.\n\n"
        + table(
            (
                "target",
                "back to back p50",
                "back to back max",
                f"{1000 * c['rtt_gap_s']:.0f} ms apart p50",
                f"{1000 * c['rtt_gap_s']:.0f} ms apart max",
            ),
            rows,
        )
    )


def _caller_screen(results: dict[str, Any]) -> str:
    runs = results["caller_screen"]
    if not runs:
        return ""
    latency = results["config"]["owner_latency_ms"]
    rows: list[Row] = []
    for label, path in (
        ("gateway", ("gateway",)),
        ("floor (wave-1 max + wave-2 max)", ("floor", "floor")),
        ("  wave 1 max (crm, helpdesk, contactcenter)", ("floor", "wave1")),
        ("  wave 2 max (erp account, erp invoices)", ("floor", "wave2")),
    ):
        rows.append((label, *(spread_at(runs, *path, q) for q in ("p50", "p95", "p99"))))
    rows.append(("**overhead** = gateway p50 - floor p50", spread(runs, _overhead), "", ""))
    owners = [
        ("crm", "crm"),
        ("helpdesk", "helpdesk"),
        ("contactcenter", "contactcenter"),
        ("erp account", "erp_account"),
        ("erp invoices", "erp_invoices"),
    ]
    direct = table(
        ("owner call", "direct p50"),
        ((label, spread_at(runs, "floor", key, "p50")) for label, key in owners),
    )
    waits = table(
        ("system", "p50 of `extensions.owners.<system>.ms`"),
        ((name, spread_at(runs, "owner_wait_p50_ms", name)) for name in SYSTEMS),
    )
    errors = counts(r["errors"] for r in runs)
    n = runs[0]["gateway"]["n"]
    cpu_line = (
        "Gateway CPU per request (utime + stime over the measured part): "
        f"{spread_at(runs, 'gateway_cpu_per_request_ms', digits=2)} ms. CPU used by "
        "processes outside the benchmark meanwhile: "
        f"{spread(runs, lambda r: _cpu_share(r['cpu'], 'others'), 0)} % of one core, of "
        "which on the gateway's core "
        f"{spread(runs, lambda r: _cpu_share(r['cpu'], 'gateway_core_others'), 0)} % "
        f"(steal {spread(runs, lambda r: _cpu_share(r['cpu'], 'steal'), 0)} %)."
    )
    return (
        f"## 1. Caller screen, concurrency 1, owners at {latency} ms\n\n"
        "What one agent's screen costs when a call comes in, against the least the owners "
        "themselves need for the same requests in the same two waves: the difference is what "
        "the gateway adds.\n\n"
        f"{n} sequential requests per run for customer C00013 (sent as `$id`), each followed "
        "by one floor "
        "iteration: the load generator makes the gateway's five owner requests itself (wave "
        "1 in parallel, then wave 2 with the ERP code from the CRM's answer, in parallel) "
        "and adds the slowest of each wave. The gateway starts the ERP as soon as the CRM "
        "answers rather than after the whole of wave 1, so this floor is an upper bound on "
        "the owners' share and the overhead a lower bound.\n\n"
        + table(("", "p50", "p95", "p99"), rows)
        + "\n\nEach owner call timed directly (p50), and the wait the gateway itself reports "
        "for each system (its `extensions.owners`, p50 per run; erp covers both calls):\n\n"
        + direct
        + "\n\n"
        + waits
        + f"\n\n{cpu_line}\n\nErrors: {error_text(errors)}."
        + _screens_side_by_side(results)
    )


def _breakdown(per_system: dict[str, float]) -> str:
    """`crm 1, erp 2, ...`: requests per query per system (first run)."""
    return ", ".join(f"{name} {per_system.get(name, 0):g}" for name in SYSTEMS)


def _screens_side_by_side(results: dict[str, Any]) -> str:
    rows: list[Row] = []
    for gateway in headline.LABELS:
        runs = headline.figures(results, gateway).get("caller_screen") or []
        if not runs:
            continue
        errors = counts(r["errors"] for r in runs)
        per_system = runs[0].get("requests_per_query")
        rows.append(
            (
                headline.LABELS[gateway],
                *(spread_at(runs, "gateway", q) for q in ("p50", "p95", "p99")),
                spread_at(runs, "floor", "floor", "p50"),
                spread(runs, _overhead),
                spread(runs, headline.total_requests, 2)
                + (f" ({_breakdown(per_system)})" if per_system else ""),
                spread_at(runs, "gateway_cpu_per_request_ms", digits=2),
                error_text(errors),
            )
        )
    if not rows:
        return ""
    plan = headline.PLAN_REQUESTS
    return (
        "\n\nEvery gateway measured, each on its own runs of the same job (its requests "
        "alternating with floor iterations). Owner requests per query are the owners' own "
        "counts (`/_stats`, from the end of the warm-up) less the floor's requests, which the "
        f"load generator counts as it makes them; the plan's minimum is {plan} (crm 1, erp 2, "
        "helpdesk 1, contactcenter 1; the first run's split in brackets).\n\n"
        + table(
            (
                "gateway",
                "p50",
                "p95",
                "p99",
                "floor p50",
                "p50 - floor p50",
                "owner requests/query",
                "gateway CPU ms/request",
                "errors",
            ),
            rows,
        )
    )


def _cpu_share(cpu: dict[str, Any], name: str) -> float | None:
    seconds = cpu["cpu_s"].get(name)
    return None if seconds is None else 100 * seconds / cpu["elapsed_s"]


def _overhead(run: dict[str, Any]) -> float:
    return float(run["overhead_p50_ms"])


def _owner_requests(results: dict[str, Any]) -> str:
    repeats = results["owner_requests"]
    if not repeats:
        return ""
    latency = results["config"]["owner_latency_ms"]
    sizes = [row["size"] for row in repeats[0]]
    rows: list[Row] = []
    for index, size in enumerate(sizes):
        runs = [repeat[index] for repeat in repeats]
        rows.append(
            (
                str(size),
                spread(runs, lambda r: r["latency"]["p50"]),
                spread(runs, lambda r: r["latency"]["p95"]),
                spread_at(runs, "floor", "floor", "p50"),
                spread(runs, _over_floor),
                *(spread_at(runs, "requests_per_query", name, digits=2) for name in SYSTEMS),
                spread(runs, headline.total_requests, 2),
                spread(runs, lambda r: sum(r["keys_per_query"].values()), 1),
                spread_at(runs, "gateway_cpu_per_request_ms", digits=2),
            )
        )
    totals = {
        size: [sum(repeat[i]["requests_per_query"].values()) for repeat in repeats]
        for i, size in enumerate(sizes)
    }
    all_totals = {round(v, 6) for values in totals.values() for v in values}
    if len(all_totals) == 1:
        verdict = (
            f"Owner requests per query are the same at every N: {all_totals.pop():g} in every "
            "run — one request per owner entity and wave, however many customers."
        )
    else:
        listed = ", ".join(
            f"N={size}: {Spread.of(values).format(2)}" for size, values in totals.items()
        )
        verdict = f"**Owner requests per query change with N** ({listed})."
    route_lines = []
    for index, size in enumerate(sizes):
        routes = repeats[0][index]["routes_per_query"]
        listed = "; ".join(
            f"{name}: " + ", ".join(f"`{route}` {count:g}" for route, count in sorted(r.items()))
            for name, r in routes.items()
            if r
        )
        route_lines.append(f"- N={size}: {listed}")
    route_text = "\n".join(route_lines)
    errors = counts(row["errors"] for repeat in repeats for row in repeat)
    queries = repeats[0][0]["latency"]["n"]
    return (
        f"## 2. Owner requests per query against N (no N+1), owners at {latency} ms\n\n"
        "Whether asking for more customers costs more owner requests (the N+1 problem) or "
        "only bigger batches, and whether latency stays near the floor as N grows: owner "
        "requests are counted by the owners themselves (`/_stats`, reset before and read "
        "after the measured queries).\n\n"
        f"Query: `customers(ids: [N ids]) {{ displayName credit {{ balance }} "
        f"invoices {{ number }} tickets {{ id }} interactions {{ channel }} }}`, N random "
        f"distinct ids (sent as `$ids`, the same for every gateway in a repeat), {queries} "
        "sequential queries per N and run. The floor: after the counters are read, the load "
        "generator makes the same five owner requests itself with the same N keys each "
        "(wave 1: crm records, helpdesk tickets, contactcenter interactions in parallel; "
        "wave 2: erp accounts and invoices by the CRM's ERP codes, in parallel) and adds the "
        "slowest of each wave; what the owners need for N customers, without a gateway.\n\n"
        + table(
            (
                "N",
                "latency p50",
                "latency p95",
                "floor p50",
                "p50 - floor p50",
                *(f"{name} req/query" for name in SYSTEMS),
                "total req/query",
                "keys/query",
                "gateway CPU ms/query",
            ),
            rows,
        )
        + f"\n\n{verdict} {_floor_verdict(repeats)}\n\nRequests per query by route (first "
        f"run):\n\n{route_text}\n\nErrors: {error_text(errors)}." + _sizes_side_by_side(results)
    )


def _over_floor(row: dict[str, Any]) -> float | None:
    floor = at(row, ("floor", "floor", "p50"))
    return None if floor is None else float(row["latency"]["p50"]) - floor


def _floor_verdict(repeats: list[list[dict[str, Any]]]) -> str:
    """How far latency is from the floor at the smallest and the largest N."""
    first = [repeat[0] for repeat in repeats]
    last = [repeat[-1] for repeat in repeats]
    low, high = median(first, _over_floor), median(last, _over_floor)
    if math.isnan(low) or math.isnan(high):
        return ""
    return (
        f"Latency above the floor (median p50 - floor p50): {low:.1f} ms at "
        f"N={first[0]['size']}, {high:.1f} ms at N={last[0]['size']}"
        + (
            f" — it grows with N by {high - low:.1f} ms: the gateway's own work per customer "
            "(CPU column), not owner requests."
            if high - low > max(5.0, 0.5 * abs(low))
            else " — about constant."
        )
    )


def _sizes_side_by_side(results: dict[str, Any]) -> str:
    rows: list[Row] = []
    sizes = results["config"]["sizes"]
    for size in sizes:
        for gateway in headline.LABELS:
            runs = [
                row
                for repeat in headline.figures(results, gateway).get("owner_requests") or []
                for row in repeat
                if row["size"] == size
            ]
            if not runs:
                continue
            errors = counts(r["errors"] for r in runs)
            rows.append(
                (
                    str(size),
                    headline.LABELS[gateway],
                    spread(runs, headline.total_requests, 2),
                    spread(runs, lambda r: r["latency"]["p50"]),
                    spread(runs, lambda r: r["latency"]["p95"]),
                    spread(runs, lambda r: r["gateway_cpu_per_request_ms"], 1),
                    "/".join(str(int(r.get("queries", r["latency"]["n"]))) for r in runs),
                    error_text(errors),
                )
            )
    if not rows:
        return ""
    return "\n\nEvery gateway measured, on the same ids:\n\n" + table(
        (
            "N",
            "gateway",
            "owner requests/query",
            "latency p50",
            "latency p95",
            "gateway CPU ms/query",
            "queries per run",
            "errors",
        ),
        rows,
    )


def _closed_loop(results: dict[str, Any]) -> str:
    order = list(headline.LABELS)
    runs = [
        {**run, "gateway_name": gateway}
        for gateway in order
        for run in headline.figures(results, gateway).get("closed_loop") or []
    ]
    if not runs:
        return ""
    groups: dict[tuple[int, int, int], list[dict[str, Any]]] = {}
    for run in runs:
        key = (run["owner_latency_ms"], run["concurrency"], order.index(run["gateway_name"]))
        groups.setdefault(key, []).append(run)
    rows: list[Row] = []
    resources: list[Row] = []
    error_lines: list[str] = []
    for (latency, concurrency, index), group in sorted(groups.items()):
        gateway = headline.LABELS[order[index]]
        label = (f"{latency} ms", str(concurrency), gateway)
        errors = sum(r["errors"] for r in group)
        completed = sum(r["completed"] for r in group)
        rows.append(
            (
                *label,
                spread(group, lambda r: r["rps"]),
                spread(group, lambda r: r["latency"]["p50"]),
                spread(group, lambda r: r["latency"]["p95"]),
                spread(group, lambda r: r["latency"]["p99"]),
                spread(group, lambda r: r["errors"], 0) + f" ({errors} of {completed})",
            )
        )
        resources.append(
            (
                *label,
                spread(group, lambda r: r["cpu_s"]["gateway"], 2),
                spread(group, lambda r: _share(r, "gateway"), 0),
                spread(group, lambda r: r["gateway_cpu_per_request_ms"], 2),
                spread(group, lambda r: r["gateway_peak_rss_mib"]),
                spread(group, lambda r: _share(r, "owners"), 0),
                spread(group, lambda r: _share(r, "loadgen"), 0),
                spread(group, lambda r: _share(r, "others"), 0),
                spread(group, lambda r: _share(r, "gateway_core_others"), 0),
                spread(group, lambda r: _share(r, "steal"), 0),
                spread(group, lambda r: r.get("idle_gateways_cpu_s"), 2),
                spread(group, _owner_requests_per_answer, 2),
            )
        )
        if errors:
            codes = counts(r["error_codes"] for r in group)
            kinds = counts({k: v for k, v in r["outcomes"].items() if k != "ok"} for r in group)
            samples = [s for r in group for s in r["error_samples"]][:3]
            error_lines.append(
                f"- {gateway}, owners at {latency} ms, concurrency {concurrency}: "
                f"{error_text(kinds)}; "
                f"codes {codes or 'none'}; e.g. " + "; ".join(f"`{s}`" for s in samples)
            )
    window = results["config"]["loop_duration_s"]
    reset = all(r["peak_rss_reset"] for r in runs)
    rss_note = (
        "reset (`clear_refs`) at the start of each window, so it is the peak of that window"
        if reset
        else "could not be reset between runs, so it is the peak since the gateway started"
    )
    text = (
        "## 3. Closed loop: throughput and latency under load\n\n"
        "How much one gateway process serves, and how latency grows, when many caller "
        "screens are open at once: each worker sends the caller-screen query for a random "
        "customer (C00001 to C10000, sent as the `$id` variable; the same customers for "
        "every gateway in a repeat) as soon as its previous one answered; "
        f"{window:.0f} s measured windows.\n\n"
        + table(
            ("owners", "concurrency", "gateway", "requests/s", "p50", "p95", "p99", "errors"),
            rows,
        )
        + "\n\nCPU seconds are utime + stime deltas from `/proc/<pid>/stat` over the window; "
        "the CPU share is those seconds over the window's length (100 % = one core busy). "
        "Other processes: busy time of the whole machine (`/proc/stat`) minus the processes "
        "of the benchmark (and, of those, on the gateway's core: its user + system time "
        "less the gateways pinned there, which is what outsiders took from the gateway); "
        "steal: time the host did not give the virtual CPUs; idle "
        "gateways: CPU seconds the gateways not under load used meanwhile (on the same "
        f"core). Peak RSS is the loaded gateway's VmHWM, {rss_note}. Owner requests per "
        "answer: the owners' own counts (`/_stats`, reset as the window opens, read as it "
        "closes) over the requests answered in the window; a gateway whose batches span "
        "concurrent queries makes fewer than one query alone needs.\n\n"
        + table(
            (
                "owners",
                "concurrency",
                "gateway",
                "gateway CPU s",
                "gateway CPU %",
                "gateway CPU ms/request",
                "gateway peak RSS MiB",
                "owners CPU %",
                "load generator CPU %",
                "other processes CPU %",
                "of which on the gateway's core %",
                "steal %",
                "idle gateways CPU s",
                "owner requests/answer",
            ),
            resources,
        )
    )
    if error_lines:
        text += "\n\nErrors seen:\n\n" + "\n".join(error_lines)
    return text


def _share(run: dict[str, Any], name: str) -> float | None:
    seconds = run["cpu_s"].get(name)
    return None if seconds is None else 100 * seconds / run["window_s"]


def _owner_requests_per_answer(run: dict[str, Any]) -> float | None:
    found = run.get("owner_requests_per_answer")
    return float(sum(found.values())) if found else None


# Scenario 4's floor figures, in the order the waves run.
_CALL_WAVES = (
    ("floor (lookup + fetch + ERP wave max)", "floor"),
    ("  lookup wave max (crm, helpdesk, contactcenter searches)", "lookup"),
    ("  fetch wave max (crm customer, helpdesk tickets, contactcenter interactions)", "fetch"),
    ("  ERP wave max (account, invoices)", "erp"),
)
_CALL_OWNER_CALLS = (
    ("crm `GET /customers/search?phone=`", "crm_search"),
    ("helpdesk `GET /requesters/search?phone=`", "helpdesk_search"),
    ("contactcenter `GET /callers/search?phone=`", "contactcenter_search"),
    ("crm `GET /customers?ids=`", "crm_customers"),
    ("helpdesk `GET /tickets?requester_ids=&status=open&limit=20`", "helpdesk_tickets"),
    ("contactcenter `POST /interactions/search` (limit 5)", "contactcenter_interactions"),
    ("erp `POST /accounts/batch`", "erp_account"),
    ("erp `GET /invoices?customer_codes=&status=unpaid&limit=20`", "erp_invoices"),
)
_QS = ("p50", "p95", "p99")


def _call_target(results: dict[str, Any]) -> str:
    """Whether scenario 4 met its p95 target, with the figures: met only if every run did."""
    runs = results.get("call_comes_in") or []
    if not runs:
        return ""
    target = float(results["config"]["call_target_p95_ms"])
    p95s = [float(r["gateway"]["p95"]) for r in runs]
    over = sum(1 for v in p95s if not v < target)
    if len(runs) > 1:
        figure = f"{Spread.of(p95s).format()} ms, min / median / max of {len(runs)} runs"
    else:
        figure = f"{p95s[0]:.1f} ms in 1 run"
    detail = f"; {over} of {len(runs)} runs at or over it" if over and len(runs) > 1 else ""
    verdict = "not met" if over else "met"
    return f"p95 under {target:.0f} ms end to end: **{verdict}** (p95 {figure}{detail})"


def _call_comes_in(results: dict[str, Any]) -> str:
    runs = results.get("call_comes_in") or []
    if not runs:
        return ""
    c = results["config"]
    latency = c["call_latency_ms"]
    first = runs[0]
    rows: list[Row] = [("gateway (end to end)", *(spread_at(runs, "gateway", q) for q in _QS))]
    for label, key in _CALL_WAVES:
        rows.append((label, *(spread_at(runs, "floor", key, q) for q in _QS)))
    rows.append(("**overhead** = gateway p50 - floor p50", spread(runs, _overhead), "", ""))
    target = _call_target(results)
    n = first["gateway"]["n"]
    floor_n = first["floor"]["floor"]["n"]

    expected: dict[str, float] = first["expected_requests_per_query"]
    request_rows: list[Row] = []
    for name in SYSTEMS:
        routes = first["routes_per_query"].get(name, {})
        request_rows.append(
            (
                name,
                spread_at(runs, "requests_per_query", name, digits=2),
                f"{expected[name]:g}",
                ", ".join(f"`{route}` {count:g}" for route, count in sorted(routes.items())),
            )
        )
    differs = sorted(
        {
            name
            for run in runs
            for name in SYSTEMS
            if abs(run["requests_per_query"][name] - expected[name]) > 1e-9
        }
    )
    requests_verdict = (
        "As expected in every run: one request per owner in each of its two waves."
        if not differs
        else f"**Not as expected** for {', '.join(differs)} (table above)."
    )
    direct = table(
        ("owner call", "direct p50", "direct p95"),
        (
            (label, spread_at(runs, "floor", key, "p50"), spread_at(runs, "floor", key, "p95"))
            for label, key in _CALL_OWNER_CALLS
        ),
    )
    waits = table(
        ("system", "p50 of `extensions.owners.<system>.ms`"),
        ((name, spread_at(runs, "owner_wait_p50_ms", name)) for name in SYSTEMS),
    )
    numbers = table(
        ("number as written", "E.164", "customer", "matched by (first run)", "gateway p50"),
        (
            (
                f"`{caller['phone']}`",
                caller["e164"],
                caller["id"],
                ", ".join(caller["matched_by"] or []) or "n/a",
                spread_at(runs, "callers_p50_ms", caller["phone"]),
            )
            for caller in first["callers"]
        ),
    )
    errors = counts(r["errors"] for r in runs)
    warmup = counts(r["warmup_errors"] for r in runs)
    samples = [sample for r in runs for sample in r["error_samples"]][:3]
    error_line = f"Errors: {error_text(errors)} (of {n * len(runs)} measured requests)"
    if warmup:
        error_line += f"; during warm-up: {error_text(warmup)}"
    if samples:
        error_line += "; e.g. " + "; ".join(f"`{sample}`" for sample in samples)
    cpu_line = (
        "Gateway CPU per request (utime + stime over the measured part): "
        f"{spread_at(runs, 'gateway_cpu_per_request_ms', digits=2)} ms. CPU used by "
        "processes outside the benchmark meanwhile: "
        f"{spread(runs, lambda r: _cpu_share(r['cpu'], 'others'), 0)} % of one core "
        f"(steal {spread(runs, lambda r: _cpu_share(r['cpu'], 'steal'), 0)} %)."
    )
    every = int(c["call_floor_every"])
    cadence = "after every request" if every == 1 else f"after every {_ordinal(every)} request"
    return (
        f"## 4. The call comes in: caller lookup by phone, owners at {latency} ms\n\n"
        "What the agent waits for when a call rings: the screen is found by the caller's "
        "number, written the way people type it, while the phone is still ringing. Every "
        f"demo owner answers after {latency} ms (`--latency-ms {latency}`).\n\n"
        f"```graphql\n{first['query']}\n```\n\n"
        f"{n} sequential requests per run after {c['call_warmup']} warm-up, the number sent "
        f"as `$phone`, taking in turn the {len(first['callers'])} numbers listed below: demo "
        "customers with an ERP code, each number as its CRM record writes it (checked "
        "against the CRM before each run; each answer must give that number in E.164 and "
        f"that customer as `best`). One floor iteration {cadence} ({floor_n} per run), for "
        "the same number: the load generator makes the gateway's eight owner requests "
        "itself, in three waves of parallel requests (the lookup: crm, helpdesk and "
        "contactcenter searched by the E.164 number; the fetch: crm record, helpdesk open "
        "tickets, contactcenter's last five interactions; the ERP: account and unpaid "
        "invoices by the ERP code from the CRM's record), and adds the slowest of each wave. "
        "The gateway starts the ERP as soon as the CRM's record arrives rather than after "
        "the whole fetch wave, so this floor is an upper bound on the owners' share and the "
        "overhead a lower bound.\n\n"
        + f"**Target**: {target}.\n\n"
        + table(("", "p50", "p95", "p99"), rows)
        + "\n\nOwner requests per query, counted by the owners themselves (`/_stats`, reset "
        "after the warm-up and read after the measured requests) less the floor's own "
        "requests, which the load generator counts as it makes them:\n\n"
        + table(("system", "requests/query", "expected", "by route (first run)"), request_rows)
        + f"\n\n{requests_verdict}\n\n"
        "Each owner call timed directly by the floor, and the wait the gateway itself "
        "reports for each system (its `extensions.owners`, p50 per run; each covers both of "
        "that system's waves):\n\n"
        + direct
        + "\n\n"
        + waits
        + "\n\nThe numbers called:\n\n"
        + numbers
        + f"\n\n{cpu_line}\n\n{error_line}."
    )


def _percent(share: float) -> str:
    return "n/a" if math.isnan(share) else f"{100 * share:.1f} %"


def _settings(settings: dict[str, Any]) -> str:
    return ", ".join(f"{name}: {value}" for name, value in settings.items()) or "the defaults"


def _failing_target(run: dict[str, Any], target: float) -> str:
    """Whether the healthy phases carried the owner's data often enough, with the figures."""
    healthy = run["kinds"].get("healthy")
    if not healthy or not healthy["responses"]:
        return f"share of healthy-phase responses with its data ≥ {100 * target:.0f} %: n/a"
    shares = [100 * p["share"] for p in run["phases"] if p["kind"] == "healthy"]
    verdict = "met" if healthy["share"] >= target else "not met"
    return (
        f"share of healthy-phase responses with the {run.get('label', run['system'])}'s data ≥ "
        f"{100 * target:.0f} %: **{verdict}** ({_percent(healthy['share'])}, "
        f"{healthy['carried']} of {healthy['responses']}; per healthy phase "
        f"{Spread.of(shares).format()} %)"
    )


def _failing_owner(results: dict[str, Any]) -> str:
    runs = results.get("failing_owner") or []
    if not runs:
        return ""
    run = runs[0]
    c = results["config"]
    system = run["system"]
    label = run.get("label", system)
    fields = " and ".join(f"`{name}`" for name in run["fields"])
    faults = ", ".join(
        f"{kind} (" + (f"`{json.dumps(fault)}`" if fault else "no fault") + ")"
        for kind, fault in run["faults"].items()
    )
    rows: list[Row] = []
    for kind, figures in run["kinds"].items():
        statuses = ", ".join(
            f"{status} {count}"
            for status, count in sorted(figures["owner_status"].items(), key=lambda i: -i[1])
        )
        rows.append(
            (
                kind,
                str(figures["phases"]),
                str(figures["responses"]),
                f"{figures['responses_per_s']:.1f}",
                _percent(figures["share"]),
                *(f"{figures['latency'][q]:.1f}" for q in _QS),
                statuses or "n/a",
                Spread.of([float(n) for n in figures["owner_requests"]]).format(0),
            )
        )
    healthy_rows: list[Row] = []
    for number, phase in enumerate(p for p in run["phases"] if p["kind"] == "healthy"):
        after = phase["first_carried_after_s"]
        healthy_rows.append(
            (
                str(number + 1),
                f"{phase['start_s']:.1f}",
                str(phase["responses"]),
                _percent(phase["share"]),
                "never" if after is None else f"{after:.2f}",
            )
        )
    foreign = sum(figures["foreign_errors"] for figures in run["kinds"].values())
    samples = run["error_samples"][:3]
    errors = f"Errors other than the {label}'s: {foreign}" + (
        "; e.g. " + "; ".join(f"`{sample}`" for sample in samples) if samples else ""
    )
    machine = results["machine"]
    total = run["phase_s"] * run["cycles"] * len(run["faults"])
    times = "once" if run["cycles"] == 1 else f"{run['cycles']} times over"
    return (
        f"## 5. A failing owner: the {label} hangs, fails and recovers, owners at "
        f"{c['owner_latency_ms']} ms\n\n"
        "What the agents' screens show while one owner goes down and comes back, and how soon "
        f"its data is back once it has recovered. {run['concurrency']} clients ask the caller "
        "screen (scenario 3's query) for random customers that the CRM links to the "
        f"{label} ({run['customers']} of them), each sending its next request as soon as "
        f"the last one answered, while the {label} (`{system}`) goes through these phases, "
        f"{run['phase_s']:g} s each, {times} ({total:g} s, after "
        f"{c['fault_warmup_s']:g} s healthy that are not measured): {faults}, each set on "
        "the running owner with `PUT /_faults`. A response carries the "
        f"{label}'s data when {fields} are there and no error names the {label}; it "
        "belongs to the phase it was sent and answered in, and the "
        f"{run['across_changes']} responses that saw a change of phase are left out. "
        f"The gateway's breaker for the {label}: `{_settings(run['breaker'])}`. One run, "
        f"on its own owners and gateway, measured {machine['date']} on commit "
        f"{machine['revision']}.\n\n"
        f"**Target**: {_failing_target(run, float(c['fault_target_share']))}.\n\n"
        + table(
            (
                "phase",
                "phases",
                "responses",
                "responses/s",
                f"with the {label}'s data",
                "p50 ms",
                "p95 ms",
                "p99 ms",
                f"`extensions.owners.{system}.status`",
                f"{label} requests per phase (its own count)",
            ),
            rows,
        )
        + "\n\nEach healthy phase, from the moment the owner was healthy again (seconds from "
        "the first change):\n\n"
        + table(
            (
                "healthy phase",
                "starts at s",
                "responses",
                f"with the {label}'s data",
                f"first response with the {label}'s data after s",
            ),
            healthy_rows,
        )
        + f"\n\n{errors}."
    )


# Scenario 6's contrast: what a document of 2 spreads per level cost before the walks over
# a document were made linear (commit af53727), as reported with the issue then; this
# benchmark did not measure them. Levels and milliseconds; None: no answer after 30 s.
BEFORE_FIX_COMMIT = "af53727"
BEFORE_FIX_MS: tuple[tuple[int, float | None], ...] = (
    (16, 176.0),
    (20, 2_800.0),
    (21, 5_300.0),
    (30, None),
)
# A stall this long (ms) in scenario 6 means a document blocks the event loop again.
STALL_MS = 1_000.0


def _duration(ms: float) -> str:
    return f"{ms / 1000:.1f} s" if ms >= 1000 else f"{ms:.0f} ms"


def _before_fix() -> str:
    """`took 176 ms at 16 levels, ... and was not answered after 30 s at 30 levels`."""
    timed = [f"{_duration(ms)} at {levels} levels" for levels, ms in BEFORE_FIX_MS if ms]
    unanswered = [levels for levels, ms in BEFORE_FIX_MS if ms is None]
    text = "took " + (f"{', '.join(timed[:-1])} and {timed[-1]}" if len(timed) > 1 else timed[0])
    if unanswered:
        text += f", and was not answered after 30 s at {_either(unanswered)} levels"
    return text


def _either(values: list[int]) -> str:
    """`10, 20 or 30`."""
    words = [str(value) for value in values]
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} or {words[-1]}"


def _key_name(key: str | None) -> str:
    return "no key" if key is None else f"`{key}`"


def _answers(case: dict[str, Any], each: int) -> str:
    answers: dict[str, int] = case["answers"]
    if len(answers) == 1:
        text = next(iter(answers))
    else:
        text = ", ".join(f"{label} {n}" for label, n in answers.items())
    if case["sent"] < each:
        text += f" (stopped after {case['sent']})"
    return text


def _refused(cases: list[dict[str, Any]]) -> str:
    """What the refusals of these cases name: `cost 10,485,761 > 25,000`, or `not refused`."""
    named: dict[str, dict[str, Any]] = {}
    for case in cases:
        for limit, figures in case["refusals"].items():
            named.setdefault(limit, figures)
    if not named:
        return "not refused"
    return "; ".join(
        f"{limit} {figures.get('value') or 0:,} > {figures.get('max') or 0:,}"
        for limit, figures in named.items()
    )


def _probe_row(label: str, figures: dict[str, Any]) -> Row:
    probes = figures["probes"]
    return (
        label,
        str(probes["n"]),
        *(f"{probes.get(q, math.nan):.1f}" for q in ("p50", "p99", "max")),
        str(figures["probe_failures"]),
    )


def _hostile_table(run: dict[str, Any], each: int) -> tuple[tuple[str, ...], list[Row]]:
    keys = list(dict.fromkeys(case["key"] for case in run["cases"]))
    groups: dict[tuple[str, int, int], list[dict[str, Any]]] = {}
    for case in run["cases"]:
        groups.setdefault((case["leaf"], case["spreads"], case["levels"]), []).append(case)
    rows: list[Row] = []
    for (leaf, spreads, levels), cases in groups.items():
        keyed = {case["key"]: case for case in cases}
        cells: list[str] = []
        for key in keys:
            case = keyed.get(key)
            if case is None:
                cells += ["n/a", "", ""]
                continue
            latency = case["latency"]
            cells += [
                _answers(case, each),
                f"{latency['p50']:.1f}",
                f"{latency.get('max', math.nan):.1f}",
            ]
        seconds = [case["gateway_cpu_s"] for case in cases]
        sent = sum(case["sent"] for case in cases)
        cpu = (
            "n/a"
            if any(value is None for value in seconds) or not sent
            else f"{1000 * sum(seconds) / sent:.1f}"
        )
        rows.append(
            (
                f"`{leaf}`",
                str(spreads),
                str(levels),
                str(cases[0]["bytes"]),
                f"{cases[0]['copies']:,}",
                _refused(cases),
                *cells,
                cpu,
            )
        )
    header = (
        "last field",
        "spreads",
        "levels",
        "bytes",
        "copies of the last field",
        "refused on",
        *(
            cell
            for key in keys
            for cell in (
                f"{_key_name(key)}: answer",
                f"{_key_name(key)}: p50 ms",
                f"{_key_name(key)}: max ms",
            )
        ),
        "gateway CPU ms/document",
    )
    return header, rows


def _hostile_verdict(run: dict[str, Any]) -> str:
    """The sentence saying what scenario 6 shows, against the figures before the fix."""
    slowest = max(run["cases"], key=lambda case: case["latency"].get("max", math.nan))
    worst = slowest["latency"]["max"]
    idle, load = run["idle"]["probes"], run["load"]["probes"]
    deepest = max(case["levels"] for case in run["cases"])
    two_deep = [
        case
        for case in run["cases"]
        if case["spreads"] == 2 and case["levels"] == deepest and case["leaf"] == "displayName"
    ]
    here = ", ".join(
        f"{case['latency']['p50']:.1f} ms ({_key_name(case['key'])})" for case in two_deep
    )
    stalled = worst >= STALL_MS or load.get("max", 0.0) >= STALL_MS
    verdict = (
        f"**an answer or a probe took {_duration(STALL_MS)} or more: a document blocks the "
        "event loop again**"
        if stalled
        else f"no answer and no probe took {_duration(STALL_MS)} or more"
    )
    return (
        f"**What it shows**: the slowest of these answers took {_duration(worst)} (`"
        f"{slowest['leaf']}`, {slowest['spreads']} spreads, {slowest['levels']} levels, "
        f"{_key_name(slowest['key'])}: {slowest['bytes']} bytes expanding to "
        f"{slowest['copies']:,} copies of the last field)"
        + (f"; {deepest} levels of 2 spreads took a p50 of {here}" if here else "")
        + f". **Before the fix** (commit {BEFORE_FIX_COMMIT}; figures measured then, not "
        f"by this run), a document of 2 spreads per level {_before_fix()}, holding the "
        f"event loop all the while: /healthz waited too. With {run['clients']} clients "
        "sending these documents back to back, /healthz answered in p50 "
        f"{load['p50']:.1f} / p99 {load['p99']:.1f} / max {load.get('max', math.nan):.1f} ms, "
        f"against {idle['p50']:.1f} / {idle['p99']:.1f} / {idle.get('max', math.nan):.1f} ms "
        f"on the idle gateway: {verdict}."
    )


def _hostile_documents(results: dict[str, Any]) -> str:
    runs = results.get("hostile_documents") or []
    if not runs:
        return ""
    run = runs[0]
    c = results["config"]
    each = int(run["each"])
    machine = results["machine"]
    header, rows = _hostile_table(run, each)
    load = run["load"]
    totals = counts(case["answers"] for case in run["cases"])
    answers = ", ".join(
        f"`{label}` {n}" for label, n in sorted(totals.items(), key=lambda item: -item[1])
    )
    under_load = ", ".join(
        f"`{label}` {n}" for label, n in sorted(load["answers"].items(), key=lambda i: -i[1])
    )
    cpu_pct = load["gateway_cpu_pct"]
    cpu_ms = load["gateway_cpu_per_request_ms"]
    cpu = (
        ""
        if cpu_pct is None or cpu_ms is None
        else f" The gateway's process used {cpu_pct:.0f} % of its core meanwhile, "
        f"{cpu_ms:.1f} ms of CPU per document."
    )
    keys = " and ".join(
        "with no key (the anonymous role)" if key is None else f"with `Authorization: Bearer {key}`"
        for key in dict.fromkeys(case["key"] for case in run["cases"])
    )
    anonymous = any(
        case["key"] is None and any("FORBIDDEN" in label for label in case["answers"])
        for case in run["cases"]
    )
    forbidden = (
        " Without a key, an executed document answers `customer: null` with FORBIDDEN: the "
        "anonymous role may not look a customer up."
        if anonymous
        else ""
    )
    levels = _either(list(dict.fromkeys(case["levels"] for case in run["cases"])))
    spreads = _either(list(dict.fromkeys(case["spreads"] for case in run["cases"])))
    return (
        f"## 6. Hostile documents: fragments that fan out, owners at "
        f"{c['owner_latency_ms']} ms\n\n"
        "What a client costs the gateway, and everyone else it serves, when it sends a "
        "document of a kilobyte or so whose fragments each spread the next one "
        f"{spreads} times, {levels} levels deep (`fragment F0 on Customer {{ ...F1 ...F1 }} "
        "fragment F1 on Customer { ...F2 ...F2 } ...`, built by bench/hostile.py under "
        f"`{run['root']}`): expanded, it asks for spreads^levels copies of its last field. "
        "Ending in `displayName`, an owner-backed field, a document costs 10 per copy and "
        "should be refused before any owner is called once that passes the cost limit; "
        "ending in `__typename`, which costs nothing on the limits, it is executed (one CRM "
        f"call for the customer, which the demo CRM answers after {c['owner_latency_ms']} "
        "ms). "
        f"Each document was sent {each} times, one at a time, {keys}, each text made new by "
        "a trailing comment (`# n`) so that neither the parser's nor the validation cache "
        "had seen it, with `Accept: application/graphql-response+json` (a document refused "
        "before execution answers 400). Time to the answer is the client's, from sending to "
        "the last byte; an answer reads as its status, `data` when the customer has a value, "
        f"and each error code with the limit it names.{forbidden} A request unanswered "
        f"after {run['timeout_s']:g} s would end its document's series. /healthz was "
        f"probed every {1000 * run['probe_gap_s']:g} ms on a keep-alive connection of its "
        f"own, first for {c['hostile_idle_s']:g} s on the idle gateway, then for "
        f"{c['hostile_load_s']:g} s while {run['clients']} clients sent the same documents "
        "(each text new again) back to back. One run, on its own owners and gateway, "
        f"measured {machine['date']} on commit {machine['revision']}. Gateway CPU per "
        "document: the gateway's utime + stime over the row's requests, both keys "
        "(`/proc`, in 10 ms ticks).\n\n"
        + table(header, rows)
        + f"\n\nAnswers, one at a time: {answers or 'none'}.\n\n"
        + table(
            ("`/healthz`", "probes", "p50 ms", "p99 ms", "max ms", "failed"),
            [
                _probe_row("idle gateway", run["idle"]),
                _probe_row(f"while {run['clients']} clients send the documents back to back", load),
            ],
        )
        + f"\n\nMeanwhile the {run['clients']} clients had {load['answered']} answers in "
        f"{load['window_s']:.1f} s ({load['answered_per_s']:.0f} per s; p50 "
        f"{load['latency']['p50']:.1f} ms, max {load['latency'].get('max', math.nan):.1f} ms): "
        f"{under_load or 'none'}.{cpu}\n\n" + _hostile_verdict(run)
    )


def _several_workers(results: dict[str, Any]) -> str:
    """Scenario 7: ours as `serve --workers N` on every core beside ours on one core."""
    runs = results.get("workers") or []
    if not runs:
        return ""
    c = results["config"]
    latency, concurrency, workers = (
        int(c["workers_latency_ms"]),
        int(c["workers_concurrency"]),
        int(runs[0]["workers"]),
    )
    one = headline.loop_runs(results, "ours", latency, concurrency)
    phase = results["pinning"].get("affinity", {}).get(f"owners at {latency} ms", {})
    rows: list[Row] = []
    for label, group, cores in (
        ("ours, one process", one, phase.get("ours")),
        (f"ours, `--workers {workers}`", runs, runs[0].get("affinity")),
    ):
        errors = sum(r["errors"] for r in group)
        rows.append(
            (
                label,
                ", ".join(str(core) for core in cores or []) or "not pinned",
                spread(group, lambda r: r["rps"]),
                spread(group, lambda r: r["latency"]["p50"]),
                spread(group, lambda r: r["latency"]["p99"]),
                spread(group, lambda r: _share(r, "gateway"), 0),
                spread(group, lambda r: r["gateway_cpu_per_request_ms"], 2),
                spread(group, lambda r: _share(r, "loadgen"), 0),
                spread(group, lambda r: _share(r, "owners"), 0),
                spread(group, lambda r: _share(r, "others"), 0),
                f"{errors} of {sum(r['completed'] for r in group)}",
            )
        )
    each = ", ".join(
        spread([r["workers_cpu_pct"][k] for r in runs], float, 0)
        for k in range(len(runs[0]["workers_cpu_pct"]))
    )
    return (
        f"## 7. Several workers: `serve --workers {workers}`, owners at {latency} ms\n\n"
        f"Ours started as `ownergraph serve --demo-keys --workers {workers}` (uvicorn's "
        "supervisor and its worker processes sharing one listening socket; no metrics port, "
        "which workers cannot have), pinned to every core the benchmark uses, over the same "
        f"owners, in every repeat right after ours' one-process figures: the same closed "
        f"loop (concurrency {concurrency}, the same customers) after the same warm-ups, then "
        "stopped, so that nothing else is measured beside its workers. Its CPU is utime + "
        "stime summed over the supervisor and every process it started (`/proc`). The load "
        "generator and the owners run on one of those cores: with several workers they "
        "share it with the gateway.\n\n"
        + table(
            (
                "gateway",
                "cores",
                "requests/s",
                "p50",
                "p99",
                "gateway CPU %",
                "gateway CPU ms/request",
                "load generator CPU %",
                "owners CPU %",
                "other processes CPU %",
                "errors",
            ),
            rows,
        )
        + f"\n\nCPU of each worker, busiest first (% of one core): {each}."
    )


def _instructions(results: dict[str, Any]) -> str:
    """Scenario 8: instructions per caller screen, counted under callgrind."""
    counted = results.get("instructions")
    if not counted:
        return ""
    title = "## 8. Instructions per caller screen\n\n"
    if counted.get("per_request") is None:
        return title + f"Not counted: {counted.get('reason') or 'no figure'}."
    return (
        title + f"**{counted['per_request'] / 1e6:.2f} M instructions per request** of "
        f"`{counted['query']}`: `python -m bench.instructions`'s count, made before every "
        "other scenario on processes of its own (the demo owners at 0 ms, the gateway "
        "under `valgrind --tool=callgrind` with instrumentation switched on only around "
        f"the measured requests): {counted['requests']} requests at concurrency "
        f"{counted['concurrency']} after {counted['warmup']} warm-up, the total divided by "
        "the requests. It moves by 0.3 % from run to run, so one count per run suffices; "
        "instructions are not time (system calls, cache misses and waiting are not in "
        "them), but say how much work the gateway does per request."
    )


def _loop_notes(results: dict[str, Any], gateway: str) -> list[str]:
    """Throughput, saturation and errors of one gateway's closed-loop runs."""
    loops = headline.figures(results, gateway).get("closed_loop") or []
    if not loops:
        return []
    label = headline.LABELS[gateway]
    notes: list[str] = []
    best = max(loops, key=lambda r: r["rps"])
    groups: dict[tuple[int, int], list[dict[str, Any]]] = {}
    for run in loops:
        groups.setdefault((run["owner_latency_ms"], run["concurrency"]), []).append(run)
    saturated = sorted(
        key for key, group in groups.items() if median(group, lambda r: _share(r, "gateway")) >= 90
    )
    notes.append(
        f"{label}: highest throughput of a single run {best['rps']:.0f} requests/s (owners "
        f"at {best['owner_latency_ms']} ms, concurrency {best['concurrency']})."
    )
    if saturated:
        listed = ", ".join(f"owners {ms} ms / concurrency {c}" for ms, c in saturated)
        notes.append(
            f"{label}: the gateway process kept its core at least 90 % busy (median of the "
            f"runs) in: {listed} — there its own CPU time per request sets the throughput, "
            "not the owners."
        )
    total_errors = sum(r["errors"] for r in loops)
    total = sum(r["completed"] for r in loops)
    notes.append(f"{label}: errors under load: {total_errors} of {total} requests.")
    return notes


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _observations(results: dict[str, Any]) -> str:
    notes: list[str] = []
    screens = results["caller_screen"]
    if screens:
        gw = median(screens, lambda r: r["gateway"]["p50"])
        floor = median(screens, lambda r: r["floor"]["floor"]["p50"])
        overhead = median(screens, _overhead)
        notes.append(
            f"Caller screen at concurrency 1: the gateway's median p50 is {gw:.1f} ms against "
            f"a floor of {floor:.1f} ms, so it adds {overhead:.1f} ms "
            f"({100 * overhead / gw:.0f} % of what the agent waits)."
        )
    calls = results.get("call_comes_in") or []
    if calls:
        gw = median(calls, lambda r: r["gateway"]["p50"])
        floor = median(calls, lambda r: r["floor"]["floor"]["p50"])
        overhead = median(calls, _overhead)
        total = sum(r["gateway"]["n"] for r in calls)
        errors = sum(sum(r["errors"].values()) for r in calls)
        notes.append(
            f"The call comes in (lookup by phone, owners at "
            f"{results['config']['call_latency_ms']} ms): target {_call_target(results)}. The "
            f"median p50 is {gw:.1f} ms against a floor of {floor:.1f} ms, so the gateway "
            f"adds {overhead:.1f} ms ({100 * overhead / gw:.0f} % of what the agent waits); "
            f"errors: {errors} of {total} requests."
        )
    trips = results.get("round_trips") or []
    stalled: list[str] = []
    for name in trips[0] if trips else []:
        close = Spread.of([at(r, (name, "back_to_back", "p50")) or math.nan for r in trips])
        apart = Spread.of([at(r, (name, "spaced", "p50")) or math.nan for r in trips])
        if close.median > 10 and close.median > 5 * apart.median:
            stalled.append(f"`{name}` {close.median:.1f} ms vs {apart.median:.1f} ms")
    if stalled:
        notes.append(
            "A request sent on a keep-alive connection right after the previous answer is "
            "much slower than one sent after a pause (p50 back to back vs spaced: "
            + ", ".join(stalled)
            + "). Every call that reuses a connection used moments before pays that, so "
            "figures where owner connections are reused quickly (scenario 2's back-to-back "
            "queries, scenario 3) include it."
        )
    for gateway in headline.LABELS:
        notes += _loop_notes(results, gateway)
    everything = [
        run
        for gateway in headline.LABELS
        for run in headline.figures(results, gateway).get("closed_loop") or []
    ]
    others = median(everything, lambda r: _share(r, "others"))
    if not math.isnan(others) and others >= 20:
        notes.append(
            f"Processes outside the benchmark used a median {others:.0f} % of one core "
            "during the closed-loop windows (table above), on a machine with "
            f"{results['machine']['logical_cpus']} cores: the throughput and CPU figures "
            "are what the gateways got while sharing the machine, likely pessimistic, and "
            "the comparisons between gateways less certain than their spreads suggest."
        )
    busiest = max(everything, key=lambda r: _share(r, "gateway_core_others") or 0.0, default=None)
    if busiest is not None and (_share(busiest, "gateway_core_others") or 0.0) >= 10:
        notes.append(
            "The window where other processes took most of the gateway's core: "
            f"{_share(busiest, 'gateway_core_others'):.0f} % of it while "
            f"{headline.LABELS.get(busiest.get('gateway_name', 'ours'), 'ours')} was measured "
            f"(owners {busiest['owner_latency_ms']} ms, concurrency {busiest['concurrency']}, "
            f"repeat {busiest['repeat'] + 1}): that run's figures are pessimistic for it."
        )
    if not notes:
        return ""
    return "## Observations (computed from the figures above)\n\n" + "\n".join(
        f"- {note}" for note in notes
    )
