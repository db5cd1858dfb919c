"""What relying parties ask the bridge: may X act as R for S in D now, why, and for which SIRETs.

Read-only queries on the store, for one démarche at a time (the calling démarche's own);
the same rule as every other path of the bridge: `may_act`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from bridge.catalog import Catalog, Demarche
from bridge.db import now
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
    held = _held_roles(
        session, demarche, {q.subject for q in questions}, {q.siret for q in questions}, at
    )
    return [
        bool(demarche.roles_for_action(q.role) & held.get((q.subject, q.siret), set()))
        for q in questions
    ]


def _held_roles(
    session: Session, demarche: Demarche, subjects: set[str], sirets: set[str], at: datetime
) -> dict[tuple[str, str], set[str]]:
    """The active roles of these people on these SIRETs in the démarche, by (person, SIRET).

    Read by person only (the index's prefix) and kept for the SIRETs asked: with both lists in
    the query, SQLite probes the index once per (person, SIRET) pair — 250,000 probes for a
    batch of 500 — where a person holds a few rights (measured: 6 times faster on SQLite, the
    same on PostgreSQL; `docs/performance/`).
    """
    held: dict[tuple[str, str], set[str]] = {}
    if not subjects or not sirets:
        return held
    rows = session.execute(
        select(Habilitation.subject, Habilitation.siret, Habilitation.role).where(
            Habilitation.subject.in_(sorted(subjects)),
            Habilitation.demarche == demarche.id,
            acting_clause(at),
        )
    )
    for subject, siret, role in rows:
        if siret in sirets:
            held.setdefault((subject, siret), set()).add(role)
    return held


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
    held = _held_roles(session, demarche, {subject}, {siret}, moment or now())
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
