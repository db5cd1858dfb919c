"""The operator's back-office: search establishments and people, read their files.

Reads across the concepts (establishments and their codes, habilitations, access requests,
people, the audit trail) for the one person who may see them all, the designated operator.
The changes themselves stay with their concept (`EtablissementService.issue_code`,
`EtablissementService.unlock`); only the operator check lives here, and the one change that
is Keycloak's alone: lifting an account's brute-force lock (audited `compte-debloque`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

from sqlalchemy import func, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session
from sqlalchemy.sql.expression import ColumnElement

from bridge.audit.models import AuditEvent
from bridge.audit.service import Actor, record
from bridge.catalog import Catalog
from bridge.db import now
from bridge.delegation.models import Delegation
from bridge.employeur.models import Gestionnaire, Organisation
from bridge.employeur.service import keycloak_step
from bridge.errors import ConflictError, ForbiddenError, NotFoundError
from bridge.etablissement.models import ActivationCode, Etablissement, ImportJob
from bridge.etablissement.service import EtablissementService, Lockouts, rejects_csv
from bridge.etablissement.siret import InvalidSiretError, parse_siret
from bridge.habilitation.models import AccessRequest, Habilitation, RequestStatus
from bridge.keycloak_admin import (
    AccountState,
    KeycloakDirectory,
    KeycloakRejectedError,
    KeycloakRetriableError,
)
from bridge.person.models import Person

T = TypeVar("T")

OPERATOR_ONLY = "Cette page est réservée à l'opérateur de la plateforme."
PER_PAGE = 20


@dataclass(frozen=True)
class Results(Generic[T]):
    """One page of results, and how many there are in all."""

    rows: list[T]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


@dataclass(frozen=True)
class CodeState:
    """A code issued, as the operator sees it: its dates and what became of it."""

    code: ActivationCode
    state: str


@dataclass(frozen=True)
class EtablissementFile:
    etablissement: Etablissement
    holders: list[tuple[Habilitation, Person | None]]
    pending: list[tuple[AccessRequest, Person | None]]
    codes: list[CodeState]
    lockouts: Lockouts
    locked_people: list[tuple[str, Person | None]]
    audit: Results[AuditEvent]


@dataclass(frozen=True)
class PersonFile:
    person: Person
    account: AccountState | None
    habilitations: list[Habilitation]
    delegations_given: list[Delegation]
    delegations_received: list[Delegation]
    requests: list[AccessRequest]
    audit: Results[AuditEvent]
    # Keycloak did not answer: the account's state is unknown, the rest of the file is shown.
    account_unknown: bool = False


@dataclass(frozen=True)
class OrganisationRow:
    """An employer organisation in the operator's list, with its administrators."""

    organisation: Organisation
    etablissement: Etablissement
    administrators: list[tuple[Gestionnaire, Person | None]]


def _contains(
    column: ColumnElement[str] | InstrumentedAttribute[str], text: str
) -> ColumnElement[bool]:
    """Case-insensitive « contains », the searched text's `%`, `_` and `\\` taken literally."""
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return func.lower(column).like(f"%{escaped}%", escape="\\")


def code_state(code: ActivationCode, moment: datetime) -> str:
    if code.used_at is not None:
        return "utilisé"
    if code.revoked_at is not None:
        return "révoqué"
    if code.expires_at <= moment:
        return "expiré"
    return "actif"


class BackofficeService:
    def __init__(
        self,
        session: Session,
        catalog: Catalog,
        etablissements: EtablissementService,
        directory: Callable[[], KeycloakDirectory],
    ) -> None:
        self.session = session
        self.catalog = catalog
        self.etablissements = etablissements
        self.directory = directory

    @staticmethod
    def require_operator(actor: Actor) -> None:
        if not actor.operator:
            raise ForbiddenError(OPERATOR_ONLY)

    def search_etablissements(
        self, actor: Actor, query: str, page: int = 1, per_page: int = PER_PAGE
    ) -> Results[Etablissement]:
        """Establishments by SIRET (or its first digits, the SIREN) or by a part of the name."""
        self.require_operator(actor)
        text = query.strip()
        digits = text.replace(" ", "")
        condition = None
        if digits.isdigit():
            condition = Etablissement.siret.startswith(digits)
        elif text:
            condition = or_(_contains(Etablissement.name, text))
        statement = select(Etablissement)
        if condition is not None:
            statement = statement.where(condition)
        total = self.session.scalar(select(func.count()).select_from(statement.subquery())) or 0
        rows = self.session.scalars(
            statement.order_by(Etablissement.name, Etablissement.siret)
            .offset((page - 1) * per_page)
            .limit(per_page)
        ).all()
        return Results(list(rows), total, page, per_page)

    def _people(self, subjects: set[str]) -> dict[str, Person]:
        if not subjects:
            return {}
        found = self.session.scalars(select(Person).where(Person.subject.in_(subjects))).all()
        return {person.subject: person for person in found}

    def etablissement_file(
        self, actor: Actor, siret: str, audit_page: int = 1, per_page: int = PER_PAGE
    ) -> EtablissementFile:
        """Everything the operator needs to answer a call about one SIRET."""
        self.require_operator(actor)
        try:
            siret = parse_siret(siret)
        except InvalidSiretError as exc:
            raise NotFoundError(exc.detail) from exc
        etablissement = self.session.get(Etablissement, siret)
        if etablissement is None:
            raise NotFoundError(f"L'établissement {siret} n'est pas connu de la plateforme.")
        moment = now()
        holders = self.session.scalars(
            select(Habilitation)
            .where(
                Habilitation.siret == siret,
                Habilitation.revoked_at.is_(None),
                or_(Habilitation.valid_until.is_(None), Habilitation.valid_until > moment),
            )
            .order_by(Habilitation.demarche, Habilitation.role, Habilitation.granted_at)
        ).all()
        pending = self.session.scalars(
            select(AccessRequest)
            .where(AccessRequest.siret == siret, AccessRequest.status == RequestStatus.PENDING)
            .order_by(AccessRequest.created_at)
        ).all()
        lockouts = self.etablissements.lockouts(siret, moment)
        people = self._people(
            {h.subject for h in holders} | {r.subject for r in pending} | set(lockouts.accounts)
        )
        trail = select(AuditEvent).where(AuditEvent.siret == siret)
        total = self.session.scalar(select(func.count()).select_from(trail.subquery())) or 0
        events = self.session.scalars(
            trail.order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
            .offset((audit_page - 1) * per_page)
            .limit(per_page)
        ).all()
        record(self.session, actor, "fiche-consultee", siret=siret)  # after its trail is read
        return EtablissementFile(
            etablissement,
            [(h, people.get(h.subject)) for h in holders],
            [(r, people.get(r.subject)) for r in pending],
            [CodeState(c, code_state(c, moment)) for c in self.etablissements.codes(siret)],
            lockouts,
            [(subject, people.get(subject)) for subject in lockouts.accounts],
            Results(list(events), total, audit_page, per_page),
        )

    def issue_code(self, actor: Actor, siret: str, demarche_id: str) -> tuple[Etablissement, str]:
        """« Émettre un nouveau code »: the previous one is revoked; the letter's content."""
        self.require_operator(actor)
        code = self.etablissements.issue_code(actor, siret, demarche_id, reissue=True)
        etablissement = self.session.get(Etablissement, parse_siret(siret))
        assert etablissement is not None  # noqa: S101 - issue_code refuses an unknown SIRET
        return etablissement, code

    def start_import(
        self,
        actor: Actor,
        rows: list[tuple[int, dict[str, str]]],
        demarche_id: str,
        delimiter: str,
    ) -> str:
        """A CSV import from the page, done in the background (`bridge.backoffice.imports`)."""
        self.require_operator(actor)
        return self.etablissements.start_import(actor, rows, demarche_id, delimiter).id

    def import_job(self, actor: Actor, job_id: str) -> ImportJob:
        self.require_operator(actor)
        job = self.session.get(ImportJob, job_id[:32])
        if job is None:
            raise NotFoundError("Cet import n'existe pas.")
        return job

    def rejects_file(self, actor: Actor, job_id: str) -> bytes:
        """The rejected lines of a finished import as a CSV; it leaves the platform: audited."""
        job = self.import_job(actor, job_id)
        if job.finished_at is None:
            raise ConflictError("L'import n'est pas terminé : ses rejets ne sont pas complets.")
        record(
            self.session,
            actor,
            "import-rejets-telecharges",
            demarche=job.demarche,
            lignes=len(job.rejected),
        )
        return rejects_csv(
            [(int(line), str(raw), str(reason)) for line, raw, reason in job.rejected],
            job.delimiter,
        )

    def unlock(self, actor: Actor, siret: str, subject: str | None) -> int:
        self.require_operator(actor)
        return self.etablissements.unlock(actor, siret, subject)

    # --- people ----------------------------------------------------------------------------

    def search_people(
        self, actor: Actor, query: str, page: int = 1, per_page: int = PER_PAGE
    ) -> Results[Person]:
        """People by name, e-mail, or a SIRET they hold a right on."""
        self.require_operator(actor)
        text = query.strip()
        digits = text.replace(" ", "")
        statement = select(Person).where(Person.deleted_at.is_(None))
        if digits.isdigit() and len(digits) == 14:
            holders = select(Habilitation.subject).where(
                Habilitation.siret == digits, Habilitation.revoked_at.is_(None)
            )
            statement = statement.where(Person.subject.in_(holders))
        elif text:
            statement = statement.where(
                or_(
                    _contains(Person.email, text),
                    _contains(Person.last_name, text),
                    _contains(Person.first_name, text),
                    _contains(Person.first_name + " " + Person.last_name, text),
                )
            )
        total = self.session.scalar(select(func.count()).select_from(statement.subquery())) or 0
        rows = self.session.scalars(
            statement.order_by(Person.last_name, Person.first_name, Person.subject)
            .offset((page - 1) * per_page)
            .limit(per_page)
        ).all()
        return Results(list(rows), total, page, per_page)

    def person_file(
        self, actor: Actor, subject: str, audit_page: int = 1, per_page: int = PER_PAGE
    ) -> PersonFile:
        """Everything the operator needs to answer a call about one person: the account in
        Keycloak, the rights and where they come from, delegations, requests, history."""
        self.require_operator(actor)
        person = self.session.get(Person, subject)
        if person is None:
            raise NotFoundError("Cette personne n'est pas connue de la plateforme.")
        moment = now()
        habilitations = self.session.scalars(
            select(Habilitation)
            .where(
                Habilitation.subject == subject,
                Habilitation.revoked_at.is_(None),
                or_(Habilitation.valid_until.is_(None), Habilitation.valid_until > moment),
            )
            .order_by(Habilitation.demarche, Habilitation.siret, Habilitation.role)
        ).all()
        given = self.session.scalars(
            select(Delegation)
            .where(Delegation.invited_by == subject)
            .order_by(Delegation.created_at.desc())
        ).all()
        received = self.session.scalars(
            select(Delegation)
            .where(Delegation.accepted_by == subject)
            .order_by(Delegation.created_at.desc())
        ).all()
        requests = self.session.scalars(
            select(AccessRequest)
            .where(AccessRequest.subject == subject)
            .order_by(AccessRequest.created_at.desc())
        ).all()
        trail = select(AuditEvent).where(
            or_(AuditEvent.target == subject, AuditEvent.actor == subject)
        )
        total = self.session.scalar(select(func.count()).select_from(trail.subquery())) or 0
        events = self.session.scalars(
            trail.order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
            .offset((audit_page - 1) * per_page)
            .limit(per_page)
        ).all()
        record(self.session, actor, "fiche-consultee", target=subject)  # after its trail is read
        account, unknown = None, False
        if not person.deleted_at:
            try:
                account = self.directory().account_state(subject)
            except KeycloakRetriableError:
                unknown = True
        return PersonFile(
            person,
            account,
            list(habilitations),
            list(given),
            list(received),
            list(requests),
            Results(list(events), total, audit_page, per_page),
            unknown,
        )

    def unlock_account(self, actor: Actor, subject: str) -> None:
        """« Débloquer » an account Keycloak locked after failed logins (audited first: a
        refusal from Keycloak rolls the record back)."""
        self.require_operator(actor)
        if self.session.get(Person, subject) is None:
            raise NotFoundError("Cette personne n'est pas connue de la plateforme.")
        record(self.session, actor, "compte-debloque", target=subject)
        gone = NotFoundError("Keycloak ne connaît plus ce compte : il n'y a rien à débloquer.")
        try:
            with keycloak_step():
                directory = self.directory()
                # Keycloak forgets the failures of an unknown subject without a word: ask first.
                if directory.account_state(subject) is None:
                    raise gone
                directory.unlock_brute_force(subject)
        except KeycloakRejectedError as exc:
            if exc.status == 404:
                raise gone from exc
            raise

    # --- employer organisations -----------------------------------------------------------

    def organisations(
        self,
        actor: Actor,
        query: str = "",
        type_id: str = "",
        page: int = 1,
        per_page: int = PER_PAGE,
    ) -> Results[OrganisationRow]:
        """The employer organisations, by SIRET or name and by type, each with its main and
        delegated administrators (where « Renouveler le mot de passe » is one click away)."""
        self.require_operator(actor)
        statement = select(Organisation, Etablissement).join(
            Etablissement, Etablissement.siret == Organisation.siret
        )
        text = query.strip()
        digits = text.replace(" ", "")
        if digits.isdigit():
            statement = statement.where(Organisation.siret.startswith(digits))
        elif text:
            statement = statement.where(_contains(Etablissement.name, text))
        if type_id:
            statement = statement.where(Organisation.type == type_id)
        total = self.session.scalar(select(func.count()).select_from(statement.subquery())) or 0
        found = self.session.execute(
            statement.order_by(Etablissement.name, Organisation.siret)
            .offset((page - 1) * per_page)
            .limit(per_page)
        ).all()
        sirets = [organisation.siret for organisation, _ in found]
        administrators = self.session.scalars(
            select(Gestionnaire)
            .where(
                Gestionnaire.siret.in_(sirets),
                Gestionnaire.role.in_(("administrateur-principal", "administrateur-delegue")),
            )
            .order_by(Gestionnaire.role.desc(), Gestionnaire.created_at)
        ).all()
        people = self._people({g.subject for g in administrators})
        rows = [
            OrganisationRow(
                organisation,
                etablissement,
                [
                    (g, people.get(g.subject))
                    for g in administrators
                    if g.siret == organisation.siret
                ],
            )
            for organisation, etablissement in found
        ]
        return Results(rows, total, page, per_page)
