"""The accounts system: who the customers are, the identity of the utility graph.

Accounts ``A-1001``..., each with its holder (a name, an e-mail or none), a segment, and the
contract numbers it holds. The same holder may have two accounts listing one contract (a
household that registered again after a move): a search by contract shows both. The
holder's e-mail can be changed with an idempotent ``PATCH``. Errors:
``{"problem": {"detail": ..., "field": ...}}``.
"""

from __future__ import annotations

import re
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
    ACCOUNT_ID,
    CONTRACT_NUMBER,
    DATE,
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
from ._seed import SEGMENTS, UtilityData

__all__ = ["ERRORS", "OPENAPI", "SYSTEM", "routes"]

SYSTEM = "accounts"
MAX_EMAIL_LENGTH = 254


def _error(status: int, message: str, field: str | None) -> JSONObject:
    return {"problem": {"detail": message, "field": field}}


ERRORS = ErrorShape(_error)


def routes(data: UtilityData, stats: Stats, clock: Clock) -> list[ReadRoute | WriteRoute]:
    """The accounts system's routes, over its own copy of ``data``."""
    return _Accounts(data, stats).routes()


_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]+")


class _Accounts:
    """Who the customers are: holders, segments, and the contract numbers each holds."""

    def __init__(self, data: UtilityData, stats: Stats) -> None:
        self._stats = stats
        self._lock = threading.Lock()
        self._records = {account.account_id: account.record() for account in data.accounts}
        self._holders: dict[str, list[str]] = {}
        for account in data.accounts:
            for number in account.contracts:
                self._holders.setdefault(number, []).append(account.account_id)

    def routes(self) -> list[ReadRoute | WriteRoute]:
        return [
            ReadRoute("GET", "/accounts", self.batch),
            # Before /accounts/{id}, which would otherwise take "search" for an id.
            ReadRoute("GET", "/accounts/search", self.search),
            ReadRoute("GET", "/accounts/{id}", self.one),
            WriteRoute("PATCH", "/accounts/{id}", ("email",), self.patch),
        ]

    async def batch(self, request: Request) -> JSONObject:
        ids = query_keys(request, "ids", "account ids like A-1001")
        self._stats.count_keys(len(ids))
        return {"items": [self._records[key] for key in ids if key in self._records]}

    async def one(self, request: Request) -> JSONObject:
        account_id: str = request.path_params["id"]
        self._stats.count_keys(1)
        if account_id not in self._records:
            raise NotFound("account", account_id)
        return self._records[account_id]

    async def search(self, request: Request) -> JSONObject:
        raw = request.query_params.get("contract", "")
        number = raw.strip().upper()
        if not number:
            raise BadRequest(
                "query parameter 'contract' is required: a contract number like CT-0007",
                "contract",
            )
        self._stats.count_keys(1)
        ids = sorted(self._holders.get(number, ()))
        return {"items": [self._records[key] for key in ids]}

    def patch(self, request: Request, body: JSONObject) -> tuple[int, JSONObject]:
        account_id: str = request.path_params["id"]
        if account_id not in self._records:
            raise NotFound("account", account_id)
        if "email" not in body:
            raise BadRequest(
                "field 'email' is required: an e-mail address, or null to remove it", "email"
            )
        email = _email(body["email"])
        with self._lock:
            record = self._records[account_id]
            record["holder"] = {**record["holder"], "email": email}
            return 200, record


def _email(value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise BadRequest(
            f"email must be a string (an e-mail address) or null; got {preview(value)}", "email"
        )
    email = value.strip()
    if len(email) > MAX_EMAIL_LENGTH or not _EMAIL.fullmatch(email):
        raise BadRequest(
            f"email {preview(value)} is not an e-mail address (expected name@domain)", "email"
        )
    return email


def _openapi() -> JSONObject:
    error = ref("Problem")
    account_id = param("path", "id", "The account id.", {"type": "string", "examples": ["A-1001"]})
    return document(
        "Utility accounts",
        "Who the customers are: account holders, segments and the contract numbers each "
        "account holds. The identity system of the utility graph. The same holder may have "
        "two accounts holding one contract (a household that moved): a search shows both.",
        {
            "/accounts": {
                "get": {
                    "operationId": "listAccounts",
                    "summary": "Batch read of accounts by id, in any order.",
                    "parameters": [keys_param("ids", "Account ids", "A-1001")],
                    "responses": {
                        "200": reply("The accounts found.", ref("AccountList")),
                        "400": reply("No ids, or too many.", error),
                    },
                }
            },
            "/accounts/search": {
                "get": {
                    "operationId": "searchAccounts",
                    "summary": "The accounts holding a contract number, in id order.",
                    "parameters": [
                        param(
                            "query",
                            "contract",
                            "A contract number; trimmed and upper-cased, then matched exactly.",
                            {"type": "string", "minLength": 1, "examples": ["CT-0007"]},
                            required=True,
                        )
                    ],
                    "responses": {
                        "200": reply(
                            "Every account holding it (several for a shared contract, none: []).",
                            ref("AccountList"),
                        ),
                        "400": reply("No contract parameter.", error),
                    },
                }
            },
            "/accounts/{id}": {
                "get": {
                    "operationId": "getAccount",
                    "summary": "One account by id.",
                    "parameters": [account_id],
                    "responses": {
                        "200": reply("The account.", ref("Account")),
                        "404": reply("No account with this id.", error),
                    },
                },
                "patch": {
                    "operationId": "updateAccountEmail",
                    "summary": "Change (or, with null, remove) the holder's e-mail (idempotent).",
                    "parameters": [account_id, KEY_PARAM],
                    "requestBody": request_body(ref("EmailPatch")),
                    "responses": {
                        **write_responses(
                            "200", ref("Account"), "The account after the change.", error
                        ),
                        "404": reply("No account with this id; nothing changed.", error),
                    },
                },
            },
        },
        {
            "Account": record_schema(
                {
                    "account_id": ACCOUNT_ID,
                    "holder": ref("Holder"),
                    "segment": {"enum": list(SEGMENTS)},
                    "contracts": {
                        "type": "array",
                        "description": "Contract numbers the account holds, ascending; may be [].",
                        "items": CONTRACT_NUMBER,
                    },
                    "since": {**DATE, "description": "When the account was opened."},
                },
                "An account.",
            ),
            "Holder": record_schema(
                {
                    "name": {"type": "string", "description": "A person's or a company's name."},
                    "email": nullable({"type": "string", "format": "email"}),
                },
                "Who holds the account.",
            ),
            "AccountList": list_schema("items", "Account", "Accounts."),
            "EmailPatch": record_schema(
                {
                    "email": {
                        **nullable(
                            {"type": "string", "format": "email", "maxLength": MAX_EMAIL_LENGTH}
                        ),
                        "description": "The new address, trimmed; null removes it.",
                    }
                },
                "The holder's new e-mail address.",
            ),
            "Problem": record_schema(
                {
                    "problem": record_schema(
                        {
                            "detail": {"type": "string"},
                            "field": {
                                **nullable({"type": "string"}),
                                "description": "The parameter or body field at fault, if one.",
                            },
                        },
                        "What went wrong.",
                    )
                },
                "The accounts system's error.",
            ),
        },
    )


OPENAPI: JSONObject = _openapi()
