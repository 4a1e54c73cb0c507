"""Idempotent writes: the ``Idempotency-Key`` header, as real HTTP APIs implement it.

A client whose write got no answer (a timeout, a broken connection) cannot know whether it
was applied. It sends the write again with the same key, and must get the first result, not
a second record. So each owner remembers every key it has seen for 24 hours, in a table of
its own SQLite file (it survives restarts), with a fingerprint of the request and the
response it gave.

A write goes through three steps, each atomic:

1. :class:`IdempotencyMiddleware` reads the key and the body and, in one ``BEGIN IMMEDIATE``
   transaction, decides: claim the key (insert an in-flight row), or answer without running
   anything: the stored response (same request again), 422 (the key was used for a different
   request) or 409 (the first request with this key is still running). ``BEGIN IMMEDIATE``
   takes SQLite's write lock before reading, so two requests, in this process or another,
   can never both see the key free; the key's primary key backs that up.
2. The endpoint runs the write and stores its response in one more transaction, after
   checking that the claim is still its own (:meth:`IdempotencyStore.run`). A write is
   therefore committed exactly when its response is remembered: never one without the other.
3. If the request ends any other way (a refused body, a 404, an error, an injected fault
   that never ran the endpoint, a client that went away), the middleware deletes the
   in-flight row: nothing was written, and the key is free for a corrected request.

The middleware sits outside the fault middleware, so a request held by a ``slow`` or
``hang`` fault already holds its key, as a slow write holds it in a real system. The
decision travels to the endpoint in the request scope, so every answer (a replay, a 409
included) is counted in ``/_stats`` and can itself be faulted, like any business request.
A claim left behind by a crashed process expires after :data:`IN_FLIGHT_LEASE_S`.

Nothing here knows the owners: ``_base.build_owner_app`` wires it to their write routes.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import secrets
import sqlite3
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from starlette.datastructures import Headers
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = [
    "IDEMPOTENCY",
    "IN_FLIGHT_LEASE_S",
    "KEY_HEADER",
    "KEY_TTL_S",
    "MAX_KEY_LENGTH",
    "REPLAYED_HEADER",
    "Claim",
    "IdempotencyMiddleware",
    "IdempotencyStore",
    "Refusal",
    "Replay",
    "Stored",
    "Written",
    "body_too_large",
    "create_tables",
    "fingerprint",
    "transaction",
]

KEY_HEADER = "Idempotency-Key"
#: Set (to ``true``) on a reply that is a stored response sent again.
REPLAYED_HEADER = "Idempotent-Replayed"
#: Keys are remembered this long; a retry comes within seconds or minutes, not days.
KEY_TTL_S = 24 * 3600
#: An in-flight claim older than this belongs to a request that died with its process: a
#: request with the same key may take it over. Demo writes take milliseconds; only an
#: injected ``slow`` or ``hang`` fault holds a claim for long.
IN_FLIGHT_LEASE_S = 60.0
#: Longest key accepted: a UUID is 36 characters, and 255 leaves room for any scheme.
MAX_KEY_LENGTH = 255
#: Scope key under which the middleware hands its decision to the endpoint.
IDEMPOTENCY = "ownergraph.demo.idempotency"

_IN_FLIGHT, _DONE = "in_flight", "done"

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS idempotency_keys (
    key TEXT PRIMARY KEY,           -- the client's Idempotency-Key, unique per owner
    fingerprint TEXT NOT NULL,      -- sha256 of method, path and canonical JSON body
    state TEXT NOT NULL CHECK (state IN ('{_IN_FLIGHT}', '{_DONE}')),
    claim TEXT NOT NULL,            -- random token of the request that holds the key
    status INTEGER,                 -- the response, once done
    headers TEXT,                   -- JSON object
    body BLOB,
    created_at REAL NOT NULL,       -- epoch seconds, for the 24-hour expiry
    claimed_at REAL NOT NULL        -- epoch seconds, for the in-flight lease
);
CREATE INDEX IF NOT EXISTS idempotency_keys_created ON idempotency_keys (created_at);
"""

Clock = Callable[[], float]


def create_tables(conn: sqlite3.Connection) -> None:
    """Create the key table if the owner's file does not have it yet (a no-op afterwards)."""
    conn.executescript(_SCHEMA)


def body_too_large(limit: int) -> str:
    """The message of a 413, shared with the owners' own body reader."""
    return f"request body too large: at most {limit} bytes"


@contextlib.contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[None]:
    """``BEGIN IMMEDIATE`` ... ``COMMIT``, rolled back if anything in between fails.

    IMMEDIATE takes the write lock up front: a transaction that reads and then writes can
    never interleave with another writer, and never fails half-way on a lock upgrade.
    ``conn`` must be in autocommit mode (``isolation_level=None``).
    """
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
        conn.execute("COMMIT")
    finally:
        # Whatever failed (the body of the block, or COMMIT itself), leave no transaction
        # open: the next request's BEGIN would fail on it.
        if conn.in_transaction:
            conn.execute("ROLLBACK")


def fingerprint(method: str, path: str, body: bytes) -> str:
    """What makes two requests "the same": method, path and the JSON body in canonical form.

    Key order and whitespace do not count, so a client that re-serialises its retry still
    gets the replay. A body that is not JSON is compared byte for byte.
    """
    try:
        canonical = json.dumps(
            json.loads(body), sort_keys=True, separators=(",", ":"), ensure_ascii=False
        ).encode("utf-8")
    except (UnicodeDecodeError, json.JSONDecodeError):
        canonical = b"raw:" + body
    digest = hashlib.sha256(f"{method} {path}\n".encode())
    digest.update(canonical)
    return digest.hexdigest()


@dataclass(frozen=True)
class Written:
    """What a write endpoint produced: the status and the record to answer with."""

    status: int
    record: Mapping[str, Any]
    location: str | None = None


@dataclass(frozen=True)
class Stored:
    """A response as remembered under its key, byte for byte."""

    status: int
    headers: Mapping[str, str]
    body: bytes


@dataclass(frozen=True)
class Replay:
    """Answer with the stored response of an earlier request with the same key."""

    response: Stored


@dataclass(frozen=True)
class Refusal:
    """Answer with an error, running nothing (missing key, key conflict, key in use...)."""

    status: int
    message: str
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass
class Claim:
    """This request holds the key: it runs the write, then stores the response.

    ``token`` tells this claim from a later one on the same key; ``completed`` is set once
    the write and its response are committed, so the middleware knows not to release it.
    """

    key: str
    fingerprint: str
    token: str
    completed: bool = False


Decision = Claim | Replay | Refusal


def _render(record: Mapping[str, Any]) -> bytes:
    # Encoded as Starlette's JSONResponse does, so a replay is the same bytes as the original.
    return json.dumps(record, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode(
        "utf-8"
    )


class IdempotencyStore:
    """The keys one owner has seen, in its SQLite file, behind a read-write connection.

    Every method runs synchronously on the caller's thread and holds the write lock only
    for its own short transaction; the connection must be in autocommit mode.
    """

    def __init__(self, conn: sqlite3.Connection, *, clock: Clock = time.time) -> None:
        self._conn = conn
        self._clock = clock

    def decide(self, key: str, request_fingerprint: str) -> Decision:
        """Claim ``key`` for this request, or say how to answer without running it."""
        now = self._clock()
        with transaction(self._conn):
            # Lazy expiry: no sweeper to run, and an index makes it a range delete.
            self._conn.execute(
                "DELETE FROM idempotency_keys WHERE created_at < ?", (now - KEY_TTL_S,)
            )
            return self._decide(key, request_fingerprint, now)

    def run(
        self, claim: Claim, write: Callable[[sqlite3.Connection], Written]
    ) -> Stored | Replay | Refusal:
        """Run ``write`` under ``claim`` and remember its response, in one transaction.

        Returns the response to send. If the claim was lost meanwhile (it outlived its lease
        and another request took the key over), the key is decided afresh first: the answer
        is then that request's stored response, or a 409 while it still runs, and ``write``
        never runs twice. If ``write`` raises, nothing it did is kept.
        """
        now = self._clock()
        with transaction(self._conn):
            row = self._conn.execute(
                "SELECT state, claim FROM idempotency_keys WHERE key = ?", (claim.key,)
            ).fetchone()
            if row is None or row[0] != _IN_FLIGHT or row[1] != claim.token:
                decision = self._decide(claim.key, claim.fingerprint, now)
                if not isinstance(decision, Claim):
                    return decision
                claim.token = decision.token
            written = write(self._conn)
            headers = {"Location": written.location} if written.location else {}
            stored = Stored(written.status, headers, _render(written.record))
            self._conn.execute(
                "UPDATE idempotency_keys SET state = ?, status = ?, headers = ?, body = ? "
                "WHERE key = ? AND claim = ?",
                (_DONE, stored.status, json.dumps(headers), stored.body, claim.key, claim.token),
            )
        claim.completed = True
        return stored

    def release(self, claim: Claim) -> None:
        """Free the key of a request that wrote nothing, unless it completed after all."""
        with transaction(self._conn):
            self._conn.execute(
                "DELETE FROM idempotency_keys WHERE key = ? AND claim = ? AND state = ?",
                (claim.key, claim.token, _IN_FLIGHT),
            )

    def _decide(self, key: str, request_fingerprint: str, now: float) -> Decision:
        # Called inside a BEGIN IMMEDIATE transaction: nobody else can claim in between.
        row = self._conn.execute(
            "SELECT fingerprint, state, status, headers, body, claimed_at "
            "FROM idempotency_keys WHERE key = ?",
            (key,),
        ).fetchone()
        if row is not None:
            stored_fingerprint, state, status, headers, body, claimed_at = row
            abandoned = state == _IN_FLIGHT and claimed_at < now - IN_FLIGHT_LEASE_S
            if not abandoned:
                # A different request is refused whether or not the first is still running:
                # the client has a bug (one key for two writes), and waiting will not fix it.
                if stored_fingerprint != request_fingerprint:
                    return Refusal(
                        422,
                        f"{KEY_HEADER} {key!r} was used with a different request (another "
                        "method, path or body); a key stands for one write: use a new key "
                        "for a new request",
                    )
                if state == _DONE:
                    return Replay(Stored(status, json.loads(headers), bytes(body)))
                return Refusal(
                    409,
                    f"a request with {KEY_HEADER} {key!r} is still in progress; retry it "
                    "with the same key once that one has finished",
                    {"Retry-After": "1"},
                )
            # Its request died with its process; nothing it did was committed.
            self._conn.execute("DELETE FROM idempotency_keys WHERE key = ?", (key,))
        token = secrets.token_hex(16)
        self._conn.execute(
            "INSERT INTO idempotency_keys (key, fingerprint, state, claim, created_at, "
            "claimed_at) VALUES (?, ?, ?, ?, ?, ?)",
            (key, request_fingerprint, _IN_FLIGHT, token, now, now),
        )
        return Claim(key, request_fingerprint, token)


class IdempotencyMiddleware:
    """Decides each write request's fate by its ``Idempotency-Key`` (see the module notes).

    ``applies`` says which requests are writes; all others pass through untouched. The
    decision (a :class:`Claim`, :class:`Replay` or :class:`Refusal`) is put in the scope under
    :data:`IDEMPOTENCY` for the endpoint to act on, and the body, read here to fingerprint
    it, is handed on unchanged.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        store: IdempotencyStore,
        applies: Callable[[Scope], bool],
        max_body_bytes: int,
    ) -> None:
        self.app = app
        self.store = store
        self.applies = applies
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.applies(scope):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        key = headers.get(KEY_HEADER)
        decision: Decision
        if key is None:
            decision = Refusal(
                400,
                f"header {KEY_HEADER!r} is required on {scope['method']} {scope['path']}: "
                "one key per intended write, sent again only to retry that same write "
                "(a UUID is a good key)",
            )
        elif not (0 < len(key) <= MAX_KEY_LENGTH and key.isascii() and key.isprintable()):
            decision = Refusal(
                400,
                f"header {KEY_HEADER!r} must be 1 to {MAX_KEY_LENGTH} printable ASCII "
                f"characters (a UUID is a good key); got {key[:80]!r}",
            )
        else:
            body = await _read_body(receive, headers, self.max_body_bytes)
            if body is None:
                decision = Refusal(413, body_too_large(self.max_body_bytes))
            else:
                receive = _replaying(body, receive)
                decision = self.store.decide(key, fingerprint(scope["method"], scope["path"], body))
        try:
            await self.app({**scope, IDEMPOTENCY: decision}, receive, send)
        finally:
            # Runs on errors, injected faults and cancellation too: a key must never stay
            # "in progress" for a request that is over. A completed claim stays: a `drop`
            # fault breaks the connection after the write committed, and the retry must
            # find the result.
            if isinstance(decision, Claim) and not decision.completed:
                self.store.release(decision)


async def _read_body(receive: Receive, headers: Headers, limit: int) -> bytes | None:
    """The whole request body, or ``None`` if it is longer than ``limit`` bytes."""
    declared = headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return None
    body = bytearray()
    while True:
        message = await receive()
        if message["type"] != "http.request":
            # The client went away before sending it all: there is no request to claim a
            # key for, and nobody to answer. Starlette's own body reader raises the same.
            raise ClientDisconnect()
        body += message.get("body", b"")
        if len(body) > limit:
            return None
        if not message.get("more_body", False):
            break
    return bytes(body)


def _replaying(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that yields ``body`` once, then whatever the server sends next."""
    delivered = False

    async def replay() -> Message:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        # After the body, the server's next message is the disconnect, which a `hang`
        # fault waits for.
        return await receive()

    return replay
