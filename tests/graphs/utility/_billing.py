"""The billing system: bills and meter readings, keyed by contract number.

Bills (``B-000001``...) newest first, filtered by state and limited per contract; readings
(``R-1``...) submitted with an idempotent ``POST``, never lower than the contract's last.
Errors: ``{"error": {"message": ..., "param": ...}}``.
"""

from __future__ import annotations

import threading

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
    CONTRACT_NUMBER,
    KEY_PARAM,
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
from ._seed import BILL_STATES, UtilityData, newest_bill_first, serial

__all__ = ["ERRORS", "OPENAPI", "SYSTEM", "routes"]

SYSTEM = "billing"
MIN_LIMIT, MAX_LIMIT, DEFAULT_LIMIT = 1, 50, 10


def _error(status: int, message: str, field: str | None) -> JSONObject:
    return {"error": {"message": message, "param": field}}


ERRORS = ErrorShape(_error)


def routes(data: UtilityData, stats: Stats, clock: Clock) -> list[ReadRoute | WriteRoute]:
    """The billing system's routes, over its own copy of ``data``."""
    return _Billing(data, stats, clock).routes()


class _Billing:
    """Bills and meter readings, keyed by contract number."""

    def __init__(self, data: UtilityData, stats: Stats, clock: Clock) -> None:
        self._stats = stats
        self._clock = clock
        self._lock = threading.Lock()
        self._bills: dict[str, list[JSONObject]] = {}
        for bill in sorted(data.bills, key=newest_bill_first):
            self._bills.setdefault(bill.contract, []).append(bill.record())
        self._last = dict(data.last_readings)
        self._readings: dict[str, JSONObject] = {}

    def routes(self) -> list[ReadRoute | WriteRoute]:
        return [
            ReadRoute("GET", "/bills", self.bills),
            WriteRoute("POST", "/readings", ("contract", "value"), self.add_reading),
            ReadRoute("GET", "/readings/{reading_id}", self.reading),
        ]

    async def bills(self, request: Request) -> JSONObject:
        numbers = query_keys(request, "contracts", "contract numbers like CT-0001")
        limit = _limit(request.query_params.get("limit"))
        state = request.query_params.get("state")
        if state is not None and state not in BILL_STATES:
            raise BadRequest(
                f"state must be one of {', '.join(BILL_STATES)}; got {state!r}", "state"
            )
        self._stats.count_keys(len(numbers))
        found: list[JSONObject] = []
        for number in numbers:
            kept = [bill for bill in self._bills.get(number, ()) if state in (None, bill["state"])]
            found.extend(kept[:limit])
        found.sort(key=lambda bill: (-bill["issued"], -serial(bill["bill_no"])))
        return {"bills": found}

    def add_reading(self, request: Request, body: JSONObject) -> tuple[int, JSONObject]:
        contract = body.get("contract")
        if not isinstance(contract, str) or not contract:
            raise BadRequest(
                f"field 'contract' must be a contract number like CT-0001; got {preview(contract)}",
                "contract",
            )
        value = body.get("value")
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise BadRequest(
                f"field 'value' must be the meter's reading, a whole number 0 or more; got "
                f"{preview(value)}",
                "value",
            )
        with self._lock:
            if contract not in self._last:
                raise NotFound("contract", contract, "contract")
            last = self._last[contract]
            if value < last:
                raise BadRequest(
                    f"value {value} is lower than the last reading of {contract} ({last}); "
                    "a meter only counts up",
                    "value",
                )
            reading_id = f"R-{len(self._readings) + 1}"
            reading = {
                "reading_id": reading_id,
                "contract": contract,
                "value": value,
                "at": int(self._clock().timestamp()),
            }
            self._readings[reading_id] = reading
            self._last[contract] = value
        return 201, reading

    async def reading(self, request: Request) -> JSONObject:
        reading_id: str = request.path_params["reading_id"]
        self._stats.count_keys(1)
        if reading_id not in self._readings:
            raise NotFound("reading", reading_id)
        return self._readings[reading_id]


def _limit(raw: str | None) -> int:
    if raw is None:
        return DEFAULT_LIMIT
    try:
        limit = int(raw)
    except ValueError:
        limit = 0
    if not MIN_LIMIT <= limit <= MAX_LIMIT:
        raise BadRequest(
            f"limit must be a whole number from {MIN_LIMIT} to {MAX_LIMIT}; got {raw!r}", "limit"
        )
    return limit


def _openapi() -> JSONObject:
    error = ref("BillingError")
    contracts = keys_param("contracts", "Contract numbers", "CT-0001")
    return document(
        "Utility billing",
        "Bills and meter readings, keyed by contract number.",
        {
            "/bills": {
                "get": {
                    "operationId": "listBills",
                    "summary": "The bills of some contracts, newest first.",
                    "parameters": [
                        contracts,
                        param(
                            "query",
                            "limit",
                            "Most bills per contract, its newest ones.",
                            {
                                "type": "integer",
                                "minimum": MIN_LIMIT,
                                "maximum": MAX_LIMIT,
                                "default": DEFAULT_LIMIT,
                            },
                        ),
                        param(
                            "query",
                            "state",
                            "Only bills in this state.",
                            {"enum": list(BILL_STATES)},
                        ),
                    ],
                    "responses": {
                        "200": reply(
                            "The bills, all contracts together, newest first.", ref("BillList")
                        ),
                        "400": reply(
                            "No contracts, a bad limit or a bad state (named in param).", error
                        ),
                    },
                }
            },
            "/readings": {
                "post": {
                    "operationId": "submitReading",
                    "summary": "Record a meter reading of a contract (idempotent).",
                    "description": "A reading lower than the contract's last one is refused.",
                    "parameters": [KEY_PARAM],
                    "requestBody": request_body(ref("ReadingInput")),
                    "responses": {
                        **write_responses("201", ref("Reading"), "The reading recorded.", error),
                        "404": reply("No contract with this number; nothing recorded.", error),
                    },
                }
            },
            "/readings/{reading_id}": {
                "get": {
                    "operationId": "getReading",
                    "summary": "One recorded reading.",
                    "parameters": [
                        param(
                            "path",
                            "reading_id",
                            "The reading's id.",
                            {"type": "string", "examples": ["R-1"]},
                        )
                    ],
                    "responses": {
                        "200": reply("The reading.", ref("Reading")),
                        "404": reply("No reading with this id.", error),
                    },
                }
            },
        },
        {
            "Bill": record_schema(
                {
                    "bill_no": {"type": "string", "pattern": "^B-[0-9]{6}$"},
                    "contract": CONTRACT_NUMBER,
                    "total": {
                        "type": "string",
                        "pattern": "^[0-9]+\\.[0-9]{2}$",
                        "description": "Amount due, a decimal string.",
                        "examples": ["123.45"],
                    },
                    "issued": {"type": "integer", "description": "Epoch seconds."},
                    "state": {"enum": list(BILL_STATES)},
                },
                "A bill.",
            ),
            "BillList": list_schema("bills", "Bill", "Bills."),
            "ReadingInput": record_schema(
                {
                    "contract": {"type": "string", "minLength": 1, "examples": ["CT-0001"]},
                    "value": {
                        "type": "integer",
                        "minimum": 0,
                        "description": "The meter's reading: no lower than its last one.",
                    },
                },
                "A meter reading to record.",
            ),
            "Reading": record_schema(
                {
                    "reading_id": {"type": "string", "pattern": "^R-[0-9]+$"},
                    "contract": CONTRACT_NUMBER,
                    "value": {"type": "integer", "minimum": 0},
                    "at": {"type": "integer", "description": "Epoch seconds it was recorded."},
                },
                "A recorded reading.",
            ),
            "BillingError": record_schema(
                {
                    "error": record_schema(
                        {
                            "message": {"type": "string"},
                            "param": {
                                **nullable({"type": "string"}),
                                "description": "The parameter or body field at fault, if one.",
                            },
                        },
                        "What went wrong.",
                    )
                },
                "The billing system's error.",
            ),
        },
    )


OPENAPI: JSONObject = _openapi()
