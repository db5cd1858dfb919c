"""What relying parties ask the bridge: may X act as R for S in D now, why, and for which SIRETs.

Read-only queries on the store, for one démarche at a time (the calling démarche's own);
the same rule as every other path of the bridge: `may_act`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from bridge.catalog import Catalog, Demarche
from bridge.db import now
from bridge.delegation.models import Delegation
from bridge.etablissement.models import Etablissement
from bridge.habilitation.models import GrantedHow, Habilitation
from bridge.habilitation.service import active_clause, may_act


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
    """One answer per question, in order, all read at the same moment."""
    at = moment or now()
    return [
        may_act(session, catalog, q.subject, demarche.id, q.role, q.siret, at) for q in questions
    ]


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
    roles = demarche.roles_acting_as(question.role)
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
    links = [Link(h, delegations.get(h.id), h.active_at(at), _reason(h, at)) for h in habilitations]
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
        active_clause(at),
    ]
    if acting_as is not None:
        where.append(Habilitation.role.in_(sorted(demarche.roles_acting_as(acting_as))))
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


class VerificationService:
    """The questions above on one unit of work's session, for the routes."""

    def __init__(self, session: Session, catalog: Catalog) -> None:
        self.session = session
        self.catalog = catalog

    def check_many(
        self, demarche: Demarche, questions: list[Question], moment: datetime
    ) -> list[bool]:
        return check_many(self.session, self.catalog, demarche, questions, moment)

    def explain(self, demarche: Demarche, question: Question) -> Explanation:
        return explain(self.session, self.catalog, demarche, question)

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
