"""The contracts system: what each supply contract is, by number (``CT-0001``...).

Tariff, status, start date and the meter the contract is read from (``M-00001``...): the
crosswalk from billing's contract numbers to field service's meters. Read only. Errors are
RFC 9457 problem details (``application/problem+json``).
"""

from __future__ import annotations

from http import HTTPStatus

from starlette.requests import Request

from ._http import (
    MAX_BATCH,
    BadRequest,
    Clock,
    ErrorShape,
    JSONObject,
    NotFound,
    ReadRoute,
    Stats,
    WriteRoute,
    body_object,
    check_batch,
    preview,
)
from ._openapi import (
    CONTRACT_NUMBER,
    DATE,
    METER_ID,
    document,
    list_schema,
    param,
    record_schema,
    ref,
    reply,
    request_body,
)
from ._seed import CONTRACT_STATUSES, TARIFFS, UtilityData

__all__ = ["ERRORS", "OPENAPI", "SYSTEM", "routes"]

SYSTEM = "contracts"


def _error(status: int, message: str, field: str | None) -> JSONObject:
    # RFC 9457 problem details; a bad field is named in the detail.
    return {
        "type": "about:blank",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": message,
    }


ERRORS = ErrorShape(_error, media_type="application/problem+json")


def routes(data: UtilityData, stats: Stats, clock: Clock) -> list[ReadRoute | WriteRoute]:
    """The contracts system's routes, over its own copy of ``data``."""
    return _Contracts(data, stats).routes()


class _Contracts:
    """What each contract is: tariff, status, start and the meter it is read from."""

    def __init__(self, data: UtilityData, stats: Stats) -> None:
        self._stats = stats
        self._records = {contract.number: contract.record() for contract in data.contracts}

    def routes(self) -> list[ReadRoute | WriteRoute]:
        return [
            ReadRoute("POST", "/contracts/lookup", self.lookup),
            ReadRoute("GET", "/contracts/{number}", self.one),
        ]

    async def lookup(self, request: Request) -> JSONObject:
        body = await body_object(request, ("numbers",))
        numbers = body.get("numbers")
        rule = f"an array of 1 to {MAX_BATCH} contract numbers like CT-0001"
        if (
            not isinstance(numbers, list)
            or not numbers
            or not all(isinstance(number, str) for number in numbers)
        ):
            raise BadRequest(f"field 'numbers' must be {rule}; got {preview(numbers)}", "numbers")
        keys = check_batch(numbers, "numbers", rule)
        self._stats.count_keys(len(keys))
        return {"contracts": [self._records[key] for key in keys if key in self._records]}

    async def one(self, request: Request) -> JSONObject:
        number: str = request.path_params["number"]
        self._stats.count_keys(1)
        if number not in self._records:
            raise NotFound("contract", number)
        return self._records[number]


def _openapi() -> JSONObject:
    error = ref("Problem")
    problem = "application/problem+json"
    return document(
        "Utility contracts",
        "Supply contracts by number: tariff, status, start date and the meter each is read "
        f"from. Errors are RFC 9457 problem details ({problem}).",
        {
            "/contracts/lookup": {
                "post": {
                    "operationId": "lookupContracts",
                    "summary": "Batch read of contracts by number, in the order asked.",
                    "requestBody": request_body(ref("ContractLookup")),
                    "responses": {
                        "200": reply(
                            "The contracts found; unknown numbers are absent.",
                            ref("ContractList"),
                        ),
                        "400": reply("Not a list of 1 to 100 numbers.", error, problem),
                    },
                }
            },
            "/contracts/{number}": {
                "get": {
                    "operationId": "getContract",
                    "summary": "One contract by number.",
                    "parameters": [
                        param(
                            "path",
                            "number",
                            "The contract number.",
                            {"type": "string", "examples": ["CT-0001"]},
                        )
                    ],
                    "responses": {
                        "200": reply("The contract.", ref("Contract")),
                        "404": reply("No contract with this number.", error, problem),
                    },
                }
            },
        },
        {
            "Contract": record_schema(
                {
                    "number": CONTRACT_NUMBER,
                    "tariff": {"enum": list(TARIFFS)},
                    "status": {"enum": list(CONTRACT_STATUSES)},
                    "meter_id": METER_ID,
                    "started_on": DATE,
                },
                "A supply contract.",
            ),
            "ContractLookup": record_schema(
                {
                    "numbers": {
                        "type": "array",
                        "items": {"type": "string"},
                        "minItems": 1,
                        "maxItems": MAX_BATCH,
                    }
                },
                "The contract numbers to read.",
            ),
            "ContractList": list_schema("contracts", "Contract", "Contracts."),
            "Problem": record_schema(
                {
                    "type": {"type": "string"},
                    "title": {"type": "string"},
                    "status": {"type": "integer"},
                    "detail": {"type": "string"},
                },
                "RFC 9457 problem details.",
            ),
        },
    )


OPENAPI: JSONObject = _openapi()
