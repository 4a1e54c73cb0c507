"""The processes under test: start them pinned to cores, wait until healthy, stop them, and
read their counters from /proc (CPU time, peak resident memory, core affinity).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

SYSTEMS = ("crm", "erp", "helpdesk", "contactcenter")
# The demo key the benchmark's requests carry (`Authorization: Bearer demo-agent`): the
# agent role, which may read every field the scenarios ask for.
DEMO_KEY = "demo-agent"
# The gateway's environment besides the owners' URLs: no audit line per request on stdout
# (production sends it to a file, which is not what is measured here).
GATEWAY_ENV = {"OWNERGRAPH_AUDIT_LOG": "off"}
# The naive baseline: the same gateway and schema with batching off, so that every field
# makes its own owner call (no DataLoader batches, no prefetch, no per-request memo).
NAIVE_ENV = {"OWNERGRAPH_BATCHING": "false"}
STARTUP_SECONDS = 120.0
STOP_SECONDS = 15.0
_CLK_TCK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
# The resolution of the CPU times read from /proc (10 ms on Linux).
TICK_MS = 1000 / _CLK_TCK


@dataclass(frozen=True)
class Pinning:
    """Which cores the gateway and everything else (owners, load generator) run on."""

    enabled: bool
    gateway_core: int | None
    other_core: int | None
    note: str

    def prefix(self, role: str) -> list[str]:
        """`taskset -c N` for a child process in `role`, or nothing.

        `role` is "gateway" (the gateway's core), "other" (the other one) or "all" (both:
        a gateway of several worker processes, which shares the other core with the owners
        and the load generator).
        """
        if not self.enabled:
            return []
        if role == "all":
            return ["taskset", "-c", f"{self.gateway_core},{self.other_core}"]
        core = self.gateway_core if role == "gateway" else self.other_core
        return ["taskset", "-c", str(core)]

    def pin_self(self) -> None:
        """Keep this (mostly idle) orchestrating process off the gateway's core."""
        if self.enabled and self.other_core is not None and hasattr(os, "sched_setaffinity"):
            with contextlib.suppress(OSError):
                os.sched_setaffinity(0, {self.other_core})


def detect_pinning() -> Pinning:
    """Pin the gateway to the first usable core and the rest to the second, when possible."""
    taskset = shutil.which("taskset")
    cores = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    if taskset is None:
        return Pinning(False, None, None, "not pinned: taskset is not available")
    if len(cores) < 2:
        return Pinning(False, None, None, f"not pinned: only {len(cores)} usable core(s)")
    gateway, other = cores[0], cores[1]
    return Pinning(
        True,
        gateway,
        other,
        f"gateway on core {gateway}; owners, load generator and orchestrator on core {other}",
    )


def free_port_block(count: int) -> int:
    """The first of `count` consecutive free ports on loopback."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        start = int(probe.getsockname()[1])
    for base in range(start, start + 5000):
        if base + count < 65535 and all(_port_free(base + i) for i in range(count)):
            return base
    raise RuntimeError("no block of free ports on loopback")


def _port_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


@dataclass
class Service:
    """One child process and the URLs it serves."""

    name: str
    process: subprocess.Popen[bytes]
    urls: dict[str, str]
    log: IO[bytes]
    affinity: list[int] = field(default_factory=list)

    @property
    def pid(self) -> int:
        return self.process.pid

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=STOP_SECONDS)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


def _spawn(
    name: str,
    args: list[str],
    *,
    cwd: Path,
    log_path: Path,
    env: Mapping[str, str] | None = None,
) -> tuple[subprocess.Popen[bytes], IO[bytes]]:
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log = log_path.open("wb")
    process = subprocess.Popen(
        args,
        cwd=cwd,
        env={**os.environ, **(env or {})},
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    return process, log


def _wait_healthy(service: Service) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    pending = list(service.urls.values())
    while pending:
        if service.process.poll() is not None:
            raise RuntimeError(
                f"{service.name} exited with status {service.process.returncode} "
                f"during start-up; see its log"
            )
        if time.monotonic() > deadline:
            raise RuntimeError(f"{service.name} not healthy after {STARTUP_SECONDS:.0f} s")
        try:
            with urllib.request.urlopen(f"{pending[0]}/healthz", timeout=2) as reply:
                if reply.status == 200:
                    pending.pop(0)
                    continue
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.1)


def start_owners(
    *, repo: Path, pinning: Pinning, latency_ms: int, data_dir: Path, log_path: Path
) -> Service:
    """The four demo owners in one process, each reply delayed by `latency_ms`."""
    base = free_port_block(len(SYSTEMS))
    urls = {name: f"http://127.0.0.1:{base + i}" for i, name in enumerate(SYSTEMS)}
    args = [
        *pinning.prefix("other"),
        sys.executable,
        "-m",
        "ownergraph",
        "owners",
        "--base-port",
        str(base),
        "--latency-ms",
        str(latency_ms),
        "--data-dir",
        str(data_dir),
    ]
    process, log = _spawn("owners", args, cwd=repo, log_path=log_path)
    service = Service("owners", process, urls, log)
    try:
        _wait_healthy(service)
        service.affinity = affinity(service.pid)
    except BaseException:
        service.stop()
        raise
    return service


def start_gateway(
    *,
    repo: Path,
    pinning: Pinning,
    owner_urls: Mapping[str, str],
    log_path: Path,
    env: Mapping[str, str] | None = None,
    name: str = "gateway",
    workers: int = 1,
) -> Service:
    """The gateway (`ownergraph serve --demo-keys`) pointed at the owners by environment.

    `env` adds to (or overrides) its environment, e.g. `NAIVE_ENV` for the naive baseline;
    `name` is how errors and the report call it. With `workers` above 1 it is `serve
    --workers N` (uvicorn's supervisor and N worker processes) pinned to every core the
    benchmark uses; it cannot have a metrics port, so none is passed and
    `OWNERGRAPH_METRICS_PORT` is cleared.
    """
    port = free_port_block(1)
    environment = {f"OWNERGRAPH_{system.upper()}_URL": url for system, url in owner_urls.items()}
    environment.update(GATEWAY_ENV)
    environment.update(env or {})
    several = ["--workers", str(workers)] if workers > 1 else []
    if several:
        environment["OWNERGRAPH_METRICS_PORT"] = ""  # empty: no metrics port
    args = [
        *pinning.prefix("all" if several else "gateway"),
        sys.executable,
        "-m",
        "ownergraph",
        "serve",
        "--port",
        str(port),
        "--demo-keys",
        *several,
    ]
    process, log = _spawn(name, args, cwd=repo, log_path=log_path, env=environment)
    service = Service(name, process, {"gateway": f"http://127.0.0.1:{port}"}, log)
    try:
        _wait_healthy(service)
        service.affinity = affinity(service.pid)
    except BaseException:
        service.stop()
        raise
    return service


@contextlib.contextmanager
def running(service: Service) -> Iterator[Service]:
    try:
        yield service
    finally:
        service.stop()


def run_loadgen(job: Mapping[str, Any], *, repo: Path, pinning: Pinning, timeout: float) -> Any:
    """Run one job of the load generator in its own process; its JSON result."""
    args = [*pinning.prefix("other"), sys.executable, "-m", "bench.loadgen"]
    done = subprocess.run(
        args,
        cwd=repo,
        input=json.dumps(job).encode(),
        capture_output=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(
            f"load generator failed ({done.returncode}) on job {job.get('kind')!r}:\n"
            + done.stderr.decode(errors="replace")[-4000:]
        )
    return json.loads(done.stdout)


# --------------------------------------------------------------------------- /proc readers


def cpu_seconds(pid: int) -> float | None:
    """User plus system CPU time the process has used so far (from /proc/<pid>/stat)."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may hold spaces; everything after its ')' is split safely.
    fields = raw[raw.rindex(")") + 2 :].split()
    utime, stime = int(fields[11]), int(fields[12])
    return (utime + stime) / _CLK_TCK


def descendants(pid: int) -> list[int]:
    """The processes `pid` started, and theirs, as /proc lists them now (parents first)."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            raw = (entry / "stat").read_text()
        except OSError:
            continue  # gone meanwhile
        # After the command name's ')': state, then the parent's pid.
        parent = int(raw[raw.rindex(")") + 2 :].split()[1])
        parents.setdefault(parent, []).append(int(entry.name))
    found: list[int] = []
    pending = [pid]
    while pending:
        children = sorted(parents.get(pending.pop(0), []))
        found += children
        pending += children
    return found


def tree_cpu_seconds(pid: int) -> dict[int, float]:
    """CPU time (user + system) used so far by `pid` and each of its descendants."""
    out: dict[int, float] = {}
    for member in [pid, *descendants(pid)]:
        seconds = cpu_seconds(member)
        if seconds is not None:
            out[member] = seconds
    return out


def machine_cpu_seconds() -> tuple[float, float] | None:
    """CPU time all cores have spent busy, and stolen by the hypervisor, so far (seconds).

    Busy is user + nice + system + irq + softirq from /proc/stat; steal is time a virtual
    CPU wanted to run but the host ran something else.
    """
    try:
        first = Path("/proc/stat").read_text().splitlines()[0].split()
    except (OSError, IndexError):
        return None
    # user nice system idle iowait irq softirq steal ...
    ticks = [int(value) for value in first[1:9]]
    busy = ticks[0] + ticks[1] + ticks[2] + ticks[5] + ticks[6]
    return busy / _CLK_TCK, ticks[7] / _CLK_TCK


def core_cpu_seconds(core: int) -> float | None:
    """CPU time one core has spent running processes so far (user + nice + system, seconds).

    Interrupt time is left out: it is charged to no process, so that the busy time of the
    gateway's core less the processes on it is what other processes took from it.
    """
    prefix = f"cpu{core} "
    try:
        lines = Path("/proc/stat").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        if line.startswith(prefix):
            ticks = [int(value) for value in line.split()[1:4]]
            return sum(ticks) / _CLK_TCK
    return None


def _status_kib(pid: int, key: str) -> int | None:
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        if line.startswith(f"{key}:"):
            return int(line.split()[1])
    return None


def peak_rss_kib(pid: int) -> int | None:
    """Peak resident set size (VmHWM) in KiB."""
    return _status_kib(pid, "VmHWM")


def rss_kib(pid: int) -> int | None:
    """Current resident set size (VmRSS) in KiB."""
    return _status_kib(pid, "VmRSS")


def reset_peak_rss(pid: int) -> bool:
    """Reset VmHWM to the current RSS (Linux `clear_refs` 5); whether that worked."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def affinity(pid: int) -> list[int]:
    """The cores the process may run on, as the kernel reports them now."""
    if not hasattr(os, "sched_getaffinity"):
        return []
    try:
        return sorted(os.sched_getaffinity(pid))
    except OSError:
        return []
