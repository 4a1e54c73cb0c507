"""`python -m bench`: measure, keep the raw figures, write the report.

The full run writes `bench/RESULTS.md`; `--quick` (one repeat, short loops) is a smoke run
and writes `bench/out/RESULTS-quick.md`, and `--only` (some gateways or scenarios) writes
`bench/out/RESULTS-partial.md`, leaving the committed results alone. Raw figures
go to `bench/out/` (git-ignored); `--report-only` rewrites the report from them.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from . import report, scenarios

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
OUT_DIR = BENCH_DIR / "out"


# What `--only` can select: a gateway (its scenarios 1 to 3), `call` (scenario 4, ours),
# `faults` (scenario 5, ours: a failing owner; with --quick, one cycle of its phases) or
# `hostile` (scenario 6, ours: hostile documents; with --quick, 5 of each and short probes)
# or `instructions` (scenario 8, ours under callgrind: instructions per caller screen). Ours
# as a gateway brings scenario 7 (`serve --workers 2`) along, beside its own closed loop.
SCOPES = (*scenarios.GATEWAYS, "call", "faults", "hostile", "instructions")


def _paths(quick: bool, partial: bool) -> tuple[Path, Path]:
    if partial:
        return OUT_DIR / "results-partial.json", OUT_DIR / "RESULTS-partial.md"
    if quick:
        return OUT_DIR / "results-quick.json", OUT_DIR / "RESULTS-quick.md"
    return OUT_DIR / "results.json", BENCH_DIR / "RESULTS.md"


def _scopes(text: str) -> tuple[str, ...]:
    chosen = tuple(dict.fromkeys(part.strip() for part in text.split(",") if part.strip()))
    unknown = [scope for scope in chosen if scope not in SCOPES]
    if unknown or not chosen:
        raise argparse.ArgumentTypeError(
            f"expected a comma-separated list of {', '.join(SCOPES)}; got {text!r}"
        )
    return chosen


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench", description="Benchmark the gateway against the demo owners."
    )
    parser.add_argument("--quick", action="store_true", help="smoke run: one repeat, short loops")
    parser.add_argument(
        "--report-only",
        action="store_true",
        help="rewrite the report from the last run's raw figures, measuring nothing",
    )
    parser.add_argument(
        "--only",
        type=_scopes,
        default=None,
        metavar="SCOPES",
        help=f"measure only these (comma-separated: {', '.join(SCOPES)}); the report then "
        "goes to bench/out/RESULTS-partial.md",
    )
    args = parser.parse_args(argv)
    raw_path, report_path = _paths(args.quick, args.only is not None)

    if args.report_only:
        results = json.loads(raw_path.read_text())
    else:
        started = time.monotonic()
        changes: dict[str, Any] = {}
        if args.only is not None:
            changes["gateways"] = tuple(g for g in scenarios.GATEWAYS if g in args.only)
            changes["call_scenario"] = "call" in args.only
            changes["fault_scenario"] = "faults" in args.only
            changes["hostile_scenario"] = "hostile" in args.only
            changes["instructions_scenario"] = "instructions" in args.only
        config = scenarios.Config.quick(**changes) if args.quick else scenarios.Config(**changes)
        OUT_DIR.mkdir(parents=True, exist_ok=True)
        results = scenarios.run(config, REPO, OUT_DIR)
        results["total_s"] = time.monotonic() - started
        raw_path.write_text(json.dumps(results, indent=1))
    report_path.write_text(report.render(results, results["total_s"]))
    print(
        f"[bench] done in {results['total_s']:.0f} s; report: {report_path.relative_to(REPO)}",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
