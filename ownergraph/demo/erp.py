"""The demo ERP: accounts and invoices, keyed by the ERP's own customer code (``K-100042``).

Nothing here knows the universal customer id: callers go through the CRM's ``erp_code``.
Balances and "overdue" are computed at read time against today's date, as a ledger would.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ownergraph.demo._base import (
    BusinessRoute,
    JSONObject,
    NotFound,
    Stats,
    body_key_list,
    build_owner_app,
    error,
    json_body,
    key_list_param,
    limit_param,
    nullable,
    open_readonly,
    openapi_document,
    parse_choice,
    parse_key_list,
    parse_limit,
    path_param,
    placeholders,
    query_param,
    read_json_object,
    ref,
)

__all__ = ["INVOICE_STATUSES", "OPENAPI", "SYSTEM", "create_app"]

SYSTEM = "erp"
INVOICE_STATUSES = ("unpaid", "paid", "cancelled")


def _utc_today() -> date:
    return datetime.now(UTC).date()


def create_app(
    db_path: Path, *, latency_ms: int = 0, today: Callable[[], date] | None = None
) -> Starlette:
    """The ERP as an ASGI app over its seeded SQLite file.

    ``today`` is the clock that decides what is overdue; tests pin it.
    """
    db = open_readonly(db_path)
    stats = Stats(SYSTEM)
    erp = _Erp(db, stats, today or _utc_today)
    return build_owner_app(
        system=SYSTEM,
        db=db,
        stats=stats,
        openapi=OPENAPI,
        latency_ms=latency_ms,
        routes=[
            BusinessRoute("POST", "/accounts/batch", erp.batch_accounts),
            BusinessRoute("GET", "/accounts/{code}", erp.get_account),
            BusinessRoute("GET", "/invoices", erp.list_invoices),
        ],
    )


class _Erp:
    def __init__(self, db: sqlite3.Connection, stats: Stats, today: Callable[[], date]) -> None:
        self._db = db
        self._stats = stats
        self._today = today

    async def batch_accounts(self, request: Request) -> Response:
        body = await read_json_object(request, fields=("codes",))
        codes = body_key_list(body, "codes", what="ERP customer codes like K-100042")
        self._stats.count_keys(len(codes))
        return JSONResponse({"accounts": self._accounts(codes)})

    async def get_account(self, request: Request) -> Response:
        code: str = request.path_params["code"]
        self._stats.count_keys(1)
        found = self._accounts([code])
        if not found:
            raise NotFound("account", code)
        return JSONResponse(found[0])

    async def list_invoices(self, request: Request) -> Response:
        query = request.query_params
        codes = parse_key_list(
            query.getlist("customer_codes"), param="customer_codes", what="ERP customer codes"
        )
        status = parse_choice(query.get("status"), param="status", allowed=INVOICE_STATUSES)
        limit = parse_limit(query.get("limit"))
        self._stats.count_keys(len(codes))
        if not codes:
            return JSONResponse({"invoices": []})
        status_filter = "AND status = ?" if status else ""
        params: list[object] = [*codes, *([status] if status else []), limit]
        # Ranking inside SQL keeps "limit per customer" one indexed query for the whole batch.
        rows = self._db.execute(
            f"""
            SELECT * FROM (
                SELECT *, ROW_NUMBER() OVER (
                    PARTITION BY customer_code ORDER BY issued_on DESC, number DESC
                ) AS rn
                FROM invoices
                WHERE customer_code IN ({placeholders(len(codes))}) {status_filter}
            ) WHERE rn <= ?
            ORDER BY customer_code, rn
            """,
            params,
        )
        today = self._today().isoformat()
        return JSONResponse({"invoices": [_invoice(row, today) for row in rows]})

    def _accounts(self, codes: Sequence[str]) -> list[JSONObject]:
        if not codes:
            return []
        marks = placeholders(len(codes))
        today = self._today().isoformat()
        totals = {
            row["customer_code"]: (row["balance"], row["overdue"])
            for row in self._db.execute(
                f"""
                SELECT customer_code,
                       SUM(amount_cents) AS balance,
                       SUM(CASE WHEN due_on < ? THEN amount_cents ELSE 0 END) AS overdue
                FROM invoices
                WHERE status = 'unpaid' AND customer_code IN ({marks})
                GROUP BY customer_code
                """,
                (today, *codes),
            )
        }
        rows = self._db.execute(f"SELECT * FROM accounts WHERE code IN ({marks})", tuple(codes))
        by_code: dict[str, JSONObject] = {}
        for row in rows:
            balance, overdue = totals.get(row["code"], (0, 0))
            by_code[row["code"]] = {
                "code": row["code"],
                "name": row["name"],
                "credit_limit_cents": row["credit_limit_cents"],
                "balance_cents": balance,
                "overdue_cents": overdue,
                "currency": row["currency"],
                "blocked": bool(row["blocked"]),
            }
        return [by_code[code] for code in codes if code in by_code]


def _invoice(row: sqlite3.Row, today: str) -> JSONObject:
    return {
        "number": row["number"],
        "customer_code": row["customer_code"],
        "status": row["status"],
        "amount_cents": row["amount_cents"],
        "currency": row["currency"],
        "issued_on": row["issued_on"],
        "due_on": row["due_on"],
        "paid_at": row["paid_at"],
        # ISO dates compare correctly as strings.
        "overdue": row["status"] == "unpaid" and row["due_on"] < today,
    }


_CODE = {"type": "string", "pattern": "^K-[0-9]{6}$", "examples": ["K-100042"]}
_CENTS = {"type": "integer", "description": "Amount in cents of `currency`."}

OPENAPI: JSONObject = openapi_document(
    system=SYSTEM,
    title="Demo ERP",
    description=(
        "Accounts and invoices keyed by the ERP's own customer code (K-123456), which the "
        "CRM holds as erp_code. Balance, overdue amounts and invoice overdue flags are "
        "computed at read time against today's date (UTC)."
    ),
    paths={
        "/accounts/batch": {
            "post": {
                "operationId": "batchAccounts",
                "summary": "Batch read of accounts by customer code.",
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["codes"],
                                "additionalProperties": False,
                                "properties": {
                                    "codes": {"type": "array", "maxItems": 200, "items": _CODE}
                                },
                            }
                        }
                    },
                },
                "responses": {
                    "200": json_body(
                        {
                            "type": "object",
                            "required": ["accounts"],
                            "properties": {"accounts": {"type": "array", "items": ref("Account")}},
                        },
                        "The accounts found, in any order; unknown codes are absent.",
                    ),
                    "400": error("Body is not a JSON object with a 'codes' array of strings."),
                },
            }
        },
        "/accounts/{code}": {
            "get": {
                "operationId": "getAccount",
                "summary": "One account by customer code.",
                "parameters": [path_param("code", "ERP customer code.", _CODE)],
                "responses": {
                    "200": json_body(ref("Account"), "The account."),
                    "404": error("No account with this code."),
                },
            }
        },
        "/invoices": {
            "get": {
                "operationId": "listInvoices",
                "summary": "Invoices of several customers, newest issued_on first per customer.",
                "parameters": [
                    key_list_param("customer_codes", "ERP customer codes"),
                    query_param(
                        "status", "Only invoices in this status.", {"enum": list(INVOICE_STATUSES)}
                    ),
                    limit_param(),
                ],
                "responses": {
                    "200": json_body(
                        {
                            "type": "object",
                            "required": ["invoices"],
                            "properties": {"invoices": {"type": "array", "items": ref("Invoice")}},
                        },
                        "At most `limit` invoices per customer code.",
                    ),
                    "400": error("Missing codes, too many codes, bad status or bad limit."),
                },
            }
        },
    },
    schemas={
        "Account": {
            "type": "object",
            "required": [
                "code",
                "name",
                "credit_limit_cents",
                "balance_cents",
                "overdue_cents",
                "currency",
                "blocked",
            ],
            "properties": {
                "code": _CODE,
                "name": {"type": "string"},
                "credit_limit_cents": _CENTS,
                "balance_cents": {**_CENTS, "description": "Sum of unpaid invoices, in cents."},
                "overdue_cents": {
                    **_CENTS,
                    "description": "Sum of unpaid invoices past their due date, in cents.",
                },
                "currency": {"type": "string", "description": "ISO 4217.", "examples": ["EUR"]},
                "blocked": {"type": "boolean", "description": "No new orders accepted."},
            },
        },
        "Invoice": {
            "type": "object",
            "required": [
                "number",
                "customer_code",
                "status",
                "amount_cents",
                "currency",
                "issued_on",
                "due_on",
                "paid_at",
                "overdue",
            ],
            "properties": {
                "number": {"type": "string", "examples": ["INV-2025-000123"]},
                "customer_code": _CODE,
                "status": {"enum": list(INVOICE_STATUSES)},
                "amount_cents": _CENTS,
                "currency": {"type": "string"},
                "issued_on": {"type": "string", "format": "date"},
                "due_on": {"type": "string", "format": "date"},
                "paid_at": nullable({"type": "string", "format": "date-time"}),
                "overdue": {"type": "boolean", "description": "Unpaid and past due_on today."},
            },
        },
    },
)
