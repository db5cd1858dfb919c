"""Delegations to a tiers: the form's checks and recap, the invitation, its acceptance or
refusal, revocation and modification, and the end-date job.

The right itself is an ordinary habilitation granted « par délégation » (on the
delegator's SIRET, on behalf of the tiers' SIRET, until the end date), so the right-to-act
check needs nothing special: it stops at `valid_until` and on revocation.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import EllipsisType
from zoneinfo import ZoneInfo

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from bridge.audit.service import Actor, record
from bridge.catalog import Catalog, Demarche
from bridge.db import now
from bridge.delegation.models import Delegation, DelegationStatus
from bridge.errors import ConflictError, ForbiddenError, InvalidInputError, NotFoundError
from bridge.etablissement.models import Etablissement
from bridge.etablissement.service import demarche_or_refuse
from bridge.etablissement.siret import InvalidSiretError, parse_siret
from bridge.habilitation.models import GrantedHow, Habilitation
from bridge.habilitation.service import HabilitationService
from bridge.notification import Email, notify
from bridge.outbox import enqueue_rows
from bridge.person.models import Person

PARIS = ZoneInfo("Europe/Paris")  # the time the tiers reads in its e-mail

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class InvitationError(ConflictError):
    code = "invitation-invalide"
    title = "Invitation inutilisable"


@dataclass(frozen=True)
class DelegationDraft:
    """The checked form, and the recap the gestionnaire confirms before anything is sent."""

    demarche: Demarche
    role: str
    delegator_siret: str
    delegator_name: str
    tiers_siret: str
    tiers_email: str
    valid_until: datetime | None
    subject: str
    message: str


def _siret_of(value: str, field: str) -> str:
    """`parse_siret`, with the form field the message belongs next to."""
    try:
        return parse_siret(value)
    except InvalidSiretError as exc:
        raise InvalidSiretError(exc.detail, field=field) from None


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class DelegationService:
    def __init__(
        self,
        session: Session,
        catalog: Catalog,
        habilitations: HabilitationService,
        invitation_validity: timedelta = timedelta(days=7),
    ) -> None:
        self.session = session
        self.catalog = catalog
        self.habilitations = habilitations
        self.invitation_validity = invitation_validity
        habilitations.on_removed.append(self._end_with_right)

    def _end_with_right(self, actor: Actor, habilitation: Habilitation) -> None:
        """A delegated right removed (users screen, console) ends its delegation."""
        if habilitation.granted_how != GrantedHow.DELEGATION:
            return
        self.session.execute(
            update(Delegation)
            .where(Delegation.habilitation_id == habilitation.id)
            .values(status=DelegationStatus.REVOKED, ended_by=actor.subject)
            .execution_options(synchronize_session=False)
        )

    # --- the form and its recap ------------------------------------------------------------

    def prepare(
        self,
        actor: Actor,
        demarche_id: str,
        *,
        tiers_siret: str,
        tiers_email: str,
        role: str,
        delegator_siret: str,
        valid_until: datetime | None,
    ) -> DelegationDraft:
        """Check the form as the guide's screen asks; write nothing."""
        demarche = demarche_or_refuse(self.catalog, demarche_id)
        found = demarche.role(role)
        if found is None or not found.delegable:
            raise InvalidInputError(
                f"Le rôle « {role} » ne peut pas être délégué à un tiers dans « {demarche.title} ».",
                field="role",
            )
        tiers_siret = _siret_of(tiers_siret, "siret_tiers")
        delegator_siret = _siret_of(delegator_siret, "siret_habilitation")
        email = tiers_email.strip().lower()
        if not _EMAIL.match(email) or len(email) > 254:
            raise InvalidInputError(
                f"« {tiers_email.strip()} » n'est pas une adresse e-mail.", field="email"
            )
        managed = self.habilitations.managed_sirets(actor.subject, demarche)
        if delegator_siret not in managed:
            raise ForbiddenError(
                f"Vous n'êtes pas gestionnaire du SIRET {delegator_siret} pour « {demarche.title} ».",
                field="siret_habilitation",
            )
        if tiers_siret in managed:
            raise InvalidInputError(
                "Le SIRET du tiers est celui d'un de vos établissements : indiquez le SIRET du tiers.",
                field="siret_tiers",
            )
        held = self.habilitations.roles_held(
            actor.subject, demarche, delegator_siret, managing=True
        )
        if not demarche.roles_acting_as(role) & held:
            raise ForbiddenError(
                f"Vous ne détenez pas le rôle « {found.label} » pour ce SIRET.", field="role"
            )
        if valid_until is not None and valid_until <= now():
            raise InvalidInputError("La fin d'habilitation doit être dans le futur.", field="fin")
        etablissement = self.session.get(Etablissement, delegator_siret)
        name = etablissement.name if etablissement else delegator_siret
        return DelegationDraft(
            demarche=demarche,
            role=role,
            delegator_siret=delegator_siret,
            delegator_name=name,
            tiers_siret=tiers_siret,
            tiers_email=email,
            valid_until=valid_until,
            subject=f"Invitation à rejoindre la démarche {demarche.title} pour le compte de {name}",
            message=(
                f"Bonjour, {actor.display_name.upper()} vous invite à accéder au service {demarche.title} "
                f"pour agir au nom de {name}. Pour valider cette délégation, veuillez vous connecter sur "
                "le portail Mes Démarches Emploi et Formation Professionnelle en suivant le lien ci-dessous."
            ),
        )

    # --- invitation ------------------------------------------------------------------------

    def invite(self, actor: Actor, draft: DelegationDraft, portal_url: str) -> Delegation:
        """Record the invitation; the tiers gets its single-use link after the commit."""
        token = secrets.token_urlsafe(32)
        delegation = Delegation(
            demarche=draft.demarche.id,
            role=draft.role,
            delegator_siret=draft.delegator_siret,
            tiers_siret=draft.tiers_siret,
            tiers_email=draft.tiers_email,
            invited_by=actor.subject,
            invited_by_name=actor.display_name,
            valid_until=draft.valid_until,
            token_hash=token_digest(token),
            token_expires_at=now() + self.invitation_validity,
        )
        self.session.add(delegation)
        self.session.flush()
        record(
            self.session,
            actor,
            "delegation-invitee",
            siret=draft.delegator_siret,
            demarche=draft.demarche.id,
            delegation=delegation.id,
            tiers=draft.tiers_siret,
            role=draft.role,
        )
        self._send_invitation(draft.subject, draft.message, delegation, token, portal_url)
        return delegation

    def _send_invitation(
        self, subject: str, message: str, delegation: Delegation, token: str, portal_url: str
    ) -> None:
        link = f"{portal_url.rstrip('/')}/invitations/{token}"
        expires = (
            delegation.token_expires_at.strftime("%d/%m/%Y") if delegation.token_expires_at else ""
        )
        notify(
            self.session,
            Email(
                to=(delegation.tiers_email,),
                subject=subject,
                text=f"{message}\n\n{link}\n\nCe lien est personnel, ne sert qu'une fois et expire le {expires}.\n",
            ),
        )

    def resend(self, actor: Actor, delegation_id: int, portal_url: str) -> None:
        """A new link (the old one stops working), for an invitation not yet answered."""
        delegation = self._managed(actor, delegation_id)
        if delegation.status != DelegationStatus.INVITED:
            raise ConflictError("Cette invitation a déjà reçu une réponse.")
        token = secrets.token_urlsafe(32)
        delegation.token_hash = token_digest(token)
        delegation.token_expires_at = now() + self.invitation_validity
        record(
            self.session,
            actor,
            "delegation-relancee",
            siret=delegation.delegator_siret,
            demarche=delegation.demarche,
            delegation=delegation.id,
        )
        demarche = demarche_or_refuse(self.catalog, delegation.demarche)
        etablissement = self.session.get(Etablissement, delegation.delegator_siret)
        name = etablissement.name if etablissement else delegation.delegator_siret
        subject = f"Invitation à rejoindre la démarche {demarche.title} pour le compte de {name}"
        message = (
            f"Bonjour, {delegation.invited_by_name.upper()} vous invite à accéder au service "
            f"{demarche.title} pour agir au nom de {name}."
        )
        self._send_invitation(subject, message, delegation, token, portal_url)

    def delegator_name(self, delegation: Delegation) -> str:
        etablissement = self.session.get(Etablissement, delegation.delegator_siret)
        return etablissement.name if etablissement else delegation.delegator_siret

    def by_token(self, token: str) -> Delegation:
        """The invitation of a link, refused when tampered with, used or expired."""
        delegation = self.session.scalars(
            select(Delegation).where(Delegation.token_hash == token_digest(token))
        ).first()
        if delegation is None:
            raise InvitationError(
                "Ce lien d'invitation n'est pas valide : vérifiez qu'il est complet."
            )
        if delegation.status != DelegationStatus.INVITED:
            raise InvitationError("Ce lien d'invitation a déjà servi.")
        if delegation.token_expires_at is None or delegation.token_expires_at <= now():
            raise InvitationError(
                "Ce lien d'invitation a expiré : demandez au gestionnaire de vous le renvoyer."
            )
        return delegation

    def _answer(
        self,
        actor: Actor,
        email: str,
        email_verified: bool,
        delegation: Delegation,
        status: DelegationStatus,
    ) -> Delegation:
        """Move the invitation once to `status`: of two simultaneous answers, one wins."""
        if delegation.valid_until is not None and delegation.valid_until <= now():
            raise InvitationError(
                "Cette délégation a déjà pris fin : elle ne peut plus être acceptée."
            )
        if not email_verified or email.strip().lower() != delegation.tiers_email:
            raise ForbiddenError(
                f"Cette invitation a été envoyée à une autre adresse que celle de votre compte "
                f"({email}). Connectez-vous avec le compte de l'adresse invitée."
            )
        moved = self.session.execute(
            update(Delegation)
            .where(Delegation.id == delegation.id, Delegation.status == DelegationStatus.INVITED)
            .values(
                status=status,
                decided_at=now(),
                accepted_by=actor.subject if status == DelegationStatus.ACCEPTED else None,
            )
            .execution_options(synchronize_session=False)
        )
        if moved.rowcount != 1:  # type: ignore[attr-defined]
            raise InvitationError("Ce lien d'invitation a déjà servi.")
        self.session.refresh(delegation)
        return delegation

    def accept(self, actor: Actor, email: str, email_verified: bool, token: str) -> Habilitation:
        return self._accept(actor, email, email_verified, self.by_token(token))

    def _accept(
        self, actor: Actor, email: str, email_verified: bool, found: Delegation
    ) -> Habilitation:
        delegation = self._answer(actor, email, email_verified, found, DelegationStatus.ACCEPTED)
        demarche = demarche_or_refuse(self.catalog, delegation.demarche)
        etablissement = self.session.get(Etablissement, delegation.delegator_siret)
        habilitation = self.habilitations.grant_by_delegation(
            actor,
            actor.subject,
            demarche,
            delegation.role,
            delegation.delegator_siret,
            on_behalf_of=delegation.tiers_siret,
            valid_until=delegation.valid_until,
            by_name=etablissement.name if etablissement else delegation.invited_by_name,
        )
        delegation.habilitation_id = habilitation.id
        record(
            self.session,
            actor,
            "delegation-acceptee",
            siret=delegation.delegator_siret,
            demarche=demarche.id,
            delegation=delegation.id,
            tiers=delegation.tiers_siret,
        )
        return habilitation

    def decline(self, actor: Actor, email: str, email_verified: bool, token: str) -> Delegation:
        delegation = self._answer(
            actor, email, email_verified, self.by_token(token), DelegationStatus.DECLINED
        )
        record(
            self.session,
            actor,
            "delegation-refusee",
            siret=delegation.delegator_siret,
            demarche=delegation.demarche,
            delegation=delegation.id,
        )
        return delegation

    def pending_for(self, email: str, email_verified: bool) -> list[Delegation]:
        """Invitations waiting for this verified address (none for an unverified one)."""
        if not email_verified:
            return []
        return list(
            self.session.scalars(
                select(Delegation)
                .where(
                    Delegation.tiers_email == email.strip().lower(),
                    Delegation.status == DelegationStatus.INVITED,
                    Delegation.token_expires_at > now(),
                )
                .order_by(Delegation.created_at)
            )
        )

    def accept_many(
        self, actor: Actor, email: str, email_verified: bool, ids: list[int]
    ) -> list[Habilitation]:
        """Accept several invitations at once (a tiers with many clients): the verified address
        proves what the link would have proved."""
        granted = []
        pending = {d.id: d for d in self.pending_for(email, email_verified)}
        for delegation_id in ids:
            delegation = pending.get(delegation_id)
            if delegation is None:
                raise InvitationError(
                    f"L'invitation n° {delegation_id} n'est pas en attente pour votre adresse."
                )
            granted.append(self._accept(actor, email, email_verified, delegation))
        return granted

    def portfolio(
        self,
        subject: str,
        *,
        query: str = "",
        demarche: str | None = None,
        ends_before: datetime | None = None,
        page: int = 1,
        page_size: int = 50,
    ) -> tuple[list[tuple[Habilitation, str]], int]:
        """Every establishment a tiers acts for, with its name; searchable and paginated."""
        conditions = [
            Habilitation.subject == subject,
            Habilitation.granted_how == GrantedHow.DELEGATION,
            Habilitation.revoked_at.is_(None),
            or_(Habilitation.valid_until.is_(None), Habilitation.valid_until > now()),
        ]
        if demarche:
            conditions.append(Habilitation.demarche == demarche)
        if ends_before is not None:
            conditions.append(Habilitation.valid_until <= ends_before)
        text = query.strip()
        if text:
            conditions.append(
                or_(
                    Habilitation.siret.like(f"{text}%"),
                    func.lower(Etablissement.name).like(f"%{text.lower()}%"),
                )
            )
        base = (
            select(Habilitation, Etablissement.name)
            .join(Etablissement, Etablissement.siret == Habilitation.siret)
            .where(*conditions)
        )
        total = self.session.scalar(select(func.count()).select_from(base.subquery())) or 0
        rows = self.session.execute(
            base.order_by(Etablissement.name, Habilitation.siret)
            .offset((max(1, page) - 1) * page_size)
            .limit(page_size)
        ).all()
        return [(h, name) for h, name in rows], total

    # --- end dates ---------------------------------------------------------------------------

    def run_end_dates(self, warning: timedelta) -> list[Email]:
        """Mark ended delegations expired and warn both sides before the end; idempotent.

        The right itself already stops at `valid_until` (checked at each request); this
        job only keeps the statuses true and tells people: the notices it returns leave
        once the unit of work commits.
        """
        moment = now()
        emails: list[Email] = []
        system = Actor("systeme", "Plateforme")
        ended = self.session.scalars(
            select(Delegation).where(
                Delegation.status == DelegationStatus.ACCEPTED, Delegation.valid_until <= moment
            )
        )
        for delegation in ended:
            moved = self.session.execute(
                update(Delegation)
                .where(
                    Delegation.id == delegation.id,
                    Delegation.status == DelegationStatus.ACCEPTED,
                    Delegation.valid_until <= moment,  # not extended meanwhile
                )
                .values(status=DelegationStatus.EXPIRED)
                .execution_options(synchronize_session=False)
            )
            if moved.rowcount != 1:  # type: ignore[attr-defined]
                continue  # another worker did it, or the end date moved
            if delegation.habilitation_id is not None:
                ended_rights = self.session.execute(
                    update(Habilitation)
                    .where(
                        Habilitation.id == delegation.habilitation_id,
                        Habilitation.revoked_at.is_(None),
                    )
                    .values(revoked_at=Habilitation.valid_until, revoked_by="systeme")
                    .returning(
                        Habilitation.subject,
                        Habilitation.demarche,
                        Habilitation.role,
                        Habilitation.siret,
                    )
                    .execution_options(synchronize_session=False)
                )
                enqueue_rows(self.session, "expiree", ended_rights)
            record(
                self.session,
                system,
                "delegation-expiree",
                siret=delegation.delegator_siret,
                demarche=delegation.demarche,
                delegation=delegation.id,
            )
            emails.append(self._notice(delegation, "a pris fin"))
            notify(self.session, emails[-1])
        soon = self.session.scalars(
            select(Delegation).where(
                Delegation.status == DelegationStatus.ACCEPTED,
                Delegation.warned_at.is_(None),
                Delegation.valid_until > moment,
                Delegation.valid_until <= moment + warning,
            )
        )
        for delegation in soon:
            moved = self.session.execute(
                update(Delegation)
                .where(Delegation.id == delegation.id, Delegation.warned_at.is_(None))
                .values(warned_at=moment)
                .execution_options(synchronize_session=False)
            )
            if moved.rowcount == 1:  # type: ignore[attr-defined]
                end = delegation.valid_until.strftime("%d/%m/%Y") if delegation.valid_until else ""
                emails.append(self._notice(delegation, f"prendra fin le {end}"))
                notify(self.session, emails[-1])
        return emails

    def _notice(self, delegation: Delegation, what: str) -> Email:
        demarche = self.catalog.demarche(delegation.demarche)
        title = demarche.title if demarche else delegation.demarche
        inviter = self.session.get(Person, delegation.invited_by)
        to = tuple(sorted({delegation.tiers_email, *((inviter.email,) if inviter else ())}))
        return Email(
            to=to,
            subject=f"Délégation {title} : elle {what}",
            text=(
                f"Bonjour,\n\nLa délégation du rôle « {delegation.role} » sur {title} pour le SIRET "
                f"{delegation.delegator_siret}, au tiers {delegation.tiers_siret}, {what}.\n"
            ),
        )

    # --- management by the gestionnaire ------------------------------------------------------

    def _locked(self, delegation_id: int) -> Delegation | None:
        """The delegation, re-read after taking its lock (a no-op write: the row lock on
        PostgreSQL, the write lock on SQLite), so that accepting, revoking, modifying and the
        end-date job never interleave on one delegation."""
        self.session.execute(
            update(Delegation)
            .where(Delegation.id == delegation_id)
            .values(id=Delegation.id)
            .execution_options(synchronize_session=False)
        )
        return self.session.get(Delegation, delegation_id, populate_existing=True)

    def _managed(self, actor: Actor, delegation_id: int) -> Delegation:
        delegation = self._locked(delegation_id)
        missing = "Cette délégation n'existe pas."
        if delegation is None:
            raise NotFoundError(missing)
        demarche = demarche_or_refuse(self.catalog, delegation.demarche)
        if delegation.delegator_siret not in self.habilitations.managed_sirets(
            actor.subject, demarche
        ):
            if delegation.accepted_by == actor.subject:  # its tiers knows it already
                raise ForbiddenError("Vous ne gérez pas l'établissement de cette délégation.")
            raise NotFoundError(missing)  # another organisation's: answered like a missing one
        return delegation

    def revoke(self, actor: Actor, delegation_id: int) -> Delegation:
        """End the delegation now: the tiers' next request is refused."""
        delegation = self._managed(actor, delegation_id)
        if delegation.status not in (DelegationStatus.INVITED, DelegationStatus.ACCEPTED):
            raise ConflictError("Cette délégation est déjà terminée.")
        return self.end(actor, delegation)

    def end(self, actor: Actor, delegation: Delegation) -> Delegation:
        """End a live delegation whose end the caller has allowed; the tiers is told."""
        moment = now()
        if delegation.habilitation_id is not None:
            revoked_rights = self.session.execute(
                update(Habilitation)
                .where(
                    Habilitation.id == delegation.habilitation_id, Habilitation.revoked_at.is_(None)
                )
                .values(revoked_at=moment, revoked_by=actor.subject)
                .returning(
                    Habilitation.subject,
                    Habilitation.demarche,
                    Habilitation.role,
                    Habilitation.siret,
                )
                .execution_options(synchronize_session=False)
            )
            enqueue_rows(self.session, "revoquee", revoked_rights)
        was_accepted = delegation.status == DelegationStatus.ACCEPTED
        delegation.status = DelegationStatus.REVOKED
        delegation.token_hash = None
        delegation.ended_by = actor.subject
        record(
            self.session,
            actor,
            "delegation-revoquee",
            siret=delegation.delegator_siret,
            demarche=delegation.demarche,
            delegation=delegation.id,
            tiers=delegation.tiers_siret,
        )
        notify(self.session, self._revocation_notice(delegation, moment, was_accepted))
        return delegation

    def _revocation_notice(
        self, delegation: Delegation, moment: datetime, was_accepted: bool
    ) -> Email:
        """The tiers is told, by the organisation's name and in words, that it may no longer
        act (or that its invitation no longer works), and who to ask."""
        demarche = self.catalog.demarche(delegation.demarche)
        title = demarche.title if demarche else delegation.demarche
        found = demarche.role(delegation.role) if demarche else None
        role = found.label if found else delegation.role
        etablissement = self.session.get(Etablissement, delegation.delegator_siret)
        name = etablissement.name if etablissement else delegation.delegator_siret
        day = moment.astimezone(PARIS).strftime("%d/%m/%Y à %H:%M")
        what = (
            f"Vous ne pouvez plus agir comme « {role} » sur {title} pour cet organisme depuis "
            f"le {day}."
            if was_accepted
            else "L'invitation qui vous avait été envoyée ne fonctionne plus."
        )
        return Email(
            to=(delegation.tiers_email,),
            subject=f"Délégation révoquée : {name} sur {title}",
            text=(
                f"Bonjour,\n\n{name} (SIRET {delegation.delegator_siret}) a révoqué la "
                f"délégation qu'il vous avait donnée sur {title}. {what}\n\n"
                "Pour toute question, adressez-vous directement à cet organisme : seul un de ses "
                "gestionnaires peut vous déléguer de nouveau ce rôle.\n"
            ),
        )

    def modify(
        self,
        actor: Actor,
        delegation_id: int,
        *,
        role: str,
        valid_until: datetime | EllipsisType | None = ...,
    ) -> Delegation:
        """Change the delegated role or the end date (`...` keeps it); the tiers' right follows
        at once."""
        delegation = self._managed(actor, delegation_id)
        if isinstance(valid_until, EllipsisType):
            valid_until = delegation.valid_until
        if delegation.status not in (DelegationStatus.INVITED, DelegationStatus.ACCEPTED):
            raise ConflictError("Cette délégation est terminée : elle ne peut plus être modifiée.")
        demarche = demarche_or_refuse(self.catalog, delegation.demarche)
        found = demarche.role(role)
        if found is None or not found.delegable:
            raise InvalidInputError(
                f"Le rôle « {role} » ne peut pas être délégué à un tiers.", field="role"
            )
        held = self.habilitations.roles_held(
            actor.subject, demarche, delegation.delegator_siret, managing=True
        )
        if not demarche.roles_acting_as(role) & held:
            raise ForbiddenError(
                f"Vous ne détenez pas le rôle « {found.label} » pour ce SIRET.", field="role"
            )
        if valid_until is not None and valid_until <= now():
            raise InvalidInputError("La fin d'habilitation doit être dans le futur.", field="fin")
        before = (delegation.role, delegation.valid_until)
        if valid_until != delegation.valid_until:
            delegation.warned_at = None  # the new end date gets its own warning
        delegation.role, delegation.valid_until = role, valid_until
        if delegation.habilitation_id is not None:
            current = self.session.get(Habilitation, delegation.habilitation_id)
            if current is not None and current.revoked_at is None:
                if current.role == role:
                    current.valid_until = valid_until
                else:
                    current.revoked_at, current.revoked_by = now(), actor.subject
                    self.session.flush()
                    replacement = self.habilitations.grant_by_delegation(
                        actor,
                        current.subject,
                        demarche,
                        role,
                        current.siret,
                        on_behalf_of=current.on_behalf_of_siret or delegation.tiers_siret,
                        valid_until=valid_until,
                        by_name=current.granted_by_name,
                    )
                    delegation.habilitation_id = replacement.id
        record(
            self.session,
            actor,
            "delegation-modifiee",
            siret=delegation.delegator_siret,
            demarche=delegation.demarche,
            delegation=delegation.id,
            ancien_role=before[0],
            role=role,
            fin=valid_until.isoformat() if valid_until else None,
        )
        return delegation

    def of_etablissements(self, actor: Actor, demarche_id: str) -> list[Delegation]:
        """The delegations given from the SIRETs the actor manages (never others')."""
        demarche = demarche_or_refuse(self.catalog, demarche_id)
        sirets = self.habilitations.managed_sirets(actor.subject, demarche)
        if not sirets:
            return []
        return list(
            self.session.scalars(
                select(Delegation)
                .where(Delegation.demarche == demarche.id, Delegation.delegator_siret.in_(sirets))
                .order_by(Delegation.created_at.desc())
                .limit(200)
            )
        )
