"""An account's life in Keycloak, followed by the store: deleted, disabled, enabled again.

Keycloak owns the account; the store owns the rights. When an administrator deletes a
person (console or admin API), the admin event reaches the console round-trip
(`bridge/sync/console.py`), or the hourly reconcile finds the account gone; either way the
person's rights end here, audited « compte-supprime » with who deleted it when Keycloak
says so. A disabled account keeps its rights (the users screen still shows them) but may not
act with them (`acting_clause`) until it is enabled again.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session, aliased

from bridge.audit.service import Actor, record
from bridge.bpf.models import BpfSave
from bridge.catalog import Catalog
from bridge.db import now
from bridge.delegation.models import Delegation, DelegationStatus
from bridge.delegation.service import DelegationService
from bridge.employeur.models import Gestionnaire
from bridge.habilitation.models import AccessRequest, GrantedHow, Habilitation, RequestStatus
from bridge.habilitation.service import HabilitationService
from bridge.notification import QueuedEmail
from bridge.person.models import Person

# Refused to a disabled or deleted account, whose tokens and page session live on a while.
DISABLED_ACCOUNT = (
    "Votre compte est désactivé : vous ne pouvez pas agir tant qu'il n'est pas réactivé "
    "(adressez-vous à l'assistance)."
)

DELETED = "compte-supprime"
DISABLED = "compte-desactive"
ENABLED = "compte-reactive"
ORPHANED = "sans-gestionnaire"  # a SIRET left without its first holder by a deletion
PSEUDONYMISED = "personne-pseudonymisee"
DELETED_NAME = ("Personne", "supprimée")  # what pages show instead of a pseudonymised name


@dataclass
class DeletionReport:
    """What the deletion of one account ended, and the SIRETs it left without a manager."""

    habilitations: int = 0
    delegations: int = 0
    requests: int = 0
    orphaned: list[tuple[str, str]] = field(default_factory=list)  # (démarche, SIRET)


@dataclass(frozen=True)
class Orphan:
    """A SIRET whose first holder left (account deleted, right revoked or expired), and none
    has been named since."""

    demarche: str
    siret: str
    left_at: datetime
    former_holder: str
    how: str  # « compte supprimé », « droit retiré », « droit arrivé à échéance »

    @property
    def since(self) -> str:
        return f"{self.left_at:%d/%m/%Y}"


class AccountService:
    def __init__(
        self,
        session: Session,
        catalog: Catalog,
        habilitations: HabilitationService,
        delegations: DelegationService,
    ) -> None:
        self.session = session
        self.catalog = catalog
        self.habilitations = habilitations
        self.delegations = delegations

    def deleted(self, actor: Actor, subject: str) -> DeletionReport:
        """End every right of a person whose account is gone; a second call changes nothing.

        Their habilitations end (a delegated one ends its delegation), the delegations they
        invited end (each tiers is told), their pending access requests are withdrawn; every
        SIRET left without its first holder is recorded for the operator (`ORPHANED`).
        """
        report = DeletionReport()
        person = self.session.get(Person, subject, with_for_update=True)
        if person is None or person.deleted_at is not None:
            return report
        person.deleted_at = now()
        held = list(
            self.session.scalars(
                select(Habilitation).where(
                    Habilitation.subject == subject, Habilitation.revoked_at.is_(None)
                )
            )
        )
        first_held: set[tuple[str, str]] = set()
        for habilitation in held:
            demarche = self.catalog.demarche(habilitation.demarche)
            if demarche is None:
                continue
            if habilitation.role == demarche.first_holder_role:
                first_held.add((demarche.id, habilitation.siret))
            self.habilitations.remove_checked(actor, demarche, habilitation)
            report.habilitations += 1
        invited = self.session.scalars(
            select(Delegation).where(
                Delegation.invited_by == subject,
                Delegation.status.in_((DelegationStatus.INVITED, DelegationStatus.ACCEPTED)),
            )
        )
        for delegation in list(invited):
            self.delegations.end(actor, delegation)
            report.delegations += 1
        for request in self.session.scalars(
            select(AccessRequest).where(
                AccessRequest.subject == subject, AccessRequest.status == RequestStatus.PENDING
            )
        ):
            request.status = RequestStatus.WITHDRAWN
            request.decided_at, request.decided_by = now(), actor.subject
            request.reason = "compte supprimé"
            report.requests += 1
        for demarche_id, siret in sorted(first_held):
            demarche = self.catalog.demarche(demarche_id)
            if demarche is not None and not self.habilitations.has_first_holder(demarche, siret):
                report.orphaned.append((demarche_id, siret))
                record(
                    self.session, actor, ORPHANED, target=subject, siret=siret, demarche=demarche_id
                )
        record(
            self.session,
            actor,
            DELETED,
            target=subject,
            habilitations=report.habilitations,
            delegations=report.delegations,
            demandes=report.requests,
        )
        return report

    def pseudonymise_deleted(self, actor: Actor, retention: timedelta) -> int:
        """Replace the contact details of people deleted more than `retention` ago; return
        how many. The audit trail is left as it is: it names people by their Keycloak id,
        which now reads « Personne supprimée »."""
        count = 0
        for person in self.session.scalars(
            select(Person)
            .where(
                Person.deleted_at.is_not(None),
                Person.deleted_at <= now() - retention,
                Person.pseudonymised_at.is_(None),
            )
            .with_for_update(skip_locked=True)
        ):
            former_email, deleted_at = person.email, person.deleted_at
            pseudonym = hashlib.sha256(person.subject.encode()).hexdigest()[:16]
            person.first_name, person.last_name = DELETED_NAME
            person.email = f"personne-supprimee-{pseudonym}@invalid"
            person.civility = person.phone = None
            person.pseudonymised_at = now()
            self._forget_elsewhere(person.subject, former_email, person.email, deleted_at)
            record(self.session, actor, PSEUDONYMISED, target=person.subject)
            count += 1
        return count

    def _forget_elsewhere(
        self, subject: str, former_email: str, pseudonym: str, deleted_at: datetime | None
    ) -> None:
        """The copies of the person's name, address and phones in other rows: rights they
        gave, delegations they invited or were invited to (before the deletion, by them: the
        address may belong to someone else since), BPF saves, the employer space's record,
        and the e-mails addressed to them."""
        name = " ".join(DELETED_NAME)
        self.session.execute(
            update(Habilitation)
            .where(Habilitation.granted_by == subject)
            .values(granted_by_name=name)
        )
        self.session.execute(
            update(Delegation).where(Delegation.invited_by == subject).values(invited_by_name=name)
        )
        self.session.execute(
            update(Delegation)
            .where(
                Delegation.tiers_email == former_email,
                or_(
                    Delegation.accepted_by == subject,
                    and_(
                        Delegation.accepted_by.is_(None),
                        Delegation.created_at <= (deleted_at or now()),
                    ),
                ),
            )
            .values(tiers_email=pseudonym)
        )
        self.session.execute(
            update(BpfSave).where(BpfSave.by_subject == subject).values(by_name=name)
        )
        self.session.execute(
            update(Gestionnaire)
            .where(Gestionnaire.subject == subject)
            .values(civility="", landline=None, mobile=None)
        )
        self.session.execute(
            update(QueuedEmail)
            .where(QueuedEmail.recipient == former_email)
            .values(recipient=pseudonym, subject="", body="")
        )

    def disabled(self, actor: Actor, subject: str, disabled: bool) -> bool:
        """Follow Keycloak's `enabled` flag; True when it changed (audited)."""
        person = self.session.get(Person, subject)
        if person is None or person.deleted_at is not None:
            return False
        if (person.disabled_at is not None) == disabled:
            return False
        person.disabled_at = now() if disabled else None
        record(self.session, actor, DISABLED if disabled else ENABLED, target=subject)
        return True

    def orphans(self) -> list[Orphan]:
        """SIRETs whose first holder (gestionnaire) is gone — account deleted, right revoked
        or expired — and none has been named since; read from the habilitations themselves,
        so no departure is missed however old. The most recent departure first."""
        at = now()
        first_holder = or_(
            *(
                and_(Habilitation.demarche == d.id, Habilitation.role == d.first_holder_role)
                for d in self.catalog.demarches
            )
        )
        current = aliased(Habilitation)
        still_held = (
            select(current.id)
            .where(
                current.demarche == Habilitation.demarche,
                current.siret == Habilitation.siret,
                current.role == Habilitation.role,
                current.granted_how != GrantedHow.DELEGATION,
                current.revoked_at.is_(None),
                or_(current.valid_until.is_(None), current.valid_until > at),
            )
            .exists()
        )
        ended = self.session.execute(
            select(Habilitation, Person)
            .join(Person, Person.subject == Habilitation.subject)
            .where(
                first_holder,
                Habilitation.granted_how != GrantedHow.DELEGATION,
                or_(Habilitation.revoked_at.is_not(None), Habilitation.valid_until <= at),
                ~still_held,
            )
        )
        latest: dict[tuple[str, str], Orphan] = {}
        for habilitation, person in ended:
            left = habilitation.revoked_at or habilitation.valid_until
            assert left is not None  # noqa: S101 - the query keeps ended rights only
            key = (habilitation.demarche, habilitation.siret)
            known = latest.get(key)
            if known is not None and known.left_at >= left:
                continue
            if person.deleted_at is not None:
                how = "compte supprimé"
            elif habilitation.revoked_at is not None:
                how = "droit retiré"
            else:
                how = "droit arrivé à échéance"
            name = " ".join(p for p in (person.first_name, person.last_name) if p)
            latest[key] = Orphan(key[0], key[1], left, name or person.email, how)
        return sorted(latest.values(), key=lambda orphan: orphan.left_at, reverse=True)

    def gone_with_rights(self, subjects: set[str]) -> set[str]:
        """Of these people, those the store still gives a right to (for the reconcile)."""
        if not subjects:
            return set()
        return set(
            self.session.scalars(
                select(Habilitation.subject)
                .where(
                    Habilitation.subject.in_(sorted(subjects)),
                    Habilitation.revoked_at.is_(None),
                )
                .distinct()
            )
        )
