"""The demo contact center: calls, e-mails, chats and texts with customers.

Keyed by the universal customer id; timestamps are epoch seconds, this system's own
convention, which the gateway converts.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ownergraph.demo._base import (
    BusinessRoute,
    JSONObject,
    NotFound,
    Stats,
    body_choice,
    body_key_list,
    body_limit,
    build_owner_app,
    error,
    json_body,
    nullable,
    open_readonly,
    openapi_document,
    path_param,
    placeholders,
    read_json_object,
    ref,
)

__all__ = ["CHANNELS", "OPENAPI", "SYSTEM", "create_app"]

SYSTEM = "contactcenter"
CHANNELS = ("voice", "email", "chat", "sms")
_DIRECTIONS = ("inbound", "outbound")


def create_app(db_path: Path, *, latency_ms: int = 0) -> Starlette:
    """The contact center as an ASGI app over its seeded SQLite file."""
    db = open_readonly(db_path)
    stats = Stats(SYSTEM)
    center = _ContactCenter(db, stats)
    return build_owner_app(
        system=SYSTEM,
        db=db,
        stats=stats,
        openapi=OPENAPI,
        latency_ms=latency_ms,
        routes=[
            BusinessRoute("POST", "/interactions/search", center.search_interactions),
            BusinessRoute("GET", "/interactions/{id}", center.get_interaction),
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
                "agent": {"type": "string"},
            },
        },
    },
)
