"""The benchmark's second peer: Tailcall over the same demo owners, side by side with ours.

Tailcall is a GraphQL runtime in Rust configured by one GraphQL file of `@http` directives.
Its npm package for this platform (`@tailcallhq/core-linux-x64-gnu`, pinned in
bench/tailcall/package-lock.json) carries the binary itself. The configuration is
written at run time from bench/tailcall/config.graphql.template with the running owners'
URLs and a free port, and served by `tailcall start`, pinned to the gateway's core. Nothing
here measures: the load generator's jobs run against it as against ours, with its
documents, and `normalise` turns its answers into ours to check both return the same data.

By hand, ``python -m bench.tailcall`` runs a short self-check (see ``main``).
"""

from __future__ import annotations

import os
import platform
import string
import subprocess
import sys
import time
import urllib.error
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from . import npm, procs
from . import peer as hive

TAILCALL_DIR = Path(__file__).resolve().parent / "tailcall"
PACKAGE = "@tailcallhq/core-linux-x64-gnu"
# Pinned to 1.0.0 in bench/tailcall/package-lock.json: later builds of the package need
# glibc 2.39, and 1.0.0 runs on Debian 12's 2.36.
# No usage reports sent home, nothing logged per request (as the other gateways).
TAILCALL_ENV = {"TAILCALL_TRACKER": "false", "TAILCALL_LOG_LEVEL": "warn"}
VERSION_SECONDS = 30.0

# Tailcall's documents: the same fields as bench.scenarios' CALLER_SCREEN and
# MANY_CUSTOMERS, under its names (the owners'), in the owners' formats, and erp_code.
CALLER_SCREEN = (TAILCALL_DIR / "caller_screen.graphql").read_text()
MANY_CUSTOMERS = (TAILCALL_DIR / "many_customers.graphql").read_text()

# The customer's fields that the ERP answers, keyed by the CRM's erp_code.
_ERP_FIELDS = ("credit", "invoices")
_ABSENT = object()


# --------------------------------------------------------------------------- set-up


def _folder(repo: Path) -> Path:
    return repo / "bench" / "tailcall"


def binary(repo: Path) -> Path:
    """The tailcall executable the npm package unpacks."""
    return _folder(repo) / "node_modules" / PACKAGE / "bin" / "tailcall"


def available() -> str | None:
    """None when this machine can install Tailcall's package; otherwise why not."""
    system, machine = platform.system(), platform.machine()
    if system != "Linux" or machine not in ("x86_64", "AMD64"):
        return f"{PACKAGE} is built for Linux on x86-64, not {system} {machine}"
    return npm.available()


def installed(repo: Path) -> bool:
    """Whether bench/tailcall/node_modules holds exactly what package-lock.json pins."""
    return npm.installed(_folder(repo))


def binary_version(repo: Path) -> str:
    """`tailcall --version` ("tailcall v1.0.0"); RuntimeError when the binary does not run."""
    try:
        done = subprocess.run(
            [str(binary(repo)), "--version"],
            capture_output=True,
            text=True,
            timeout=VERSION_SECONDS,
            check=False,
            env={**os.environ, **TAILCALL_ENV},
        )
    except subprocess.TimeoutExpired:
        raise RuntimeError(
            f"the tailcall binary does not run here: no answer in {VERSION_SECONDS:.0f} s"
        ) from None
    except OSError as error:
        # strerror, not the error itself: the report should not carry this machine's paths.
        raise RuntimeError(
            f"the tailcall binary does not run here: {error.strerror or type(error).__name__}"
        ) from None
    if done.returncode != 0:
        # A glibc too old for the build says so on stderr ("GLIBC_2.39' not found").
        why = (done.stderr or done.stdout).strip().splitlines()
        raise RuntimeError(
            f"the tailcall binary does not run here (status {done.returncode}): "
            + (why[-1] if why else "no output")
        )
    return done.stdout.strip()


def prepare(repo: Path) -> str | None:
    """Check the platform, node and npm, `npm ci` if needed, run the binary once.

    None when Tailcall can be started, else why not (for the report).
    """
    reason = available()
    if reason is not None:
        return reason
    reason = npm.prepare(_folder(repo))
    if reason is not None:
        return reason
    try:
        binary_version(repo)
    except RuntimeError as error:
        return str(error)
    return None


def versions(repo: Path) -> dict[str, str]:
    """The installed package's version and what the binary says it is, for the report."""
    out = npm.package_versions(_folder(repo), (PACKAGE,))
    try:
        out["tailcall"] = binary_version(repo).removeprefix("tailcall").strip()
    except RuntimeError:
        out["tailcall"] = "does not run"
    return out


def write_config(owner_urls: Mapping[str, str], port: int, *, repo: Path, build_dir: Path) -> Path:
    """The configuration for owners at `owner_urls` and `port`, written into `build_dir`."""
    template = string.Template((_folder(repo) / "config.graphql.template").read_text())
    text = template.substitute(
        port=port, **{name: url.rstrip("/") for name, url in owner_urls.items()}
    )
    build_dir.mkdir(parents=True, exist_ok=True)
    config = build_dir / "config.graphql"
    config.write_text(text)
    return config


def start_tailcall(
    owner_urls: Mapping[str, str],
    port: int,
    pinning: procs.Pinning,
    *,
    repo: Path,
    build_dir: Path,
    log_path: Path,
) -> procs.Service:
    """Write the configuration, start `tailcall start` on `port`, wait until it answers.

    Pinned like our gateway (`pinning.prefix("gateway")`), one worker thread (the
    configuration says so). The service's URL is under "gateway", as ours, so the load
    generator's jobs take either.
    """
    config = write_config(owner_urls, port, repo=repo, build_dir=build_dir)
    args = [*pinning.prefix("gateway"), str(binary(repo)), "start", str(config)]
    process, log = procs._spawn(
        "tailcall", args, cwd=build_dir, log_path=log_path, env=TAILCALL_ENV
    )
    service = procs.Service("tailcall", process, {"gateway": f"http://127.0.0.1:{port}"}, log)
    try:
        # The configuration routes Tailcall's status check to /healthz, where procs waits.
        procs._wait_healthy(service)
        _first_answer(service)
        service.affinity = procs.affinity(service.pid)
    except BaseException:
        service.stop()
        raise
    return service


def _first_answer(service: procs.Service) -> None:
    """Wait for a real answer to a query, not only the status route's."""
    deadline = time.monotonic() + procs.STARTUP_SECONDS
    while True:
        try:
            reply = hive.post(service.urls["gateway"], "{ __typename }", {})
        except (urllib.error.URLError, OSError, ValueError) as error:
            reply = {"errors": [{"message": str(error)}]}
        if reply.get("data") == {"__typename": "Query"}:
            return
        if service.process.poll() is not None:
            raise RuntimeError(f"tailcall exited with status {service.process.returncode}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"tailcall does not answer queries: {reply}")
        time.sleep(0.2)


# --------------------------------------------------------------------------- the answers


def _unwrapped(customer: Any) -> Any:
    """A Tailcall customer in the Hive peer's shape: one credit, ERP fields null sans key."""
    if not isinstance(customer, dict):
        return customer
    out = dict(customer)
    erp_code = out.pop("erp_code", _ABSENT)
    credit = out.get("credit")
    if isinstance(credit, list) and len(credit) <= 1:
        # More than one would be a difference to show: the list is left as it is.
        out["credit"] = credit[0] if credit else None
    if erp_code is None:
        # Ours has no key to ask the ERP with and answers null; Tailcall asked with an
        # empty one and got nothing back.
        for name in _ERP_FIELDS:
            if name in out and out[name] in ([], None):
                out[name] = None
    return out


def normalise(response: Mapping[str, Any]) -> dict[str, Any]:
    """Tailcall's `data` in our gateway's shape, names and formats, to compare with ours.

    Takes the whole response or its `data`. Tailcall's schema keeps the owners' names and
    formats, as the Hive peer's does, with two differences of its own undone first:
    `credit` is the ERP batch read's list of accounts (one, or none: it becomes that one,
    or null), and `erp_code`, asked only to see it, is dropped; where it is null, `credit`
    and `invoices` become null, as ours answers them. Then as bench/peer.py normalise():
    `display_name` becomes `displayName`, cents Money strings, epoch seconds ISO 8601,
    phones E.164, ticket ids strings, statuses upper case, channels our enum. Nothing is
    dropped or re-ordered otherwise.
    """
    data = response.get("data", response)
    if not isinstance(data, Mapping):
        return {}
    shaped = {
        key: [_unwrapped(item) for item in value] if isinstance(value, list) else _unwrapped(value)
        for key, value in data.items()
    }
    return hive.normalise(shaped)


# --------------------------------------------------------------------------- self-check


def main(argv: Sequence[str] | None = None) -> int:
    """Start owners, our gateway and Tailcall; compare answers, count owner requests, time.

    Not a benchmark: a check, by hand, that Tailcall works and answers as ours does.
    """
    return hive.check_by_hand(
        argv,
        name="tailcall",
        description=main.__doc__ or "",
        prepare=prepare,
        start=start_tailcall,
        normalise=normalise,
        documents=(CALLER_SCREEN, MANY_CUSTOMERS),
        version=binary_version,
    )


if __name__ == "__main__":
    sys.exit(main())
