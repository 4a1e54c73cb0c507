"""The field service system: work orders on meters (``W-1``...), keyed by meter id.

Visits planned, done or cancelled, newest scheduled first; a visit is planned with an
idempotent ``POST``, on a day no earlier than the system's today. Errors:
``{"message": ..., "field": ...}``.
"""

from __future__ import annotations

import re
import threading
from datetime import UTC, date

from starlette.requests import Request

from ._http import (
    BadRequest,
    Clock,
    ErrorShape,
    JSONObject,
    NotFound,
    ReadRoute,
    Stats,
    WriteRoute,
    preview,
    query_keys,
)
from ._openapi import (
    DATE,
    KEY_PARAM,
    METER_ID,
    document,
    keys_param,
    list_schema,
    nullable,
    param,
    record_schema,
    ref,
    reply,
    request_body,
    write_responses,
)
from ._seed import ORDER_STATUSES, UtilityData, WorkOrder, newest_order_first

__all__ = ["ERRORS", "OPENAPI", "SYSTEM", "routes"]

SYSTEM = "fieldservice"
MAX_REASON_LENGTH = 500


def _error(status: int, message: str, field: str | None) -> JSONObject:
    return {"message": message, "field": field}


ERRORS = ErrorShape(_error)


def routes(data: UtilityData, stats: Stats, clock: Clock) -> list[ReadRoute | WriteRoute]:
    """The fieldservice system's routes, over its own copy of ``data``."""
    return _FieldService(data, stats, clock).routes()


_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


class _FieldService:
    """Work orders on meters: visits planned, done or cancelled."""

    def __init__(self, data: UtilityData, stats: Stats, clock: Clock) -> None:
        self._stats = stats
        self._clock = clock
        self._lock = threading.Lock()
        self._meters = {contract.meter_id for contract in data.contracts}
        self._orders = {order.id: order for order in data.work_orders}

    def routes(self) -> list[ReadRoute | WriteRoute]:
        return [
            ReadRoute("GET", "/work-orders", self.list_orders),
            ReadRoute("GET", "/work-orders/{id}", self.one),
            WriteRoute("POST", "/work-orders", ("meter", "reason", "date"), self.plan),
        ]

    async def list_orders(self, request: Request) -> JSONObject:
        meters = set(query_keys(request, "meters", "meter ids like M-00001"))
        self._stats.count_keys(len(meters))
        with self._lock:
            found = [order for order in self._orders.values() if order.meter in meters]
        return {"orders": [order.record() for order in sorted(found, key=newest_order_first)]}

    async def one(self, request: Request) -> JSONObject:
        order_id: str = request.path_params["id"]
        self._stats.count_keys(1)
        order = self._orders.get(order_id)
        if order is None:
            raise NotFound("work order", order_id)
        return order.record()

    def plan(self, request: Request, body: JSONObject) -> tuple[int, JSONObject]:
        meter = body.get("meter")
        if not isinstance(meter, str) or not meter:
            raise BadRequest(
                f"field 'meter' must be a meter id like M-00001; got {preview(meter)}", "meter"
            )
        reason = body.get("reason")
        if not isinstance(reason, str) or not reason.strip():
            raise BadRequest(
                f"field 'reason' must be a text of 1 to {MAX_REASON_LENGTH} characters, "
                f"not blank; got {preview(reason)}",
                "reason",
            )
        reason = reason.strip()
        if len(reason) > MAX_REASON_LENGTH:
            raise BadRequest(
                f"field 'reason' is too long: {len(reason)} characters, at most "
                f"{MAX_REASON_LENGTH}",
                "reason",
            )
        scheduled = self._date(body.get("date"))
        with self._lock:
            if meter not in self._meters:
                raise NotFound("meter", meter, "meter")
            order = WorkOrder(f"W-{len(self._orders) + 1}", meter, "planned", reason, scheduled)
            self._orders[order.id] = order
        return 201, order.record()

    def _date(self, value: object) -> date:
        today = self._clock().astimezone(UTC).date()
        rule = f"an ISO date (YYYY-MM-DD), today ({today.isoformat()}) or later"
        if not isinstance(value, str) or not _ISO_DATE.fullmatch(value):
            raise BadRequest(f"field 'date' must be {rule}; got {preview(value)}", "date")
        try:
            day = date.fromisoformat(value)
        except ValueError:
            raise BadRequest(
                f"field 'date' {value!r} is not a calendar date; {rule}", "date"
            ) from None
        if day < today:
            raise BadRequest(f"field 'date' {value!r} is in the past; {rule}", "date")
        return day


def _openapi() -> JSONObject:
    error = ref("FieldServiceError")
    return document(
        "Utility field service",
        "Work orders on meters: visits planned, done or cancelled.",
        {
            "/work-orders": {
                "get": {
                    "operationId": "listWorkOrders",
                    "summary": "The work orders on some meters, newest scheduled first.",
                    "parameters": [keys_param("meters", "Meter ids", "M-00001")],
                    "responses": {
                        "200": reply("The work orders.", ref("WorkOrderList")),
                        "400": reply("No meters, or too many.", error),
                    },
                },
                "post": {
                    "operationId": "planWorkOrder",
                    "summary": "Plan a visit to a meter (idempotent).",
                    "parameters": [KEY_PARAM],
                    "requestBody": request_body(ref("WorkOrderInput")),
                    "responses": {
                        **write_responses(
                            "201", ref("WorkOrder"), "The order, status planned.", error
                        ),
                        "404": reply("No meter with this id; nothing planned.", error),
                    },
                },
            },
            "/work-orders/{id}": {
                "get": {
                    "operationId": "getWorkOrder",
                    "summary": "One work order.",
                    "parameters": [
                        param(
                            "path", "id", "The order's id.", {"type": "string", "examples": ["W-1"]}
                        )
                    ],
                    "responses": {
                        "200": reply("The work order.", ref("WorkOrder")),
                        "404": reply("No work order with this id.", error),
                    },
                }
            },
        },
        {
            "WorkOrder": record_schema(
                {
                    "id": {"type": "string", "pattern": "^W-[0-9]+$"},
                    "meter": METER_ID,
                    "status": {"enum": list(ORDER_STATUSES)},
                    "reason": {"type": "string", "minLength": 1, "maxLength": MAX_REASON_LENGTH},
                    "scheduled_for": DATE,
                },
                "A work order.",
            ),
            "WorkOrderList": list_schema("orders", "WorkOrder", "Work orders."),
            "WorkOrderInput": record_schema(
                {
                    "meter": {"type": "string", "minLength": 1, "examples": ["M-00001"]},
                    "reason": {
                        "type": "string",
                        "minLength": 1,
                        "maxLength": MAX_REASON_LENGTH,
                        "description": "Why the visit; trimmed, not blank.",
                    },
                    "date": {
                        **DATE,
                        "description": "The day of the visit: today (UTC) or later.",
                    },
                },
                "A visit to plan.",
            ),
            "FieldServiceError": record_schema(
                {
                    "message": {"type": "string"},
                    "field": {
                        **nullable({"type": "string"}),
                        "description": "The parameter or body field at fault, if one.",
                    },
                },
                "The field service system's error.",
            ),
        },
    )


OPENAPI: JSONObject = _openapi()
