"""Where a peer's figures differ from ours, and the figures of the same runs that account for it.

Nothing here measures, and nothing is said that the results do not hold: each line puts a
gap (latency, throughput, owner requests, memory) beside what was measured in the same runs
that explains it — owner requests by route, CPU time per request, how busy each core was,
resident memory before the first request. Every figure is the median over the repeats;
ratios are medians of the per-repeat ratios, as in the tables above.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from .headline import (
    LABELS,
    PEER_NAMES,
    Values,
    figures,
    loop_values,
    peer_status,
    ratios,
    screen_values,
    size_values,
    spread,
    total_requests,
)
from .procs import SYSTEMS, TICK_MS
from .tables import Row, table

# A core this busy (% of it, median of the runs) is what limits the process on it.
BUSY_PCT = 90.0


def _median(values: Values) -> float:
    return spread(values).median


def _ratio(mine: Values, theirs: Values) -> float:
    return spread(ratios(mine, theirs)).median


def _routes(per_route: Mapping[str, float]) -> str:
    return ", ".join(f"`{route}` {count:g}" for route, count in sorted(per_route.items())) or "-"


# query -> system -> route -> requests per query
Routes = dict[str, dict[str, dict[str, float]]]


def _first_routes(results: Mapping[str, Any], gateway: str) -> Routes:
    """Per query (caller screen, N=...), the first run's owner requests per system and route."""
    out: Routes = {}
    screens = figures(results, gateway).get("caller_screen") or []
    if screens:
        out["caller screen"] = screens[0].get("routes_per_query") or {}
    repeats = figures(results, gateway).get("owner_requests") or []
    for row in repeats[0] if repeats else []:
        out[f"customers(ids:) N={row['size']}"] = row.get("routes_per_query") or {}
    return out


def batching(results: Mapping[str, Any], gateway: str) -> str:
    """Owner requests by route, ours beside the peer's, and which of its calls it batched."""
    mine, theirs = _first_routes(results, "ours"), _first_routes(results, gateway)
    rows: list[Row] = []
    for query in theirs:
        for who, found in (("ours", mine), (gateway, theirs)):
            if query not in found:
                continue
            routes = found[query]
            total = sum(sum(r.values()) for r in routes.values())
            rows.append(
                (
                    query,
                    LABELS[who],
                    *(_routes(routes.get(name, {})) for name in SYSTEMS),
                    f"{total:g}",
                )
            )
    if not rows:
        return ""
    name = PEER_NAMES[gateway]
    return (
        f"### What {name} batched here\n\n"
        "Owner requests per query by route (the owners' own counts, first run):\n\n"
        + table(("query", "gateway", *SYSTEMS, "total"), rows)
        + _batched_verdict(results, gateway)
    )


def _batched_verdict(results: Mapping[str, Any], gateway: str) -> str:
    """Which routes the peer called once for all customers, and which once per customer."""
    repeats = figures(results, gateway).get("owner_requests") or []
    if not repeats or not repeats[0]:
        return ""
    largest = max(repeats[0], key=lambda row: row["size"])
    size = int(largest["size"])
    if size < 2:
        return ""
    once: list[str] = []
    each: list[str] = []
    other: list[str] = []
    for system, routes in (largest.get("routes_per_query") or {}).items():
        for route, count in sorted(routes.items()):
            label = f"{system} `{route}`"
            if count <= 1 + 1e-9:
                once.append(label)
            elif count >= 0.9 * size:
                each.append(f"{label} ({count:g})")
            else:
                other.append(f"{label} ({count:g})")
    parts = []
    if once:
        parts.append(f"once for all {size} customers on {', '.join(once)}")
    if each:
        parts.append(f"once per customer on {', '.join(each)}")
    if other:
        parts.append(f"otherwise on {', '.join(other)}")
    return f"\n\nAt N={size}, {PEER_NAMES[gateway]} called " + "; ".join(parts) + "."


# --------------------------------------------------------------------------- the gaps


def _screen_line(results: Mapping[str, Any], gateway: str) -> str | None:
    name = PEER_NAMES[gateway]

    def both(get: Any) -> tuple[float, float]:
        return (
            _median(screen_values(results, "ours", get)),
            _median(screen_values(results, gateway, get)),
        )

    p50 = both(lambda r: r["gateway"]["p50"])
    if any(math.isnan(v) for v in p50):
        return None
    floor = both(lambda r: r["floor"]["floor"]["p50"])
    over = both(lambda r: r["overhead_p50_ms"])
    cpu = both(lambda r: r["gateway_cpu_per_request_ms"])
    requests = both(total_requests)
    cpu_ratio = _ratio(
        screen_values(results, "ours", lambda r: r["gateway_cpu_per_request_ms"]),
        screen_values(results, gateway, lambda r: r["gateway_cpu_per_request_ms"]),
    )
    screens = figures(results, gateway).get("caller_screen") or []
    counted = int(screens[0]["gateway"]["n"]) if screens else 0
    resolution = (
        f" (CPU read from /proc in {TICK_MS:.0f} ms ticks over {counted} requests per run: "
        f"to {TICK_MS / counted:.2f} ms per request)"
        if counted
        else ""
    )
    line = (
        f"**Caller screen, concurrency 1.** Ours made {requests[0]:g} owner requests per "
        f"query and {name} {requests[1]:g}, in two waves each (the floors: {floor[0]:.1f} "
        f"and {floor[1]:.1f} ms). Ours answered in p50 {p50[0]:.1f} ms, {over[0]:.1f} ms "
        f"over its floor; {name} in {p50[1]:.1f} ms, {over[1]:.1f} ms over. That "
        f"difference, {over[0] - over[1]:.1f} ms, is the gateways' own work on the path of "
        f"a request: ours spent {cpu[0]:.2f} ms of CPU per caller screen, {name} "
        f"{cpu[1]:.2f} ms (ours / {gateway} {cpu_ratio:.1f}){resolution}."
    )
    if cpu[0] > over[0]:
        line += (
            f" Ours' CPU time is more than its overhead: {cpu[0] - over[0]:.1f} ms of it "
            "ran while the owners' replies were awaited."
        )
    return line


def _owners_cpu_ms(row: Mapping[str, Any]) -> float | None:
    seconds = ((row.get("cpu") or {}).get("cpu_s") or {}).get("owners")
    queries = row.get("queries") or 0
    return None if seconds is None or not queries else 1000 * seconds / queries


def _size_lines(results: Mapping[str, Any], gateway: str) -> list[str]:
    name = PEER_NAMES[gateway]
    lines: list[str] = []
    for size in results["config"]["sizes"]:

        def both(get: Any, size: int = size) -> tuple[float, float]:
            return (
                _median(size_values(results, "ours", size, get)),
                _median(size_values(results, gateway, size, get)),
            )

        latency = both(lambda r: r["latency"]["p50"])
        if any(math.isnan(v) for v in latency):
            continue
        requests = both(total_requests)
        owners = both(_owners_cpu_ms)
        own = both(lambda r: r["gateway_cpu_per_request_ms"])
        lines.append(
            f"**customers(ids:) N={size}.** Ours answered in p50 {latency[0]:.1f} ms with "
            f"{requests[0]:g} owner requests per query, {name} in {latency[1]:.1f} ms with "
            f"{requests[1]:g}. Per query the owners spent {owners[0]:.1f} ms of CPU under "
            f"ours and {owners[1]:.1f} ms under {name}; the gateway itself {own[0]:.1f} and "
            f"{own[1]:.1f} ms."
        )
    return lines


def core_share(run: Mapping[str, Any], name: str) -> float | None:
    """The CPU `name` used over a closed-loop window, in % of one core."""
    seconds = run["cpu_s"].get(name)
    return None if seconds is None else 100 * seconds / run["window_s"]


def _other_core(run: Mapping[str, Any]) -> float | None:
    """% of the other core the owners and the load generator (both pinned there) used."""
    owners, loadgen = core_share(run, "owners"), core_share(run, "loadgen")
    return None if owners is None or loadgen is None else owners + loadgen


def _per_answer_ms(run: Mapping[str, Any], name: str) -> float | None:
    seconds = run["cpu_s"].get(name)
    return None if seconds is None or not run["completed"] else 1000 * seconds / run["completed"]


def _owner_requests(run: Mapping[str, Any]) -> float | None:
    found = run.get("owner_requests_per_answer")
    return float(sum(found.values())) if found else None


def _bound(cpu_pct: float, cpu_ms: float, rps: float) -> str:
    if cpu_pct < BUSY_PCT or not cpu_ms:
        return ""
    return (
        f" (its core full: 1000 / {cpu_ms:.2f} = {1000 / cpu_ms:.0f} requests/s at most, "
        f"{rps:.0f} measured)"
    )


def _loop_line(results: Mapping[str, Any], gateway: str, latency: int, conc: int) -> str | None:
    name = PEER_NAMES[gateway]

    def both(get: Any) -> tuple[float, float]:
        return (
            _median(loop_values(results, "ours", latency, conc, get)),
            _median(loop_values(results, gateway, latency, conc, get)),
        )

    rps = both(lambda r: r["rps"])
    if any(math.isnan(v) for v in rps):
        return None
    ratio = _ratio(
        loop_values(results, "ours", latency, conc, lambda r: r["rps"]),
        loop_values(results, gateway, latency, conc, lambda r: r["rps"]),
    )
    core = both(lambda r: core_share(r, "gateway"))
    cpu = both(lambda r: r["gateway_cpu_per_request_ms"])
    other = both(_other_core)
    owners_ms = both(lambda r: _per_answer_ms(r, "owners"))
    asked = both(_owner_requests)
    by_system = ", ".join(
        f"{system} {'/'.join(f'{v:.2f}' for v in both(_system_requests(system)))}"
        for system in SYSTEMS
    )
    p50 = both(lambda r: r["latency"]["p50"])
    single = (
        _median(screen_values(results, "ours", lambda r: r["gateway"]["p50"])),
        _median(screen_values(results, gateway, lambda r: r["gateway"]["p50"])),
    )
    line = (
        f"**Closed loop, owners {latency} ms, concurrency {conc}.** Ours served "
        f"{rps[0]:.0f} requests/s and {name} {rps[1]:.0f} (ours / {gateway} {ratio:.2f}). "
        f"Ours kept its core {core[0]:.0f} % busy at {cpu[0]:.2f} ms of CPU per request"
        f"{_bound(core[0], cpu[0], rps[0])}; {name} {core[1]:.0f} % at {cpu[1]:.2f} ms"
        f"{_bound(core[1], cpu[1], rps[1])}. The owners and the load generator, pinned to "
        f"the other core, kept it {other[0]:.0f} % busy under ours and {other[1]:.0f} % "
        f"under {name}; the owners spent {owners_ms[0]:.2f} and {owners_ms[1]:.2f} ms of "
        f"CPU per answer, for {asked[0]:.2f} and {asked[1]:.2f} owner requests per answer "
        f"(ours / {name}: {by_system})."
    )
    for index, who in enumerate(("Ours", name)):
        if core[index] >= BUSY_PCT:
            continue
        if other[index] >= BUSY_PCT - 10:
            line += (
                f" {who}: its own core was not full; what held its throughput was the "
                "other core, where the owners and the load generator ran: this machine's "
                "limit, not the gateway's."
            )
        elif p50[index] > 0:
            line += (
                f" {who}: neither core was full, so no CPU set its throughput: with {conc} "
                f"clients each waiting for its answer, it is {conc} over the latency "
                f"({conc} / {p50[index]:.1f} ms = {1000 * conc / p50[index]:.0f}/s)"
            )
            alone = single[index]
            added = p50[index] - alone
            if latency == results["config"]["owner_latency_ms"] and not math.isnan(alone):
                line += (
                    f"; its p50 was {added:.1f} ms over its p50 one request at a time "
                    f"({alone:.1f} ms): time spent waiting, on the owners or in the gateway, "
                    "that these figures do not split"
                    if added > 1.0
                    else f"; its p50 was about its p50 one request at a time ({alone:.1f} ms)"
                )
            line += "."
    if core[0] >= BUSY_PCT and core[1] >= BUSY_PCT and cpu[0]:
        line += (
            " Both gateways kept their core full: the throughput ratio is about the inverse "
            f"of their CPU per request ({cpu[1] / cpu[0]:.2f})."
        )
    return line


def _system_requests(system: str) -> Any:
    def get(run: Mapping[str, Any]) -> float | None:
        found = run.get("owner_requests_per_answer") or {}
        value = found.get(system)
        return None if value is None else float(value)

    return get


def started_rss(results: Mapping[str, Any], gateway: str) -> float:
    """Median resident memory (MiB) of `gateway` once started, before its first request."""
    values = [
        float(mib)
        for phase in (results.get("started_rss_mib") or {}).values()
        if isinstance(mib := phase.get(gateway), int | float)
    ]
    return spread(dict(enumerate(values))).median


def _memory_line(results: Mapping[str, Any], gateway: str) -> str | None:
    name = PEER_NAMES[gateway]
    peaks = [
        spread(
            {
                i: run["gateway_peak_rss_mib"]
                for i, run in enumerate(figures(results, who).get("closed_loop") or [])
            }
        ).median
        for who in ("ours", gateway)
    ]
    started = [started_rss(results, who) for who in ("ours", gateway)]
    if any(math.isnan(v) for v in peaks):
        return None
    line = (
        f"**Memory.** Peak RSS over the closed-loop windows (median): ours {peaks[0]:.0f} MiB, "
        f"{name} {peaks[1]:.0f} MiB."
    )
    if not any(math.isnan(v) for v in started):
        line += (
            f" Right after start-up, before the first request, ours already held "
            f"{started[0]:.0f} MiB and {name} {started[1]:.0f} MiB"
        )
        if peaks[0] - peaks[1] > 0 and started[0] - started[1] >= 0.7 * (peaks[0] - peaks[1]):
            line += (
                ": most of the gap is what each process is before it serves (an "
                "interpreter with its libraries against one binary), not what requests add."
            )
        else:
            line += "."
    return line


def explained(results: Mapping[str, Any], gateway: str) -> str:
    """One paragraph per scenario: the gap, and the measured figures that account for it."""
    lines = [_screen_line(results, gateway), *_size_lines(results, gateway)]
    c = results["config"]
    for conc in c["loop_concurrency"]:
        for latency in c["loop_latencies_ms"]:
            lines.append(_loop_line(results, gateway, latency, conc))
    lines.append(_memory_line(results, gateway))
    found = [line for line in lines if line]
    if not found:
        return ""
    return (
        f"### Where the differences with {PEER_NAMES[gateway]} come from\n\n"
        "Computed from the runs above (medians over the repeats): each gap beside what was "
        "measured with it.\n\n" + "\n".join(f"- {line}" for line in found)
    )


def section(results: Mapping[str, Any], gateway: str) -> str:
    """The peer's batching by route and its gaps explained, when it was measured."""
    measured, _ = peer_status(results, gateway)
    if not measured:
        return ""
    parts = (batching(results, gateway), explained(results, gateway))
    return "\n\n".join(part for part in parts if part)
