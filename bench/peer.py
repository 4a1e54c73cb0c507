"""The benchmark's peer: Hive Gateway over the same demo owners, side by side with ours.

The peer's supergraph is composed at run time by Mesh Compose from the running owners'
``/openapi.json`` (``bench/peer/mesh.config.ts``), with the joins (``@resolveTo``, batched
by key) that make one ``Customer`` of the four systems; ``hive-gateway`` serves it
(``bench/peer/gateway.config.ts``), pinned to the gateway's core. Nothing here measures:
the load generator's jobs run against the peer as against ours, with the peer's
documents, and ``normalise`` turns the peer's answer into ours to check both return the
same data.

By hand, ``python -m bench.peer`` runs a short self-check (see ``main``).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import phonenumbers

from . import npm, procs

PEER_DIR = Path(__file__).resolve().parent / "peer"
# The packages whose versions the report names.
PACKAGES = ("@graphql-hive/gateway", "@graphql-mesh/compose-cli", "@omnigraph/openapi")
COMPOSE_SECONDS = 180.0
# The peer's environment: production mode, as a deployment would run it.
PEER_ENV = {"NODE_ENV": "production"}

# The peer's documents: the same fields as bench.scenarios' CALLER_SCREEN and
# MANY_CUSTOMERS, under the peer's names (the owners'), in the owners' formats.
CALLER_SCREEN = (PEER_DIR / "caller_screen.graphql").read_text()
MANY_CUSTOMERS = (PEER_DIR / "many_customers.graphql").read_text()

PHONE_REGION = "IT"  # the region our gateway reads numbers without a country code in
_CENT = Decimal("0.01")
# Contact-center channels as our schema names them.
_CHANNELS = {"voice": "PHONE", "email": "EMAIL", "chat": "CHAT", "sms": "SMS"}


# --------------------------------------------------------------------------- set-up


def available() -> str | None:
    """None when node and npm can run the peer; otherwise why not, for the report."""
    return npm.available()


def installed(repo: Path) -> bool:
    """Whether bench/peer/node_modules holds exactly what package-lock.json pins."""
    return npm.installed(repo / "bench" / "peer")


def install(repo: Path) -> None:
    """`npm ci` in bench/peer when node_modules is missing or was not installed from this lock."""
    npm.install(repo / "bench" / "peer")


def prepare(repo: Path) -> str | None:
    """`available()` then `install()`: None when the peer can be started, else why not."""
    return npm.prepare(repo / "bench" / "peer")


def versions(repo: Path) -> dict[str, str]:
    """Node's version and the installed versions of the peer's packages, for the report."""
    return {"node": npm.node_version(), **npm.package_versions(repo / "bench" / "peer", PACKAGES)}


def _owner_env(owner_urls: Mapping[str, str]) -> dict[str, str]:
    return {f"OWNERGRAPH_{name.upper()}_URL": url for name, url in owner_urls.items()}


def compose(
    owner_urls: Mapping[str, str], *, repo: Path, build_dir: Path, pinning: procs.Pinning
) -> Path:
    """The supergraph, composed by Mesh Compose from the running owners' OpenAPI documents."""
    peer_dir = repo / "bench" / "peer"
    build_dir.mkdir(parents=True, exist_ok=True)
    supergraph = build_dir / "supergraph.graphql"
    args = [
        *pinning.prefix("other"),
        str(peer_dir / "node_modules" / ".bin" / "mesh-compose"),
        "-c",
        "mesh.config.ts",
        "-o",
        str(supergraph),
    ]
    env = {**_owner_env(owner_urls), "PEER_BUILD_DIR": str(build_dir)}
    try:
        done = subprocess.run(
            args,
            cwd=peer_dir,
            env={**os.environ, **env},
            capture_output=True,
            text=True,
            timeout=COMPOSE_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"mesh-compose took more than {COMPOSE_SECONDS:.0f} s") from None
    (build_dir / "compose.log").write_text(done.stdout + done.stderr)
    if done.returncode != 0 or not supergraph.is_file():
        raise RuntimeError(
            f"mesh-compose failed ({done.returncode}); see {build_dir / 'compose.log'}:\n"
            + done.stderr[-2000:]
        )
    return supergraph


def start_peer(
    owner_urls: Mapping[str, str],
    port: int,
    pinning: procs.Pinning,
    *,
    repo: Path,
    build_dir: Path,
    log_path: Path,
    supergraph: Path | None = None,
) -> procs.Service:
    """Compose against the running owners, start hive-gateway on `port`, wait until it serves.

    Pinned like our gateway (`pinning.prefix("gateway")`), one process (`--fork 1`), no
    WebSockets. The service's URL is under "gateway", as ours, so the load generator's
    jobs take either. A `supergraph` already composed against the same owners is served
    as it is (composing takes seconds).
    """
    peer_dir = repo / "bench" / "peer"
    if supergraph is None:
        supergraph = compose(owner_urls, repo=repo, build_dir=build_dir, pinning=pinning)
    args = [
        *pinning.prefix("gateway"),
        str(peer_dir / "node_modules" / ".bin" / "hive-gateway"),
        "supergraph",
        str(supergraph),
        "--config-path",
        "gateway.config.ts",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--fork",
        "1",
        "--disable-websockets",
    ]
    process, log = procs._spawn(
        "peer", args, cwd=peer_dir, log_path=log_path, env={**_owner_env(owner_urls), **PEER_ENV}
    )
    service = procs.Service("peer", process, {"gateway": f"http://127.0.0.1:{port}"}, log)
    try:
        # gateway.config.ts serves its readiness check on /healthz, the path procs waits on.
        procs._wait_healthy(service)
        _first_answer(service)
        service.affinity = procs.affinity(service.pid)
    except BaseException:
        service.stop()
        raise
    return service


def _first_answer(service: procs.Service) -> None:
    """Readiness is answered before the supergraph is loaded: wait for a real answer."""
    deadline = time.monotonic() + procs.STARTUP_SECONDS
    while True:
        try:
            reply = post(service.urls["gateway"], "{ __typename }", {})
        except (urllib.error.URLError, OSError, ValueError) as error:
            reply = {"errors": [{"message": str(error)}]}
        if reply.get("data") == {"__typename": "Query"}:
            return
        if service.process.poll() is not None:
            raise RuntimeError(f"peer exited with status {service.process.returncode}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"peer does not answer queries: {reply}")
        time.sleep(0.2)


# --------------------------------------------------------------------------- the answers


def post(
    gateway: str, document: str, variables: Mapping[str, Any], *, timeout: float = 30
) -> dict[str, Any]:
    """POST one query (with the demo agent's key, which the peer ignores); the JSON reply."""
    request = urllib.request.Request(
        f"{gateway}/graphql",
        data=json.dumps({"query": document, "variables": dict(variables)}).encode(),
        headers={
            "Content-Type": "application/json",
            "Accept": "application/json",
            "Authorization": f"Bearer {procs.DEMO_KEY}",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as reply:
            body: Any = json.load(reply)
    except urllib.error.HTTPError as error:
        body = json.load(error)
    if not isinstance(body, dict):
        raise ValueError(f"not a GraphQL response: {body!r}")
    return body


def _money(cents: Any) -> Any:
    """Cents as our Money scalar writes them ("1834.20"); anything else as it is."""
    if isinstance(cents, int) and not isinstance(cents, bool):
        return f"{(Decimal(cents) / 100).quantize(_CENT):.2f}"
    return cents


def _e164(phone: Any) -> Any:
    """A phone as our gateway formats it (E.164, Italian without a country code)."""
    if not isinstance(phone, str):
        return phone
    try:
        number = phonenumbers.parse(phone, PHONE_REGION)
    except phonenumbers.NumberParseException:
        return phone
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _epoch(seconds: Any) -> Any:
    """Seconds since the epoch as our DateTime writes them ("2026-10-30T02:12:28+00:00")."""
    if isinstance(seconds, int | float) and not isinstance(seconds, bool):
        return datetime.fromtimestamp(seconds, UTC).isoformat()
    return seconds


def _upper(value: Any) -> Any:
    return value.upper() if isinstance(value, str) else value


def _text(value: Any) -> Any:
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


def _phones(value: Any) -> Any:
    return [_e164(phone) for phone in value] if isinstance(value, list) else value


def _channel(value: Any) -> Any:
    return _CHANNELS.get(value, value) if isinstance(value, str) else value


def _same(value: Any) -> Any:
    return value


_Convert = Callable[[Any], Any]
# Per field of the peer's schema (the owner's record field): our field's name and how the
# owner's value becomes ours. A field not listed keeps its name and value.
_FIELDS: dict[str, dict[str, tuple[str, _Convert]]] = {
    "Customer": {
        "display_name": ("displayName", _same),
        "first_name": ("firstName", _same),
        "last_name": ("lastName", _same),
        "erp_code": ("erpCode", _same),
        "phones": ("phones", _phones),
    },
    "credit": {
        "balance_cents": ("balance", _money),
        "overdue_cents": ("overdue", _money),
        "credit_limit_cents": ("creditLimit", _money),
    },
    "invoices": {
        "amount_cents": ("amount", _money),
        "status": ("status", _upper),
        "issued_on": ("issuedOn", _same),
        "due_on": ("dueDate", _same),
        "paid_at": ("paidAt", _same),
    },
    "tickets": {
        "id": ("id", _text),
        "status": ("status", _upper),
        "priority": ("priority", _upper),
        "via": ("channel", _upper),
        "created_at": ("createdAt", _same),
        "updated_at": ("updatedAt", _same),
    },
    "interactions": {
        "channel": ("channel", _channel),
        "direction": ("direction", _upper),
        "started_at": ("at", _epoch),
        "duration_s": ("durationSeconds", _same),
    },
}


def _renamed(obj: Any, fields: Mapping[str, tuple[str, _Convert]]) -> Any:
    if not isinstance(obj, dict):
        return obj
    out: dict[str, Any] = {}
    for key, value in obj.items():
        name, convert = fields.get(key, (key, _same))
        out[name] = convert(value)
    return out


def _customer(customer: Any) -> Any:
    if not isinstance(customer, dict):
        return customer
    out = _renamed(customer, _FIELDS["Customer"])
    for key, fields in _FIELDS.items():
        value = out.get(key)
        if isinstance(value, list):
            out[key] = [_renamed(item, fields) for item in value]
        elif isinstance(value, dict):
            out[key] = _renamed(value, fields)
    return out


def normalise(peer_response: Mapping[str, Any]) -> dict[str, Any]:
    """The peer's `data` in our gateway's shape, names and formats, to compare with ours.

    Takes the whole response or its `data`. The peer's schema keeps each owner's field
    names and formats, which our gateway maps: `display_name` becomes `displayName`,
    `balance_cents` `balance`, `due_on` `dueDate`, `started_at` `at`...; cents become
    Money strings ("972.02"), epoch seconds ISO 8601 date-times in UTC, phones as typed
    E.164 (as our gateway formats them, Italian without a country code), ticket ids
    strings, statuses and priorities upper case, contact-center channels our enum (voice
    becomes PHONE...). Nothing is dropped or re-ordered: a list the peer answers shorter or
    in another order stays different.
    """
    data = peer_response.get("data", peer_response)
    if not isinstance(data, Mapping):
        return {}
    out: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, list):
            out[key] = [_customer(item) for item in value]
        else:
            out[key] = _customer(value)
    return out


def differences(ours: Any, peer: Any, path: str = "data") -> list[str]:
    """Where two answers differ, as readable paths (empty when they are equal)."""
    if isinstance(ours, dict) and isinstance(peer, dict):
        found: list[str] = []
        for key in sorted(set(ours) | set(peer)):
            if key not in peer:
                found.append(f"{path}.{key}: missing from the peer")
            elif key not in ours:
                found.append(f"{path}.{key}: only in the peer")
            else:
                found += differences(ours[key], peer[key], f"{path}.{key}")
        return found
    if isinstance(ours, list) and isinstance(peer, list):
        found = []
        if len(ours) != len(peer):
            found.append(f"{path}: {len(ours)} items here, {len(peer)} in the peer")
        for index, (a, b) in enumerate(zip(ours, peer, strict=False)):
            found += differences(a, b, f"{path}[{index}]")
        return found
    return [] if ours == peer else [f"{path}: ours {ours!r}, peer {peer!r}"]


# --------------------------------------------------------------------------- self-check


def _reset_stats(owner_urls: Mapping[str, str]) -> None:
    for url in owner_urls.values():
        with urllib.request.urlopen(
            urllib.request.Request(f"{url}/_stats", method="DELETE"), timeout=10
        ):
            pass


def _stats(owner_urls: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for name, url in owner_urls.items():
        with urllib.request.urlopen(f"{url}/_stats", timeout=10) as reply:
            out[name] = json.load(reply)
    return out


def owner_requests(
    gateway: str,
    owner_urls: Mapping[str, str],
    document: str,
    variables: Mapping[str, Any],
    *,
    queries: int = 3,
) -> dict[str, float]:
    """Owner requests per query (from the owners' /_stats), after one warm-up query."""
    post(gateway, document, variables)
    _reset_stats(owner_urls)
    for _ in range(queries):
        reply = post(gateway, document, variables)
        if reply.get("errors"):
            raise RuntimeError(f"errors from {gateway}: {reply['errors'][:2]}")
    stats = _stats(owner_urls)
    return {name: stats[name]["requests"] / queries for name in owner_urls}


def _p50_ms(gateway: str, document: str, variables: Mapping[str, Any], count: int) -> float:
    samples: list[float] = []
    for index in range(count + 5):
        started = time.perf_counter()
        reply = post(gateway, document, variables)
        elapsed = 1000 * (time.perf_counter() - started)
        if reply.get("errors"):
            raise RuntimeError(f"errors from {gateway}: {reply['errors'][:2]}")
        if index >= 5:  # the first five warm up
            samples.append(elapsed)
    samples.sort()
    return samples[len(samples) // 2]


def _ids(count: int, start: int = 1, step: int = 97) -> list[str]:
    """`count` demo customer ids spread over the 10,000 (all known to the CRM)."""
    return [f"C{(start + step * i) % 10_000 + 1:05d}" for i in range(count)]


Starter = Callable[..., procs.Service]
"""`start_peer` or `start_tailcall`: (owner_urls, port, pinning, *, repo, build_dir, log_path)."""


def _with_system(
    repo: Path, out: Path, latency_ms: int, pinning: procs.Pinning, name: str, start: Starter
) -> tuple[procs.Service, procs.Service, procs.Service]:
    """The owners at `latency_ms`, our gateway and the peer `name` over them, all started."""
    owners = procs.start_owners(
        repo=repo,
        pinning=pinning,
        latency_ms=latency_ms,
        data_dir=out / "data",
        log_path=out / f"owners-{latency_ms}.log",
    )
    try:
        ours = procs.start_gateway(
            repo=repo, pinning=pinning, owner_urls=owners.urls, log_path=out / "gateway.log"
        )
    except BaseException:
        owners.stop()
        raise
    try:
        peer = start(
            owners.urls,
            procs.free_port_block(1),
            pinning,
            repo=repo,
            build_dir=out / f"{name}-{latency_ms}",
            log_path=out / f"{name}-{latency_ms}.log",
        )
    except BaseException:
        ours.stop()
        owners.stop()
        raise
    return owners, ours, peer


def check_by_hand(
    argv: Sequence[str] | None,
    *,
    name: str,
    description: str,
    prepare: Callable[[Path], str | None],
    start: Starter,
    normalise: Callable[[Mapping[str, Any]], Any],
    documents: tuple[str, str],
    version: Callable[[Path], str] | None = None,
) -> int:
    """Start owners, our gateway and a peer; compare answers, count owner requests, time.

    `documents` are the peer's caller screen and customers(ids:) documents; the
    peer's answers are `normalise`d before they are compared with ours.
    """
    from .scenarios import CALLER_ID
    from .scenarios import CALLER_SCREEN as OUR_CALLER_SCREEN
    from .scenarios import MANY_CUSTOMERS as OUR_MANY_CUSTOMERS

    parser = argparse.ArgumentParser(prog=f"python -m bench.{name}", description=description)
    parser.add_argument(
        "--out", type=Path, default=None, help="logs and data (default: a temp dir)"
    )
    parser.add_argument("--requests", type=int, default=50, help="timed requests per gateway")
    args = parser.parse_args(argv)
    repo = Path(__file__).resolve().parent.parent
    reason = prepare(repo)
    if reason is not None:
        print(f"{name} not measured: {reason}")
        return 1
    pinning = procs.detect_pinning()
    pinning.pin_self()
    out = args.out or Path(tempfile.mkdtemp(prefix=f"ownergraph-{name}-"))
    versioned = f"{version(repo)}; " if version is not None else ""
    print(f"[{name}] {versioned}logs in {out}; {pinning.note}")
    caller_screen, many_customers = documents
    failed = False
    owners, ours, peer = _with_system(repo, out, 0, pinning, name, start)
    with procs.running(owners), procs.running(ours), procs.running(peer):
        mine, theirs = ours.urls["gateway"], peer.urls["gateway"]
        cases: list[tuple[str, str, str, dict[str, Any]]] = [
            ("CALLER_SCREEN", OUR_CALLER_SCREEN, caller_screen, {"id": CALLER_ID}),
            ("CALLER_SCREEN C00006", OUR_CALLER_SCREEN, caller_screen, {"id": "C00006"}),
            *(
                (f"MANY_CUSTOMERS N={n}", OUR_MANY_CUSTOMERS, many_customers, {"ids": _ids(n)})
                for n in (1, 10, 100)
            ),
        ]
        for label, our_doc, peer_doc, variables in cases:
            our_reply = post(mine, our_doc, variables)
            peer_reply = post(theirs, peer_doc, variables)
            diff = differences(our_reply.get("data"), normalise(peer_reply))
            errors = (our_reply.get("errors") or []) + (peer_reply.get("errors") or [])
            verdict = "same data" if not diff and not errors else "DIFFERENT"
            failed |= bool(diff or errors)
            print(f"[{name}] {label}: {verdict}")
            for line in [*diff[:10], *(json.dumps(e)[:300] for e in errors[:3])]:
                print(f"         {line}")
        print(f"[{name}] owner requests per query (crm, erp, helpdesk, contactcenter; total):")
        for label, our_doc, peer_doc, variables in cases:
            for who, url, doc in (("ours", mine, our_doc), (name, theirs, peer_doc)):
                counts = owner_requests(url, owners.urls, doc, variables)
                row = ", ".join(f"{counts[system]:g}" for system in procs.SYSTEMS)
                print(f"         {label:<22} {who}: {row}; {sum(counts.values()):g}")
    owners, ours, peer = _with_system(repo, out, 20, pinning, name, start)
    with procs.running(owners), procs.running(ours), procs.running(peer):
        variables = {"id": CALLER_ID}
        mine_ms = _p50_ms(ours.urls["gateway"], OUR_CALLER_SCREEN, variables, args.requests)
        peer_ms = _p50_ms(peer.urls["gateway"], caller_screen, variables, args.requests)
        print(
            f"[{name}] CALLER_SCREEN p50 at concurrency 1, owners at 20 ms, {args.requests} "
            f"requests: ours {mine_ms:.1f} ms, {name} {peer_ms:.1f} ms, "
            f"ours/{name} {mine_ms / peer_ms:.2f}"
        )
        print(
            f"[{name}] peak RSS: ours {(procs.peak_rss_kib(ours.pid) or 0) / 1024:.0f} MiB, "
            f"{name} {(procs.peak_rss_kib(peer.pid) or 0) / 1024:.0f} MiB"
        )
    return 1 if failed else 0


def main(argv: Sequence[str] | None = None) -> int:
    """Start owners, our gateway and the peer; compare answers, count owner requests, time.

    Not a benchmark: a check, by hand, that the peer works and answers as ours does.
    """
    return check_by_hand(
        argv,
        name="peer",
        description=main.__doc__ or "",
        prepare=prepare,
        start=start_peer,
        normalise=normalise,
        documents=(CALLER_SCREEN, MANY_CUSTOMERS),
    )


if __name__ == "__main__":
    sys.exit(main())
