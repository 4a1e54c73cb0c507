"""The records the utility company's systems start with, generated in memory from a seed.

:func:`utility_data` is deterministic: the same seed, the same records, on every machine and
run. A few accounts are pinned (A-1001..A-1006 and their duplicates A-1198..A-1200) so that
graph tests can name them; the rest is drawn from a seeded generator.
"""

from __future__ import annotations

import calendar
import functools
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from types import MappingProxyType
from typing import Any

__all__ = [
    "ACCOUNT_COUNT",
    "BILL_STATES",
    "CONTRACT_STATUSES",
    "FIRST_ACCOUNT",
    "ORDER_STATUSES",
    "REFERENCE_DAY",
    "SEED",
    "SEGMENTS",
    "TARIFFS",
    "Account",
    "Bill",
    "Contract",
    "UtilityData",
    "WorkOrder",
    "newest_bill_first",
    "newest_order_first",
    "serial",
    "utility_data",
]

#: The seed of :func:`utility_data`'s generator.
SEED = 20261201
ACCOUNT_COUNT = 200
FIRST_ACCOUNT = 1001
#: The seed's "now": bills are issued up to this day, planned work is scheduled after it.
REFERENCE_DAY = date(2026, 11, 15)
SEGMENTS = ("household", "business")
TARIFFS = ("flat", "peak", "green")
CONTRACT_STATUSES = ("active", "ended")
BILL_STATES = ("open", "paid")
ORDER_STATUSES = ("planned", "done", "cancelled")

JSONObject = dict[str, Any]


@dataclass(frozen=True)
class Account:
    """An account of the ``accounts`` system: who holds which contract numbers."""

    account_id: str
    name: str
    email: str | None
    segment: str
    contracts: tuple[str, ...]
    since: date

    def record(self) -> JSONObject:
        """The account as ``GET /accounts/{id}`` answers it (before any write)."""
        return {
            "account_id": self.account_id,
            "holder": {"name": self.name, "email": self.email},
            "segment": self.segment,
            "contracts": list(self.contracts),
            "since": self.since.isoformat(),
        }


@dataclass(frozen=True)
class Contract:
    """A supply contract of the ``contracts`` system, with the meter it is read from."""

    number: str
    tariff: str
    status: str
    meter_id: str
    started_on: date

    def record(self) -> JSONObject:
        return {
            "number": self.number,
            "tariff": self.tariff,
            "status": self.status,
            "meter_id": self.meter_id,
            "started_on": self.started_on.isoformat(),
        }


@dataclass(frozen=True)
class Bill:
    """A bill of the ``billing`` system; ``total`` in cents, answered as a decimal string."""

    bill_no: str
    contract: str
    total_cents: int
    issued: int
    state: str

    def record(self) -> JSONObject:
        return {
            "bill_no": self.bill_no,
            "contract": self.contract,
            "total": f"{self.total_cents // 100}.{self.total_cents % 100:02d}",
            "issued": self.issued,
            "state": self.state,
        }


@dataclass(frozen=True)
class WorkOrder:
    """A work order of the ``fieldservice`` system, on one meter."""

    id: str
    meter: str
    status: str
    reason: str
    scheduled_for: date

    def record(self) -> JSONObject:
        return {
            "id": self.id,
            "meter": self.meter,
            "status": self.status,
            "reason": self.reason,
            "scheduled_for": self.scheduled_for.isoformat(),
        }


def serial(key: str) -> int:
    """The number in a key like ``B-000042`` or ``W-7``."""
    return int(key.rpartition("-")[2])


def newest_bill_first(bill: Bill) -> tuple[int, int]:
    return (-bill.issued, -serial(bill.bill_no))


def newest_order_first(order: WorkOrder) -> tuple[int, int]:
    return (-order.scheduled_for.toordinal(), -serial(order.id))


@dataclass(frozen=True)
class UtilityData:
    """Everything the four systems hold when they start, and the facts tests look up in it.

    Frozen: every app copies what it will change, so one app's writes never reach another
    app or a later test.
    """

    accounts: tuple[Account, ...]
    contracts: tuple[Contract, ...]
    bills: tuple[Bill, ...]
    work_orders: tuple[WorkOrder, ...]
    #: The meter's last reading per contract number: a new reading may not be lower.
    last_readings: Mapping[str, int]

    @functools.cached_property
    def _accounts(self) -> Mapping[str, Account]:
        return {account.account_id: account for account in self.accounts}

    @functools.cached_property
    def _contracts(self) -> Mapping[str, Contract]:
        return {contract.number: contract for contract in self.contracts}

    @functools.cached_property
    def _holders(self) -> Mapping[str, tuple[str, ...]]:
        holders: dict[str, list[str]] = {}
        for account in self.accounts:
            for number in account.contracts:
                holders.setdefault(number, []).append(account.account_id)
        return {number: tuple(ids) for number, ids in holders.items()}

    def account(self, account_id: str) -> Account:
        """The account ``account_id``; ``KeyError`` if there is none."""
        return self._accounts[account_id]

    def contract(self, number: str) -> Contract:
        """The contract ``number``; ``KeyError`` if there is none."""
        return self._contracts[number]

    def holders(self, number: str) -> tuple[str, ...]:
        """The ids of the accounts holding contract ``number``, in id order."""
        return self._holders.get(number, ())

    def shared_contracts(self) -> tuple[str, ...]:
        """The contract numbers more than one account holds (duplicate accounts)."""
        return tuple(number for number, ids in self._holders.items() if len(ids) > 1)

    def accounts_without_contracts(self) -> tuple[str, ...]:
        return tuple(account.account_id for account in self.accounts if not account.contracts)

    def bills_of(self, number: str) -> tuple[Bill, ...]:
        """Contract ``number``'s bills, newest first, as ``GET /bills`` lists them."""
        return tuple(
            sorted((bill for bill in self.bills if bill.contract == number), key=newest_bill_first)
        )

    def orders_of(self, meter: str) -> tuple[WorkOrder, ...]:
        """Meter ``meter``'s work orders, newest first, as ``GET /work-orders`` lists them."""
        return tuple(
            sorted(
                (order for order in self.work_orders if order.meter == meter),
                key=newest_order_first,
            )
        )


_FIRST_NAMES = (
    "Ada", "Bram", "Carla", "Dev", "Elif", "Femi", "Greta", "Hugo", "Ines", "Jonas", "Kaja",
    "Luca", "Mira", "Nils", "Oona", "Pavel", "Rosa", "Sami", "Tove", "Umar", "Vera", "Wim",
    "Yara", "Zeno",
)  # fmt: skip
_LAST_NAMES = (
    "Achterberg", "Brandt", "Castillo", "Dahl", "Eriksen", "Fontaine", "Gallo", "Haas",
    "Ivanova", "Jansen", "Kovacs", "Lindqvist", "Moreau", "Novak", "Okafor", "Petersen",
    "Quinn", "Rossi", "Schulz", "Tanaka", "Urban", "Visser", "Weber", "Yilmaz",
)  # fmt: skip
_TRADES = ("Bakery", "Logistics", "Dental Care", "Print Shop", "Garage", "Florist", "Studio")
_DOMAINS = ("example.com", "example.org", "example.net")
_REASONS = (
    "meter replacement",
    "seal inspection",
    "reading dispute",
    "smart meter upgrade",
    "leak check",
    "annual inspection",
)

# The first accounts are pinned, so that graph tests can name them: (segment, how many
# contracts of their own). The last three are duplicates of A-1004..A-1006 (the same holder
# registered again, after a move): each holds one of the original's contracts too.
_PINNED = {
    1001: ("household", 2),  # CT-0001, CT-0002
    1002: ("household", 0),
    1003: ("business", 3),  # CT-0003..CT-0005
    1004: ("household", 1),  # CT-0006, held by A-1198 too
    1005: ("household", 1),  # CT-0007, held by A-1199 too
    1006: ("business", 2),  # CT-0008, CT-0009 (held by A-1200 too)
}
# duplicate -> (original, the original's contract it holds too, contracts of its own, and
# whether it has an e-mail: a new address, never the original's)
_DUPLICATES = {
    1198: (1004, "CT-0006", 1, True),
    1199: (1005, "CT-0007", 0, False),
    1200: (1006, "CT-0009", 1, True),
}


def _account_id(number: int) -> str:
    return f"A-{number}"


def _epoch(day: date, hour: int) -> int:
    return calendar.timegm((day.year, day.month, day.day, hour, 0, 0))


def _months_before(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 - months
    return date(index // 12, index % 12 + 1, min(day.day, 28))


@functools.cache
def utility_data(seed: int = SEED) -> UtilityData:
    """The records all four systems start with, generated from ``seed``: the same every time.

    200 accounts ``A-1001``..``A-1200`` holding about 300 contracts ``CT-0001``..., three of
    them held by two accounts; 0 to 6 bills per contract, 0 to 3 work orders per meter.
    """
    rng = random.Random(seed)
    counter = 0

    def new_contracts(count: int) -> list[str]:
        nonlocal counter
        numbers = [f"CT-{counter + i:04d}" for i in range(1, count + 1)]
        counter += count
        return numbers

    accounts: list[Account] = []
    for number in range(FIRST_ACCOUNT, FIRST_ACCOUNT + ACCOUNT_COUNT):
        first, last = rng.choice(_FIRST_NAMES), rng.choice(_LAST_NAMES)
        has_email = rng.random() < 0.85
        since = REFERENCE_DAY - timedelta(days=rng.randint(400, 4000))
        if number in _DUPLICATES:
            original_number, shared, own, has_email = _DUPLICATES[number]
            original = accounts[original_number - FIRST_ACCOUNT]
            # The same holder registered again lately, after a move: a new address if any.
            local = ".".join(original.name.lower().split())
            email = f"{local}@mail.example" if has_email else None
            since = REFERENCE_DAY - timedelta(days=rng.randint(30, 300))
            numbers = tuple(sorted([shared, *new_contracts(own)]))
            accounts.append(
                Account(_account_id(number), original.name, email, original.segment, numbers, since)
            )
            continue
        if number in _PINNED:
            segment, count = _PINNED[number]
        else:
            segment = "business" if rng.random() < 0.2 else "household"
            count = rng.choices((0, 1, 2, 3), weights=(10, 40, 40, 10))[0]
        if segment == "business":
            name = f"{last} {rng.choice(_TRADES)}"
            email = f"billing@{last.lower()}.{rng.choice(_DOMAINS)}" if has_email else None
        else:
            name = f"{first} {last}"
            email = f"{first.lower()}.{last.lower()}@{rng.choice(_DOMAINS)}" if has_email else None
        accounts.append(
            Account(_account_id(number), name, email, segment, tuple(new_contracts(count)), since)
        )

    holders_since: dict[str, date] = {}
    for account in accounts:
        for contract_number in account.contracts:
            holders_since.setdefault(contract_number, account.since)
    all_numbers = sorted(holders_since)
    # Meter ids are not the contracts' positions: a mix-up of the two keys shows.
    meters = rng.sample(range(1, len(all_numbers) + 1), len(all_numbers))
    contracts: list[Contract] = []
    for contract_number, meter in zip(all_numbers, meters, strict=True):
        started = holders_since[contract_number] + timedelta(days=rng.randint(0, 900))
        contracts.append(
            Contract(
                contract_number,
                rng.choice(TARIFFS),
                "active" if contract_number == "CT-0001" or rng.random() < 0.8 else "ended",
                f"M-{meter:05d}",
                min(started, REFERENCE_DAY - timedelta(days=30)),
            )
        )

    bills: list[Bill] = []
    last_readings: dict[str, int] = {}
    for contract in contracts:
        pinned_states = {"CT-0001": ("open", "open", "paid", "paid", "paid", "paid"), "CT-0002": ()}
        states = pinned_states.get(contract.number)
        if states is None:
            count = rng.randint(0, 6)
            states = tuple(
                "open" if rng.random() < (0.5 if age == 0 else 0.1) else "paid"
                for age in range(count)
            )
        # Monthly, oldest first, so that bill numbers rise with time.
        for age in reversed(range(len(states))):
            issued_on = _months_before(REFERENCE_DAY, age + 1) + timedelta(days=rng.randint(0, 3))
            bills.append(
                Bill(
                    f"B-{len(bills) + 1:06d}",
                    contract.number,
                    rng.randint(1500, 42000),
                    _epoch(issued_on, 6),
                    states[age],
                )
            )
        last_readings[contract.number] = (
            12000 if contract.number == "CT-0001" else rng.randint(1000, 60000)
        )

    orders: list[WorkOrder] = []
    for contract in contracts:
        if contract.number == "CT-0001":
            plan: Sequence[str] = ("cancelled", "done", "planned")
        elif contract.number == "CT-0002":
            plan = ()
        else:
            count = rng.choices((0, 1, 2, 3), weights=(50, 30, 15, 5))[0]
            plan = [rng.choices(ORDER_STATUSES, weights=(30, 55, 15))[0] for _ in range(count)]
        for status in plan:
            if status == "planned":
                scheduled = REFERENCE_DAY + timedelta(days=rng.randint(10, 90))
            else:
                scheduled = REFERENCE_DAY - timedelta(days=rng.randint(10, 700))
            orders.append(
                WorkOrder(
                    f"W-{len(orders) + 1}",
                    contract.meter_id,
                    status,
                    rng.choice(_REASONS),
                    scheduled,
                )
            )

    return UtilityData(
        accounts=tuple(accounts),
        contracts=tuple(contracts),
        bills=tuple(bills),
        work_orders=tuple(orders),
        last_readings=MappingProxyType(last_readings),
    )
