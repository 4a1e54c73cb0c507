"""The `ownergraph` command: demo, owners, serve, check, schema, keys, init."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from starlette.applications import Starlette

from ownergraph.ownership import Ownership, OwnershipError, json_schema
from ownergraph.schema import Graph, load_files
from ownergraph.schema.drift import find_absent, find_drift

from .auth import DEMO_KEYS, KeysFileError, hash_key, new_key
from .demo import SYSTEMS
from .graphiql import DEFAULT_SAMPLE
from .logs import configure_logging
from .sampling import sample_records
from .serving import (
    Listener,
    PortError,
    Server,
    bind,
    loop_factory,
    serve_together,
    tune_collector,
)
from .settings import DEMO, Settings, SettingsError
from .starter import READER, StarterError, make_starter, read_document, write_starter


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return int(args.run(args))
    except (OwnershipError, SettingsError, KeysFileError, PortError, StarterError) as error:
        print(error, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ownergraph",
        description="A GraphQL API over customer data that reads every field from its owner.",
    )
    commands = parser.add_subparsers(title="commands", required=True, metavar="COMMAND")

    demo = commands.add_parser(
        "demo", help="start the demo owner systems and the gateway in one command"
    )
    demo.add_argument("--host", default="127.0.0.1")
    demo.add_argument("--port", type=int, default=8000, help="gateway port (default 8000)")
    _owner_options(demo, base_port_help="first owner port (default 8101)")
    _graph_options(demo)
    demo.set_defaults(run=_demo)

    owners = commands.add_parser(
        "owners", help=f"start the demo owners alone: {', '.join(SYSTEMS)}"
    )
    owners.add_argument("--host", default="127.0.0.1")
    _owner_options(owners, base_port_help=f"port of {SYSTEMS[0]}; the others follow (default 8101)")
    owners.set_defaults(run=_owners)

    serve = commands.add_parser("serve", help="start the gateway alone, over any graph")
    _graph_options(serve)
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument(
        "--demo-keys", action="store_true", help="also accept the demo API keys (demo-agent...)"
    )
    serve.add_argument(
        "--metrics-port",
        type=_port_number,
        help="serve /metrics and /readyz on this port only, not beside the API "
        "(env OWNERGRAPH_METRICS_PORT)",
    )
    serve.add_argument(
        "--workers",
        type=int,
        default=1,
        help="worker processes (the service is stateless); not with a metrics port",
    )
    serve.add_argument(
        "--text-logs", action="store_true", help="plain text logs instead of JSON lines"
    )
    serve.set_defaults(run=_serve)

    check = commands.add_parser("check", help="check a graph: its SDL and its ownership map")
    _graph_options(check)
    check.add_argument(
        "--live",
        action="store_true",
        help="also fetch each owner's /openapi.json and report mapped paths that drifted",
    )
    check.add_argument(
        "--sample",
        metavar="KEY",
        help="with --live, also read every owner's records for the entity keyed KEY and "
        "report mapped paths absent from them: for owners that publish no OpenAPI",
    )
    check.set_defaults(run=_check)

    keys = commands.add_parser("keys", help="make a new API key and its keys-file entry")
    keys.add_argument("--client", required=True, help="who will use the key, for the audit log")
    keys.add_argument("--roles", required=True, help="comma-separated roles, e.g. agent")
    keys.set_defaults(run=_new_key)

    init = commands.add_parser(
        "init",
        help="write a starter SDL and ownership map from the owners' OpenAPI documents",
        description="Write schema.graphql and ownership.yaml from the owners' OpenAPI "
        "documents, one system each: a starting point to edit, its guesses marked TODO.",
    )
    init.add_argument(
        "--openapi",
        metavar="SOURCE",
        action=_Sources,
        help="an owner's OpenAPI 3 document, a URL or a file; the system is named from its "
        "info.title (repeat for each owner)",
    )
    init.add_argument(
        "--name",
        metavar="SYSTEM=SOURCE",
        action=_Sources,
        help="an owner's document, as the system named SYSTEM (repeat for each owner)",
    )
    init.add_argument(
        "--out", type=Path, default=Path("."), help="where to write the two files (default .)"
    )
    init.add_argument("--force", action="store_true", help="overwrite files already there")
    init.set_defaults(run=_init, sources=[])

    schema = commands.add_parser("schema", help="print the served SDL, with each field's owner")
    _graph_options(schema)
    schema.add_argument(
        "--json-schema",
        action="store_true",
        help="print the JSON Schema of ownership.yaml instead (for editors)",
    )
    schema.set_defaults(run=_schema)
    return parser


def _graph_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--schema",
        type=Path,
        help="the graph's SDL file (env OWNERGRAPH_SCHEMA; default: the shipped demo graph's)",
    )
    parser.add_argument(
        "--ownership",
        type=Path,
        help="the graph's ownership map (env OWNERGRAPH_OWNERSHIP; default: the demo's)",
    )


class _Sources(argparse.Action):
    """--openapi SOURCE and --name SYSTEM=SOURCE, kept in the order given: (name, source)."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        text = str(values)
        if option_string == "--name":
            name, equals, source = text.partition("=")
            if not equals or not name or not source:
                parser.error(f"--name {text}: write --name SYSTEM=SOURCE, e.g. billing=./api.json")
            entry: tuple[str | None, str] = (name, source)
        else:
            entry = (None, text)
        namespace.sources = [*namespace.sources, entry]


def _port_number(text: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number from 1 to 65535")
    return int(text)


def _owner_options(parser: argparse.ArgumentParser, *, base_port_help: str) -> None:
    parser.add_argument("--base-port", type=int, default=8101, help=base_port_help)
    parser.add_argument(
        "--latency-ms", type=int, default=0, help="delay every owner reply (for benchmarks)"
    )
    parser.add_argument(
        "--data-dir", type=Path, default=None, help="where the owners keep their databases"
    )


def _settings(args: argparse.Namespace, environ: dict[str, str] | None = None) -> Settings:
    return Settings.from_env(
        environ,
        schema_path=getattr(args, "schema", None),
        ownership_path=getattr(args, "ownership", None),
        demo_keys=True if getattr(args, "demo_keys", False) else None,
        metrics_port=getattr(args, "metrics_port", None),
    )


def _new_key(args: argparse.Namespace) -> int:
    roles = [role.strip() for role in args.roles.split(",") if role.strip()]
    key = new_key()
    print(f"API key for {args.client} (give it to the client; it is not stored anywhere):")
    print(f"  {key}")
    print("Entry for the keys file (OWNERGRAPH_API_KEYS_FILE):")
    print(f"  - client: {json.dumps(args.client)}")
    print(f"    roles: [{', '.join(roles)}]")
    print(f"    sha256: {hash_key(key)}")
    return 0


def _check(args: argparse.Namespace) -> int:
    settings = _settings(args)
    graph = load_files(
        settings.schema_path,
        settings.ownership_path,
        settings.env,
        phone_region=settings.phone_region,
    )
    ownership = graph.ownership
    fields = sum(len(t.fields) for t in ownership.types.values())
    lookups = sum(len(lookup.owners) for lookup in ownership.lookups.values())
    print(
        f"{settings.schema_path} + {settings.ownership_path}: ok: "
        f"{len(ownership.systems)} systems, {len(ownership.types)} types, "
        f"{fields} owned fields, {len(ownership.queries)} roots, {lookups} lookups, "
        f"{len(ownership.mutations)} mutations"
    )
    for name, system in ownership.systems.items():
        owned = sum(
            1 for t in ownership.types.values() for f in t.fields.values() if f.owner == name
        )
        writes = sorted(m for m, mutation in ownership.mutations.items() if mutation.owner == name)
        print(
            f"  {name:<14} {system.base_url:<28} {owned:>3} fields"
            + (f"  writes: {', '.join(writes)}" if writes else "")
        )
    if args.sample is not None and not args.live:
        print("ownergraph check: --sample KEY reads the owners: give --live too", file=sys.stderr)
        return 2
    return _check_live(ownership, graph, args.sample) if args.live else 0


def _check_live(ownership: Ownership, graph: Graph, sample: str | None) -> int:
    """Compare the map with every owner's published OpenAPI; 1 when anything drifted."""
    documents: dict[str, Any] = {}
    unreachable: list[tuple[str, str]] = []
    for name, system in ownership.systems.items():
        try:
            response = httpx.get(f"{system.base_url}/openapi.json", timeout=5)
            response.raise_for_status()
            documents[name] = response.json()
        except (httpx.HTTPError, ValueError) as error:
            unreachable.append((name, type(error).__name__))
    drifts = find_drift(ownership, graph.schema, documents)
    if sample is not None:
        records = asyncio.run(sample_records(ownership, graph.plan, sample))
        drifts += find_absent(ownership, graph.schema, records, sample)
    rows = [(d.system, d.where, d.mapped, d.problem) for d in drifts]
    if sample is None:
        rows += [
            (name, "/openapi.json", "", f"not published or not reachable ({why})")
            for name, why in unreachable
        ]
    for name, _ in unreachable if sample is not None else ():
        # Its records were read instead: a failure to read them is a row of its own.
        print(f"live: {name} publishes no OpenAPI: checked against its records of {sample}")
    if not rows:
        print(f"live: every mapped endpoint and field is published ({len(documents)} owners)")
        if sample is not None:
            print(f"live: every mapped path is in the owners' records of {sample}")
        return 0
    header = ("owner", "mapped by", "owner's path", "problem")
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(4)]
    print(f"live: {len(rows)} mapping(s) drifted from what the owners publish:")
    for row in [header, *rows]:
        print(
            "  "
            + "  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True))
        )
    return 1


def _init(args: argparse.Namespace) -> int:
    """Write a starter pair from the owners' documents, then check it as `check` would."""
    if not args.sources:
        print(
            "ownergraph init: give each owner's OpenAPI document with --openapi SOURCE "
            "(or --name SYSTEM=SOURCE)",
            file=sys.stderr,
        )
        return 2
    documents = [read_document(source, name) for name, source in args.sources]
    starter = make_starter(documents)
    schema, ownership = write_starter(starter, args.out, force=args.force)
    print(
        f"wrote {schema} and {ownership}: {starter.systems} systems, {starter.types} types, "
        f"{starter.roots} roots; {starter.todos} TODOs in the map to check"
    )
    for document in documents:
        print(f"  {document.name:<14} {document.url:<28} from {document.source}")
    settings = Settings.from_env(schema_path=schema, ownership_path=ownership)
    try:
        load_files(schema, ownership, settings.env, phone_region=settings.phone_region)
    except OwnershipError as error:
        print(f"the starter pair does not pass the checks; edit it:\n{error}", file=sys.stderr)
        return 1
    print(
        f"check: ok. Next: edit the TODOs, make a key with `ownergraph keys --client NAME "
        f"--roles {READER}` (listed in a keys file, OWNERGRAPH_API_KEYS_FILE), and "
        f"`ownergraph serve --schema {schema} --ownership {ownership}`"
    )
    return 0


def _schema(args: argparse.Namespace) -> int:
    if args.json_schema:
        sys.stdout.write(json.dumps(json_schema(), indent=2) + "\n")
        return 0
    settings = _settings(args)
    graph = load_files(
        settings.schema_path,
        settings.ownership_path,
        settings.env,
        phone_region=settings.phone_region,
    )
    sys.stdout.write(graph.sdl())
    return 0


def _serve(args: argparse.Namespace) -> int:
    configure_logging(json_lines=not args.text_logs)
    settings = _settings(args)  # checked here, so a bad setting fails before any worker starts
    if args.workers > 1:
        if settings.metrics_port is not None:
            # Each worker would keep its own counters and breakers, and only one of them
            # could listen on the metrics port: its /metrics and /readyz would speak for
            # one process in N while claiming to speak for the pod.
            print(
                f"--workers {args.workers} cannot be used with a metrics port "
                f"(metrics port {settings.metrics_port}, from --metrics-port or "
                "OWNERGRAPH_METRICS_PORT): each worker keeps its own metrics and breakers; "
                "run one process per container and scale by replicas, or drop the metrics "
                "port to run workers",
                file=sys.stderr,
            )
            return 2
        return _serve_workers(args)
    from .app import create_app

    app = create_app(settings)
    tune_collector()
    api = bind("gateway", args.host, args.port, "--port")
    listeners = _gateway_listeners(
        app, args.host, api, settings.metrics_port, log_config=None, access_log=False
    )
    with asyncio.Runner(loop_factory=loop_factory()) as runner:
        runner.run(serve_together(listeners))
    return 0


def _gateway_listeners(
    app: Starlette, host: str, api: socket.socket, metrics_port: int | None, **options: Any
) -> list[Listener]:
    """The API on `api`; with a metrics port, the operations app on that port after it."""
    port = api.getsockname()[1]
    listeners = [
        Listener("gateway", Server(uvicorn.Config(app, host=host, port=port, **options)), api)
    ]
    if metrics_port is not None:
        try:
            metrics = bind(
                "metrics listener", host, metrics_port, "--metrics-port or OWNERGRAPH_METRICS_PORT"
            )
        except BaseException:
            api.close()
            raise
        operations = uvicorn.Config(
            app.state.operations, host=host, port=metrics_port, lifespan="off", **options
        )
        listeners.append(Listener("operations (/metrics, /readyz)", Server(operations), metrics))
    return listeners


def _serve_workers(args: argparse.Namespace) -> int:
    # Each worker process builds its own app from the environment.
    if args.schema:
        os.environ["OWNERGRAPH_SCHEMA"] = str(args.schema)
    if args.ownership:
        os.environ["OWNERGRAPH_OWNERSHIP"] = str(args.ownership)
    if args.demo_keys:
        os.environ["OWNERGRAPH_DEMO_KEYS"] = "true"
    # uvicorn binds the port for its workers itself, and tells a taken one in several log
    # lines; trying it first says so in one (a program taking it in between still could).
    bind("gateway", args.host, args.port, "--port").close()
    uvicorn.run(
        "ownergraph.cli:worker_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_config=None,
        access_log=False,
    )
    return 0


def worker_app() -> Starlette:
    """The app of one worker process of `serve --workers N`, its collector set as `serve`'s."""
    from .app import create_app

    app = create_app()
    tune_collector()
    return app


def _owners(args: argparse.Namespace) -> int:
    from .demo import serve_owners

    def ready(urls: dict[str, str]) -> None:
        for name, url in urls.items():
            print(f"  {name:<14} {url}")
        print("Demo owners are up. Ctrl-C stops them.", flush=True)

    # On the loop the gateway runs on: asyncio's own costs the owners a quarter more CPU.
    with asyncio.Runner(loop_factory=loop_factory()) as runner:
        runner.run(
            serve_owners(
                host=args.host,
                base_port=args.base_port,
                data_dir=args.data_dir,
                latency_ms=args.latency_ms,
                ready=ready,
            )
        )
    return 0


def _demo(args: argparse.Namespace) -> int:
    with asyncio.Runner(loop_factory=loop_factory()) as runner:
        return runner.run(_run_demo(args))


async def _run_demo(args: argparse.Namespace) -> int:
    from .app import create_app
    from .demo import serve_owners

    # Bound before the owners start, so a taken gateway port stops the demo at once.
    api = bind("gateway", args.host, args.port, "--port")
    started: asyncio.Future[dict[str, str]] = asyncio.get_running_loop().create_future()

    def ready(urls: dict[str, str]) -> None:
        if not started.done():
            started.set_result(urls)

    owners = asyncio.create_task(
        serve_owners(
            host=args.host,
            base_port=args.base_port,
            data_dir=args.data_dir,
            latency_ms=args.latency_ms,
            ready=ready,
        )
    )
    try:
        first: list[asyncio.Future[Any]] = [owners, started]
        await asyncio.wait(first, return_when=asyncio.FIRST_COMPLETED)
        if not started.done():
            started.cancel()
            await owners  # raises what stopped the owners (a port in use...)
            return 1
        urls = started.result()
        environ = dict(os.environ)
        for name, url in urls.items():
            environ[f"OWNERGRAPH_{name.upper()}_URL"] = url
        settings = Settings.from_env(
            environ, **DEMO, schema_path=args.schema, ownership_path=args.ownership
        )
        app = create_app(settings)
        listeners = _gateway_listeners(
            app, args.host, api, settings.metrics_port, log_level="warning", access_log=False
        )
        sample = app.state.graph.ownership.sample
        await serve_together(
            listeners, ready=lambda: _print_welcome(args.host, args.port, urls, sample)
        )
    finally:
        api.close()
        owners.cancel()
        await asyncio.gather(owners, return_exceptions=True)
    return 0


def _print_welcome(host: str, port: int, owners: dict[str, str], sample: str | None) -> None:
    base = f"http://{host}:{port}"
    query = sample.strip() if sample else DEFAULT_SAMPLE
    one_line = " ".join(line.strip() for line in query.splitlines() if not line.startswith("#"))
    body = json.dumps({"query": one_line}).replace("'", "'\\''")
    lines = [
        "",
        "ownergraph demo is running.",
        "",
        f"  GraphiQL:   {base}/graphql   (open it in a browser)",
        f"  SDL:        {base}/schema.graphql",
        "  Owners:     " + ", ".join(f"{name} {url}" for name, url in owners.items()),
        "",
        "Try this query in GraphiQL:",
        "",
        query,
        "",
        "or from a shell:",
        "",
        f"  curl -s {base}/graphql -H 'Content-Type: application/json' \\",
        "    -H 'Authorization: Bearer demo-agent' \\",
        f"    -d '{body}'",
        "",
        "Demo API keys (send as 'Authorization: Bearer <key>'; GraphiQL has the agent's):",
        *(f"  {key:<16} role {role}" for key, role in DEMO_KEYS.items()),
        "",
        "Every response says who answered in extensions.owners. Ctrl-C stops everything.",
        "",
    ]
    print("\n".join(lines), flush=True)
