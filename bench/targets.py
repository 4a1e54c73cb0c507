"""The top of RESULTS.md: the targets of issue #14, each judged on the median of the repeats.

Nothing here measures. Every figure is min / median / max over the repeats (for a ratio,
of the per-repeat ratios: each repeat measures both sides over the same owners, minutes
apart); the verdict reads the median alone. The instruction count is one count per run.
Where a target is not met, a note under the table puts beside it what was measured with it
that accounts for the gap: CPU time, how busy each core was, the floor, memory at start-up.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .gaps import core_share, started_rss
from .headline import (
    Values,
    figures,
    loop_runs,
    loop_values,
    peer_status,
    ratios,
    screen_values,
    show,
    size_values,
    spread,
    total_requests,
)
from .procs import TICK_MS
from .tables import table

# The closed loop the issue's throughput rows are about, and its customers(ids:) size.
LOAD_MS = 0
LOAD_CONCURRENCY = 50
SIZE = 100
# A row whose runs had more failed requests than this share is not judged: failures answer
# fast, and would pass for throughput.
MAX_FAILED_SHARE = 0.01
# A core busy this much (% of one core, median of the windows) is taken as full.
FULL_CORE_PCT = 95.0


@dataclass(frozen=True)
class Goal:
    """One row of the issue's table: the figure must be at most (or at least) `limit`."""

    measure: str
    target: str
    limit: float
    higher: bool  # True: at least `limit`; False: at most
    before: str  # the figure when the issue was opened (measured then, not by this run)
    # Whether its note is shown even when the target is met (how the figure was measured).
    always_note: bool = False


@dataclass(frozen=True)
class Row:
    """A goal with this run's figures: what is shown, the median judged, and the note."""

    goal: Goal
    shown: str
    median: float  # NaN when not measured
    note: str = ""  # why a target is not met, or how the figure was measured
    failed: tuple[int, int] = (0, 0)  # requests that failed, of those measured for it


def met(median: float, limit: float, higher: bool) -> bool | None:
    """Whether the median meets the limit; None when there is no median."""
    if math.isnan(median):
        return None
    return median >= limit if higher else median <= limit


def judged(row: Row) -> bool:
    """Whether the row's runs failed few enough requests for their figures to be judged."""
    failed, requests = row.failed
    return not failed or failed <= MAX_FAILED_SHARE * requests


def verdict(row: Row, number: int) -> str:
    """The verdict cell: met, not met (pointing at the row's note), or n/a."""
    failed, requests = row.failed
    if not judged(row):
        return f"**not judged**: {failed} of {requests} requests failed"
    ok = met(row.median, row.goal.limit, row.goal.higher)
    if ok is None:
        return "n/a"
    if ok:
        return "**met**"
    return "**not met**" + (f" (see note {number})" if row.note else "")


# --------------------------------------------------------------------------- reading figures


def _median(values: Values) -> float:
    return spread(values).median


def _over(a: float, b: float) -> float:
    """a / b, or NaN where b is zero or not a number (a figure missing from the results)."""
    return math.nan if math.isnan(b) or b == 0 else a / b


def _at(run: Mapping[str, Any], *path: str) -> float | None:
    value: Any = run
    for step in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(step)
    return None if value is None else float(value)


def _shares(runs: Sequence[Mapping[str, Any]], name: str) -> float:
    """Median over closed-loop windows of the CPU `name` used, % of one core."""
    return _median({i: core_share(run, name) for i, run in enumerate(runs)})


def _cpu(run: Mapping[str, Any]) -> float | None:
    return _at(run, "gateway_cpu_per_request_ms")


def _over_floor(row: Mapping[str, Any]) -> float | None:
    floor = _at(row, "floor", "floor", "p50")
    return None if floor is None else float(row["latency"]["p50"]) - floor


Failed = tuple[int, int]


def _failed(*parts: Failed) -> Failed:
    return sum(part[0] for part in parts), sum(part[1] for part in parts)


def _loops_failed(runs: Sequence[Mapping[str, Any]]) -> Failed:
    return _failed(*((int(run["errors"]), int(run["completed"])) for run in runs))


def _screens_failed(results: Mapping[str, Any], gateway: str) -> Failed:
    return _failed(
        *(
            (sum(run["errors"].values()), int(run["gateway"]["n"]))
            for run in figures(results, gateway).get("caller_screen") or []
        )
    )


def _sizes_failed(results: Mapping[str, Any], gateway: str, size: int) -> Failed:
    return _failed(
        *(
            (sum(row["errors"].values()), int(row["latency"]["n"]))
            for rows in figures(results, gateway).get("owner_requests") or []
            for row in rows
            if row["size"] == size
        )
    )


def _issue_loops_failed(results: Mapping[str, Any], *gateways: str) -> Failed:
    return _failed(
        *(
            _loops_failed(loop_runs(results, gateway, LOAD_MS, LOAD_CONCURRENCY))
            for gateway in gateways
        )
    )


def _ratio_shown(ratio: Values, parts: str) -> str:
    return f"{spread(ratio).format(2)} ({parts})"


def _unmeasured(goal: Goal, why: str) -> Row:
    return Row(goal, f"not measured ({why})", math.nan)


# --------------------------------------------------------------------------- the rows


def _screen_overhead(results: Mapping[str, Any], goal: Goal) -> Row:
    over = screen_values(results, "ours", lambda r: r["overhead_p50_ms"])
    if not spread(over).runs:
        return _unmeasured(goal, "no caller screen in this run")
    p50 = _median(screen_values(results, "ours", lambda r: r["gateway"]["p50"]))
    floor = _median(screen_values(results, "ours", lambda r: r["floor"]["floor"]["p50"]))
    cpu = _median(screen_values(results, "ours", _cpu))
    median = _median(over)
    note = (
        f"ours answered in p50 {p50:.1f} ms against a floor of {floor:.1f} ms (section 1), "
        f"{median:.1f} ms over it, {median - goal.limit:.1f} ms more than the target; over "
        f"the same requests it used {cpu:.2f} ms of CPU per caller screen (utime + stime)"
    )
    if cpu >= median - goal.limit:
        note += (
            ", more than the gap: the gap is the gateway's own work on the path of a "
            "request (row 2 counts it in instructions), not waiting on the owners."
        )
    else:
        note += (
            ", less than the gap: most of it is waiting (on connections, the event loop), "
            "not the gateway's CPU."
        )
    return Row(goal, f"{show(over)} ms", median, note, _screens_failed(results, "ours"))


def _instructions(results: Mapping[str, Any], goal: Goal) -> Row:
    counted = results.get("instructions")
    if not isinstance(counted, Mapping):
        return _unmeasured(goal, "not counted in this run")
    per_request = counted.get("per_request")
    if per_request is None:
        return _unmeasured(goal, str(counted.get("reason") or "no count"))
    value = float(per_request)
    shown = (
        f"{value / 1e6:.2f} M (one count: {counted['requests']} requests after "
        f"{counted['warmup']} warm-up)"
    )
    cpu = _median(screen_values(results, "ours", _cpu))
    note = (
        f"{value / 1e6:.2f} M instructions per caller screen is {value / goal.limit:.2f} times the "
        "target: the gateway's own work per request, which is also its CPU time per caller "
        + (f"screen in section 1 ({cpu:.2f} ms)." if not math.isnan(cpu) else "screen.")
    )
    return Row(goal, shown, value, note)


def _versus_peer(
    results: Mapping[str, Any], goal: Goal, get: Callable[[Mapping[str, Any]], float | None]
) -> tuple[Values, Values] | Row:
    """Ours' and Hive Gateway's figures in the issue's closed loop, or the unmeasured row."""
    measured, reason = peer_status(results, "peer")
    if not measured:
        return _unmeasured(goal, f"Hive Gateway: {reason}")
    mine = loop_values(results, "ours", LOAD_MS, LOAD_CONCURRENCY, get)
    theirs = loop_values(results, "peer", LOAD_MS, LOAD_CONCURRENCY, get)
    if not spread(ratios(mine, theirs)).runs:
        return _unmeasured(goal, f"no closed loop c={LOAD_CONCURRENCY}, owners {LOAD_MS} ms")
    return mine, theirs


def _loop_cpu(results: Mapping[str, Any], gateway: str) -> tuple[float, float]:
    """Median % of its core busy and CPU ms per request of `gateway` in the issue's loop."""
    runs = loop_runs(results, gateway, LOAD_MS, LOAD_CONCURRENCY)
    return _shares(runs, "gateway"), _median(dict(enumerate(_cpu(run) for run in runs)))


def _peer_rps(results: Mapping[str, Any], goal: Goal) -> Row:
    found = _versus_peer(results, goal, lambda r: r["rps"])
    if isinstance(found, Row):
        return found
    mine, theirs = found
    ratio = ratios(mine, theirs)
    shown = _ratio_shown(ratio, f"ours {show(mine)} requests/s, Hive Gateway {show(theirs)}")
    (busy, cpu), (peer_busy, peer_cpu) = _loop_cpu(results, "ours"), _loop_cpu(results, "peer")
    runs = loop_runs(results, "ours", LOAD_MS, LOAD_CONCURRENCY)
    owners, loadgen = _per_answer(runs, "owners"), _per_answer(runs, "loadgen")
    other = _shares(runs, "owners") + _shares(runs, "loadgen")
    # The answers/s each core allows at these costs, against what the target needs.
    own, beside = _over(1000, cpu), _over(1000, owners + loadgen)
    needed = goal.limit * _median(theirs)
    note = (
        f"ours kept its core {busy:.0f} % busy (median of the windows, section 3) at "
        f"{cpu:.2f} ms of CPU per request, Hive Gateway {peer_busy:.0f} % at "
        f"{peer_cpu:.2f} ms; under ours the other core, where the owners "
        f"({owners:.2f} ms of CPU per answer) and the load generator ({loadgen:.2f} ms) run, "
        f"was {other:.0f} % busy. At these costs ours' core allows at most {own:.0f} "
        f"answers/s and the other core {beside:.0f}; {goal.limit:g} times Hive Gateway's "
        f"{_median(theirs):.0f} is {needed:.0f}/s"
    )
    if own < needed and beside < needed:
        note += (
            f", beyond both: it needs ours at {_over(1000, needed):.2f} ms of CPU per request, "
            "and the owners and the load generator cheaper or on a core of their own."
        )
    elif own < needed:
        note += f", beyond ours' core: it needs ours at {_over(1000, needed):.2f} ms per request."
    elif beside < needed:
        note += (
            ", beyond the other core: on this machine the owners and the load generator, "
            "not ours, hold the throughput there."
        )
    elif other >= FULL_CORE_PCT:
        note += (
            f", just within the other core's {beside:.0f}/s, which was full: the owners and "
            f"the load generator, not ours ({100 - busy:.0f} % of its core idle), hold the "
            "throughput there."
        )
    else:
        note += f": both cores allow it; the gap is waiting, not CPU ({busy:.0f} % busy)."
    return Row(goal, shown, _median(ratio), note, _issue_loops_failed(results, "ours", "peer"))


def _peer_p99(results: Mapping[str, Any], goal: Goal) -> Row:
    found = _versus_peer(results, goal, lambda r: r["latency"]["p99"])
    if isinstance(found, Row):
        return found
    mine, theirs = found
    ratio = ratios(mine, theirs)
    shown = _ratio_shown(ratio, f"ours {show(mine)} ms, Hive Gateway {show(theirs)}")
    parts = []
    for gateway, label in (("ours", "ours"), ("peer", "Hive Gateway")):
        rps = _median(loop_values(results, gateway, LOAD_MS, LOAD_CONCURRENCY, lambda r: r["rps"]))
        p50 = _median(
            loop_values(results, gateway, LOAD_MS, LOAD_CONCURRENCY, lambda r: r["latency"]["p50"])
        )
        p99 = _median(
            loop_values(results, gateway, LOAD_MS, LOAD_CONCURRENCY, lambda r: r["latency"]["p99"])
        )
        parts.append(
            f"{label} {_over(1000 * LOAD_CONCURRENCY, rps):.0f} ms (p50 {p50:.0f} ms, p99 / p50 "
            f"{_over(p99, p50):.2f})"
        )
    note = (
        f"in a closed loop of {LOAD_CONCURRENCY} every request waits behind the others in "
        f"flight, so latency is {LOAD_CONCURRENCY} / requests/s: " + ", ".join(parts) + ". "
        "The p99 ratio follows the throughput ratio (row 3 and its note) and the tail's "
        "shape (p99 / p50)."
    )
    return Row(goal, shown, _median(ratio), note, _issue_loops_failed(results, "ours", "peer"))


def _size_overhead(results: Mapping[str, Any], goal: Goal) -> Row:
    over = size_values(results, "ours", SIZE, _over_floor)
    if not spread(over).runs:
        return _unmeasured(goal, f"no customers(ids:) N={SIZE} in this run")
    p50 = size_values(results, "ours", SIZE, lambda r: r["latency"]["p50"])
    floor = size_values(results, "ours", SIZE, lambda r: _at(r, "floor", "floor", "p50"))
    shown = f"{show(over)} ms (p50 {show(p50)} ms, floor {show(floor)} ms)"
    smallest = min(results["config"]["sizes"])
    cpu = _median(size_values(results, "ours", SIZE, _cpu))
    cpu_small = _median(size_values(results, "ours", smallest, _cpu))
    requests = _median(size_values(results, "ours", SIZE, total_requests))
    note = (
        f"the gateway used {cpu:.1f} ms of CPU per query at N={SIZE}, against "
        f"{cpu_small:.1f} ms at N={smallest} (section 2), for {requests:g} owner requests "
        "per query: the gap is its own work per customer and field it shapes, not owner "
        "requests."
    )
    return Row(goal, shown, _median(over), note, _sizes_failed(results, "ours", SIZE))


def _workers(results: Mapping[str, Any], goal: Goal) -> Row:
    runs: list[Mapping[str, Any]] = results.get("workers") or []
    if not runs:
        return _unmeasured(goal, "no run of it: it needs ours' closed loop")
    c = results["config"]
    latency, conc = (
        int(c.get("workers_latency_ms", LOAD_MS)),
        int(c.get("workers_concurrency", LOAD_CONCURRENCY)),
    )
    one_runs = loop_runs(results, "ours", latency, conc)
    several = {int(run["repeat"]): float(run["rps"]) for run in runs}
    one = loop_values(results, "ours", latency, conc, lambda r: r["rps"])
    ratio = ratios(dict(several), one)
    workers = int(runs[0]["workers"])
    shown = _ratio_shown(
        ratio, f"{workers} workers {show(dict(several))} requests/s, one worker {show(one)}"
    )
    note = _cores_note(runs, one_runs, _median(ratio), goal)
    failed = _failed(_loops_failed(runs), _loops_failed(one_runs))
    return Row(goal, shown, _median(ratio), note, failed)


def _per_answer(runs: Sequence[Mapping[str, Any]], name: str) -> float:
    """Median over closed-loop windows of the CPU `name` used per answer (ms)."""
    return _median(
        {
            i: None
            if (seconds := run["cpu_s"].get(name)) is None or not run["completed"]
            else 1000 * seconds / run["completed"]
            for i, run in enumerate(runs)
        }
    )


def _cores_note(
    runs: Sequence[Mapping[str, Any]],
    one_runs: Sequence[Mapping[str, Any]],
    ratio: float,
    goal: Goal,
) -> str:
    """Where the cores went (the workers, the load generator, the owners), and what it allows.

    Every answer costs CPU in the gateway, the owners and the load generator, which share
    the machine's cores: their sum per answer bounds the requests/s the machine can give
    whatever the number of workers.
    """
    cores = len(runs[0].get("affinity") or []) or 2
    whole = 100 * cores
    gateway, loadgen, owners, others, busy = (
        _shares(runs, name) for name in ("gateway", "loadgen", "owners", "others", "machine")
    )
    per_worker = [
        _median({i: run["workers_cpu_pct"][k] for i, run in enumerate(runs)})
        for k in range(len(runs[0]["workers_cpu_pct"]))
    ]
    one_gateway, one_loadgen, one_owners = (
        _shares(one_runs, name) for name in ("gateway", "loadgen", "owners")
    )
    workers = runs[0]["workers"]
    note = (
        f"of the {cores} cores ({whole} % of one core) over the {workers}-worker windows, "
        f"the gateway's processes took {gateway:.0f} % (the workers "
        + " and ".join(f"{share:.0f} %" for share in per_worker)
        + f"), the load generator {loadgen:.0f} %, the owners {owners:.0f} %, other "
        f"processes {others:.0f} %; {max(0.0, whole - busy):.0f} % stayed idle. With one "
        f"worker, its core was {one_gateway:.0f} % busy with the gateway and the other core "
        f"{one_loadgen + one_owners:.0f} % with the load generator ({one_loadgen:.0f} %) "
        f"and the owners ({one_owners:.0f} %) (medians of the windows)."
    )
    costs = {name: _per_answer(runs, name) for name in ("gateway", "owners", "loadgen")}
    total = sum(costs.values())
    if math.isnan(total) or total <= 0:
        return note
    one_rps = _median(dict(enumerate(run["rps"] for run in one_runs)))
    # What the benchmark's processes could have had: the cores less what others took.
    available = max(0.0, whole - (0.0 if math.isnan(others) else others))
    bound = _over(10 * available, total)
    note += (
        f" With {workers} workers every answer cost {total:.2f} ms of CPU: "
        f"{costs['gateway']:.2f} in the gateway (one worker: "
        f"{_per_answer(one_runs, 'gateway'):.2f}), {costs['owners']:.2f} in the owners and "
        f"{costs['loadgen']:.2f} in the load generator, so {available:.0f} % of a core "
        f"({cores} cores less other processes) give at most {bound:.0f} answers/s, "
        f"{_over(bound, one_rps):.2f} times one worker's {one_rps:.0f}."
    )
    if not met(ratio, goal.limit, goal.higher) and _over(bound, one_rps) < goal.limit:
        sharing = (
            f"the owners, the load generator and other processes ({others:.0f} %)"
            if others >= 5
            else "the owners and the load generator"
        )
        note += (
            f" On this machine the workers share the cores with {sharing}: {goal.limit:g} "
            "times is out of reach at these costs per answer; it needs the owners and the "
            "load generator off the gateway's cores, or "
            f"less CPU per answer (the gateway's is {100 * costs['gateway'] / total:.0f} % "
            "of it)."
        )
    elif not met(ratio, goal.limit, goal.higher):
        note += (
            f" The machine left room for {_over(bound, one_rps):.2f} times: the gap is the "
            f"workers' ({_over(gateway, one_gateway):.2f} times one worker's CPU, for "
            f"{ratio:.2f} times its requests)."
        )
    return note


def _peak_rss(results: Mapping[str, Any], goal: Goal) -> Row:
    by_repeat: dict[int, float] = {}
    windows: dict[int, int] = {}
    for index, run in enumerate(figures(results, "ours").get("closed_loop") or []):
        peak = run.get("gateway_peak_rss_mib")
        if peak is None:
            continue
        repeat = int(run.get("repeat", index))
        by_repeat[repeat] = max(by_repeat.get(repeat, 0.0), float(peak))
        windows[repeat] = windows.get(repeat, 0) + 1
    if not by_repeat:
        return _unmeasured(goal, "no closed loop of ours in this run")
    values: Values = dict(by_repeat)
    shown = f"{show(values)} MiB (the largest of {max(windows.values())} closed-loop windows)"
    started = started_rss(results, "ours")
    median = _median(values)
    note = (
        f"ours already held {started:.0f} MiB once started, before its first request: the "
        f"load added {median - started:.0f} MiB."
        if not math.isnan(started)
        else ""
    )
    loops = figures(results, "ours").get("closed_loop") or []
    return Row(goal, shown, median, note, _loops_failed(loops))


def _tailcall_cpu(results: Mapping[str, Any], goal: Goal) -> Row:
    measured, reason = peer_status(results, "tailcall")
    if not measured:
        return _unmeasured(goal, f"Tailcall: {reason}")
    mine = screen_values(results, "ours", _cpu)
    theirs = screen_values(results, "tailcall", _cpu)
    ratio = ratios(mine, theirs)
    if not spread(ratio).runs:
        return _unmeasured(goal, "no caller screen on both sides")
    shown = _ratio_shown(ratio, f"ours {show(mine, 2)} ms, Tailcall {show(theirs, 2)} ms")
    screens = figures(results, "tailcall").get("caller_screen") or []
    requests = int(screens[0]["gateway"]["n"])
    ticks = _median(theirs) * requests / TICK_MS
    loop = ratios(
        loop_values(results, "ours", LOAD_MS, LOAD_CONCURRENCY, _cpu),
        loop_values(results, "tailcall", LOAD_MS, LOAD_CONCURRENCY, _cpu),
    )
    note = (
        "the caller screen's CPU per request (section 1, concurrency 1: utime + stime over "
        f"its {requests} measured requests per run, from /proc in {TICK_MS:.0f} ms ticks; "
        f"Tailcall's came to {ticks:.0f} ticks per run, so its figure is good to about "
        f"{100 / max(ticks, 1):.0f} %)"
        + (
            f"; under load (closed loop c={LOAD_CONCURRENCY}, owners {LOAD_MS} ms) the same "
            f"ratio is {spread(loop).format(2)}."
            if spread(loop).runs
            else "."
        )
    )
    median = _median(ratio)
    if met(median, goal.limit, goal.higher) is False:
        needed = goal.limit * _median(theirs)
        counted = (results.get("instructions") or {}).get("per_request")
        note += (
            f" Meeting it needs ours at {needed:.2f} ms of CPU per caller screen "
            f"({goal.limit:g} times Tailcall's), {100 * (1 - needed / _median(mine)):.0f} % "
            f"less than its {_median(mine):.2f}: its own work per request"
            + (f" ({counted / 1e6:.2f} M instructions, row 2)." if counted else ".")
        )
    failed = _failed(_screens_failed(results, "ours"), _screens_failed(results, "tailcall"))
    return Row(goal, shown, median, note, failed)


# --------------------------------------------------------------------------- the table


def goals(results: Mapping[str, Any]) -> list[tuple[Goal, Callable[..., Row]]]:
    """The issue's rows, in its order, each with the function that reads its figures."""
    c = results["config"]
    workers = int(c.get("workers", 2))
    load = f"c={LOAD_CONCURRENCY}, owners {LOAD_MS} ms"
    return [
        (
            Goal(
                f"caller screen, c=1, owners {c['owner_latency_ms']} ms: p50 over the floor",
                "≤ 1.5 ms",
                1.5,
                False,
                "4.1 ms",
            ),
            _screen_overhead,
        ),
        (
            Goal(
                "CPU per caller screen (`bench.instructions`)",
                "≤ 3 M instructions",
                3e6,
                False,
                "10.2 M",
            ),
            _instructions,
        ),
        (Goal(f"{load}: requests/s, ours / Hive Gateway", "≥ 3.0", 3.0, True, "0.73"), _peer_rps),
        (Goal(f"{load}: p99, ours / Hive Gateway", "≤ 0.5", 0.5, False, "1.29"), _peer_p99),
        (
            Goal(
                f"{SIZE} customers (customers(ids:) N={SIZE}, ~6,000 fields): p50 over the floor",
                "≤ 10 ms",
                10.0,
                False,
                "~30 ms",
            ),
            _size_overhead,
        ),
        (
            Goal(
                f"`--workers {workers}`, c={c.get('workers_concurrency', LOAD_CONCURRENCY)} "
                f"(owners {c.get('workers_latency_ms', LOAD_MS)} ms): requests/s over one worker",
                "≥ 1.8",
                1.8,
                True,
                "—",
                always_note=True,
            ),
            _workers,
        ),
        (
            Goal("peak RSS, one process, under load", "≤ 100 MiB", 100.0, False, "90 MiB"),
            _peak_rss,
        ),
        (
            Goal(
                "ours / Tailcall (Rust), CPU per caller screen (c=1, ms of CPU per request)",
                "≤ 2.0",
                2.0,
                False,
                "—",
                always_note=True,
            ),
            _tailcall_cpu,
        ),
    ]


def rows(results: Mapping[str, Any]) -> list[Row]:
    return [read(results, goal) for goal, read in goals(results)]


def section(results: Mapping[str, Any]) -> str:
    found = rows(results)
    cells: list[tuple[str, ...]] = []
    notes: list[str] = []
    for number, row in enumerate(found, start=1):
        missed = judged(row) and met(row.median, row.goal.limit, row.goal.higher) is False
        if row.note and (missed or row.goal.always_note):
            notes.append(f"- **Note {number}** ({row.goal.measure}): {row.note}")
        cells.append(
            (
                str(number),
                row.goal.measure,
                row.goal.target,
                row.goal.before,
                row.shown,
                verdict(row, number),
            )
        )
    c = results["config"]
    return (
        "## Targets (issue #14)\n\n"
        "Same machine, same run; each single-process gateway pinned to the same core, "
        f"`--workers {c.get('workers', 2)}` to both. This run's figures are min / median / "
        "max over the repeats (for a ratio, of the per-repeat ratios: each repeat measures "
        "both sides over the same owners, minutes apart); the verdict reads the median. "
        "The instruction count is one count per run (`python -m bench.instructions`: the "
        "gateway under callgrind, instrumented only around the measured requests), which "
        "moves by 0.3 % from run to run. Before: the figures when issue #14 was opened, "
        "measured then, not by this run.\n\n"
        + table(
            (
                "",
                "measure",
                "target",
                "before (issue 14 opened)",
                "this run (min / median / max)",
                "verdict (median)",
            ),
            cells,
        )
        + ("\n\nNotes (computed from the same runs):\n\n" + "\n".join(notes) if notes else "")
    )
