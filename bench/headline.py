"""The top of RESULTS.md: the targets, ours beside each peer, and what batching buys.

Nothing here measures. Every figure is min / median / max over the repeats, and every ratio
min / median / max of the per-repeat ratios: each repeat measures the gateways one after
the other over the same owners, so a repeat's figures are a pair.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .stats import Spread
from .tables import Row, table

# repeat -> the figure of that repeat (None where it was not measured)
Values = dict[int, float | None]
Get = Callable[[dict[str, Any]], float | None]

LABELS = {
    "ours": "ours",
    "peer": "peer (Hive Gateway)",
    "tailcall": "Tailcall",
    "naive": "naive (no batching)",
}
# How the report names a peer in a sentence.
PEER_NAMES = {"peer": "Hive Gateway", "tailcall": "Tailcall"}
# The plan's minimum for the caller screen and for customers(ids:) at any N (one request per
# owner entity and wave), when the results do not say.
PLAN_REQUESTS = 5


# --------------------------------------------------------------------------- reading figures


def figures(results: Mapping[str, Any], gateway: str) -> Mapping[str, Any]:
    """Where a gateway's scenarios are: ours at the top level, the others under their name."""
    if gateway == "ours":
        return results
    found = results.get(gateway)
    return found if isinstance(found, Mapping) else {}


def screen_values(results: Mapping[str, Any], gateway: str, get: Get) -> Values:
    runs = figures(results, gateway).get("caller_screen") or []
    return {repeat: get(run) for repeat, run in enumerate(runs)}


def size_values(results: Mapping[str, Any], gateway: str, size: int, get: Get) -> Values:
    out: Values = {}
    for repeat, rows in enumerate(figures(results, gateway).get("owner_requests") or []):
        for row in rows:
            if row["size"] == size:
                out[repeat] = get(row)
    return out


def loop_runs(
    results: Mapping[str, Any], gateway: str, latency_ms: int, concurrency: int
) -> list[dict[str, Any]]:
    return [
        run
        for run in figures(results, gateway).get("closed_loop") or []
        if run["owner_latency_ms"] == latency_ms and run["concurrency"] == concurrency
    ]


def loop_values(
    results: Mapping[str, Any], gateway: str, latency_ms: int, concurrency: int, get: Get
) -> Values:
    return {
        int(run.get("repeat", index)): get(run)
        for index, run in enumerate(loop_runs(results, gateway, latency_ms, concurrency))
    }


def total_requests(run: Mapping[str, Any]) -> float | None:
    per_system = run.get("requests_per_query")
    if not isinstance(per_system, Mapping) or not per_system:
        return None
    return float(sum(per_system.values()))


def _finite(values: Values) -> list[float]:
    return [float(v) for v in values.values() if v is not None and not math.isnan(v)]


def spread(values: Values) -> Spread:
    return Spread.of(_finite(values))


def show(values: Values, digits: int = 1) -> str:
    return spread(values).format(digits)


def ratios(mine: Values, theirs: Values) -> Values:
    """Per repeat measured on both sides, mine / theirs."""
    out: Values = {}
    for repeat in sorted(set(mine) & set(theirs)):
        a, b = mine[repeat], theirs[repeat]
        if a is None or b is None or math.isnan(a) or math.isnan(b) or b == 0:
            continue
        out[repeat] = a / b
    return out


# --------------------------------------------------------------------------- comparisons


@dataclass(frozen=True)
class Measure:
    """One figure of one scenario, read the same way for every gateway."""

    scenario: str
    figure: str
    values: Callable[[str], Values]
    digits: int = 1
    better: str = "lower"  # or "higher"


def _ahead(measure: Measure, mine: Values, theirs: Values, names: tuple[str, str]) -> str:
    """Which side the median ratio favours; within 2 % is even."""
    ratio = spread(ratios(mine, theirs)).median
    if math.isnan(ratio):
        return "n/a"
    if abs(ratio - 1) < 0.02:
        return "even"
    return names[0] if (ratio < 1) == (measure.better == "lower") else names[1]


def comparison(
    measures: Sequence[Measure],
    mine: str,
    theirs: str,
    *,
    headers: tuple[str, str] | None = None,
) -> str:
    """One row per measure: both gateways' figures, and their per-repeat ratio mine / theirs."""
    rows: list[Row] = []
    for measure in measures:
        a, b = measure.values(mine), measure.values(theirs)
        rows.append(
            (
                measure.scenario,
                measure.figure,
                show(a, measure.digits),
                show(b, measure.digits),
                spread(ratios(a, b)).format(2),
                _ahead(measure, a, b, (mine, theirs)),
            )
        )
    first, second = headers or (LABELS[mine], LABELS[theirs])
    return table(
        ("scenario", "figure", first, second, f"{mine} / {theirs}", "ahead (median)"), rows
    )


def _screen(results: Mapping[str, Any], figure: str, get: Get, **kw: Any) -> Measure:
    latency = results["config"]["owner_latency_ms"]
    return Measure(
        f"caller screen, c=1, owners {latency} ms",
        figure,
        lambda g: screen_values(results, g, get),
        **kw,
    )


def _loop(
    results: Mapping[str, Any], latency: int, concurrency: int, figure: str, get: Get, **kw: Any
) -> Measure:
    return Measure(
        f"closed loop c={concurrency}, owners {latency} ms",
        figure,
        lambda g: loop_values(results, g, latency, concurrency, get),
        **kw,
    )


def _size(results: Mapping[str, Any], size: int, figure: str, get: Get, **kw: Any) -> Measure:
    return Measure(
        f"customers(ids:) N={size}",
        figure,
        lambda g: size_values(results, g, size, get),
        **kw,
    )


def _p(q: str) -> Get:
    return lambda run: run["latency"][q]


def _gateway_p(q: str) -> Get:
    return lambda run: run["gateway"][q]


def _loop_keys(results: Mapping[str, Any]) -> list[tuple[int, int]]:
    c = results["config"]
    return [(ms, conc) for conc in c["loop_concurrency"] for ms in c["loop_latencies_ms"]]


# --------------------------------------------------------------------------- peer


def peer_status(results: Mapping[str, Any], gateway: str = "peer") -> tuple[bool, str]:
    """Whether a peer (Hive Gateway by default) was measured, and the reason when it was not."""
    peer = results.get(gateway) or {}
    reason = (peer.get("status") or {}).get("reason")
    measured = bool(peer.get("caller_screen") or peer.get("closed_loop"))
    if measured:
        return True, ""
    return False, str(reason or "no figures in this run")


def _same_data(results: Mapping[str, Any], gateway: str) -> str:
    check = (results.get("same_data") or {}).get(gateway)
    if not check:
        return "not checked in this run"
    checked = check["checked"]
    what = f"{len(checked)} answers compared: " + ", ".join(checked)
    if check["same"]:
        return f"**yes** ({what})"
    lines = [f"**no** ({what}); {check['difference_count']} difference(s)"]
    lines += [f"  - `{line}`" for line in check["differences"][:10]]
    lines += [f"  - error: `{line}`" for line in check["errors"][:5]]
    return "\n".join(lines)


def _owner_requests_per_answer(run: Mapping[str, Any]) -> float | None:
    per_system = run.get("owner_requests_per_answer")
    if not isinstance(per_system, Mapping) or not per_system:
        return None
    return float(sum(per_system.values()))


def _peer_tables(results: Mapping[str, Any], gateway: str) -> str:
    """The ratios ours / `gateway`: latency and throughput, owner requests, resources."""
    sizes = results["config"]["sizes"]
    latency: list[Measure] = [
        _screen(results, "p50 ms", _gateway_p("p50")),
        _screen(results, "p95 ms", _gateway_p("p95")),
        _screen(results, "p99 ms", _gateway_p("p99")),
        _screen(results, "p50 - floor p50 ms", lambda r: r["overhead_p50_ms"]),
    ]
    for ms, conc in _loop_keys(results):
        latency += [
            _loop(results, ms, conc, "requests/s", lambda r: r["rps"], better="higher"),
            _loop(results, ms, conc, "p50 ms", _p("p50")),
            _loop(results, ms, conc, "p99 ms", _p("p99")),
        ]
    requests: list[Measure] = [_screen(results, "owner requests/query", total_requests, digits=2)]
    for size in sizes:
        requests += [
            _size(results, size, "owner requests/query", total_requests, digits=2),
            _size(results, size, "latency p50 ms", _p("p50")),
        ]
    for ms, conc in _loop_keys(results):
        requests.append(
            _loop(results, ms, conc, "owner requests/answer", _owner_requests_per_answer, digits=2)
        )
    resources: list[Measure] = [
        _screen(
            results,
            "gateway CPU ms/request",
            lambda r: r["gateway_cpu_per_request_ms"],
            digits=2,
        )
    ]
    for ms, conc in _loop_keys(results):
        resources += [
            _loop(
                results,
                ms,
                conc,
                "gateway CPU ms/request",
                lambda r: r["gateway_cpu_per_request_ms"],
                digits=2,
            ),
            _loop(results, ms, conc, "peak RSS MiB", lambda r: r["gateway_peak_rss_mib"]),
        ]
    errors = _loop_errors(results, gateway)
    outsiders = ", ".join(
        f"{LABELS[name]} {share:.0f} %"
        for name in ("ours", gateway)
        if not math.isnan(share := _outsiders(results, name))
    )
    return (
        f"Ratios are ours / {gateway}, min / median / max of the per-repeat ratios; "
        '"ahead" says which side the median ratio favours (within 2 %: even).\n\n'
        "Latency and throughput:\n\n"
        + comparison(latency, "ours", gateway)
        + "\n\nOwner requests per query (counted by the owners, `/_stats`; in the closed "
        "loop, the owner requests made during the window per request answered in it):\n\n"
        + comparison(requests, "ours", gateway)
        + "\n\nResources (CPU: utime + stime of the gateway process over the measured part; "
        "peak RSS: VmHWM over each closed-loop window):\n\n"
        + comparison(resources, "ours", gateway)
        + (
            "\n\nWhat processes outside the benchmark took from the gateway's core during the "
            f"closed-loop windows (median over them, % of the core): {outsiders}. Much more "
            "on one side would bias the comparison against it."
            if outsiders
            else ""
        )
        + (f"\n\n{PEER_NAMES[gateway]} errors under load: {errors}." if errors else "")
    )


def _installed(status: Mapping[str, Any]) -> str:
    if status.get("installed_during_run"):
        return (
            f" node_modules was installed during this run (`npm ci`, "
            f"{status.get('install_s', 0):.0f} s, included in the run's time)."
        )
    return " node_modules was already installed (no `npm ci` during this run)."


def versus_peer(results: Mapping[str, Any]) -> str:
    measured, reason = peer_status(results)
    title = "## Ours beside the peer (Hive Gateway)\n\n"
    if not measured:
        return title + f"**Peer not measured: {reason}.**"
    status = results["peer"].get("status") or {}
    versions = status.get("versions") or {}
    hive = versions.get("@graphql-hive/gateway", "?")
    node = versions.get("node", "?")
    compose = versions.get("@graphql-mesh/compose-cli", "?")
    return (
        title
        + f"Hive Gateway {hive} on Node {node}, serving a supergraph Mesh Compose {compose}"
        + " builds from the same running owners' OpenAPI documents (bench/peer/), pinned to "
        "the same core as ours, one process, production mode. It answers the same queries "
        "(the owners' field names instead of ours: same fields, same arguments) over the "
        "same owners, and is measured by the same load generator jobs, interleaved with "
        "ours in every repeat. **It checks no authentication or roles and writes no "
        "audit** (ours checks the demo key and the agent's role on every field): this "
        "slightly favours the peer." + _installed(status) + "\n\n"
        f"Same data: {_same_data(results, 'peer')}\n\n" + _peer_tables(results, "peer")
    )


def versus_tailcall(results: Mapping[str, Any]) -> str:
    measured, reason = peer_status(results, "tailcall")
    title = "## Ours beside Tailcall\n\n"
    if not measured:
        return title + f"**Tailcall not measured: {reason}.**"
    status = results["tailcall"].get("status") or {}
    versions = status.get("versions") or {}
    version = versions.get("tailcall", "?")
    return (
        title + f"Tailcall {version} (`@tailcallhq/core-linux-x64-gnu`, its binary from npm), "
        "serving a configuration written from bench/tailcall/config.graphql.template with "
        "the same running owners' URLs, pinned to the same core as ours, one process with "
        "one worker thread, batching on (`@upstream(batch: {delay: 1, maxSize: 100})`). It "
        "answers the same queries (the owners' field names instead of ours, and the CRM's "
        "`erp_code` besides, which the CRM sends anyway) over the same owners, and is "
        "measured by the same load generator jobs, interleaved with ours and the Hive peer "
        "in every repeat. **It checks no authentication or roles, writes no audit and, by "
        "its default, validates no document** (ours checks the demo key and the agent's "
        "role on every field, and validates each document once per text): this favours "
        "Tailcall." + _installed(status) + "\n\n"
        f"Same data: {_same_data(results, 'tailcall')}\n\n"
        + _peer_tables(results, "tailcall")
        + _beside_hive(results)
    )


def _beside_hive(results: Mapping[str, Any]) -> str:
    """Tailcall / Hive Gateway on the main figures, when both were measured in the run."""
    if not peer_status(results, "peer")[0]:
        return ""
    measures: list[Measure] = [
        _screen(results, "p50 ms", _gateway_p("p50")),
        _screen(results, "p50 - floor p50 ms", lambda r: r["overhead_p50_ms"]),
        _screen(
            results, "gateway CPU ms/request", lambda r: r["gateway_cpu_per_request_ms"], digits=2
        ),
    ]
    for size in results["config"]["sizes"][-1:]:
        measures += [
            _size(results, size, "owner requests/query", total_requests, digits=2),
            _size(results, size, "latency p50 ms", _p("p50")),
        ]
    for ms, conc in _loop_keys(results):
        measures.append(_loop(results, ms, conc, "requests/s", lambda r: r["rps"], better="higher"))
    for ms, conc in _loop_keys(results)[-1:]:
        measures.append(
            _loop(results, ms, conc, "peak RSS MiB", lambda r: r["gateway_peak_rss_mib"])
        )
    return (
        "\n\nTailcall beside the other peer, Hive Gateway, measured in the same repeats "
        "(ratios tailcall / peer):\n\n" + comparison(measures, "tailcall", "peer")
    )


def _outsiders(results: Mapping[str, Any], gateway: str) -> float:
    """Median share of the gateway's core other processes used in its closed-loop windows."""
    shares = [
        100 * seconds / run["window_s"]
        for run in figures(results, gateway).get("closed_loop") or []
        if (seconds := run["cpu_s"].get("gateway_core_others")) is not None
    ]
    return Spread.of(shares).median


def _loop_errors(results: Mapping[str, Any], gateway: str) -> str:
    runs = figures(results, gateway).get("closed_loop") or []
    bad = [r for r in runs if r["errors"]]
    if not bad:
        return ""
    return "; ".join(
        f"owners {r['owner_latency_ms']} ms c={r['concurrency']} repeat {r['repeat'] + 1}: "
        f"{r['errors']} of {r['completed']}"
        for r in bad
    )


# --------------------------------------------------------------------------- batching


def batching(results: Mapping[str, Any]) -> str:
    title = "## What batching buys: ours beside the naive baseline\n\n"
    naive = figures(results, "naive")
    if not (naive.get("caller_screen") or naive.get("closed_loop")):
        return title + "**Naive baseline not measured in this run.**"
    c = results["config"]
    measures: list[Measure] = [
        _screen(results, "p50 ms", _gateway_p("p50")),
        _screen(results, "p95 ms", _gateway_p("p95")),
        _screen(results, "p50 - floor p50 ms", lambda r: r["overhead_p50_ms"]),
        _screen(results, "owner requests/query", total_requests, digits=2),
        _screen(
            results, "gateway CPU ms/request", lambda r: r["gateway_cpu_per_request_ms"], digits=2
        ),
    ]
    for size in c.get("naive_sizes", c["sizes"]):
        measures += [
            _size(results, size, "owner requests/query", total_requests, digits=2),
            _size(results, size, "latency p50 ms", _p("p50")),
            _size(
                results,
                size,
                "gateway CPU ms/query",
                lambda r: r["gateway_cpu_per_request_ms"],
                digits=1,
            ),
        ]
    for ms, conc in c.get("naive_loops", []):
        measures += [
            _loop(results, ms, conc, "requests/s", lambda r: r["rps"], better="higher"),
            _loop(results, ms, conc, "p50 ms", _p("p50")),
            _loop(results, ms, conc, "p99 ms", _p("p99")),
            _loop(
                results,
                ms,
                conc,
                "gateway CPU ms/request",
                lambda r: r["gateway_cpu_per_request_ms"],
                digits=2,
            ),
        ]
    notes = [
        "The naive baseline is the same gateway, schema and documents with "
        "`OWNERGRAPH_BATCHING=false`: every field makes its own owner call (no DataLoader "
        "batches, no prefetch of the second wave, no per-request memo), as resolvers that "
        "call the owner field by field would. It runs beside ours over the same owners, on "
        "the same core, interleaved with it in every repeat.",
    ]
    check = (results.get("same_data") or {}).get("naive")
    if check:
        notes.append(f"Same data as ours: {_same_data(results, 'naive')}")
    capped = _capped_sizes(results, "naive")
    if capped:
        notes.append(
            "Fewer queries where they are slow: each N gets "
            f"{c['size_queries']} queries or as many as fit in {c['size_max_s']:.0f} s "
            f"(at least {c['size_min_queries']}); the naive baseline ran {capped}."
        )
    return (
        title
        + "\n".join(f"- {note}" for note in notes)
        + "\n\nRatios are naive / ours (min / median / max of the per-repeat ratios): how "
        "many times the naive baseline's figure is ours.\n\n"
        + comparison(measures, "naive", "ours", headers=("naive (no batching)", "ours (batched)"))
        + _loop_errors_line(results)
    )


def _loop_errors_line(results: Mapping[str, Any]) -> str:
    errors = _loop_errors(results, "naive")
    return f"\n\nNaive baseline errors under load: {errors}." if errors else ""


def _capped_sizes(results: Mapping[str, Any], gateway: str) -> str:
    """Which sizes ran fewer queries than asked, and how many."""
    wanted = results["config"]["size_queries"]
    out: dict[int, list[int]] = {}
    for rows in figures(results, gateway).get("owner_requests") or []:
        for row in rows:
            queries = int(row.get("queries", row["latency"]["n"]))
            if queries < wanted:
                out.setdefault(row["size"], []).append(queries)
    return "; ".join(
        f"N={size} with {'/'.join(str(q) for q in queries)} queries per run"
        for size, queries in out.items()
    )


# --------------------------------------------------------------------------- targets


@dataclass(frozen=True)
class Target:
    name: str
    figure: str
    verdict: str


def _verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else ("**met**" if ok else "**not met**")


def _plan(results: Mapping[str, Any]) -> float:
    plan = results.get("plan_requests")
    return float(sum(plan.values())) if isinstance(plan, Mapping) else float(PLAN_REQUESTS)


def targets(results: Mapping[str, Any]) -> list[Target]:
    c = results["config"]
    out: list[Target] = []
    # 1. overhead over the floor at c=1
    limit = float(c.get("target_overhead_p50_ms", 3.0))
    overhead = screen_values(results, "ours", lambda r: r["overhead_p50_ms"])
    if overhead:
        within = sum(1 for v in _finite(overhead) if v <= limit)
        med = spread(overhead).median
        out.append(
            Target(
                f"Caller screen, c=1, owners {c['owner_latency_ms']} ms: p50 overhead over "
                f"the floor ≤ {limit:g} ms",
                f"{show(overhead)} ms ({within} of {len(overhead)} runs within)",
                _verdict(med <= limit),
            )
        )
    # 2. owner requests per query = the plan's minimum
    plan = _plan(results)
    screen = screen_values(results, "ours", total_requests)
    if _finite(screen):
        out.append(
            Target(
                f"Caller screen: owner requests per query = the plan's minimum ({plan:g})",
                f"{show(screen, 2)}",
                _verdict(all(abs(v - plan) < 1e-9 for v in _finite(screen))),
            )
        )
    by_size = {size: size_values(results, "ours", size, total_requests) for size in c["sizes"]}
    found = [v for values in by_size.values() for v in _finite(values)]
    if found:
        listed = ", ".join(f"N={size}: {show(values, 2)}" for size, values in by_size.items())
        out.append(
            Target(
                f"customers(ids:): owner requests per query constant in N (= the plan's {plan:g})",
                listed,
                _verdict(all(abs(v - plan) < 1e-9 for v in found)),
            )
        )
    # 3. at c=50: requests/s >= the peer's, p99 <= the peer's
    conc = int(c.get("target_concurrency", 50))
    measured, reason = peer_status(results)
    for ms in c["loop_latencies_ms"]:
        for figure, get, higher in (
            ("requests/s ≥ the peer's", lambda r: r["rps"], True),
            ("p99 ≤ the peer's", lambda r: r["latency"]["p99"], False),
        ):
            name = f"Closed loop c={conc}, owners {ms} ms, same core: {figure}"
            if not measured:
                out.append(Target(name, f"peer not measured: {reason}", "n/a"))
                continue
            mine = loop_values(results, "ours", ms, conc, get)
            theirs = loop_values(results, "peer", ms, conc, get)
            paired = ratios(mine, theirs)
            ratio = spread(paired).median
            ok = None if math.isnan(ratio) else (ratio >= 1 if higher else ratio <= 1)
            good = sum(1 for v in _finite(paired) if (v >= 1 if higher else v <= 1))
            out.append(
                Target(
                    name,
                    f"ours {show(mine)}, peer {show(theirs)}; ours / peer "
                    f"{spread(paired).format(2)} ({good} of {len(paired)} repeats met)",
                    _verdict(ok),
                )
            )
    return out


def targets_table(results: Mapping[str, Any]) -> str:
    found = targets(results)
    if not found:
        return ""
    return (
        "## Earlier targets (issue #7)\n\n"
        "The targets of the issue before #14, kept to follow them. Computed from the "
        "figures below (min / median / max over the repeats). The "
        "overhead is judged on the median of the repeats; owner requests on every run; a "
        "comparison with the peer on the median of the per-repeat ratios ours / peer (each "
        "repeat measures both over the same owners, minutes apart), which a shared machine "
        "disturbs less than the two medians taken apart.\n\n"
        + table(("target", "figures", "verdict"), ((t.name, t.figure, t.verdict) for t in found))
    )
