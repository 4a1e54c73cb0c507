"""The demo helpdesk: support tickets, keyed by the requester's ``external_id``.

The external id is the universal customer id; the requester's name, e-mail and phone are the
helpdesk's own copy as typed by agents, which is why they may disagree with the CRM. The
helpdesk can also find requesters by phone or e-mail, so that a caller the CRM does not
recognise may still be recognised here. Tickets are opened with an idempotent ``POST``, for
requesters the helpdesk already knows.
"""

from __future__ import annotations

import json
import sqlite3
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
    body_text,
    build_owner_app,
    contact_point_params,
    error,
    idempotency_key_param,
    json_body,
    key_list_param,
    limit_param,
    now_rfc3339,
    nullable,
    open_readonly,
    open_readwrite,
    openapi_document,
    parse_choice,
    parse_contact_point,
    parse_key_list,
    parse_limit,
    path_param,
    placeholders,
    query_param,
    read_json_object,
    ref,
    write_responses,
)

__all__ = ["OPENAPI", "SYSTEM", "TICKET_STATUSES", "create_app"]

SYSTEM = "helpdesk"
TICKET_STATUSES = ("open", "pending", "solved", "closed")
_PRIORITIES = ("low", "normal", "high", "urgent")
_VIA = ("email", "phone", "web", "chat")
_NEW_TICKET_FIELDS = ("requester_external_id", "subject", "description", "priority", "via")
MAX_SUBJECT_LENGTH, MAX_DESCRIPTION_LENGTH = 200, 5_000
#: Added by the owner itself, not the seed: the description of a ticket opened through the
#: API is its first comment, as in real helpdesks, and the ticket record stays as it was.
_WRITE_SCHEMA = """
CREATE TABLE IF NOT EXISTS ticket_comments (
    id INTEGER PRIMARY KEY,
    ticket_id INTEGER NOT NULL REFERENCES tickets (id),
    body TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS ticket_comments_ticket ON ticket_comments (ticket_id);
"""

_SELECT = """
    SELECT t.*, r.external_id, r.name, r.email, r.phone
    FROM tickets AS t JOIN requesters AS r ON r.id = t.requester_id
"""


def create_app(db_path: Path, *, latency_ms: int = 0) -> Starlette:
    """The helpdesk as an ASGI app over its seeded SQLite file."""
    db = open_readonly(db_path)
    writer = open_readwrite(db_path, schema=_WRITE_SCHEMA)
    stats = Stats(SYSTEM)
    helpdesk = _Helpdesk(db, stats)
    return build_owner_app(
        system=SYSTEM,
        db=db,
        writer=writer,
        stats=stats,
        openapi=OPENAPI,
        latency_ms=latency_ms,
        routes=[
            BusinessRoute("GET", "/tickets", helpdesk.list_tickets),
            WriteRoute("POST", "/tickets", _prepare_ticket),
            BusinessRoute("GET", "/tickets/{id}", helpdesk.get_ticket),
            BusinessRoute("GET", "/requesters/search", helpdesk.search_requesters),
        ],
    )


class _Helpdesk:
    def __init__(self, db: sqlite3.Connection, stats: Stats) -> None:
        self._db = db
        self._stats = stats

    async def list_tickets(self, request: Request) -> Response:
        query = request.query_params
        ids = parse_key_list(
            query.getlist("requester_ids"), param="requester_ids", what="customer ids like C00042"
        )
        status = parse_choice(query.get("status"), param="status", allowed=TICKET_STATUSES)
        limit = parse_limit(query.get("limit"))
        self._stats.count_keys(len(ids))
        if not ids:
            return JSONResponse({"tickets": []})
        status_filter = "AND t.status = ?" if status else ""
        params: list[object] = [*ids, *([status] if status else []), limit]
        rows = self._db.execute(
            f"""
            SELECT * FROM (
                SELECT t.*, r.external_id, r.name, r.email, r.phone,
                       ROW_NUMBER() OVER (
                           PARTITION BY t.requester_id ORDER BY t.created_at DESC, t.id DESC
                       ) AS rn
                FROM requesters AS r JOIN tickets AS t ON t.requester_id = r.id
                WHERE r.external_id IN ({placeholders(len(ids))}) {status_filter}
            ) WHERE rn <= ?
            ORDER BY external_id, rn
            """,
            params,
        )
        return JSONResponse({"tickets": [_ticket(row) for row in rows]})

    async def get_ticket(self, request: Request) -> Response:
        raw: str = request.path_params["id"]
        self._stats.count_keys(1)
        try:
            ticket_id = int(raw)
        except ValueError:
            raise BadRequest(f"ticket id must be an integer, got {raw!r}") from None
        row = self._db.execute(f"{_SELECT} WHERE t.id = ?", (ticket_id,)).fetchone()
        if row is None:
            raise NotFound("ticket", ticket_id)
        return JSONResponse(_ticket(row))

    async def search_requesters(self, request: Request) -> Response:
        phone, email = parse_contact_point(request)
        self._stats.count_keys((phone is not None) + (email is not None))
        # Two indexed equality lookups; OR-ing them in one WHERE could cost a table scan.
        clauses = [
            f"SELECT * FROM requesters WHERE {column} = ?"
            for column, value in (("phone_e164", phone), ("email_key", email))
            if value is not None
        ]
        values = [value for value in (phone, email) if value is not None]
        # UNION drops a requester matched by both; external_id is unique, so one entry each.
        rows = self._db.execute(f"{' UNION '.join(clauses)} ORDER BY external_id", values)
        return JSONResponse({"requesters": [_requester(row) for row in rows]})


async def _prepare_ticket(request: Request) -> WriteOp:
    """Check a ``POST /tickets`` body; the write opens the ticket, status ``open``."""
    body = await read_json_object(request, fields=_NEW_TICKET_FIELDS)
    external_id = body.get("requester_external_id")
    if not isinstance(external_id, str) or not external_id.strip():
        raise BadRequest(
            "field 'requester_external_id' is required: the requester's external id (the "
            f"customer id, like C00042); got {json.dumps(external_id)}",
            field="requester_external_id",
        )
    subject = body_text(body, "subject", max_length=MAX_SUBJECT_LENGTH)
    description = body_text(body, "description", max_length=MAX_DESCRIPTION_LENGTH, required=False)
    priority = body_choice(body, "priority", allowed=_PRIORITIES, required=True)
    via = body_choice(body, "via", allowed=_VIA, required=True)

    def write(conn: sqlite3.Connection) -> Written:
        # The helpdesk knows only people who have contacted support, under its own copy of
        # their name: an id alone is not enough to create a requester, so an unknown one is
        # a 404 and nothing is written.
        requester = conn.execute(
            "SELECT id FROM requesters WHERE external_id = ?", (external_id.strip(),)
        ).fetchone()
        if requester is None:
            raise NotFound("requester", external_id.strip())
        now = now_rfc3339()
        cursor = conn.execute(
            "INSERT INTO tickets (requester_id, subject, status, priority, via, created_at, "
            "updated_at) VALUES (?, ?, 'open', ?, ?, ?, ?)",
            (requester["id"], subject, priority, via, now, now),
        )
        ticket_id = cursor.lastrowid
        if description is not None:
            conn.execute(
                "INSERT INTO ticket_comments (ticket_id, body, created_at) VALUES (?, ?, ?)",
                (ticket_id, description, now),
            )
        row = conn.execute(f"{_SELECT} WHERE t.id = ?", (ticket_id,)).fetchone()
        return Written(201, _ticket(row), location=f"/tickets/{ticket_id}")

    return write


def _requester(row: sqlite3.Row) -> JSONObject:
    return {
        "external_id": row["external_id"],
        "name": row["name"],
        "email": row["email"],
        "phone": row["phone"],
    }


def _ticket(row: sqlite3.Row) -> JSONObject:
    return {
        "id": row["id"],
        "requester": {
            "external_id": row["external_id"],
            "name": row["name"],
            "email": row["email"],
            "phone": row["phone"],
        },
        "subject": row["subject"],
        "status": row["status"],
        "priority": row["priority"],
        "via": row["via"],
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
    }


_EXTERNAL_ID = {"type": "string", "pattern": "^C[0-9]{5}$", "examples": ["C00042"]}
_TIME = {"type": "string", "format": "date-time"}

OPENAPI: JSONObject = openapi_document(
    system=SYSTEM,
    title="Demo helpdesk",
    description=(
        "Support tickets. Requesters are keyed by external_id, the universal customer id; "
        "their name, e-mail and phone are the helpdesk's own, as agents typed them."
    ),
    paths={
        "/tickets": {
            "get": {
                "operationId": "listTickets",
                "summary": "Tickets of several requesters, newest created_at first per requester.",
                "parameters": [
                    key_list_param("requester_ids", "requester external ids (customer ids)"),
                    query_param(
                        "status", "Only tickets in this status.", {"enum": list(TICKET_STATUSES)}
                    ),
                    limit_param(),
                ],
                "responses": {
                    "200": json_body(
                        {
                            "type": "object",
                            "required": ["tickets"],
                            "properties": {"tickets": {"type": "array", "items": ref("Ticket")}},
                        },
                        "At most `limit` tickets per requester.",
                    ),
                    "400": error("Missing ids, too many ids, bad status or bad limit."),
                },
            },
            "post": {
                "operationId": "openTicket",
                "summary": "Open a ticket for a requester the helpdesk knows (idempotent).",
                "description": (
                    "The ticket starts open, created_at and updated_at now. The requester "
                    "must exist: the helpdesk knows only customers who have contacted "
                    "support, and cannot create one from an id alone. The description, if "
                    "given, is stored as the ticket's first comment; the ticket record does "
                    "not carry it. Counts one key in /_stats."
                ),
                "parameters": [idempotency_key_param()],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": ref("NewTicket")}},
                },
                "responses": {
                    **write_responses(
                        "201",
                        ref("Ticket"),
                        "The ticket as created; Location: /tickets/{id}.",
                    ),
                    "404": error("No requester with this external_id; nothing was written."),
                },
            },
        },
        "/requesters/search": {
            "get": {
                "operationId": "searchRequesters",
                "summary": "Requesters holding a phone number (any format) or an e-mail address.",
                "description": (
                    "At least one of phone or email; with both, a requester matching either "
                    "is returned. Phones are compared in E.164 (numbers without a country "
                    "code are read as Italian), e-mails trimmed and without case. One entry "
                    "per external_id, sorted by it. The helpdesk's phone may be one the CRM "
                    "does not have. Counts one key in /_stats per value searched."
                ),
                "parameters": contact_point_params(),
                "responses": {
                    "200": json_body(
                        {
                            "type": "object",
                            "required": ["requesters"],
                            "properties": {
                                "requesters": {"type": "array", "items": ref("Requester")}
                            },
                        },
                        "Every requester holding the number or the address; none is [].",
                    ),
                    "400": error(
                        "Neither parameter, a phone that is not a valid number, or an email "
                        "that is not an address; the message names the value."
                    ),
                },
            }
        },
        "/tickets/{id}": {
            "get": {
                "operationId": "getTicket",
                "summary": "One ticket by id.",
                "parameters": [path_param("id", "Ticket number.", {"type": "integer"})],
                "responses": {
                    "200": json_body(ref("Ticket"), "The ticket."),
                    "400": error("The id is not an integer."),
                    "404": error("No ticket with this id."),
                },
            }
        },
    },
    schemas={
        "Ticket": {
            "type": "object",
            "required": [
                "id",
                "requester",
                "subject",
                "status",
                "priority",
                "via",
                "created_at",
                "updated_at",
            ],
            "properties": {
                "id": {"type": "integer", "examples": [48213]},
                "requester": ref("Requester"),
                "subject": {"type": "string"},
                "status": {"enum": list(TICKET_STATUSES)},
                "priority": {"enum": list(_PRIORITIES)},
                "via": {"enum": list(_VIA), "description": "Channel the ticket came in by."},
                "created_at": _TIME,
                "updated_at": _TIME,
            },
        },
        "NewTicket": {
            "type": "object",
            "required": ["requester_external_id", "subject", "priority", "via"],
            "additionalProperties": False,
            "properties": {
                "requester_external_id": _EXTERNAL_ID,
                "subject": {
                    "type": "string",
                    "minLength": 1,
                    "maxLength": MAX_SUBJECT_LENGTH,
                    "description": "Trimmed; must not be blank.",
                },
                "description": {
                    **nullable(
                        {"type": "string", "minLength": 1, "maxLength": MAX_DESCRIPTION_LENGTH}
                    ),
                    "description": "Details; kept as the first comment. Must not be blank.",
                },
                "priority": {"enum": list(_PRIORITIES)},
                "via": {"enum": list(_VIA), "description": "Channel the ticket came in by."},
            },
        },
        "Requester": {
            "type": "object",
            "required": ["external_id", "name", "email", "phone"],
            "properties": {
                "external_id": _EXTERNAL_ID,
                "name": {"type": "string"},
                "email": nullable({"type": "string"}),
                "phone": nullable({"type": "string", "description": "As typed, any format."}),
            },
        },
    },
)
