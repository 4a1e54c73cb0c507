"""`python -m bench.instructions`: the gateway's instructions per request, counted by callgrind.

CPU time on a shared two-core machine moves by 10-20% from one run to the next; the
number of instructions the gateway executes for the same requests does not (0.3% here).
So each optimisation's before/after is counted this way: the demo owners at 0 ms on
loopback, the gateway under `valgrind --tool=callgrind` with instrumentation switched on
only around the measured requests (after a warm-up), and the total divided by the number
of requests. Needs valgrind (Debian's `valgrind` package); slow (the gateway runs about
50 times slower under it), so keep the counts small.

Instructions are not time: system calls, cache misses and waiting are not in them. They
say whether a change makes the gateway do less work, which is what an optimisation is for.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from . import procs, scenarios

REPO = Path(__file__).resolve().parent.parent
QUERIES = {
    "caller-screen": (scenarios.CALLER_SCREEN, {"id": scenarios.CALLER_ID}),
    "customer-id": ("query Q($id: ID!) { customer(id: $id) { id } }", {"id": scenarios.CALLER_ID}),
    "typename": ("query Q { __typename }", {}),
}


def _post(url: str, body: bytes) -> None:
    request = urllib.request.Request(
        f"{url}/graphql",
        data=body,
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {procs.DEMO_KEY}"},
    )
    with urllib.request.urlopen(request, timeout=120) as reply:
        answer = json.loads(reply.read())
    if answer.get("errors"):
        raise RuntimeError(f"the gateway answered with errors: {answer['errors'][:1]}")


def _total(callgrind_out: Path) -> int:
    """Instructions recorded in a callgrind output file (its closing `totals:` line)."""
    for line in reversed(callgrind_out.read_text(errors="replace").splitlines()):
        if line.startswith("totals:"):
            return int(line.split()[1])
    raise RuntimeError(f"no totals in {callgrind_out}")


def missing() -> str | None:
    """Why instructions cannot be counted here (valgrind is not installed), or None."""
    if shutil.which("valgrind") is None or shutil.which("callgrind_control") is None:
        return "valgrind missing"
    return None


def count(query: str, requests: int, concurrency: int, warmup: int = 10) -> float:
    """Instructions per request of `query` (a key of QUERIES) in a fresh gateway.

    It starts the demo owners (at 0 ms) and the gateway itself, each on free ports of its
    own: run it before or after other processes under measurement, not beside them.
    """
    if missing() is not None:
        raise RuntimeError("valgrind is not installed (Debian: apt-get install valgrind)")
    document, variables = QUERIES[query]
    body = json.dumps({"query": document, "variables": variables}).encode()
    pinning = procs.detect_pinning()
    with tempfile.TemporaryDirectory(prefix="ownergraph-callgrind-") as scratch:
        out = Path(scratch)
        owners = procs.start_owners(
            repo=REPO, pinning=pinning, latency_ms=0, data_dir=out / "data", log_path=out / "o.log"
        )
        with procs.running(owners):
            port = procs.free_port_block(1)
            env = {f"OWNERGRAPH_{name.upper()}_URL": url for name, url in owners.urls.items()}
            # Under valgrind everything is slow: give requests all the time they need.
            env.update(procs.GATEWAY_ENV, OWNERGRAPH_DEADLINE_MS="120000")
            result = out / "callgrind.out"
            process, log = procs._spawn(
                "gateway",
                [
                    "valgrind",
                    "--tool=callgrind",
                    "--instr-atstart=no",
                    f"--callgrind-out-file={result}",
                    sys.executable,
                    "-m",
                    "ownergraph",
                    "serve",
                    "--port",
                    str(port),
                    "--demo-keys",
                ],
                cwd=REPO,
                log_path=out / "gateway.log",
                env=env,
            )
            url = f"http://127.0.0.1:{port}"
            gateway = procs.Service("gateway", process, {"gateway": url}, log)
            try:
                procs._wait_healthy(gateway)
                for _ in range(warmup):
                    _post(url, body)
                _control(gateway.pid, "on")
                with ThreadPoolExecutor(concurrency) as pool:
                    list(pool.map(lambda _: _post(url, body), range(requests)))
                _control(gateway.pid, "off")
            finally:
                gateway.stop()
            return _total(result) / requests


def _control(pid: int, instrumentation: str) -> None:
    subprocess.run(
        ["callgrind_control", "-i", instrumentation, str(pid)], check=True, capture_output=True
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.instructions", description=__doc__)
    parser.add_argument("--query", choices=sorted(QUERIES), default="caller-screen")
    parser.add_argument("--requests", type=int, default=60)
    parser.add_argument("--concurrency", type=int, default=1)
    args = parser.parse_args(argv)
    per_request = count(args.query, args.requests, args.concurrency)
    print(
        f"{args.query}: {per_request / 1e6:.2f} M instructions per request "
        f"({args.requests} requests, concurrency {args.concurrency})"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
