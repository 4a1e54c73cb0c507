"""`python -m bench`: measure, keep the raw figures, write the report.

The full run writes `bench/RESULTS.md`; `--quick` (one repeat, short loops) is a smoke run
and writes `bench/out/RESULTS-quick.md`, leaving the committed results alone. Raw figures
go to `bench/out/` (git-ignored); `--report-only` rewrites the report from them.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from . import report, scenarios

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
OUT_DIR = BENCH_DIR / "out"


def _paths(quick: bool) -> tuple[Path, Path]:
    if quick:
        return OUT_DIR / "results-quick.json", OUT_DIR / "RESULTS-quick.md"
    return OUT_DIR / "results.json", BENCH_DIR / "RESULTS.md"


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
    args = parser.parse_args(argv)
    raw_path, report_path = _paths(args.quick)

    if args.report_only:
        results = json.loads(raw_path.read_text())
    else:
        started = time.monotonic()
        config = scenarios.Config.quick() if args.quick else scenarios.Config()
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
