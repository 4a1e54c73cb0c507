"""The demo CRM: customer master data, keyed by the universal customer id (``C00042``).

It owns names, e-mails, phones (as people typed them), address, segment, and the crosswalk
to the ERP (``erp_code``). It finds customers by phone or e-mail through search keys it
keeps normalised beside the records, duplicates of one person included. Its contact data
(name, e-mails, phones) can be changed with an idempotent ``PATCH``, which keeps those
search keys in step.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ownergraph.demo._base import (
    BusinessRoute,
    JSONObject,
    NotFound,
    Stats,
    WriteOp,
    WriteRoute,
    Written,
    body_string_list,
    body_text,
    build_owner_app,
    contact_point_params,
    error,
    idempotency_key_param,
    json_body,
    key_list_param,
    now_rfc3339,
    nullable,
    open_readonly,
    open_readwrite,
    openapi_document,
    parse_contact_point,
    parse_email,
    parse_key_list,
    parse_phone,
    path_param,
    placeholders,
    read_json_object,
    ref,
    write_responses,
)

__all__ = ["OPENAPI", "SYSTEM", "create_app"]

SYSTEM = "crm"
_SEGMENTS = ("retail", "business", "vip")
#: The contact fields a PATCH may change.
_PATCHABLE = ("display_name", "emails", "phones")
MAX_NAME_LENGTH = 200
#: Most e-mails or phones one customer may hold; the seed's busiest have three.
MAX_CONTACT_POINTS = 20


def create_app(db_path: Path, *, latency_ms: int = 0) -> Starlette:
    """The CRM as an ASGI app over its seeded SQLite file."""
    db = open_readonly(db_path)
    writer = open_readwrite(db_path)
    stats = Stats(SYSTEM)
    crm = _Crm(db, stats)
    return build_owner_app(
        system=SYSTEM,
        db=db,
        writer=writer,
        stats=stats,
        openapi=OPENAPI,
        latency_ms=latency_ms,
        routes=[
            BusinessRoute("GET", "/customers", crm.list_customers),
            # Before /customers/{id}, which would otherwise take "search" for an id.
            BusinessRoute("GET", "/customers/search", crm.search_customers),
            BusinessRoute("GET", "/customers/{id}", crm.get_customer),
            WriteRoute("PATCH", "/customers/{id}", _prepare_patch),
        ],
    )


class _Crm:
    def __init__(self, db: sqlite3.Connection, stats: Stats) -> None:
        self._db = db
        self._stats = stats

    async def list_customers(self, request: Request) -> Response:
        ids = _parse_ids(request.query_params.getlist("ids"))
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


async def _prepare_patch(request: Request) -> WriteOp:
    """Check a ``PATCH /customers/{id}`` body; the write replaces the fields it names."""
    customer_id: str = request.path_params["id"]
    body = await read_json_object(request, fields=_PATCHABLE)
    name: tuple[str, str] | None = None
    if "display_name" in body:
        text = body_text(body, "display_name", max_length=MAX_NAME_LENGTH)
        assert text is not None  # required: absent or null was refused
        # The CRM keeps first and last name; the first word is the first name, so Italian
        # surnames of two words ("De Luca") stay whole. Runs of spaces collapse, so what is
        # read back is the name as sent.
        first, _, last = " ".join(text.split()).partition(" ")
        name = (first, last)
    emails: list[tuple[str, str]] | None = None
    if "emails" in body:
        raw = body_string_list(
            body, "emails", what="e-mail addresses", max_items=MAX_CONTACT_POINTS
        )
        emails = _distinct(
            (value.strip(), parse_email(value, param=f"emails[{i}]")) for i, value in enumerate(raw)
        )
    phones: list[tuple[str, str]] | None = None
    if "phones" in body:
        raw = body_string_list(
            body, "phones", what="phone numbers (any format)", max_items=MAX_CONTACT_POINTS
        )
        phones = _distinct(
            (value.strip(), parse_phone(value, param=f"phones[{i}]")) for i, value in enumerate(raw)
        )

    def write(conn: sqlite3.Connection) -> Written:
        if conn.execute("SELECT 1 FROM customers WHERE id = ?", (customer_id,)).fetchone() is None:
            raise NotFound("customer", customer_id)
        if name is not None or emails is not None or phones is not None:
            _apply_patch(conn, customer_id, name, emails, phones)
        row = conn.execute("SELECT * FROM customers WHERE id = ?", (customer_id,)).fetchone()
        return Written(200, _record(row))

    return write


def _distinct(pairs: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """(as written, search key) pairs, the first of each search key only.

    The same address or number twice (in another case or format) is one contact point;
    keeping both would list it twice and index it twice.
    """
    kept: dict[str, str] = {}
    for written, key in pairs:
        kept.setdefault(key, written)
    return [(written, key) for key, written in kept.items()]


def _apply_patch(
    conn: sqlite3.Connection,
    customer_id: str,
    name: tuple[str, str] | None,
    emails: list[tuple[str, str]] | None,
    phones: list[tuple[str, str]] | None,
) -> None:
    # Runs inside the write's transaction: the record and its search keys change together,
    # so a search never finds a number the record no longer has, or misses one it has.
    if name is not None:
        conn.execute(
            "UPDATE customers SET first_name = ?, last_name = ? WHERE id = ?",
            (*name, customer_id),
        )
    if emails is not None:
        conn.execute(
            "UPDATE customers SET emails = ? WHERE id = ?",
            (json.dumps([written for written, _key in emails]), customer_id),
        )
        conn.execute("DELETE FROM customer_emails WHERE customer_id = ?", (customer_id,))
        conn.executemany(
            "INSERT INTO customer_emails VALUES (?, ?)",
            [(customer_id, key) for _written, key in emails],
        )
    if phones is not None:
        # Stored as written, like every phone the CRM holds; searched by E.164.
        conn.execute(
            "UPDATE customers SET phones = ? WHERE id = ?",
            (json.dumps([written for written, _key in phones], ensure_ascii=False), customer_id),
        )
        conn.execute("DELETE FROM customer_phones WHERE customer_id = ?", (customer_id,))
        conn.executemany(
            "INSERT INTO customer_phones VALUES (?, ?)",
            [(customer_id, key) for _written, key in phones],
        )
    conn.execute("UPDATE customers SET updated_at = ? WHERE id = ?", (now_rfc3339(), customer_id))


def _parse_ids(values: Sequence[str]) -> list[str]:
    return parse_key_list(values, param="ids", what="customer ids like C00042")


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
        # A one-word name, set through a PATCH, has no last name to add a space for.
        "display_name": f"{first} {last}" if last else first,
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
            },
            "patch": {
                "operationId": "updateCustomerContact",
                "summary": "Change a customer's name, e-mails or phones (idempotent).",
                "description": (
                    "Sets the fields given and leaves the others alone; an empty object "
                    "changes nothing. emails and phones replace the whole list (an empty "
                    "list clears it); a repeated address or number is kept once. Phones may "
                    "be written any way and are stored as sent; the search keys (E.164 "
                    "phones, lower-cased e-mails) change in the same transaction, so "
                    "/customers/search finds the new values at once. display_name becomes "
                    "first_name (its first word) and last_name (the rest). A change bumps "
                    "updated_at. Counts one key in /_stats."
                ),
                "parameters": [
                    path_param("id", "Universal customer id.", _ID),
                    idempotency_key_param(),
                ],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": ref("CustomerContactPatch")}},
                },
                "responses": {
                    **write_responses("200", ref("Customer"), "The customer after the change."),
                    "404": error("No customer with this id; nothing was written."),
                },
            },
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
        "CustomerContactPatch": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "display_name": {
                    "type": "string",
                    "minLength": 1,
                    "maxLength": MAX_NAME_LENGTH,
                    "description": "Trimmed; must not be blank.",
                },
                "emails": {
                    "type": "array",
                    "maxItems": MAX_CONTACT_POINTS,
                    "items": {"type": "string", "format": "email"},
                },
                "phones": {
                    "type": "array",
                    "maxItems": MAX_CONTACT_POINTS,
                    "description": (
                        "Valid phone numbers, any format; without a country code, Italian."
                    ),
                    "items": {"type": "string", "examples": ["+393471234567"]},
                },
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
