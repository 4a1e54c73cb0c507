"""The demo contact center: calls, e-mails, chats and texts with customers.

Keyed by the universal customer id; timestamps are epoch seconds, this system's own
convention, which the gateway converts. Calls and texts carry the number at the other end,
written the way the switch logs it (``390212345678``), so the contact center can say who
recently called from, or was called on, a number. Interactions are logged with an
idempotent ``POST``.
"""

from __future__ import annotations

import json
import re
import sqlite3
import time
from datetime import timedelta
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ownergraph.demo._base import (
    BadRequest,
    BusinessRoute,
    JSONObject,
    NotFound,
    Stats,
    WriteOp,
    WriteRoute,
    Written,
    body_choice,
    body_count,
    body_key_list,
    body_limit,
    body_text,
    build_owner_app,
    error,
    idempotency_key_param,
    json_body,
    nullable,
    open_readonly,
    open_readwrite,
    openapi_document,
    parse_phone,
    path_param,
    placeholders,
    query_param,
    read_json_object,
    ref,
    write_responses,
)
from ownergraph.demo.seed import AS_OF

__all__ = ["API_AGENT", "CHANNELS", "OPENAPI", "SYSTEM", "create_app"]

SYSTEM = "contactcenter"
CHANNELS = ("voice", "email", "chat", "sms")
_DIRECTIONS = ("inbound", "outbound")
#: Channels whose contacts have no duration: a message is sent, not held.
_UNTIMED = ("email", "sms")
_NEW_INTERACTION_FIELDS = ("customer_id", "channel", "direction", "summary", "duration_s")
MAX_SUMMARY_LENGTH = 2_000
#: The agent of an interaction logged through the API. The contact center only knows its
#: own agents by name, and the API client is not one of them: it is recorded as what it is.
API_AGENT = "gateway"
_CUSTOMER_ID_PATTERN = re.compile(r"C[0-9]{5}")
#: The caller search looks back this many days unless told otherwise, at most _MAX_DAYS.
DEFAULT_CALLER_DAYS, _MAX_DAYS = 365, 3650
# Windows end where the seeded history ends, not at the wall clock: the history is frozen,
# so "recent" must be too, or the same search would find fewer callers every day (and none
# a year after the seed's end) and the demo would stop being reproducible.
_WINDOW_END = int(AS_OF.timestamp())


def create_app(db_path: Path, *, latency_ms: int = 0) -> Starlette:
    """The contact center as an ASGI app over its seeded SQLite file."""
    db = open_readonly(db_path)
    writer = open_readwrite(db_path)
    stats = Stats(SYSTEM)
    center = _ContactCenter(db, stats)
    return build_owner_app(
        system=SYSTEM,
        db=db,
        writer=writer,
        stats=stats,
        openapi=OPENAPI,
        latency_ms=latency_ms,
        routes=[
            BusinessRoute("POST", "/interactions/search", center.search_interactions),
            WriteRoute("POST", "/interactions", _prepare_interaction),
            BusinessRoute("GET", "/interactions/{id}", center.get_interaction),
            BusinessRoute("GET", "/callers/search", center.search_callers),
        ],
    )


class _ContactCenter:
    def __init__(self, db: sqlite3.Connection, stats: Stats) -> None:
        self._db = db
        self._stats = stats

    async def search_interactions(self, request: Request) -> Response:
        body = await read_json_object(request, fields=("customer_ids", "channel", "limit"))
        ids = body_key_list(body, "customer_ids", what="customer ids like C00042")
        channel = body_choice(body, "channel", allowed=CHANNELS)
        limit = body_limit(body)
        self._stats.count_keys(len(ids))
        if not ids:
            return JSONResponse({"data": []})
        channel_filter = "AND channel = ?" if channel else ""
        params: list[object] = [*ids, *([channel] if channel else []), limit]
        rows = self._db.execute(
            f"""
            SELECT * FROM (
                SELECT *, ROW_NUMBER() OVER (
                    PARTITION BY customer_id ORDER BY started_at DESC, id DESC
                ) AS rn
                FROM interactions
                WHERE customer_id IN ({placeholders(len(ids))}) {channel_filter}
            ) WHERE rn <= ?
            ORDER BY customer_id, rn
            """,
            params,
        )
        return JSONResponse({"data": [_interaction(row) for row in rows]})

    async def get_interaction(self, request: Request) -> Response:
        interaction_id: str = request.path_params["id"]
        self._stats.count_keys(1)
        row = self._db.execute(
            "SELECT * FROM interactions WHERE id = ?", (interaction_id,)
        ).fetchone()
        if row is None:
            raise NotFound("interaction", interaction_id)
        return JSONResponse(_interaction(row))

    async def search_callers(self, request: Request) -> Response:
        raw_phone = request.query_params.get("phone")
        if raw_phone is None:
            raise BadRequest("query parameter 'phone' is required: a phone number in any format")
        phone = parse_phone(raw_phone)
        days = _parse_days(request.query_params.get("days"))
        self._stats.count_keys(1)
        since = _WINDOW_END - int(timedelta(days=days).total_seconds())
        # With MAX(), SQLite takes the bare caller_number from the row holding the maximum:
        # the number as written at the latest contact.
        rows = self._db.execute(
            """
            SELECT customer_id, caller_number, MAX(started_at) AS last_seen,
                   COUNT(*) AS contacts
            FROM interactions
            WHERE caller_e164 = ? AND started_at >= ?
            GROUP BY customer_id
            ORDER BY last_seen DESC, customer_id
            """,
            (phone, since),
        )
        return JSONResponse(
            {
                "callers": [
                    {
                        "customer_id": row["customer_id"],
                        "caller_number": row["caller_number"],
                        "last_seen": row["last_seen"],
                        "contacts": row["contacts"],
                    }
                    for row in rows
                ]
            }
        )


async def _prepare_interaction(request: Request) -> WriteOp:
    """Check a ``POST /interactions`` body; the write logs the contact as starting now."""
    body = await read_json_object(request, fields=_NEW_INTERACTION_FIELDS)
    customer_id = body.get("customer_id")
    if not isinstance(customer_id, str) or not _CUSTOMER_ID_PATTERN.fullmatch(customer_id):
        # The contact center keeps no customer list to look the id up in, but it does know
        # what one looks like.
        raise BadRequest(
            f"field 'customer_id' is required: a customer id like C00042; got "
            f"{json.dumps(customer_id)}",
            field="customer_id",
        )
    channel = body_choice(body, "channel", allowed=CHANNELS, required=True)
    direction = body_choice(body, "direction", allowed=_DIRECTIONS, required=True)
    summary = body_text(body, "summary", max_length=MAX_SUMMARY_LENGTH)
    duration_s = body_count(body, "duration_s", what="seconds")
    if duration_s is not None and channel in _UNTIMED:
        raise BadRequest(
            f"field 'duration_s' must be null for channel {channel!r}: only voice calls "
            f"and chats last; got {duration_s}",
            field="duration_s",
        )

    def write(conn: sqlite3.Connection) -> Written:
        # Ids continue the seeded sequence (I-0031467...). Safe without a sequence table:
        # the write lock is held from BEGIN IMMEDIATE, so no other write reads the same max.
        (last,) = conn.execute("SELECT MAX(id) FROM interactions").fetchone()
        interaction_id = f"I-{int(last[2:]) + 1 if last else 1:07d}"
        # The API gives no number at the other end (caller_number), so none is logged, and
        # the contact does not show up in a caller search.
        conn.execute(
            "INSERT INTO interactions (id, customer_id, channel, direction, started_at, "
            "duration_s, summary, agent, caller_number, caller_e164) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL)",
            (
                interaction_id,
                customer_id,
                channel,
                direction,
                int(time.time()),
                duration_s,
                summary,
                API_AGENT,
            ),
        )
        row = conn.execute("SELECT * FROM interactions WHERE id = ?", (interaction_id,)).fetchone()
        return Written(201, _interaction(row), location=f"/interactions/{interaction_id}")

    return write


def _parse_days(raw: str | None) -> int:
    if raw is None:
        return DEFAULT_CALLER_DAYS
    try:
        days = int(raw)
    except ValueError:
        days = 0
    if not 1 <= days <= _MAX_DAYS:
        raise BadRequest(
            f"query parameter 'days' must be an integer from 1 to {_MAX_DAYS}, got {raw!r}"
        )
    return days


def _interaction(row: sqlite3.Row) -> JSONObject:
    return {
        "id": row["id"],
        "customer_id": row["customer_id"],
        "channel": row["channel"],
        "direction": row["direction"],
        "started_at": row["started_at"],
        "duration_s": row["duration_s"],
        "summary": row["summary"],
        "agent": row["agent"],
        "caller_number": row["caller_number"],
    }


_INTERACTION_ID = {"type": "string", "pattern": "^I-[0-9]{7}$", "examples": ["I-0000001"]}
_CUSTOMER_ID = {"type": "string", "pattern": "^C[0-9]{5}$", "examples": ["C00042"]}

OPENAPI: JSONObject = openapi_document(
    system=SYSTEM,
    title="Demo contact center",
    description=(
        "Voice calls, e-mails, chats and SMS with customers, keyed by the universal "
        "customer id. started_at is in epoch seconds (UTC)."
    ),
    paths={
        "/interactions": {
            "post": {
                "operationId": "logInteraction",
                "summary": "Log a contact with a customer (idempotent).",
                "description": (
                    f"started_at is now (epoch seconds), agent is {API_AGENT!r} (the API "
                    "client; the contact center names only its own agents) and "
                    "caller_number is null. duration_s must be null for email and sms. The "
                    "contact center keeps no customer list: any well-formed customer id is "
                    "accepted. Counts one key in /_stats."
                ),
                "parameters": [idempotency_key_param()],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": ref("NewInteraction")}},
                },
                "responses": write_responses(
                    "201",
                    ref("Interaction"),
                    "The interaction as logged; Location: /interactions/{id}.",
                ),
            }
        },
        "/interactions/search": {
            "post": {
                "operationId": "searchInteractions",
                "summary": "Interactions of several customers, newest first per customer.",
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["customer_ids"],
                                "additionalProperties": False,
                                "properties": {
                                    "customer_ids": {
                                        "type": "array",
                                        "maxItems": 200,
                                        "items": _CUSTOMER_ID,
                                    },
                                    "channel": {"enum": [*CHANNELS, None]},
                                    "limit": {
                                        "type": "integer",
                                        "minimum": 1,
                                        "maximum": 100,
                                        "default": 20,
                                        "description": "Most interactions per customer.",
                                    },
                                },
                            }
                        }
                    },
                },
                "responses": {
                    "200": json_body(
                        {
                            "type": "object",
                            "required": ["data"],
                            "properties": {"data": {"type": "array", "items": ref("Interaction")}},
                        },
                        "At most `limit` interactions per customer; unknown ids are absent.",
                    ),
                    "400": error("Bad JSON, unknown field, bad channel, ids or limit."),
                },
            }
        },
        "/callers/search": {
            "get": {
                "operationId": "searchCallers",
                "summary": "Customers who called from, or were called or texted on, a number.",
                "description": (
                    "Voice calls and SMS whose caller_number is this number (compared in "
                    "E.164; without a country code it is read as Italian) and that started "
                    "in the `days` days before the end of the seeded history "
                    "(2026-11-01T00:00:00Z), not before the wall clock, so results never "
                    "drift. One entry per customer, latest contact first. Counts one key "
                    "in /_stats."
                ),
                "parameters": [
                    query_param(
                        "phone",
                        "A phone number written any way (390212345678, +39 02 1234 5678, "
                        "02.1234.5678...).",
                        {"type": "string", "examples": ["390212345678"]},
                        required=True,
                    ),
                    query_param(
                        "days",
                        "How far back to look, in days before the end of the seeded history.",
                        {
                            "type": "integer",
                            "minimum": 1,
                            "maximum": _MAX_DAYS,
                            "default": DEFAULT_CALLER_DAYS,
                        },
                    ),
                ],
                "responses": {
                    "200": json_body(
                        {
                            "type": "object",
                            "required": ["callers"],
                            "properties": {"callers": {"type": "array", "items": ref("Caller")}},
                        },
                        "Every customer seen on the number in the window; none is [].",
                    ),
                    "400": error(
                        "Missing phone, a phone that is not a valid number, or bad days; "
                        "the message names the value."
                    ),
                },
            }
        },
        "/interactions/{id}": {
            "get": {
                "operationId": "getInteraction",
                "summary": "One interaction by id.",
                "parameters": [path_param("id", "Interaction id.", _INTERACTION_ID)],
                "responses": {
                    "200": json_body(ref("Interaction"), "The interaction."),
                    "404": error("No interaction with this id."),
                },
            }
        },
    },
    schemas={
        "Interaction": {
            "type": "object",
            "required": [
                "id",
                "customer_id",
                "channel",
                "direction",
                "started_at",
                "duration_s",
                "summary",
                "agent",
                "caller_number",
            ],
            "properties": {
                "id": _INTERACTION_ID,
                "customer_id": _CUSTOMER_ID,
                "channel": {"enum": list(CHANNELS)},
                "direction": {"enum": list(_DIRECTIONS)},
                "started_at": {
                    "type": "integer",
                    "description": "Start time in epoch seconds (UTC).",
                    "examples": [1714567890],
                },
                "duration_s": nullable({"type": "integer", "minimum": 0}),
                "summary": {"type": "string"},
                "agent": {
                    "type": "string",
                    "description": f"The agent's name; {API_AGENT!r} if logged through the API.",
                },
                "caller_number": {
                    **nullable({"type": "string", "examples": ["390212345678"]}),
                    "description": (
                        "Voice and SMS: the number at the other end, as the switch logs it "
                        "(E.164, usually without the +). Null for e-mail and chat, and for "
                        "contacts logged through the API."
                    ),
                },
            },
        },
        "NewInteraction": {
            "type": "object",
            "required": ["customer_id", "channel", "direction", "summary"],
            "additionalProperties": False,
            "properties": {
                "customer_id": _CUSTOMER_ID,
                "channel": {"enum": list(CHANNELS)},
                "direction": {"enum": list(_DIRECTIONS)},
                "summary": {
                    "type": "string",
                    "minLength": 1,
                    "maxLength": MAX_SUMMARY_LENGTH,
                    "description": "Trimmed; must not be blank.",
                },
                "duration_s": {
                    **nullable({"type": "integer", "minimum": 0}),
                    "description": "Seconds; null (or absent) for email and sms.",
                },
            },
        },
        "Caller": {
            "type": "object",
            "required": ["customer_id", "caller_number", "last_seen", "contacts"],
            "properties": {
                "customer_id": _CUSTOMER_ID,
                "caller_number": {
                    "type": "string",
                    "description": "The number as written at the latest contact.",
                    "examples": ["390212345678"],
                },
                "last_seen": {
                    "type": "integer",
                    "description": "Start of the latest contact on the number, epoch seconds.",
                },
                "contacts": {
                    "type": "integer",
                    "minimum": 1,
                    "description": "Calls and texts on the number in the window.",
                },
            },
        },
    },
)
