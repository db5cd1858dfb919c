"""What relying parties ask the bridge: may X act as R for S in D now, why, and for which SIRETs.

Read-only queries on the store, for one démarche at a time (the calling démarche's own);
the same rule as every other path of the bridge: `may_act`.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import Join, Select, and_, bindparam, column, func, or_, select, text
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.compiler import SQLCompiler

from bridge.catalog import Catalog, Demarche
from bridge.db import UtcDateTime, now
from bridge.delegation.models import Delegation
from bridge.etablissement.models import Etablissement
from bridge.habilitation.models import GrantedHow, Habilitation
from bridge.habilitation.service import acting_clause, may_act
from bridge.person.models import Person

T = TypeVar("T")


@dataclass(frozen=True)
class Question:
    subject: str
    role: str
    siret: str


@dataclass(frozen=True)
class Link:
    """One habilitation that could answer the question, and how it came to be."""

    habilitation: Habilitation
    delegation: Delegation | None
    active: bool
    reason: str  # French: why it counts, or why it no longer does


@dataclass(frozen=True)
class Explanation:
    allowed: bool
    links: list[Link]


@dataclass(frozen=True)
class SiretRights:
    siret: str
    name: str
    roles: list[str]


@dataclass(frozen=True)
class SiretsPage:
    items: list[SiretRights]
    total: int
    page: int
    per_page: int


def check_many(
    session: Session,
    catalog: Catalog,
    demarche: Demarche,
    questions: list[Question],
    moment: datetime | None = None,
) -> list[bool]:
    """One answer per question, in order, all read at the same moment.

    The same rule as `may_act`, but a batch reads the active rights of its people in the
    démarche in one query (by the index on subject, démarche, SIRET), not one per question.
    """
    at = moment or now()
    if len(questions) == 1:
        q = questions[0]
        return [may_act(session, catalog, q.subject, demarche.id, q.role, q.siret, at)]
    held = _held_roles(session, demarche, {(q.subject, q.siret) for q in questions}, at)
    return [
        bool(demarche.roles_for_action(q.role) & held.get((q.subject, q.siret), set()))
        for q in questions
    ]


def _held_roles(
    session: Session, demarche: Demarche, pairs: set[tuple[str, str]], at: datetime
) -> dict[tuple[str, str], set[str]]:
    """The active roles of these (person, SIRET) pairs in the démarche, by pair.

    The pairs asked are joined as a table of values to the index (subject, démarche, SIRET):
    one probe per pair, so the rows read are bounded by the questions, whatever the people
    hold. Neither `subject IN (…) AND siret IN (…)` (SQLite probed every person × SIRET
    combination: 250,000 probes for a batch of 500) nor the people's rights read by person
    (a tiers holding 2,000 delegations read them all for one question); `docs/performance/`.
    """
    held: dict[tuple[str, str], set[str]] = {}
    if not pairs:
        return held
    asked = sorted(pairs)
    size = _PAIRS_STEP
    while size < len(asked):
        size *= 2
    padded = asked + [asked[0]] * (size - len(asked))  # a repeated pair: the same rows again
    params: dict[str, object] = {"demarche": demarche.id, "moment": at}
    for number, (subject, siret) in enumerate(padded):
        params[f"subject_{number}"] = subject
        params[f"siret_{number}"] = siret
    rows = session.execute(_pairs_statement(size), params)
    for subject, siret, role in rows:
        held.setdefault((subject, siret), set()).add(role)
    return held


_PAIRS_STEP = 8  # batches are read by statements for 8, 16, 32… pairs, each compiled once


@functools.cache
def _pairs_statement(size: int) -> Select[str, str, str]:
    """The roles held on `size` (person, SIRET) pairs bound as `subject_N`, `siret_N`.

    Built once per size, and compiled once: the pairs are a `VALUES` list written as text,
    since SQLAlchemy's own `values()` construct has no cache key and was compiled again on
    every batch (10 ms of a batch of 500 on SQLite, more than the read; `docs/performance/`).
    `column1`, `column2` are the names SQLite and PostgreSQL both give a `VALUES` list's
    columns.
    """
    rows = ", ".join(f"(:subject_{n}, :siret_{n})" for n in range(size))
    asked = (
        text(f"SELECT v.column1 AS subject, v.column2 AS siret FROM (VALUES {rows}) AS v")  # noqa: S608 - placeholders only
        .columns(
            column("subject", Habilitation.subject.type), column("siret", Habilitation.siret.type)
        )
        .cte("asked")
    )
    table = Habilitation.__table__
    probes = _PairsFirst(
        asked,
        table,
        and_(
            table.c.subject == asked.c.subject,
            table.c.demarche == bindparam("demarche"),
            table.c.siret == asked.c.siret,
        ),
    )
    return (
        select(Habilitation.subject, Habilitation.siret, Habilitation.role)
        .select_from(probes)
        .where(acting_clause(bindparam("moment", type_=UtcDateTime)))
    )


class _PairsFirst(Join):
    """An inner join whose left side is read first: SQLite's planner otherwise builds an
    automatic index over the whole `habilitation` table for every batch (a full scan: 1 s at
    100,000 rights) rather than probe its own index once per pair; `CROSS JOIN` is SQLite's
    documented way to keep the order. Other databases get a plain `JOIN`."""

    inherit_cache = True


@compiles(_PairsFirst, "sqlite")
def _pairs_first_on_sqlite(join: _PairsFirst, compiler: SQLCompiler, **kw: Any) -> str:
    plain: str = compiler.visit_join(join, **kw)  # type: ignore[no-untyped-call]
    return plain.replace(" JOIN ", " CROSS JOIN ", 1)


def _reason(habilitation: Habilitation, at: datetime) -> str:
    if habilitation.revoked_at is not None:
        return f"Retirée le {habilitation.revoked_at:%d/%m/%Y à %H:%M}."
    if habilitation.valid_until is not None and habilitation.valid_until <= at:
        return f"Arrivée à échéance le {habilitation.valid_until:%d/%m/%Y à %H:%M}."
    if habilitation.granted_how == GrantedHow.DELEGATION:
        return (
            f"Déléguée pour le compte du SIRET {habilitation.on_behalf_of_siret}, "
            f"accordée le {habilitation.granted_at:%d/%m/%Y}."
        )
    return f"Accordée le {habilitation.granted_at:%d/%m/%Y}."


def _suspended(since: datetime) -> str:
    return (
        f"Compte désactivé dans Keycloak le {since:%d/%m/%Y à %H:%M} : droit suspendu "
        "jusqu'à sa réactivation."
    )


def explain(
    session: Session,
    catalog: Catalog,
    demarche: Demarche,
    question: Question,
    moment: datetime | None = None,
) -> Explanation:
    """The answer with its chain: every habilitation of the subject on that SIRET whose role
    acts as the asked one, active first, each with its delegation when it came from one."""
    at = moment or now()
    roles = demarche.roles_for_action(question.role)
    habilitations = session.scalars(
        select(Habilitation)
        .where(
            Habilitation.subject == question.subject,
            Habilitation.demarche == demarche.id,
            Habilitation.siret == question.siret,
            Habilitation.role.in_(sorted(roles)),
        )
        .order_by(Habilitation.granted_at.desc(), Habilitation.id.desc())
        .limit(50)
    ).all()
    delegations = {
        d.habilitation_id: d
        for d in session.scalars(
            select(Delegation).where(Delegation.habilitation_id.in_([h.id for h in habilitations]))
        )
    }
    holder = session.get(Person, question.subject)
    suspended = holder.disabled_at if holder is not None else None
    links = [
        Link(h, delegations.get(h.id), False, _suspended(suspended))
        if suspended is not None and h.active_at(at)
        else Link(h, delegations.get(h.id), h.active_at(at), _reason(h, at))
        for h in habilitations
    ]
    links.sort(key=lambda link: not link.active)
    allowed = may_act(
        session, catalog, question.subject, demarche.id, question.role, question.siret, at
    )
    return Explanation(allowed, links)


def sirets_for(
    session: Session,
    demarche: Demarche,
    subject: str,
    page: int,
    per_page: int,
    *,
    acting_as: str | None = None,
    search: str = "",
    moment: datetime | None = None,
) -> SiretsPage:
    """The SIRETs the subject may act for in the démarche now (as `acting_as` when given),
    with their names and the roles held, by SIRET; `search` looks in the SIRET and the name."""
    at = moment or now()
    where = [
        Habilitation.subject == subject,
        Habilitation.demarche == demarche.id,
        acting_clause(at),
    ]
    if acting_as is not None:
        where.append(Habilitation.role.in_(sorted(demarche.roles_for_action(acting_as))))
    if search.strip():
        pattern = f"%{search.strip().lower()}%"
        where.append(
            or_(Habilitation.siret.like(pattern), func.lower(Etablissement.name).like(pattern))
        )
    held = select(Habilitation.siret, Etablissement.name).join(
        Etablissement, Etablissement.siret == Habilitation.siret
    )
    total = session.scalar(
        select(func.count()).select_from(held.where(*where).distinct().subquery())
    )
    found = session.execute(
        held.where(*where)
        .group_by(Habilitation.siret, Etablissement.name)
        .order_by(Habilitation.siret)
        .offset((page - 1) * per_page)
        .limit(per_page)
    ).all()
    roles: dict[str, set[str]] = {siret: set() for siret, _ in found}
    if found:
        for siret, role in session.execute(
            held.with_only_columns(Habilitation.siret, Habilitation.role).where(
                *where, Habilitation.siret.in_(list(roles))
            )
        ):
            roles[siret].add(role)
    return SiretsPage(
        [SiretRights(siret, name, sorted(roles[siret])) for siret, name in found],
        total or 0,
        page,
        per_page,
    )


@dataclass(frozen=True)
class KeysetPage(Generic[T]):
    """One page of a search read by key: `more` when another page follows its last item."""

    items: list[T]
    total: int
    more: bool


def subjects_for(
    session: Session,
    demarche: Demarche,
    action: str,
    siret: str,
    after: str | None,
    limit: int,
    moment: datetime | None = None,
) -> KeysetPage[str]:
    """The people who may do `action` for `siret` in the démarche now, by id, after `after`.

    Only this démarche's rights are read: a démarche learns nothing of another one's people.
    """
    at = moment or now()
    where = [
        Habilitation.demarche == demarche.id,
        Habilitation.siret == siret,
        Habilitation.role.in_(sorted(demarche.roles_for_action(action))),
        acting_clause(at),
    ]
    total = session.scalar(select(func.count(func.distinct(Habilitation.subject))).where(*where))
    query = select(Habilitation.subject).where(*where).distinct().order_by(Habilitation.subject)
    if after is not None:
        query = query.where(Habilitation.subject > after)
    found = list(session.scalars(query.limit(limit + 1)))
    return KeysetPage(found[:limit], total or 0, len(found) > limit)


def resources_for(
    session: Session,
    demarche: Demarche,
    subject: str,
    action: str,
    after: str | None,
    limit: int,
    moment: datetime | None = None,
) -> KeysetPage[tuple[str, str]]:
    """(SIRET, name) for which the person may do `action` in the démarche now, by SIRET."""
    at = moment or now()
    where = [
        Habilitation.subject == subject,
        Habilitation.demarche == demarche.id,
        Habilitation.role.in_(sorted(demarche.roles_for_action(action))),
        acting_clause(at),
    ]
    held = select(Habilitation.siret, Etablissement.name).join(
        Etablissement, Etablissement.siret == Habilitation.siret
    )
    total = session.scalar(
        select(func.count()).select_from(held.where(*where).distinct().subquery())
    )
    query = held.where(*where).distinct().order_by(Habilitation.siret)
    if after is not None:
        query = query.where(Habilitation.siret > after)
    found = [(siret, name) for siret, name in session.execute(query.limit(limit + 1))]
    return KeysetPage(found[:limit], total or 0, len(found) > limit)


def actions_for(
    session: Session, demarche: Demarche, subject: str, siret: str, moment: datetime | None = None
) -> list[str]:
    """What the person may do for the SIRET in the démarche now, in the catalog's order."""
    held = _held_roles(session, demarche, {(subject, siret)}, moment or now())
    roles = held.get((subject, siret), set())
    return [a for a in demarche.actions if demarche.roles_for_action(a) & roles]


class VerificationService:
    """The questions above on one unit of work's session, for the routes."""

    def __init__(self, session: Session, catalog: Catalog) -> None:
        self.session = session
        self.catalog = catalog

    def check_many(
        self, demarche: Demarche, questions: list[Question], moment: datetime
    ) -> list[bool]:
        return check_many(self.session, self.catalog, demarche, questions, moment)

    def explain(
        self, demarche: Demarche, question: Question, moment: datetime | None = None
    ) -> Explanation:
        return explain(self.session, self.catalog, demarche, question, moment)

    def sirets_for(
        self,
        demarche: Demarche,
        subject: str,
        page: int,
        per_page: int,
        *,
        acting_as: str | None = None,
        search: str = "",
    ) -> SiretsPage:
        return sirets_for(
            self.session, demarche, subject, page, per_page, acting_as=acting_as, search=search
        )

    def subjects_for(
        self, demarche: Demarche, action: str, siret: str, after: str | None, limit: int
    ) -> KeysetPage[str]:
        return subjects_for(self.session, demarche, action, siret, after, limit)

    def resources_for(
        self, demarche: Demarche, subject: str, action: str, after: str | None, limit: int
    ) -> KeysetPage[tuple[str, str]]:
        return resources_for(self.session, demarche, subject, action, after, limit)

    def actions_for(self, demarche: Demarche, subject: str, siret: str) -> list[str]:
        return actions_for(self.session, demarche, subject, siret)
