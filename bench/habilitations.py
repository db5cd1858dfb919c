"""Benchmark of the habilitation store: bulk load, the right-to-act check, the users screen.

    .venv/bin/python -m bench.habilitations [--etablissements 100000]
        [--habilitations 1000000] [--database-url URL] [--checks 20000]

Without `--database-url` the store is a fresh SQLite file in a temporary directory, deleted
at the end; with it (PostgreSQL for instance) the database must be empty. The bench loads
établissements with valid SIRETs, people and habilitations (about 5 % ended, 2 % revoked, a
few SIRETs with many users), then times `may_act` and `HabilitationService.users`, checks
every answer against what it generated, and prints the figures. Speed is measured here,
never asserted; a wrong answer is counted and printed as the bug it is.
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import random
import shlex
import sqlite3
import sys
import tempfile
import time
import unicodedata
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy
from sqlalchemy import Engine, Table, func, insert, select, text
from sqlalchemy.orm import Session
from stdnum.fr import siret as stdnum_siret
from tqdm import tqdm

from bridge.audit.service import Actor
from bridge.bootstrap import session_factory
from bridge.catalog import Catalog, load_catalog
from bridge.db import Base, make_engine, migrate
from bridge.etablissement.service import EtablissementService
from bridge.habilitation.models import GrantedHow
from bridge.habilitation.service import HabilitationService, may_act
from bridge.models import import_models

MAF = "mon-activite-formation"
DEMARCHES = (MAF, "mes-collectes-formation", "mon-suivi-controle")
DEMARCHE_WEIGHTS = (0.60, 0.25, 0.15)
DELEGABLE = frozenset({MAF, "mes-collectes-formation"})  # declarant is delegable there
GESTIONNAIRE = "gestionnaire"
DECLARANT = "declarant"

BIG_SIRET_SIZE = 2_000  # habilitations on the worst-case SIRET (all on MAF)
MEDIUM_SIRETS = 10  # then a few SIRETs with a few hundred habilitations each
MEDIUM_SIRET_SIZE = 300
SAMPLED_SIRETS = 200  # ordinary SIRETs whose users screen is timed
BIG_SIRET_RUNS = 20
WARMUP = 50  # calls before timing (statement compilation, caches), not counted

REVOKED_RATE = 0.02
ENDED_RATE = 0.05
FUTURE_END_RATE = 0.10  # active with a valid_until still ahead
DELEGATION_RATE = 0.05
SEARCH = "dupont"

FIRST_NAMES = (
    "Marie", "Jean", "Pierre", "Nathalie", "Isabelle", "Sylvie", "Philippe", "Michel",
    "Catherine", "Françoise", "Alain", "Nicolas", "Christophe", "Stéphane", "Sophie",
    "Sandrine", "Laurent", "Julien", "Camille", "Léa", "Chloé", "Manon", "Hugo", "Lucas",
    "Thomas", "Émilie", "Élodie", "Étienne", "Hélène", "Jérôme", "Céline", "Aurélie",
    "Mathieu", "Valérie", "Patrick", "Anne", "Claire", "Antoine", "Louis", "Inès",
)  # fmt: skip
LAST_NAMES = (
    "Martin", "Bernard", "Thomas", "Petit", "Robert", "Richard", "Durand", "Dubois",
    "Moreau", "Laurent", "Simon", "Michel", "Lefebvre", "Leroy", "Roux", "David", "Bertrand",
    "Morel", "Fournier", "Girard", "Bonnet", "Dupont", "Lambert", "Fontaine", "Rousseau",
    "Vincent", "Muller", "Lefèvre", "Faure", "André", "Mercier", "Blanc", "Guérin", "Boyer",
    "Garnier", "Chevalier", "François", "Legrand", "Gauthier", "Garcia", "Perrin", "Robin",
    "Clément", "Morin", "Nicolas", "Henry", "Roussel", "Mathieu", "Gautier", "Masson",
    "Marchand", "Duval", "Denis", "Dumont", "Marie", "Lemaire", "Noël", "Meyer", "Dufour",
    "Meunier", "Brun", "Blanchard", "Giraud", "Joly", "Rivière", "Lucas", "Brunet", "Gaillard",
    "Barbier", "Arnaud", "Martinez", "Gérard", "Roche", "Renard", "Schmitt", "Roy", "Leroux",
    "Colin", "Vidal", "Caron", "Picard", "Roger", "Fabre", "Aubert", "Lemoine", "Renaud",
    "Dumas", "Lacroix", "Olivier", "Philippe", "Bourgeois", "Pierre", "Benoît", "Rey",
    "Leclerc", "Payet", "Rolland", "Leclercq", "Guillaume", "Lecomte",
)  # fmt: skip


# --- SIRETs --------------------------------------------------------------------------------


def luhn_check_digit(payload: str) -> str:
    """The digit that, appended to `payload`, makes the whole number pass the Luhn test."""
    total = 0
    for position, char in enumerate(reversed(payload)):
        digit = int(char)
        if position % 2 == 0:  # these digits are doubled once the check digit is appended
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return str((10 - total % 10) % 10)


def siret_of(index: int) -> str:
    """A valid SIRET per index: two établissements per SIREN (NIC 0001x and 0002x).

    The SIREN is 8 digits plus its Luhn key; the SIRET is the SIREN, a 4-digit NIC prefix
    and the Luhn key of all 14 digits. SIREN 356000000 (La Poste, another rule) never occurs
    because the SIREN bodies start at 10000000 and stay below 35600000 for 51 million SIRETs.
    """
    body = f"{10_000_000 + index // 2:08d}"
    siren = body + luhn_check_digit(body)
    payload = f"{siren}{index % 2 + 1:04d}"
    return payload + luhn_check_digit(payload)


# --- generated data ------------------------------------------------------------------------


@dataclass
class Plan:
    """What the generator decided, and the ground truth the measurements are checked against."""

    etablissements: int
    habilitations: int
    persons: int
    seed: int
    now: datetime
    subjects: list[str] = field(default_factory=list)
    first_names: bytearray = field(default_factory=bytearray)
    last_names: bytearray = field(default_factory=bytearray)
    declarant_counts: list[int] = field(default_factory=list)
    big_size: int = 0
    medium: range = range(0)
    sampled: list[int] = field(default_factory=list)  # ordinary SIRETs for the users screen
    true_wanted: int = 0
    # ground truth, filled while the habilitations are generated
    true_checks: list[tuple[int, str, str, int]] = field(default_factory=list)
    active_seen: int = 0
    false_people: list[int] = field(default_factory=list)
    holdings: dict[int, set[int]] = field(default_factory=dict)  # of the false_people
    watched_managers: set[int] = field(default_factory=set)
    users_expected: dict[int, set[int]] = field(default_factory=dict)  # manager -> people
    generated: dict[str, int] = field(default_factory=dict)

    def gestionnaire_of(self, siret_index: int) -> int:
        return siret_index % self.persons

    def display_name(self, person: int) -> str:
        return f"{FIRST_NAMES[self.first_names[person]]} {LAST_NAMES[self.last_names[person]]}"

    def email(self, person: int) -> str:
        first = ascii_slug(FIRST_NAMES[self.first_names[person]])
        last = ascii_slug(LAST_NAMES[self.last_names[person]])
        return f"{first}.{last}.{person}@exemple.fr"

    def matches(self, person: int, query: str) -> bool:
        """The users screen's search, as documented: name or e-mail contains the text."""
        needle = query.lower()
        return (
            needle in self.email(person).lower()
            or needle in FIRST_NAMES[self.first_names[person]].lower()
            or needle in LAST_NAMES[self.last_names[person]].lower()
        )


def ascii_slug(name: str) -> str:
    decomposed = unicodedata.normalize("NFKD", name)
    return "".join(c for c in decomposed if c.isascii() and c.isalnum()).lower()


def make_plan(etablissements: int, habilitations: int, checks: int, seed: int) -> Plan:
    if etablissements < 2:
        raise SystemExit("Il faut au moins 2 établissements.")
    if habilitations < etablissements:
        raise SystemExit("Il faut au moins une habilitation (le gestionnaire) par établissement.")
    rng = random.Random(seed)
    declarants = habilitations - etablissements
    big_size = min(BIG_SIRET_SIZE, 1 + declarants // 4)
    medium_count = min(MEDIUM_SIRETS, etablissements - 1)
    medium_size = min(MEDIUM_SIRET_SIZE, 1 + declarants // (8 * max(1, medium_count)))
    persons = max(habilitations // 4, big_size + 1, medium_size + 1, 2)
    plan = Plan(etablissements, habilitations, persons, seed, datetime.now(UTC))
    plan.big_size = big_size
    plan.medium = range(1, 1 + medium_count)
    counts = [0] * etablissements
    counts[0] = big_size - 1
    for index in plan.medium:
        counts[index] = medium_size - 1
    rest = declarants - sum(counts)
    if etablissements > 1 + medium_count:
        low = 1 + medium_count
        for _ in range(rest):
            counts[rng.randrange(low, etablissements)] += 1
    else:
        counts[0] += rest
    plan.declarant_counts = counts
    ordinary = range(1 + medium_count, etablissements)
    plan.sampled = rng.sample(ordinary, min(SAMPLED_SIRETS, len(ordinary)))
    watched = [0, *plan.sampled]
    plan.watched_managers = {plan.gestionnaire_of(i) for i in watched}
    plan.users_expected = {m: set() for m in plan.watched_managers}
    plan.true_wanted = checks // 2
    plan.false_people = [rng.randrange(persons) for _ in range(checks - checks // 2)]
    plan.holdings = {p: set() for p in plan.false_people}
    return plan


def person_rows(plan: Plan, rng: random.Random) -> Iterator[dict[str, Any]]:
    for index in range(plan.persons):
        plan.subjects.append(str(uuid.UUID(int=rng.getrandbits(128), version=4)))
        plan.first_names.append(rng.randrange(len(FIRST_NAMES)))
        plan.last_names.append(rng.randrange(len(LAST_NAMES)))
        yield {
            "subject": plan.subjects[index],
            "email": plan.email(index),
            "first_name": FIRST_NAMES[plan.first_names[index]],
            "last_name": LAST_NAMES[plan.last_names[index]],
            "civility": rng.choice(("Madame", "Monsieur", None)),
            "phone": f"06{rng.randrange(10**8):08d}" if rng.random() < 0.5 else None,
            "updated_at": plan.now - timedelta(seconds=rng.randrange(86_400 * 365)),
        }


def etablissement_rows(plan: Plan, rng: random.Random) -> Iterator[dict[str, Any]]:
    for index in range(plan.etablissements):
        siret = siret_of(index)
        yield {
            "siret": siret,
            "siren": siret[:9],
            "name": f"Organisme de formation n° {index}",
            "created_at": plan.now - timedelta(seconds=rng.randrange(86_400 * 365 * 5)),
        }


def habilitation_rows(plan: Plan, rng: random.Random) -> Iterator[dict[str, Any]]:
    """For each SIRET its MAF gestionnaire (activation code), then its declarants."""
    day = 86_400
    forced_active = {0, *plan.sampled}
    reservoir = plan.true_checks
    wanted_true = plan.true_wanted
    status_counts = {"actives": 0, "terminees": 0, "revoquees": 0, "delegations": 0}

    def row(
        person: int,
        demarche: str,
        role: str,
        siret_index: int,
        how: GrantedHow,
        manager: int,
        force_active: bool,
    ) -> tuple[dict[str, Any], bool]:
        granted_at = plan.now - timedelta(seconds=rng.randrange(2 * day, 5 * 365 * day))
        valid_until: datetime | None = None
        revoked_at: datetime | None = None
        draw = 1.0 if force_active else rng.random()
        if draw < REVOKED_RATE:
            span = (plan.now - timedelta(days=1) - granted_at).total_seconds()
            revoked_at = granted_at + timedelta(seconds=rng.uniform(0, span))
            status_counts["revoquees"] += 1
        elif draw < REVOKED_RATE + ENDED_RATE:
            span = (plan.now - timedelta(days=1) - granted_at).total_seconds()
            valid_until = granted_at + timedelta(seconds=rng.uniform(0, span))
            status_counts["terminees"] += 1
        else:
            if how == GrantedHow.DELEGATION or rng.random() < FUTURE_END_RATE:
                valid_until = plan.now + timedelta(seconds=rng.randrange(30 * day, 730 * day))
            status_counts["actives"] += 1
        if how == GrantedHow.DELEGATION:
            status_counts["delegations"] += 1
        on_behalf = (
            siret_of(rng.randrange(plan.etablissements)) if how == GrantedHow.DELEGATION else None
        )
        by_activation = how == GrantedHow.ACTIVATION_CODE
        return {
            "subject": plan.subjects[person],
            "demarche": demarche,
            "role": role,
            "siret": siret_of(siret_index),
            "granted_how": str(how),
            "granted_by": plan.subjects[manager],
            "granted_by_name": "code d'activation" if by_activation else plan.display_name(manager),
            "granted_at": granted_at,
            "valid_until": valid_until,
            "on_behalf_of_siret": on_behalf,
            "revoked_at": revoked_at,
            "revoked_by": plan.subjects[manager] if revoked_at is not None else None,
        }, revoked_at is None and (valid_until is None or valid_until > plan.now)

    def remember(person: int, demarche: str, role: str, siret_index: int, active: bool) -> None:
        if person in plan.holdings:
            plan.holdings[person].add(siret_index)
        if active:
            plan.active_seen += 1
            if len(reservoir) < wanted_true:
                reservoir.append((person, demarche, role, siret_index))
            else:
                slot = rng.randrange(plan.active_seen)
                if slot < wanted_true:
                    reservoir[slot] = (person, demarche, role, siret_index)

    for siret_index in range(plan.etablissements):
        manager = plan.gestionnaire_of(siret_index)
        watched = manager in plan.watched_managers
        gest_row, gest_active = row(
            manager,
            MAF,
            GESTIONNAIRE,
            siret_index,
            GrantedHow.ACTIVATION_CODE,
            manager,
            siret_index in forced_active,
        )
        remember(manager, MAF, GESTIONNAIRE, siret_index, gest_active)
        yield gest_row
        live_maf: set[int] = {manager} if gest_active else set()
        used: dict[str, set[int]] = {MAF: {manager}}
        big = siret_index == 0
        for _ in range(plan.declarant_counts[siret_index]):
            demarche = MAF if big else rng.choices(DEMARCHES, DEMARCHE_WEIGHTS)[0]
            taken = used.setdefault(demarche, set())
            person = rng.randrange(plan.persons)
            while person in taken:
                person = rng.randrange(plan.persons)
            taken.add(person)
            delegation = demarche in DELEGABLE and rng.random() < DELEGATION_RATE
            how = (
                GrantedHow.DELEGATION
                if delegation
                else rng.choice((GrantedHow.REQUEST_APPROVED, GrantedHow.GESTIONNAIRE))
            )
            declarant_row, active = row(
                person, demarche, DECLARANT, siret_index, how, manager, False
            )
            remember(person, demarche, DECLARANT, siret_index, active)
            if active and demarche == MAF:
                live_maf.add(person)
            yield declarant_row
        if watched and gest_active:
            plan.users_expected[manager] |= live_maf
    plan.generated = status_counts


# --- loading -------------------------------------------------------------------------------


def batches(rows: Iterator[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for item in rows:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def load(
    engine: Engine,
    table: Table,
    rows: Iterator[dict[str, Any]],
    total: int,
    description: str,
    batch_size: int,
) -> int:
    """Core `insert()` executemany, one transaction per batch."""
    written = 0
    with (
        engine.connect() as connection,
        tqdm(total=total, desc=description, unit=" lignes", unit_scale=True) as bar,
    ):
        for batch in batches(rows, batch_size):
            with connection.begin():
                connection.execute(insert(table), batch)
            written += len(batch)
            bar.update(len(batch))
    return written


def load_plan(
    engine: Engine, plan: Plan, rng: random.Random, batch_size: int
) -> list[tuple[str, int, int]]:
    """Load the plan's établissements, people and habilitations; (name, rows, ns) of each."""
    tables = Base.metadata.tables
    loads: list[tuple[str, int, int]] = []
    for name, table_name, rows, total in (
        ("Établissements", "etablissement", etablissement_rows(plan, rng), plan.etablissements),
        ("Personnes", "person", person_rows(plan, rng), plan.persons),
        ("Habilitations", "habilitation", habilitation_rows(plan, rng), plan.habilitations),
    ):
        step = time.perf_counter_ns()
        written = load(engine, tables[table_name], rows, total, name, batch_size)
        loads.append((name, written, time.perf_counter_ns() - step))
    return loads


# --- measuring -----------------------------------------------------------------------------


def percentile(sorted_values: Sequence[int], fraction: float) -> int:
    """Nearest-rank percentile of already sorted values."""
    if not sorted_values:
        return 0
    rank = max(1, -(-int(fraction * 1_000_000) * len(sorted_values) // 1_000_000))
    return sorted_values[min(rank, len(sorted_values)) - 1]


@dataclass
class Timings:
    label: str
    values_ns: list[int] = field(default_factory=list)

    def summary_us(self) -> str:
        values = sorted(self.values_ns)
        if not values:
            return f"{self.label} : aucune mesure"
        mean = sum(values) / len(values)
        per_second = len(values) / (sum(values) / 1e9)
        return (
            f"{self.label} : n={len(values)}  p50={percentile(values, 0.5) / 1e3:.1f} µs  "
            f"p99={percentile(values, 0.99) / 1e3:.1f} µs  moyenne={mean / 1e3:.1f} µs  "
            f"max={values[-1] / 1e3:.1f} µs  → {per_second:,.0f} contrôles/s".replace(",", " ")
        )

    def summary_ms(self) -> str:
        values = sorted(self.values_ns)
        if not values:
            return f"{self.label} : aucune mesure"
        mean = sum(values) / len(values)
        return (
            f"{self.label} : n={len(values)}  p50={percentile(values, 0.5) / 1e6:.2f} ms  "
            f"p99={percentile(values, 0.99) / 1e6:.2f} ms  moyenne={mean / 1e6:.2f} ms  "
            f"max={values[-1] / 1e6:.2f} ms"
        )


@dataclass(frozen=True)
class Check:
    person: int
    demarche: str
    role: str
    siret_index: int
    expected: bool


def build_checks(plan: Plan, rng: random.Random) -> list[Check]:
    checks: list[Check] = []
    for person, demarche, role, siret_index in plan.true_checks:
        # a gestionnaire may also act as declarant (catalog: implies)
        asked = DECLARANT if role == GESTIONNAIRE and rng.random() < 0.5 else role
        checks.append(Check(person, demarche, asked, siret_index, True))
    for person in plan.false_people:
        held = plan.holdings[person]
        siret_index = rng.randrange(plan.etablissements)
        while siret_index in held:
            siret_index = rng.randrange(plan.etablissements)
        demarche = rng.choice(DEMARCHES)
        checks.append(
            Check(person, demarche, rng.choice((GESTIONNAIRE, DECLARANT)), siret_index, False)
        )
    rng.shuffle(checks)
    return checks


def measure_may_act(
    session: Session, catalog: Catalog, plan: Plan, checks: list[Check]
) -> tuple[dict[bool | None, Timings], list[str]]:
    """All checks in one session; timings overall (key None) and by expected answer."""
    timings: dict[bool | None, Timings] = {
        None: Timings("may_act"),
        True: Timings("  dont réponses attendues vraies"),
        False: Timings("  dont réponses attendues fausses"),
    }
    wrong: list[str] = []
    calls = [
        (plan.subjects[c.person], c.demarche, c.role, siret_of(c.siret_index), c.expected)
        for c in checks
    ]
    for subject, demarche, role, siret, _ in calls[:WARMUP]:
        may_act(session, catalog, subject, demarche, role, siret)
    clock = time.perf_counter_ns
    for subject, demarche, role, siret, expected in tqdm(
        calls, desc="Contrôles du droit d'agir", unit=" appels", unit_scale=True
    ):
        started = clock()
        answer = may_act(session, catalog, subject, demarche, role, siret)
        elapsed = clock() - started
        timings[None].values_ns.append(elapsed)
        timings[expected].values_ns.append(elapsed)
        if answer is not expected:
            wrong.append(
                f"may_act({subject}, {demarche}, {role}, {siret}) = {answer}, attendu {expected}"
            )
    return timings, wrong


def measure_users(
    factory: Callable[[], Session],
    catalog: Catalog,
    plan: Plan,
    label: str,
    targets: list[int],
    query: str,
) -> tuple[Timings, list[str]]:
    """One fresh session per screen, like one request; only the `users` call is timed."""
    timings = Timings(label)
    wrong: list[str] = []
    for warm in targets[: min(len(targets), 3)]:
        with factory() as session:
            service = HabilitationService(
                session, catalog, EtablissementService(session, catalog, "x")
            )
            service.users(Actor(subject=plan.subjects[plan.gestionnaire_of(warm)]), MAF, page=1)
    for siret_index in tqdm(targets, desc=label, unit=" écrans"):
        manager = plan.gestionnaire_of(siret_index)
        with factory() as session:
            service = HabilitationService(
                session, catalog, EtablissementService(session, catalog, "x")
            )
            actor = Actor(subject=plan.subjects[manager])
            started = time.perf_counter_ns()
            page = service.users(actor, MAF, query=query, page=1)
            timings.values_ns.append(time.perf_counter_ns() - started)
        people = plan.users_expected[manager]
        expected = len([p for p in people if plan.matches(p, query)]) if query else len(people)
        shown = len(page.rows)
        if page.total != expected or shown != min(expected, 20):
            wrong.append(
                f"users(SIRET {siret_of(siret_index)}, query={query!r}) : total={page.total}, "
                f"lignes={shown}, attendu total={expected}"
            )
    return timings, wrong


# --- reporting -----------------------------------------------------------------------------


def say(message: str = "") -> None:
    tqdm.write(message, file=sys.stdout)
    sys.stdout.flush()


def seconds(ns: int) -> str:
    return f"{ns / 1e9:.2f} s"


def machine() -> list[str]:
    memory = ""
    try:
        pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        memory = f"{pages / 2**30:.1f} Gio"
    except (ValueError, OSError, AttributeError):
        memory = "inconnue"
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return [
        f"Machine            : {platform.node()} — {platform.platform()}",
        f"Processeur         : {cpu} ({os.cpu_count()} cœurs logiques)",
        f"Mémoire            : {memory}",
        f"Python             : {platform.python_version()} ({platform.python_implementation()})",
        f"SQLAlchemy         : {sqlalchemy.__version__}",
    ]


def database_size(engine: Engine, sqlite_file: Path | None) -> str:
    if sqlite_file is not None:
        parts = [sqlite_file, Path(f"{sqlite_file}-wal"), Path(f"{sqlite_file}-shm")]
        sizes = {p.name: p.stat().st_size for p in parts if p.exists()}
        total = sum(sizes.values())
        detail = ", ".join(f"{name} {size / 2**20:.1f} Mio" for name, size in sizes.items())
        return f"{total / 2**20:.1f} Mio ({detail})"
    if engine.dialect.name == "sqlite" and engine.url.database not in (None, "", ":memory:"):
        return database_size(engine, Path(str(engine.url.database)))
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            size = connection.scalar(text("SELECT pg_database_size(current_database())"))
        return f"{int(size or 0) / 2**20:.1f} Mio (pg_database_size)"
    return "inconnue"


def row_counts(engine: Engine, moment: datetime) -> list[tuple[str, int]]:
    tables = Base.metadata.tables
    habilitation = tables["habilitation"]
    with engine.connect() as connection:

        def count(table: Table, *where: Any) -> int:
            return int(
                connection.scalar(select(func.count()).select_from(table).where(*where)) or 0
            )

        revoked = habilitation.c.revoked_at.is_not(None)
        ended = sqlalchemy.and_(
            habilitation.c.revoked_at.is_(None), habilitation.c.valid_until <= moment
        )
        return [
            ("établissements", count(tables["etablissement"])),
            ("personnes", count(tables["person"])),
            ("habilitations", count(habilitation)),
            ("  dont révoquées", count(habilitation, revoked)),
            ("  dont terminées (valid_until passé)", count(habilitation, ended)),
            (
                "  dont par délégation (tiers)",
                count(habilitation, habilitation.c.granted_how == str(GrantedHow.DELEGATION)),
            ),
        ]


def query_plans(engine: Engine, label: str, work: Callable[[Session], object]) -> list[str]:
    """EXPLAIN QUERY PLAN (SQLite) of every SELECT that `work` really sends, with its time."""
    if engine.dialect.name != "sqlite":
        return []
    captured: list[tuple[str, Any]] = []

    def capture(conn: Any, cursor: Any, statement: str, params: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            captured.append((statement, params))

    sqlalchemy.event.listen(engine, "before_cursor_execute", capture)
    try:
        with Session(engine) as session:
            work(session)
    finally:
        sqlalchemy.event.remove(engine, "before_cursor_execute", capture)
    lines: list[str] = []
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        for number, (statement, params) in enumerate(captured, 1):
            started = time.perf_counter_ns()
            cursor.execute(statement, params)
            cursor.fetchall()
            elapsed = time.perf_counter_ns() - started
            cursor.execute(f"EXPLAIN QUERY PLAN {statement}", params)
            steps = " ; ".join(str(row[-1]) for row in cursor.fetchall())
            lines.append(f"{label} requête {number} ({elapsed / 1e6:.2f} ms) : {steps}")
        cursor.close()
    finally:
        raw.close()
    return lines


# --- main ----------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.habilitations",
        description="Mesure le contrôle du droit d'agir et l'écran des utilisateurs.",
    )
    parser.add_argument("--etablissements", type=int, default=100_000)
    parser.add_argument("--habilitations", type=int, default=1_000_000)
    parser.add_argument(
        "--database-url",
        default=None,
        help="base vide (PostgreSQL…) ; par défaut un fichier SQLite temporaire, supprimé",
    )
    parser.add_argument("--checks", type=int, default=20_000)
    parser.add_argument("--batch-size", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=20_261_122)
    parser.add_argument(
        "--no-analyze",
        action="store_true",
        help="PostgreSQL : mesurer sans ANALYZE, comme juste après un import massif",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    started_all = time.perf_counter_ns()
    command = shlex.join([sys.executable, "-m", "bench.habilitations", *(argv or sys.argv[1:])])
    with tempfile.TemporaryDirectory(prefix="bench-habilitations-") as workdir:
        sqlite_file: Path | None = None
        url = args.database_url
        if url is None:
            sqlite_file = Path(workdir) / "bench.db"
            url = f"sqlite:///{sqlite_file}"
        return run(args, url, sqlite_file, command, started_all)


def run(
    args: argparse.Namespace,
    url: str,
    sqlite_file: Path | None,
    command: str,
    started_all: int,
) -> int:
    import_models()
    tables = Base.metadata.tables
    catalog = load_catalog()
    say(f"Base : {url if sqlite_file is None else f'SQLite temporaire {sqlite_file}'}")

    # 1. schema and load
    step = time.perf_counter_ns()
    migrate(url)
    migrate_ns = time.perf_counter_ns() - step
    say(f"[1] Migrations Alembic : {seconds(migrate_ns)}")
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            if connection.scalar(select(func.count()).select_from(tables["habilitation"])):
                raise SystemExit("La base n'est pas vide : le bench exige une base neuve.")

        plan = make_plan(args.etablissements, args.habilitations, args.checks, args.seed)
        rng = random.Random(args.seed + 1)
        sample = [siret_of(i) for i in rng.sample(range(plan.etablissements), 1000)]
        sample += [siret_of(i) for i in (0, plan.etablissements - 1, *plan.sampled)]
        invalid = [s for s in sample if not stdnum_siret.is_valid(s)]
        if invalid:
            raise SystemExit(f"SIRET générés invalides : {invalid[:5]}")
        say(f"[1] SIRET générés vérifiés par python-stdnum : {len(sample)} sur {len(sample)}")

        loads = load_plan(engine, plan, rng, args.batch_size)
        for name, written, elapsed in loads:
            say(
                f"[1] Chargement {name.lower()} : {written} lignes en {seconds(elapsed)} "
                f"({written / (elapsed / 1e9):,.0f} lignes/s)".replace(",", " ")
            )
        if engine.dialect.name == "sqlite":
            # The product never runs ANALYZE on SQLite: the planner works without statistics.
            with engine.connect() as connection:
                connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        elif engine.dialect.name == "postgresql" and not args.no_analyze:
            # What autovacuum does soon after a bulk import; without it the planner guesses.
            step = time.perf_counter_ns()
            with engine.begin() as connection:
                connection.exec_driver_sql("ANALYZE")
            say(f"[1] ANALYZE (statistiques PostgreSQL) : {seconds(time.perf_counter_ns() - step)}")
        manager = plan.subjects[plan.gestionnaire_of(0)]
        plans = query_plans(
            engine,
            "may_act",
            lambda session: may_act(session, catalog, manager, MAF, DECLARANT, siret_of(0)),
        )
        plans += query_plans(
            engine,
            f"users (SIRET de {plan.big_size})",
            lambda session: HabilitationService(
                session, catalog, EtablissementService(session, catalog, "x")
            ).users(Actor(subject=manager), MAF, page=1),
        )
        for line in plans:
            say(f"[1] Plan SQLite, {line}")

        # 2. the right-to-act check
        factory = session_factory(engine)
        checks = build_checks(plan, rng)
        # The generated data (millions of Python objects) is the bench's, not a server's:
        # keep it out of the garbage collector's full passes during the measurements.
        gc.collect()
        gc.freeze()
        step = time.perf_counter_ns()
        with factory() as session:
            may_act_timings, may_act_wrong = measure_may_act(session, catalog, plan, checks)
        may_act_ns = time.perf_counter_ns() - step
        for timings in may_act_timings.values():
            say(f"[2] {timings.summary_us()}")
        expected_true = sum(1 for c in checks if c.expected)
        say(
            f"[2] Réponses : {expected_true} attendues vraies, {len(checks) - expected_true} "
            f"attendues fausses, {len(may_act_wrong)} fausses réponses ({seconds(may_act_ns)})"
        )
        for line in may_act_wrong[:20]:
            say(f"    ERREUR {line}")

        # 3. the users screen
        big_people = plan.users_expected[plan.gestionnaire_of(0)]
        found = sum(1 for p in big_people if plan.matches(p, SEARCH))
        say(
            f"[3] SIRET {siret_of(0)} : {len(big_people)} personnes actives sur {MAF}, "
            f"dont {found} trouvées par « {SEARCH} »"
        )
        screens = [
            ("Écran utilisateurs, SIRET ordinaires", plan.sampled, ""),
            (
                f"Écran utilisateurs, SIRET de {plan.big_size} habilitations",
                [0] * BIG_SIRET_RUNS,
                "",
            ),
            (
                f"Écran utilisateurs, SIRET de {plan.big_size}, recherche « {SEARCH} »",
                [0] * BIG_SIRET_RUNS,
                SEARCH,
            ),
        ]
        users_results: list[tuple[Timings, list[str]]] = []
        for label, targets, query in screens:
            step = time.perf_counter_ns()
            timings, wrong = measure_users(factory, catalog, plan, label, targets, query)
            users_results.append((timings, wrong))
            say(f"[3] {timings.summary_ms()} ({seconds(time.perf_counter_ns() - step)})")
            for line in wrong[:10]:
                say(f"    ERREUR {line}")

        # 4. summary
        counts = row_counts(engine, datetime.now(UTC))
        size = database_size(engine, sqlite_file)
        server = (
            f"SQLite {sqlite3.sqlite_version}"
            if engine.dialect.name == "sqlite"
            else f"{engine.dialect.name} "
            + ".".join(map(str, engine.dialect.server_version_info or ()))
        )
        total_ns = time.perf_counter_ns() - started_all
        errors = len(may_act_wrong) + sum(len(w) for _, w in users_results)
        summary = [
            "",
            "=" * 78,
            "Bench des habilitations — résumé",
            "=" * 78,
            f"Commande           : {command}",
            *machine(),
            f"Base               : {server}",
            f"Taille sur disque  : {size}",
            f"Graine aléatoire   : {args.seed}",
            "Lignes :",
            *(f"  {label:<38} {value:>10}" for label, value in counts),
            "Chargement :",
            f"  {'migrations Alembic':<38} {seconds(migrate_ns):>10}",
            *(
                f"  {name.lower():<38} {seconds(ns):>10}  ({n / (ns / 1e9):,.0f} lignes/s)".replace(
                    ",", " "
                )
                for name, n, ns in loads
            ),
            "Droit d'agir (may_act, une session) :",
            *(f"  {timings.summary_us()}" for timings in may_act_timings.values()),
            f"  fausses réponses : {len(may_act_wrong)} sur {len(checks)}",
            "Écran des utilisateurs (HabilitationService.users, page 1) :",
            *(f"  {timings.summary_ms()}" for timings, _ in users_results),
            f"  fausses réponses : {sum(len(w) for _, w in users_results)}",
            f"Erreurs au total   : {errors}",
            f"Durée totale       : {seconds(total_ns)}",
            "=" * 78,
        ]
        for line in summary:
            say(line)
        return 1 if errors else 0
    finally:
        engine.dispose()


if __name__ == "__main__":
    sys.exit(main())
