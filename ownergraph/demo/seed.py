"""Deterministic seed data for the four demo owner systems, one SQLite file each.

Every value comes from ``random.Random`` streams with fixed seeds, so two machines (or two
test runs) generate byte-for-byte the same people, phones, invoices, tickets and
interactions.
"""

from __future__ import annotations

import bisect
import contextlib
import itertools
import json
import os
import sqlite3
import sys
import tempfile
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from random import Random
from typing import Generic, TypeVar

if sys.platform != "win32":
    import fcntl

__all__ = [
    "AS_OF",
    "CUSTOMER_COUNT",
    "SEED",
    "SEED_VERSION",
    "SYSTEMS",
    "db_path",
    "default_data_dir",
    "ensure_seeded",
]

#: The demo owner systems, in the order of their ports (crm on the base port).
SYSTEMS: tuple[str, ...] = ("crm", "erp", "helpdesk", "contactcenter")

SEED = 20261101
#: Bump whenever the generator's output changes: existing data dirs are then regenerated.
SEED_VERSION = 2
#: The seeded world ends here; history reaches two years back from it.
AS_OF = datetime(2026, 11, 1, tzinfo=UTC)
CUSTOMER_COUNT = 10_000
#: Second CRM records for people who already have one (typos, changed e-mail, other phone format).
DUPLICATE_COUNT = 150
_PEOPLE_COUNT = CUSTOMER_COUNT - DUPLICATE_COUNT
#: ERP accounts no CRM record points at: the ERP knows customers the CRM lost track of.
_ORPHAN_ACCOUNT_COUNT = 25
_HISTORY = timedelta(days=730)
_CRM_START = datetime(2018, 1, 1, tzinfo=UTC)

_DATA_ENV = "OWNERGRAPH_DEMO_DATA"
_T = TypeVar("_T")


def default_data_dir() -> Path:
    """Where the demo owners keep their SQLite files: ``$OWNERGRAPH_DEMO_DATA`` or a user cache."""
    configured = os.environ.get(_DATA_ENV, "").strip()
    if configured:
        return Path(configured).expanduser()
    return Path.home() / ".cache" / "ownergraph" / "demo"


def db_path(data_dir: Path, system: str) -> Path:
    """The SQLite file of one owner system inside ``data_dir``."""
    if system not in SYSTEMS:
        raise ValueError(f"unknown demo system {system!r}; expected one of {', '.join(SYSTEMS)}")
    return data_dir / f"{system}.sqlite3"


def ensure_seeded(data_dir: Path) -> None:
    """Generate the four owner databases in ``data_dir`` unless current ones are already there.

    Files are built under temporary names and renamed into place, so a crash never leaves a
    half-written database; a lock file keeps two processes starting at once from doing the
    work twice (and since the output is deterministic, a lost race would be harmless anyway).
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    if _all_current(data_dir):
        return
    with _seed_lock(data_dir):
        # Another process may have finished seeding while we waited for the lock.
        if _all_current(data_dir):
            return
        _remove_leftovers(data_dir)
        _write_all(data_dir, _generate())


def _all_current(data_dir: Path) -> bool:
    return all(_is_current(db_path(data_dir, system)) for system in SYSTEMS)


def _is_current(path: Path) -> bool:
    if not path.is_file():
        return False
    try:
        uri = f"{path.resolve().as_uri()}?mode=ro"
        with contextlib.closing(sqlite3.connect(uri, uri=True)) as conn:
            (version,) = conn.execute("PRAGMA user_version").fetchone()
    except sqlite3.Error:
        return False
    return bool(version == SEED_VERSION)


@contextlib.contextmanager
def _seed_lock(data_dir: Path) -> Iterator[None]:
    if sys.platform == "win32":
        # No flock here; unique temp names plus atomic renames still keep every file whole.
        yield
        return
    with open(data_dir / ".seed.lock", "a+b") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock.fileno(), fcntl.LOCK_UN)


def _remove_leftovers(data_dir: Path) -> None:
    # Only called under the lock, so no live seeder owns these: they are from a crashed run.
    if sys.platform == "win32":
        return
    for leftover in data_dir.glob(".*.sqlite3.*.tmp"):
        leftover.unlink(missing_ok=True)


def _write_all(data_dir: Path, world: _World) -> None:
    writers: dict[str, Callable[[sqlite3.Connection, _World], None]] = {
        "crm": _write_crm,
        "erp": _write_erp,
        "helpdesk": _write_helpdesk,
        "contactcenter": _write_contactcenter,
    }
    temps: dict[str, Path] = {}
    try:
        for system in SYSTEMS:
            final = db_path(data_dir, system)
            # A unique name per writer, in the same directory so the rename stays atomic.
            handle, name = tempfile.mkstemp(dir=data_dir, prefix=f".{final.name}.", suffix=".tmp")
            os.close(handle)
            temps[system] = temp = Path(name)
            with contextlib.closing(sqlite3.connect(temp)) as conn:
                # Nothing to roll back to in a file nobody reads yet: skip the journal.
                conn.execute("PRAGMA journal_mode = OFF")
                conn.execute("PRAGMA synchronous = OFF")
                writers[system](conn, world)
                conn.execute(f"PRAGMA user_version = {SEED_VERSION}")
                conn.commit()
            # The rename is only atomic-and-durable if the bytes reached the disk first.
            with open(temp, "rb") as written:
                os.fsync(written.fileno())
        # A crash between these renames leaves the other files missing or of an older version:
        # the next start notices and regenerates them, identically, since the seed is fixed.
        for system in SYSTEMS:
            final = db_path(data_dir, system)
            # The owners run their files in WAL mode. A log left by an owner that crashed
            # belongs to the old file: next to the new one, SQLite would replay it into it.
            for suffix in ("-wal", "-shm", "-journal"):
                final.with_name(final.name + suffix).unlink(missing_ok=True)
            os.replace(temps[system], final)
    finally:
        for temp in temps.values():
            temp.unlink(missing_ok=True)


# --------------------------------------------------------------------------- the world model


@dataclass(frozen=True)
class _Phone:
    prefix: str  # area code ("02", "0521") or mobile prefix ("347")
    subscriber: str
    mobile: bool

    @property
    def e164(self) -> str:
        # Italian numbers keep their leading 0 after the country code.
        return f"+39{self.prefix}{self.subscriber}"


@dataclass(frozen=True)
class _Address:
    street: str
    city: str
    postcode: str
    area_code: str


@dataclass
class _Person:
    first_name: str
    last_name: str
    emails: list[str]
    phones: list[_Phone]
    segment: str
    address: _Address | None
    erp_code: str | None
    created_at: datetime


@dataclass
class _CrmRecord:
    person: _Person
    first_name: str
    last_name: str
    emails: list[str]
    phones: list[_Phone]
    written_phones: list[str]
    erp_code: str | None
    segment: str
    address: _Address | None
    created_at: datetime
    updated_at: datetime
    id: str = ""


@dataclass
class _Account:
    code: str
    name: str
    segment: str
    credit_limit_cents: int
    blocked: bool
    since: datetime


@dataclass(frozen=True)
class _Invoice:
    customer_code: str
    status: str
    amount_cents: int
    issued_on: date
    due_on: date
    paid_at: datetime | None


@dataclass
class _Requester:
    id: int
    external_id: str
    name: str
    email: str | None
    phone: str | None
    #: The number behind ``phone``, which the helpdesk indexes for its search.
    line: _Phone | None = None


@dataclass(frozen=True)
class _Ticket:
    requester: _Requester
    subject: str
    status: str
    priority: str
    via: str
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class _Interaction:
    customer_id: str
    channel: str
    direction: str
    started_at: datetime
    duration_s: int | None
    summary: str
    agent: str


@dataclass
class _World:
    records: list[_CrmRecord] = field(default_factory=list)
    accounts: list[_Account] = field(default_factory=list)
    invoices: list[tuple[str, _Invoice]] = field(default_factory=list)
    tickets: list[tuple[int, _Ticket]] = field(default_factory=list)
    interactions: list[tuple[str, _Interaction]] = field(default_factory=list)
    #: Interaction id -> the number a call or text came from or went to, as the contact
    #: center writes it (voice and SMS only).
    callers: dict[str, _Phone] = field(default_factory=dict)
    caller_numbers: dict[str, str] = field(default_factory=dict)


# --------------------------------------------------------------------------- vocabulary

_FEMALE_NAMES = (
    "Giulia", "Francesca", "Chiara", "Sara", "Martina", "Valentina", "Alessia", "Silvia",
    "Elena", "Federica", "Laura", "Paola", "Anna", "Maria", "Giorgia", "Roberta", "Elisa",
    "Serena", "Ilaria", "Cristina", "Monica", "Barbara", "Simona", "Beatrice", "Alice",
    "Aurora", "Sofia", "Camilla", "Noemi", "Gaia", "Marta", "Teresa", "Lucia", "Rita",
    "Daniela", "Antonella", "Stefania", "Manuela", "Claudia", "Veronica",
)  # fmt: skip
_MALE_NAMES = (
    "Marco", "Alessandro", "Luca", "Andrea", "Matteo", "Lorenzo", "Francesco", "Davide",
    "Simone", "Federico", "Riccardo", "Stefano", "Giuseppe", "Antonio", "Giovanni", "Paolo",
    "Roberto", "Fabio", "Massimo", "Daniele", "Emanuele", "Nicola", "Pietro", "Tommaso",
    "Gabriele", "Michele", "Salvatore", "Vincenzo", "Claudio", "Enrico", "Filippo", "Mattia",
    "Leonardo", "Edoardo", "Niccolò", "Carlo", "Sergio", "Alberto", "Giacomo", "Raffaele",
)  # fmt: skip
_LAST_NAMES = (
    "Rossi", "Russo", "Ferrari", "Esposito", "Bianchi", "Romano", "Colombo", "Ricci",
    "Marino", "Greco", "Bruno", "Gallo", "Conti", "De Luca", "Mancini", "Costa", "Giordano",
    "Rizzo", "Lombardi", "Moretti", "Barbieri", "Fontana", "Santoro", "Mariani", "Rinaldi",
    "Caruso", "Ferrara", "Galli", "Martini", "Leone", "Longo", "Gentile", "Martinelli",
    "Vitale", "Lombardo", "Serra", "Coppola", "De Santis", "D'Angelo", "Marchetti", "Parisi",
    "Villa", "Conte", "Ferraro", "Ferri", "Fabbri", "Bianco", "Marini", "Grasso", "Valentini",
    "Messina", "Sala", "De Angelis", "Gatti", "Pellegrini", "Palumbo", "Sanna", "Farina",
    "Rizzi", "Monti", "Cattaneo", "Morelli", "Amato", "Silvestri", "Mazza", "Testa",
    "Grassi", "Pellegrino", "Carbone", "Giuliani", "Benedetti", "Barone", "Rossetti",
    "Caputo", "Montanari", "Guerra", "Palmieri", "Bernardi", "Martino", "Fiore", "De Rosa",
    "Ferretti", "Bellini", "Basile", "Riva", "Donati", "Piras", "Vitali", "Battaglia",
    "Sartori", "Neri", "Costantini", "Milani", "Pagano", "Ruggiero", "Sorrentino", "D'Amico",
    "Orlando", "Colonna", "Negri", "Ferrante", "Mazzotta",
)  # fmt: skip
# (city, first postcode, postcodes in use, area code, subscriber digits)
_CITIES = (
    ("Milano", 20121, 42, "02", 8), ("Roma", 118, 82, "06", 8), ("Torino", 10121, 36, "011", 7),
    ("Napoli", 80121, 27, "081", 7), ("Firenze", 50121, 25, "055", 7),
    ("Bologna", 40121, 21, "051", 7), ("Genova", 16121, 38, "010", 7),
    ("Venezia", 30121, 53, "041", 7), ("Palermo", 90121, 29, "091", 7),
    ("Bari", 70121, 11, "080", 7), ("Verona", 37121, 18, "045", 7),
    ("Padova", 35121, 22, "049", 7), ("Brescia", 25121, 15, "030", 7),
    ("Bergamo", 24121, 9, "035", 7), ("Catania", 95121, 11, "095", 7),
    ("Trieste", 34121, 30, "040", 7), ("Parma", 43121, 6, "0521", 6),
    ("Modena", 41121, 6, "059", 7), ("Perugia", 6121, 8, "075", 7),
    ("Cagliari", 9121, 14, "070", 7), ("Pisa", 56121, 4, "050", 7),
    ("Lecce", 73100, 1, "0832", 6), ("Como", 22100, 1, "031", 7),
    ("Monza", 20900, 1, "039", 7), ("Varese", 21100, 1, "0332", 6),
)  # fmt: skip
_STREETS = (
    "Via Roma", "Via Garibaldi", "Corso Vittorio Emanuele II", "Via Mazzini", "Via Dante",
    "Piazza della Repubblica", "Viale Europa", "Via Verdi", "Via Cavour", "Via XX Settembre",
    "Via Manzoni", "Via Marconi", "Via Matteotti", "Via Gramsci", "Corso Italia",
    "Via dei Mille", "Via San Francesco", "Viale della Libertà", "Via Nazionale",
    "Via Trieste", "Via Leopardi", "Via Puccini", "Via Carducci", "Via Pascoli",
)  # fmt: skip
_MOBILE_PREFIXES = (
    "320", "324", "327", "328", "329", "330", "331", "333", "334", "335", "336", "337",
    "338", "339", "340", "342", "345", "346", "347", "348", "349", "351", "366", "368",
    "380", "388", "389", "391", "392", "393",
)  # fmt: skip
_EMAIL_DOMAINS = ("example.com", "example.it", "example.net", "example.org", "mail.example.it")
_TRADES = ("Impianti", "Costruzioni", "Trasporti", "Forniture", "Servizi", "Logistica")
_AGENTS = (
    "Marta B.", "Luca F.", "Chiara M.", "Davide R.", "Sara T.", "Paolo G.", "Elena C.",
    "Matteo V.", "Giorgia L.", "Andrea P.", "Silvia N.", "Fabio D.", "Irene S.", "Nicola A.",
)  # fmt: skip
_TICKET_SUBJECTS = (
    "Invoice {invoice} charged twice",
    "Cannot log in to the customer portal",
    "Please update my billing address",
    "Delivery late for order {order}",
    "Refund not received for order {order}",
    "Change of phone number",
    "Long waiting time on the phone line",
    "Question about my credit limit",
    "Product arrived damaged (order {order})",
    "Cancel my subscription",
    "Two accounts with my name: please merge",
    "Wrong amount on invoice {invoice}",
    "Request a copy of invoice {invoice}",
    "Password reset e-mail never arrives",
    "Warranty claim for order {order}",
    "Privacy request: what data do you hold about me?",
)
_SUMMARIES: dict[tuple[str, str], tuple[str, ...]] = {
    ("voice", "inbound"): (
        "Asked about the status of order {order}.",
        "Disputed invoice {invoice}; promised a call back.",
        "Wanted to change the delivery address.",
        "Reported a damaged product; ticket opened.",
        "Asked why the account is on hold.",
        "Payment reminder received by mistake, clarified.",
        "Call dropped before the customer could be identified.",
    ),
    ("voice", "outbound"): (
        "Reminder call about overdue invoice {invoice}.",
        "Follow-up on the open complaint; customer satisfied.",
        "Offered the loyalty programme; customer will think about it.",
        "Confirmed the appointment for the technician visit.",
    ),
    ("email", "inbound"): (
        "Sent a copy of the bank transfer for invoice {invoice}.",
        "Asked for a duplicate of invoice {invoice}.",
        "Complained about the delivery time of order {order}.",
    ),
    ("email", "outbound"): (
        "Sent the requested documents.",
        "Answered the question about warranty terms.",
        "Sent the payment plan proposal.",
    ),
    ("chat", "inbound"): (
        "Tracking question for order {order}.",
        "Could not log in; reset the password.",
        "Asked about opening hours of the Milan store.",
        "Wanted to update the e-mail address on file.",
    ),
    ("chat", "outbound"): ("Proactive chat on the checkout page; no purchase.",),
    ("sms", "inbound"): ("Replied STOP to the marketing SMS.", "Confirmed the delivery slot."),
    ("sms", "outbound"): (
        "Delivery notification for order {order}.",
        "Payment reminder for invoice {invoice}.",
        "One-time code for the customer portal.",
    ),
}


# --------------------------------------------------------------------------- generation


def _generate() -> _World:
    rng = Random(SEED)
    world = _World()
    used_numbers: set[str] = set()
    used_emails: set[str] = set()

    people = [_make_person(rng, used_numbers, used_emails) for _ in range(_PEOPLE_COUNT)]
    codes = rng.sample(range(100_000, 1_000_000), _PEOPLE_COUNT + _ORPHAN_ACCOUNT_COUNT)
    for person, number in zip(people, codes[:_PEOPLE_COUNT], strict=True):
        # About one person in ten is a prospect the ERP has never billed.
        person.erp_code = None if rng.random() < 0.10 else f"K-{number}"

    records = [_record_for(person, rng) for person in people]
    reachable = [record for record in records if record.phones]
    for original in rng.sample(reachable, DUPLICATE_COUNT):
        records.append(_duplicate_of(original, rng, used_emails))
    # A CRM hands out ids in creation order; the ERP code says nothing about the id.
    records.sort(key=lambda record: record.created_at)
    for index, record in enumerate(records, start=1):
        record.id = f"C{index:05d}"
    world.records = records

    orphan_codes = codes[_PEOPLE_COUNT:]
    world.accounts, world.invoices = _make_erp(people, orphan_codes, rng)
    world.tickets = _make_tickets(records, rng, used_numbers)
    world.interactions = _make_interactions(records, rng)

    # Everything below draws from streams of its own, after the main one is done: the
    # records, accounts, invoices, tickets and interactions of earlier versions stay the
    # same draw for draw, and the facts the gateway's tests pin about them stay true.
    helpdesk_only = _add_requester_lines(world.tickets, records, Random(SEED + 1), used_numbers)
    world.callers, world.caller_numbers = _add_caller_numbers(
        world.interactions, records, helpdesk_only, Random(SEED + 2), used_numbers
    )
    return world


def _int(rng: Random, low: int, high: int) -> int:
    """A uniform integer in [low, high]; ``randint`` costs several times more per call."""
    return low + int(rng.random() * (high - low + 1))


def _one(rng: Random, options: Sequence[_T]) -> _T:
    return options[int(rng.random() * len(options))]


class _Weighted(Generic[_T]):
    """A weighted choice with its cumulative table built once, not on every pick."""

    def __init__(self, options: Sequence[_T], weights: Sequence[int]) -> None:
        self._options = tuple(options)
        self._cumulative = tuple(itertools.accumulate(weights))

    def pick(self, rng: Random) -> _T:
        point = rng.random() * self._cumulative[-1]
        return self._options[bisect.bisect_right(self._cumulative, point)]


_SEGMENTS = _Weighted(("retail", "business", "vip"), (80, 15, 5))
_CITY_PICK = _Weighted(
    _CITIES, (18, 16, 9, 9, 6, 6, 5, 4, 5, 4, 3, 3, 3, 2, 3, 2, 2, 2, 2, 2, 1, 1, 1, 1, 1)
)
_EMAIL_PATTERN = _Weighted(range(6), (40, 15, 15, 10, 5, 15))
_PHONE_FORMAT = _Weighted(range(9), (30, 15, 12, 10, 8, 8, 7, 5, 5))
_INVOICE_COUNT = _Weighted(range(11), (8, 10, 12, 13, 13, 12, 10, 8, 6, 4, 4))
_TICKET_COUNT = _Weighted(range(7), (35, 25, 17, 10, 6, 4, 3))
_TICKET_STATUSES = ("open", "pending", "solved", "closed")
_NEW_TICKET_STATUS = _Weighted(_TICKET_STATUSES, (50, 30, 20, 0))
_RECENT_TICKET_STATUS = _Weighted(_TICKET_STATUSES, (15, 15, 40, 30))
_OLD_TICKET_STATUS = _Weighted(_TICKET_STATUSES, (2, 1, 17, 80))
_PRIORITIES = _Weighted(("low", "normal", "high", "urgent"), (20, 60, 15, 5))
_VIA = _Weighted(("email", "phone", "web", "chat"), (40, 30, 20, 10))
_INTERACTION_COUNT = _Weighted(range(9), (15, 15, 15, 14, 12, 10, 8, 6, 5))
_CHANNELS = _Weighted(("voice", "email", "chat", "sms"), (45, 25, 20, 10))


def _moment(rng: Random, start: datetime, end: datetime) -> datetime:
    span = int((end - start).total_seconds())
    return start + timedelta(seconds=int(rng.random() * span))


def _ascii(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    kept = (ch for ch in decomposed if ch.isascii() and ch.isalnum())
    return "".join(kept).lower()


def _make_person(rng: Random, used_numbers: set[str], used_emails: set[str]) -> _Person:
    first = _one(rng, _FEMALE_NAMES if rng.random() < 0.5 else _MALE_NAMES)
    last = _one(rng, _LAST_NAMES)
    segment = _SEGMENTS.pick(rng)
    address: _Address | None = None
    city = _CITY_PICK.pick(rng)
    if rng.random() >= 0.07:
        name, first_postcode, postcodes, area_code, _digits = city
        number = _int(rng, 1, 180)
        suffix = "/A" if rng.random() < 0.05 else ""
        address = _Address(
            street=f"{_one(rng, _STREETS)} {number}{suffix}",
            city=name,
            postcode=f"{first_postcode + _int(rng, 0, postcodes - 1):05d}",
            area_code=area_code,
        )

    emails: list[str] = []
    if rng.random() >= 0.05:
        emails.append(_new_email(first, last, rng, used_emails))
        if rng.random() < 0.10:
            emails.append(_new_email(first, last, rng, used_emails))

    phones: list[_Phone] = []
    if rng.random() >= 0.05:
        count = 1 if rng.random() < 0.7 else 2
        for _ in range(count):
            phones.append(_new_phone(rng, used_numbers, landline_city=city))

    created = _moment(rng, _CRM_START, AS_OF - timedelta(days=20))
    return _Person(first, last, emails, phones, segment, address, None, created)


def _new_email(first: str, last: str, rng: Random, used: set[str]) -> str:
    f, surname = _ascii(first), _ascii(last)
    patterns = (
        f"{f}.{surname}",
        f"{f}{surname}",
        f"{f[0]}.{surname}",
        f"{surname}.{f}",
        f"{f}_{surname}",
        f"{f}.{surname}{_int(rng, 60, 99)}",
    )
    local = patterns[_EMAIL_PATTERN.pick(rng)]
    domain = _one(rng, _EMAIL_DOMAINS)
    email = f"{local}@{domain}"
    while email in used:
        email = f"{local}{_int(rng, 1, 999)}@{domain}"
    used.add(email)
    return email


def _new_phone(
    rng: Random,
    used: set[str],
    *,
    landline_city: tuple[str, int, int, str, int] | None = None,
) -> _Phone:
    while True:
        if landline_city is not None and rng.random() < 0.3:
            _name, _postcode, _count, prefix, digits = landline_city
            mobile = False
        else:
            prefix, digits, mobile = _one(rng, _MOBILE_PREFIXES), 7, True
        # Subscriber numbers never start with 0 or 1 in these ranges.
        subscriber = str(_int(rng, 2 * 10 ** (digits - 1), 10**digits - 1))
        phone = _Phone(prefix, subscriber, mobile)
        if phone.e164 not in used:
            used.add(phone.e164)
            return phone


def _grouped(subscriber: str, sep: str) -> str:
    head = {8: 4, 7: 3, 6: 3}[len(subscriber)]
    return f"{subscriber[:head]}{sep}{subscriber[head:]}"


def _phone_formats(phone: _Phone) -> tuple[str, ...]:
    """The ways people type this number into a form, most common first."""
    p, s = phone.prefix, phone.subscriber
    if phone.mobile:
        return (
            f"{p} {s[:3]} {s[3:]}",
            f"{p}{s}",
            f"+39 {p} {s[:3]} {s[3:]}",
            f"+39{p}{s}",
            f"0039 {p} {s}",
            f"{p}-{s[:3]}-{s[3:]}",
            f"{p}.{s[:3]}.{s[3:]}",
            f"+39 {p}{s}",
            f"{p}/{s}",
        )
    return (
        f"{p} {_grouped(s, ' ')}",
        f"+39 {p} {_grouped(s, ' ')}",
        f"0039 {p} {s}",
        f"{p}-{_grouped(s, '-')}",
        f"({p}) {_grouped(s, ' ')}",
        f"{p}.{_grouped(s, '.')}",
        f"+39{p}{s}",
        f"{p}/{s}",
        f"{p}{s}",
    )


def _write_phone(phone: _Phone, rng: Random, *, unlike: str | None = None) -> str:
    formats = _phone_formats(phone)
    while True:
        written = formats[_PHONE_FORMAT.pick(rng)]
        if written != unlike:
            return written


def _record_for(person: _Person, rng: Random) -> _CrmRecord:
    updated = person.created_at
    if rng.random() < 0.7:
        updated = _moment(rng, person.created_at, AS_OF)
    return _CrmRecord(
        person=person,
        first_name=person.first_name,
        last_name=person.last_name,
        emails=list(person.emails),
        phones=list(person.phones),
        written_phones=[_write_phone(phone, rng) for phone in person.phones],
        erp_code=person.erp_code,
        segment=person.segment,
        address=person.address,
        created_at=person.created_at,
        updated_at=updated,
    )


def _typo(name: str, rng: Random) -> str:
    letters = list(name)
    positions = [i for i in range(1, len(letters) - 1) if letters[i].isalpha()]
    if not positions:
        return name + name[-1]
    i = _one(rng, positions)
    kind = _int(rng, 0, 2)
    if kind == 0 and letters[i + 1].isalpha() and letters[i] != letters[i + 1]:
        letters[i], letters[i + 1] = letters[i + 1], letters[i]
    elif kind == 1:
        del letters[i]
    else:
        letters.insert(i, letters[i])
    typo = "".join(letters)
    return typo if typo != name else name + name[-1]


def _duplicate_of(original: _CrmRecord, rng: Random, used_emails: set[str]) -> _CrmRecord:
    """A second CRM record for the same person: same phone typed differently, other e-mail."""
    person = original.person
    first, last = person.first_name, person.last_name
    if rng.random() < 0.5:
        if rng.random() < 0.5:
            first = _typo(first, rng)
        else:
            last = _typo(last, rng)
    emails = [] if rng.random() < 0.15 else [_new_email(first, last, rng, used_emails)]
    # The shared phone is what gives the duplicate away; it is never written the same way.
    shared = person.phones[: 1 if rng.random() < 0.7 else 2]
    written = [
        _write_phone(phone, rng, unlike=original.written_phones[person.phones.index(phone)])
        for phone in shared
    ]
    address = person.address if rng.random() < 0.6 else None
    created = _moment(rng, person.created_at + timedelta(days=1), AS_OF - timedelta(days=1))
    return _CrmRecord(
        person=person,
        first_name=first,
        last_name=last,
        emails=emails,
        phones=list(shared),
        written_phones=written,
        erp_code=person.erp_code if rng.random() < 0.4 else None,
        segment=person.segment if rng.random() < 0.7 else "retail",
        address=address,
        created_at=created,
        updated_at=created,
    )


def _make_erp(
    people: Sequence[_Person], orphan_codes: Sequence[int], rng: Random
) -> tuple[list[_Account], list[tuple[str, _Invoice]]]:
    limits = {
        "retail": (100_000, 200_000, 300_000, 500_000),
        "business": (1_000_000, 2_500_000, 5_000_000),
        "vip": (1_000_000, 2_000_000),
    }
    accounts: list[_Account] = []
    for person in people:
        if person.erp_code is None:
            continue
        accounts.append(
            _Account(
                code=person.erp_code,
                name=f"{person.first_name} {person.last_name}",
                segment=person.segment,
                credit_limit_cents=_one(rng, limits[person.segment]),
                blocked=rng.random() < 0.03,
                since=person.created_at,
            )
        )
    for number in orphan_codes:
        accounts.append(
            _Account(
                code=f"K-{number}",
                name=f"{_one(rng, _LAST_NAMES)} {_one(rng, _TRADES)} S.r.l.",
                segment="business",
                credit_limit_cents=_one(rng, limits["business"]),
                blocked=rng.random() < 0.2,
                since=_moment(rng, _CRM_START, AS_OF - _HISTORY),
            )
        )

    invoices: list[_Invoice] = []
    window_start = AS_OF - _HISTORY
    last_day = (AS_OF - timedelta(days=1)).date()
    for account in accounts:
        count = _INVOICE_COUNT.pick(rng)
        start = max(window_start, account.since)
        for _ in range(count):
            issued = _moment(rng, start, AS_OF).date()
            terms = 60 if account.segment == "business" else 30
            due = issued + timedelta(days=terms)
            amount = {
                "retail": _int(rng, 1_500, 60_000),
                "business": _int(rng, 20_000, 800_000),
                "vip": _int(rng, 10_000, 300_000),
            }[account.segment]
            roll = rng.random()
            if roll < 0.03:
                status = "cancelled"
            elif due > last_day:
                status = "unpaid" if roll < 0.6 else "paid"
            else:
                status = "unpaid" if roll < 0.13 else "paid"
            paid_at: datetime | None = None
            if status == "paid":
                paid_day = datetime.combine(issued, datetime.min.time(), UTC)
                paid_day += timedelta(days=_int(rng, 1, terms + 20))
                paid_at = min(_moment(rng, paid_day, paid_day + timedelta(days=1)), AS_OF)
            invoices.append(_Invoice(account.code, status, amount, issued, due, paid_at))

    # Numbers run per year in issue order, like a real ledger.
    invoices.sort(key=lambda invoice: (invoice.issued_on, invoice.customer_code))
    numbered: list[tuple[str, _Invoice]] = []
    per_year: dict[int, int] = {}
    for invoice in invoices:
        year = invoice.issued_on.year
        per_year[year] = per_year.get(year, 0) + 1
        numbered.append((f"INV-{year}-{per_year[year]:06d}", invoice))
    return accounts, numbered


def _fill(template: str, rng: Random) -> str:
    return template.format(
        invoice=f"INV-{_one(rng, (2025, 2026))}-{_int(rng, 1, 20_000):06d}",
        order=f"ORD-{_int(rng, 100_000, 999_999)}",
    )


def _make_tickets(
    records: Sequence[_CrmRecord], rng: Random, used_numbers: set[str]
) -> list[tuple[int, _Ticket]]:
    tickets: list[_Ticket] = []
    requester_ids = 0
    for record in records:
        count = _TICKET_COUNT.pick(rng)
        if count == 0:
            continue
        requester_ids += 1
        line: _Phone | None = None
        if record.phones and rng.random() < 0.75:
            line = _one(rng, record.phones)
        elif rng.random() < 0.1:
            # The customer called from a phone the CRM has never heard of.
            line = _new_phone(rng, used_numbers)
        requester = _Requester(
            id=requester_ids,
            external_id=record.id,
            name=f"{record.first_name} {record.last_name}",
            email=record.emails[0] if record.emails else None,
            phone=_write_phone(line, rng) if line is not None else None,
            line=line,
        )
        start = max(AS_OF - _HISTORY, record.created_at)
        for _ in range(count):
            created = _moment(rng, start, AS_OF - timedelta(hours=1))
            age = AS_OF - created
            # Recent tickets are still being worked on; old ones are mostly closed.
            if age < timedelta(days=7):
                statuses = _NEW_TICKET_STATUS
            elif age < timedelta(days=30):
                statuses = _RECENT_TICKET_STATUS
            else:
                statuses = _OLD_TICKET_STATUS
            status = statuses.pick(rng)
            if status in ("solved", "closed"):
                updated = min(created + timedelta(minutes=_int(rng, 30, 20 * 24 * 60)), AS_OF)
            else:
                updated = _moment(rng, created, AS_OF)
            tickets.append(
                _Ticket(
                    requester=requester,
                    subject=_fill(_one(rng, _TICKET_SUBJECTS), rng),
                    status=status,
                    priority=_PRIORITIES.pick(rng),
                    via=_VIA.pick(rng),
                    created_at=created,
                    updated_at=updated,
                )
            )
    tickets.sort(key=lambda ticket: (ticket.created_at, ticket.requester.id))
    return [(10_001 + index, ticket) for index, ticket in enumerate(tickets)]


def _make_interactions(
    records: Sequence[_CrmRecord], rng: Random
) -> list[tuple[str, _Interaction]]:
    interactions: list[_Interaction] = []
    for record in records:
        count = _INTERACTION_COUNT.pick(rng)
        start = max(AS_OF - _HISTORY, record.created_at)
        for _ in range(count):
            channel = _CHANNELS.pick(rng)
            outbound_share = 0.8 if channel == "sms" else 0.3
            direction = "outbound" if rng.random() < outbound_share else "inbound"
            duration: int | None = None
            if channel == "voice" and rng.random() < 0.95:
                duration = _int(rng, 20, 1_800)
            elif channel == "chat":
                duration = _int(rng, 60, 2_400)
            template = _one(rng, _SUMMARIES[(channel, direction)])
            interactions.append(
                _Interaction(
                    customer_id=record.id,
                    channel=channel,
                    direction=direction,
                    started_at=_moment(rng, start, AS_OF),
                    duration_s=duration,
                    summary=_fill(template, rng),
                    agent="sms-gateway" if channel == "sms" else _one(rng, _AGENTS),
                )
            )
    interactions.sort(key=lambda item: (item.started_at, item.customer_id))
    return [(f"I-{index:07d}", item) for index, item in enumerate(interactions, start=1)]


#: Requesters without a phone whose number an agent later took down: mostly one the CRM has
#: too, sometimes a work or home line the CRM never got.
_REQUESTER_CRM_LINE = 0.7
_REQUESTER_OWN_LINE = 0.04
#: Customers the helpdesk knows by a line the CRM lacks who also call, or are called, on it.
_SHARED_LINE_CUSTOMERS = 0.6
_SHARED_LINE_USE = 0.5
#: Calls and texts on a number neither the CRM nor the helpdesk has (a colleague's phone,
#: a hotel room); about half of them reuse the customer's earlier stray number.
_STRAY_CALLS = 0.02


def _add_requester_lines(
    tickets: Sequence[tuple[int, _Ticket]],
    records: Sequence[_CrmRecord],
    rng: Random,
    used_numbers: set[str],
) -> dict[str, _Phone]:
    """Fill in some requesters' phones; return the lines only the helpdesk has, by customer.

    Caller identification asks every owner for a number at once, so the helpdesk must hold
    numbers the CRM lacks: with those the first pass gave, a few hundred requesters end up
    with a work or home line the CRM never got.
    """
    requesters: dict[int, _Requester] = {}
    for _ticket_id, ticket in tickets:
        requesters.setdefault(ticket.requester.id, ticket.requester)
    by_id = {record.id: record for record in records}
    for requester in sorted(requesters.values(), key=lambda r: r.id):
        if requester.line is not None:
            continue
        record = by_id[requester.external_id]
        roll = rng.random()
        if roll < _REQUESTER_OWN_LINE:
            line = _new_line(rng, used_numbers, record.address)
        elif record.phones and roll < _REQUESTER_OWN_LINE + _REQUESTER_CRM_LINE:
            line = _one(rng, record.phones)
        else:
            continue
        requester.line = line
        requester.phone = _write_phone(line, rng)
    return {
        r.external_id: r.line
        for r in requesters.values()
        if r.line is not None and r.line not in by_id[r.external_id].phones
    }


def _new_line(rng: Random, used: set[str], address: _Address | None) -> _Phone:
    """A work or home number: mostly a landline in the customer's city, else a mobile."""
    if rng.random() < 0.25:
        return _new_phone(rng, used)
    area = address.area_code if address is not None else None
    city = next((c for c in _CITIES if c[3] == area), None) or _CITY_PICK.pick(rng)
    _name, _postcode, _count, prefix, digits = city
    while True:
        phone = _Phone(prefix, str(_int(rng, 2 * 10 ** (digits - 1), 10**digits - 1)), False)
        if phone.e164 not in used:
            used.add(phone.e164)
            return phone


def _add_caller_numbers(
    interactions: Sequence[tuple[str, _Interaction]],
    records: Sequence[_CrmRecord],
    helpdesk_only: dict[str, _Phone],
    rng: Random,
    used_numbers: set[str],
) -> tuple[dict[str, _Phone], dict[str, str]]:
    """The number of every call and text, and how the contact center wrote it down.

    Usually one of the customer's CRM numbers; for some customers known to the helpdesk by a
    line the CRM lacks, often that line (two owners agree on a number the CRM does not know);
    now and then a number nobody else has.
    """
    by_id = {record.id: record for record in records}
    sharing = {
        customer_id
        for customer_id in sorted(helpdesk_only)
        if rng.random() < _SHARED_LINE_CUSTOMERS
    }
    strays: dict[str, _Phone] = {}
    callers: dict[str, _Phone] = {}
    written: dict[str, str] = {}
    for interaction_id, item in interactions:
        if item.channel not in ("voice", "sms"):
            continue
        record = by_id[item.customer_id]
        known = record.phones
        if item.channel == "sms":
            # Texts go to mobiles whenever the CRM has one.
            known = [phone for phone in known if phone.mobile] or known
        shared = helpdesk_only.get(item.customer_id)
        roll = rng.random()
        if (
            item.customer_id in sharing
            and shared is not None
            and (shared.mobile or item.channel == "voice")
            and roll < _SHARED_LINE_USE
        ):
            line = shared
        elif known and rng.random() >= _STRAY_CALLS:
            # The first number on file is the one people mostly use.
            line = known[0] if len(known) == 1 or rng.random() < 0.7 else _one(rng, known[1:])
        elif item.customer_id in strays and rng.random() < 0.5:
            line = strays[item.customer_id]
        else:
            line = strays[item.customer_id] = _new_phone(rng, used_numbers)
        callers[interaction_id] = line
        # The switch logs E.164 without the plus; numbers keyed in by agents keep it.
        written[interaction_id] = line.e164 if rng.random() < 0.2 else line.e164[1:]
    return callers, written


# --------------------------------------------------------------------------- writers


def _iso(moment: datetime) -> str:
    # Every seeded moment is whole seconds in UTC, so isoformat only needs the Z spelling.
    return moment.isoformat().replace("+00:00", "Z")


def _write_crm(conn: sqlite3.Connection, world: _World) -> None:
    conn.executescript(
        """
        CREATE TABLE customers (
            id TEXT PRIMARY KEY,
            first_name TEXT NOT NULL,
            last_name TEXT NOT NULL,
            emails TEXT NOT NULL,      -- JSON array, as entered
            phones TEXT NOT NULL,      -- JSON array, as entered
            erp_code TEXT,
            segment TEXT NOT NULL,
            street TEXT,
            city TEXT,
            postcode TEXT,
            country TEXT,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        );
        -- Search keys kept beside the record, the way CRMs index contact points.
        CREATE TABLE customer_phones (
            customer_id TEXT NOT NULL REFERENCES customers (id),
            e164 TEXT NOT NULL
        );
        CREATE TABLE customer_emails (
            customer_id TEXT NOT NULL REFERENCES customers (id),
            email TEXT NOT NULL
        );
        """
    )
    rows: list[tuple[str | None, ...]] = []
    phone_rows: list[tuple[str, str]] = []
    email_rows: list[tuple[str, str]] = []
    for record in world.records:
        address = record.address
        rows.append(
            (
                record.id,
                record.first_name,
                record.last_name,
                json.dumps(record.emails),
                json.dumps(record.written_phones, ensure_ascii=False),
                record.erp_code,
                record.segment,
                address.street if address else None,
                address.city if address else None,
                address.postcode if address else None,
                "IT" if address else None,
                _iso(record.created_at),
                _iso(record.updated_at),
            )
        )
        phone_rows.extend((record.id, phone.e164) for phone in record.phones)
        email_rows.extend((record.id, email.lower()) for email in record.emails)
    conn.executemany(f"INSERT INTO customers VALUES ({', '.join('?' * 13)})", rows)
    conn.executemany("INSERT INTO customer_phones VALUES (?, ?)", phone_rows)
    conn.executemany("INSERT INTO customer_emails VALUES (?, ?)", email_rows)
    conn.executescript(
        """
        CREATE INDEX customers_erp_code ON customers (erp_code);
        CREATE INDEX customer_phones_e164 ON customer_phones (e164);
        CREATE INDEX customer_phones_customer ON customer_phones (customer_id);
        CREATE INDEX customer_emails_email ON customer_emails (email);
        CREATE INDEX customer_emails_customer ON customer_emails (customer_id);
        """
    )


def _write_erp(conn: sqlite3.Connection, world: _World) -> None:
    conn.executescript(
        """
        CREATE TABLE accounts (
            code TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            credit_limit_cents INTEGER NOT NULL,
            currency TEXT NOT NULL,
            blocked INTEGER NOT NULL
        );
        CREATE TABLE invoices (
            number TEXT PRIMARY KEY,
            customer_code TEXT NOT NULL REFERENCES accounts (code),
            status TEXT NOT NULL,
            amount_cents INTEGER NOT NULL,
            currency TEXT NOT NULL,
            issued_on TEXT NOT NULL,
            due_on TEXT NOT NULL,
            paid_at TEXT
        );
        """
    )
    conn.executemany(
        "INSERT INTO accounts VALUES (?, ?, ?, 'EUR', ?)",
        [(a.code, a.name, a.credit_limit_cents, int(a.blocked)) for a in world.accounts],
    )
    conn.executemany(
        "INSERT INTO invoices VALUES (?, ?, ?, ?, 'EUR', ?, ?, ?)",
        [
            (
                number,
                invoice.customer_code,
                invoice.status,
                invoice.amount_cents,
                invoice.issued_on.isoformat(),
                invoice.due_on.isoformat(),
                _iso(invoice.paid_at) if invoice.paid_at else None,
            )
            for number, invoice in world.invoices
        ],
    )
    conn.executescript(
        """
        CREATE INDEX invoices_customer ON invoices (customer_code, issued_on);
        CREATE INDEX invoices_customer_status ON invoices (customer_code, status, issued_on);
        """
    )


def _write_helpdesk(conn: sqlite3.Connection, world: _World) -> None:
    conn.executescript(
        """
        CREATE TABLE requesters (
            id INTEGER PRIMARY KEY,
            external_id TEXT NOT NULL,
            name TEXT NOT NULL,
            email TEXT,
            phone TEXT,                -- as typed by the agent
            phone_e164 TEXT,           -- search keys, the way helpdesks index contact points
            email_key TEXT             -- trimmed and lower-cased
        );
        CREATE TABLE tickets (
            id INTEGER PRIMARY KEY,
            requester_id INTEGER NOT NULL REFERENCES requesters (id),
            subject TEXT NOT NULL,
            status TEXT NOT NULL,
            priority TEXT NOT NULL,
            via TEXT NOT NULL,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        );
        """
    )
    requesters: dict[int, _Requester] = {}
    for _ticket_id, ticket in world.tickets:
        requesters.setdefault(ticket.requester.id, ticket.requester)
    conn.executemany(
        "INSERT INTO requesters VALUES (?, ?, ?, ?, ?, ?, ?)",
        [
            (
                r.id,
                r.external_id,
                r.name,
                r.email,
                r.phone,
                r.line.e164 if r.line is not None else None,
                r.email.strip().lower() if r.email is not None else None,
            )
            for r in sorted(requesters.values(), key=lambda r: r.id)
        ],
    )
    conn.executemany(
        "INSERT INTO tickets VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (
                ticket_id,
                ticket.requester.id,
                ticket.subject,
                ticket.status,
                ticket.priority,
                ticket.via,
                _iso(ticket.created_at),
                _iso(ticket.updated_at),
            )
            for ticket_id, ticket in world.tickets
        ],
    )
    conn.executescript(
        """
        CREATE UNIQUE INDEX requesters_external_id ON requesters (external_id);
        CREATE INDEX requesters_phone ON requesters (phone_e164);
        CREATE INDEX requesters_email ON requesters (email_key);
        CREATE INDEX tickets_requester ON tickets (requester_id, created_at);
        CREATE INDEX tickets_requester_status ON tickets (requester_id, status, created_at);
        """
    )


def _write_contactcenter(conn: sqlite3.Connection, world: _World) -> None:
    conn.executescript(
        """
        CREATE TABLE interactions (
            id TEXT PRIMARY KEY,
            customer_id TEXT NOT NULL,
            channel TEXT NOT NULL,
            direction TEXT NOT NULL,
            started_at INTEGER NOT NULL,   -- epoch seconds, this system's own convention
            duration_s INTEGER,
            summary TEXT NOT NULL,
            agent TEXT NOT NULL,
            caller_number TEXT,            -- voice and SMS: the other end, as the switch logs it
            caller_e164 TEXT               -- the same number normalised, for caller lookups
        );
        """
    )
    conn.executemany(
        "INSERT INTO interactions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (
                interaction_id,
                item.customer_id,
                item.channel,
                item.direction,
                int(item.started_at.timestamp()),
                item.duration_s,
                item.summary,
                item.agent,
                world.caller_numbers.get(interaction_id),
                caller.e164 if (caller := world.callers.get(interaction_id)) else None,
            )
            for interaction_id, item in world.interactions
        ],
    )
    conn.executescript(
        """
        CREATE INDEX interactions_customer ON interactions (customer_id, started_at);
        CREATE INDEX interactions_customer_channel
            ON interactions (customer_id, channel, started_at);
        CREATE INDEX interactions_caller ON interactions (caller_e164, started_at);
        """
    )
