"""The demo CRM: customer master data, keyed by the universal customer id (``C00042``).

It owns names, e-mails, phones (as people typed them), address, segment, and the crosswalk
to the ERP (``erp_code``). It finds customers by phone or e-mail through search keys it
keeps normalised beside the records, duplicates of one person included.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ownergraph.demo._base import (
    BusinessRoute,
    JSONObject,
    NotFound,
    Stats,
    build_owner_app,
    contact_point_params,
    error,
    json_body,
    key_list_param,
    nullable,
    open_readonly,
    openapi_document,
    parse_contact_point,
    parse_key_list,
    path_param,
    placeholders,
    ref,
)

__all__ = ["OPENAPI", "SYSTEM", "create_app"]

SYSTEM = "crm"
_SEGMENTS = ("retail", "business", "vip")


def create_app(db_path: Path, *, latency_ms: int = 0) -> Starlette:
    """The CRM as an ASGI app over its seeded SQLite file."""
    db = open_readonly(db_path)
    stats = Stats(SYSTEM)
    crm = _Crm(db, stats)
    return build_owner_app(
        system=SYSTEM,
        db=db,
        stats=stats,
        openapi=OPENAPI,
        latency_ms=latency_ms,
        routes=[
            BusinessRoute("GET", "/customers", crm.list_customers),
            # Before /customers/{id}, which would otherwise take "search" for an id.
            BusinessRoute("GET", "/customers/search", crm.search_customers),
            BusinessRoute("GET", "/customers/{id}", crm.get_customer),
        ],
    )


class _Crm:
    def __init__(self, db: sqlite3.Connection, stats: Stats) -> None:
        self._db = db
        self._stats = stats

    async def list_customers(self, request: Request) -> Response:
        ids = _parse_ids(request.query_params.get("ids"))
        self._stats.count_keys(len(ids))
        return JSONResponse({"customers": self._customers(ids)})

    async def get_customer(self, request: Request) -> Response:
        customer_id: str = request.path_params["id"]
        self._stats.count_keys(1)
        found = self._customers([customer_id])
        if not found:
            raise NotFound("customer", customer_id)
        return JSONResponse(found[0])

    async def search_customers(self, request: Request) -> Response:
        phone, email = parse_contact_point(request)
        # One key per value searched, as a batch read counts one per id.
        self._stats.count_keys((phone is not None) + (email is not None))
        # Both lookups go through the search-key tables' indexes; never a scan of customers.
        ids: set[str] = set()
        if phone is not None:
            rows = self._db.execute(
                "SELECT customer_id FROM customer_phones WHERE e164 = ?", (phone,)
            )
            ids.update(row[0] for row in rows)
        if email is not None:
            rows = self._db.execute(
                "SELECT customer_id FROM customer_emails WHERE email = ?", (email,)
            )
            ids.update(row[0] for row in rows)
        return JSONResponse({"customers": self._customers(sorted(ids))})

    def _customers(self, ids: Sequence[str]) -> list[JSONObject]:
        if not ids:
            return []
        rows = self._db.execute(
            f"SELECT * FROM customers WHERE id IN ({placeholders(len(ids))})", tuple(ids)
        )
        by_id = {row["id"]: _record(row) for row in rows}
        return [by_id[key] for key in ids if key in by_id]


def _parse_ids(raw: str | None) -> list[str]:
    return parse_key_list(raw, param="ids", what="customer ids like C00042")


def _record(row: sqlite3.Row) -> JSONObject:
    address = None
    if row["street"] is not None:
        address = {
            "street": row["street"],
            "city": row["city"],
            "postcode": row["postcode"],
            "country": row["country"],
        }
    first, last = row["first_name"], row["last_name"]
    return {
        "id": row["id"],
        "display_name": f"{first} {last}",
        "first_name": first,
        "last_name": last,
        "emails": json.loads(row["emails"]),
        "phones": json.loads(row["phones"]),
        "erp_code": row["erp_code"],
        "segment": row["segment"],
        "address": address,
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
    }


_ID = {"type": "string", "pattern": "^C[0-9]{5}$", "examples": ["C00042"]}
_CUSTOMERS_REPLY = json_body(
    {
        "type": "object",
        "required": ["customers"],
        "properties": {"customers": {"type": "array", "items": ref("Customer")}},
    },
    "The customers found, in any order; unknown ids are absent.",
)

OPENAPI: JSONObject = openapi_document(
    system=SYSTEM,
    title="Demo CRM",
    description=(
        "Customer master data keyed by the universal customer id (C00001...). Phones are "
        "stored as entered, in many formats; the CRM may hold the same person twice."
    ),
    paths={
        "/customers": {
            "get": {
                "operationId": "listCustomers",
                "summary": "Batch read of customers by id.",
                "parameters": [key_list_param("ids", "customer ids")],
                "responses": {
                    "200": _CUSTOMERS_REPLY,
                    "400": error("Missing 'ids' or more than the batch limit."),
                },
            }
        },
        "/customers/search": {
            "get": {
                "operationId": "searchCustomers",
                "summary": "Customers holding a phone number (any format) or an e-mail address.",
                "description": (
                    "At least one of phone or email; with both, a customer matching either "
                    "is returned. Phones are compared in E.164 (numbers without a country "
                    "code are read as Italian), e-mails trimmed and without case. Every "
                    "record is returned in full, duplicates of one person included, sorted "
                    "by id. Counts one key in /_stats per value searched."
                ),
                "parameters": contact_point_params(),
                "responses": {
                    "200": json_body(
                        {
                            "type": "object",
                            "required": ["customers"],
                            "properties": {
                                "customers": {"type": "array", "items": ref("Customer")}
                            },
                        },
                        "Every customer holding the number or the address; none is [].",
                    ),
                    "400": error(
                        "Neither parameter, a phone that is not a valid number, or an email "
                        "that is not an address; the message names the value."
                    ),
                },
            }
        },
        "/customers/{id}": {
            "get": {
                "operationId": "getCustomer",
                "summary": "One customer by id.",
                "parameters": [path_param("id", "Universal customer id.", _ID)],
                "responses": {
                    "200": json_body(ref("Customer"), "The customer."),
                    "404": error("No customer with this id."),
                },
            }
        },
    },
    schemas={
        "Customer": {
            "type": "object",
            "required": [
                "id",
                "display_name",
                "first_name",
                "last_name",
                "emails",
                "phones",
                "erp_code",
                "segment",
                "address",
                "created_at",
                "updated_at",
            ],
            "properties": {
                "id": _ID,
                "display_name": {"type": "string"},
                "first_name": {"type": "string"},
                "last_name": {"type": "string"},
                "emails": {"type": "array", "items": {"type": "string", "format": "email"}},
                "phones": {
                    "type": "array",
                    "description": "As entered: any format, Italian numbers may lack +39.",
                    "items": {"type": "string"},
                },
                "erp_code": {
                    **nullable({"type": "string", "pattern": "^K-[0-9]{6}$"}),
                    "description": "The customer's key in the ERP; null for prospects.",
                },
                "segment": {"enum": list(_SEGMENTS)},
                "address": nullable(ref("Address")),
                "created_at": {"type": "string", "format": "date-time"},
                "updated_at": {"type": "string", "format": "date-time"},
            },
        },
        "Address": {
            "type": "object",
            "required": ["street", "city", "postcode", "country"],
            "properties": {
                "street": {"type": "string"},
                "city": {"type": "string"},
                "postcode": {"type": "string"},
                "country": {"type": "string", "description": "ISO 3166-1 alpha-2."},
            },
        },
    },
)
