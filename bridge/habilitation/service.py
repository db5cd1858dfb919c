"""Habilitations: the right-to-act check, grants under the catalog's rules, access requests,
and the users screen of a démarche.

The catalog decides who may grant what; this module has no démarche-specific branch.
A habilitation received by delegation never gives the power to manage others unless the
démarche's catalog entry allows re-delegation.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import BindParameter, ColumnElement, and_, bindparam, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bridge.audit.models import AuditEvent
from bridge.audit.service import Actor, record
from bridge.catalog import Catalog, Demarche
from bridge.db import now
from bridge.errors import ConflictError, ForbiddenError, InvalidInputError, NotFoundError
from bridge.etablissement.models import Etablissement
from bridge.etablissement.service import (
    AlreadyManagedError,
    EtablissementService,
    demarche_or_refuse,
    lock_etablissement,
    opened_by_code,
)
from bridge.etablissement.siret import parse_siret
from bridge.habilitation.models import AccessRequest, GrantedHow, Habilitation, RequestStatus
from bridge.notification import Email, notify
from bridge.outbox import enqueue_rows
from bridge.person.models import Person
from bridge.text import folded

PAGE_SIZE = 20


class UnknownRoleError(InvalidInputError):
    code = "role-inconnu"
    title = "Rôle inconnu"


class ManagedByOrganisationError(ForbiddenError):
    code = "gere-par-l-organisation"
    title = "À gérer dans l'espace de l'organisation"


def known_role(demarche: Demarche, role: str | None) -> str:
    """`role` when the démarche has it; otherwise a refusal naming the roles it has."""
    if not role:
        labels = " ou ".join(f"« {r.label} »" for r in demarche.roles)
        raise UnknownRoleError(f"Choisissez le rôle à accorder : {labels}.", field="role")
    if demarche.role(role) is None:
        known = ", ".join(r.id for r in demarche.roles)
        raise UnknownRoleError(
            f"Le rôle « {role} » n'existe pas dans la démarche « {demarche.title} » "
            f"(rôles : {known}).",
            field="role",
        )
    return role


def active_clause(moment: datetime | BindParameter[datetime]) -> ColumnElement[bool]:
    return and_(
        Habilitation.revoked_at.is_(None),
        or_(Habilitation.valid_until.is_(None), Habilitation.valid_until > moment),
    )


# A disabled account keeps its rights (they show on the users screen) but may not act with
# them until Keycloak enables it again (bridge/accounts/).
_HOLDER_DISABLED = (
    select(Person.subject)
    .where(Person.subject == Habilitation.subject, Person.disabled_at.is_not(None))
    .exists()
)


def acting_clause(moment: datetime | BindParameter[datetime]) -> ColumnElement[bool]:
    """A right its holder may use now: active, and the holder's account not disabled (`moment`
    may be a bound parameter, for a statement built once)."""
    return and_(active_clause(moment), ~_HOLDER_DISABLED)


# Built once: building the statement costs more than running it (measured: 3x faster).
_MAY_ACT = (
    select(Habilitation.id)
    .where(
        Habilitation.subject == bindparam("subject"),
        Habilitation.demarche == bindparam("demarche"),
        Habilitation.siret == bindparam("siret"),
        Habilitation.role.in_(bindparam("roles", expanding=True)),
        Habilitation.revoked_at.is_(None),
        or_(Habilitation.valid_until.is_(None), Habilitation.valid_until > bindparam("moment")),
        ~_HOLDER_DISABLED,
    )
    .limit(1)
)


# The same question as a column of another statement (the BPF read: the right and the BPF in
# one round trip), with the same parameters (`may_act_parameters`).
MAY_ACT_EXISTS = _MAY_ACT.exists()


def may_act_parameters(
    catalog: Catalog,
    subject: str,
    demarche_id: str,
    role: str,
    siret: str,
    moment: datetime | None = None,
) -> dict[str, object] | None:
    """The parameters of `_MAY_ACT` (and `MAY_ACT_EXISTS`) for this question; None when the
    catalog alone says no (an unknown démarche, a role or action it does not have)."""
    demarche = catalog.demarche(demarche_id)
    if demarche is None:
        return None
    roles = demarche.roles_for_action(role)
    if not roles:
        return None
    return {
        "subject": subject,
        "demarche": demarche_id,
        "siret": siret,
        "roles": sorted(roles),
        "moment": moment or now(),
    }


def flush_pending(session: Session) -> None:
    """What the ORM would do before a query (autoflush), for a statement run on the session's
    connection: its answer then sees this unit of work's changes."""
    if session.autoflush and (session.new or session.dirty or session.deleted):
        session.flush()


def may_act(
    session: Session,
    catalog: Catalog,
    subject: str,
    demarche_id: str,
    role: str,
    siret: str,
    moment: datetime | None = None,
) -> bool:
    """May `subject` act as `role` for `siret` in the démarche, now? Read from the store each time.

    `role` may also be the catalog's derived action `agir` (any role). The product's hot
    path: one indexed lookup (subject, demarche, siret).
    """
    parameters = may_act_parameters(catalog, subject, demarche_id, role, siret, moment)
    if parameters is None:
        return False
    flush_pending(session)
    # On the session's connection: the ORM's execution path costs twice the statement here.
    return session.connection().execute(_MAY_ACT, parameters).first() is not None


@dataclass
class _Found:
    """One person of the users screen while it is being searched and counted."""

    subject: str
    email: str
    first_name: str
    last_name: str
    roles: set[str] = field(default_factory=set)
    tiers: bool = False

    @property
    def search_key(self) -> str:
        return folded(f"{self.email} {self.first_name} {self.last_name}")

    def sort_key(self) -> tuple[str, str, str]:
        return (folded(self.last_name), folded(self.first_name), self.subject)


@dataclass(frozen=True)
class UserRow:
    person: Person
    habilitations: tuple[Habilitation, ...]

    @property
    def is_tiers(self) -> bool:
        return any(h.granted_how == GrantedHow.DELEGATION for h in self.habilitations)


@dataclass
class UsersPage:
    rows: list[UserRow]
    total: int
    page: int
    pages: int
    role_counts: dict[str, int] = field(default_factory=dict)
    tiers_counts: dict[bool, int] = field(default_factory=dict)


@dataclass(frozen=True)
class PersonDetail:
    """A person on the users screen: rights of their own (`habilitations`, which the
    gestionnaire modifies there) apart from rights received by delegation (`delegations`,
    managed as delegations), as the guide's « Habilitation(s) » and « Délégation(s) »."""

    person: Person
    habilitations: tuple[Habilitation, ...]
    delegations: tuple[Habilitation, ...]
    history: tuple[AuditEvent, ...]


class HabilitationService:
    def __init__(
        self,
        session: Session,
        catalog: Catalog,
        etablissements: EtablissementService,
        portal_url: str = "",
    ) -> None:
        self.session = session
        self.catalog = catalog
        self.etablissements = etablissements
        self.portal_url = portal_url.rstrip("/")  # where e-mails send people to act
        etablissements.holders = self.has_unrevoked_first_holder
        # What ends with a right, told by the packages above (a delegation ends with its
        # right: `DelegationService` registers it).
        self.on_removed: list[Callable[[Actor, Habilitation], None]] = []

    # --- reading --------------------------------------------------------------------------

    def may_act(self, subject: str, demarche_id: str, role: str, siret: str) -> bool:
        """The hot path's question (`may_act`) on this unit of work's session."""
        return may_act(self.session, self.catalog, subject, demarche_id, role, siret)

    def active(self, subject: str, demarche_id: str | None = None) -> list[Habilitation]:
        query = select(Habilitation).where(Habilitation.subject == subject, active_clause(now()))
        if demarche_id is not None:
            query = query.where(Habilitation.demarche == demarche_id)
        return list(self.session.scalars(query.order_by(Habilitation.demarche, Habilitation.siret)))

    def managed_sirets(self, subject: str, demarche: Demarche) -> set[str]:
        """SIRETs on which the person holds a role that may grant some role of the démarche."""
        granting = {g for r in demarche.roles for g in r.granted_by}
        managing = {h for g in granting for h in demarche.roles_acting_as(g)}
        query = select(Habilitation.siret).where(
            Habilitation.subject == subject,
            Habilitation.demarche == demarche.id,
            Habilitation.role.in_(managing),
            active_clause(now()),
        )
        if not demarche.redelegation:
            query = query.where(Habilitation.granted_how != GrantedHow.DELEGATION)
        return set(self.session.scalars(query))

    def roles_held(
        self, subject: str, demarche: Demarche, siret: str, *, managing: bool
    ) -> set[str]:
        query = select(Habilitation.role).where(
            Habilitation.subject == subject,
            Habilitation.demarche == demarche.id,
            Habilitation.siret == siret,
            active_clause(now()),
        )
        if managing and not demarche.redelegation:
            query = query.where(Habilitation.granted_how != GrantedHow.DELEGATION)
        return set(self.session.scalars(query))

    def require_in_scope(self, actor: Actor, demarche: Demarche, siret: str, missing: str) -> None:
        """An object of a SIRET the actor holds nothing on is answered like a missing one (404):
        a refusal that named its SIRET or its state would let ids be walked to map others."""
        if actor.operator or self.roles_held(actor.subject, demarche, siret, managing=True):
            return
        raise NotFoundError(missing)

    @staticmethod
    def require_generic_path(demarche: Demarche) -> None:
        """A démarche whose first holder the operator appoints (the employer space) keeps its
        gestionnaires list and its rights together: they change only through that service."""
        if demarche.entry == "operator":
            raise ManagedByOrganisationError(
                f"Les droits de « {demarche.title} » se gèrent dans l'espace de l'organisation "
                "(liste de ses gestionnaires, /api/v1/employeur/organisations/{siret}) : "
                "cette adresse ne les modifie pas."
            )

    def require_manager(self, actor: Actor, demarche: Demarche, siret: str, role: str) -> None:
        held = self.roles_held(actor.subject, demarche, siret, managing=True)
        if not demarche.may_grant(held, role, operator=actor.operator):
            raise ForbiddenError(
                f"Vous n'avez pas le droit de gérer le rôle « {self._label(demarche, role)} » "
                f"pour le SIRET {siret}."
            )

    def _role(self, demarche: Demarche, role: str | None) -> str:
        return known_role(demarche, role)

    @staticmethod
    def _label(demarche: Demarche, role: str) -> str:
        found = demarche.role(role)
        return found.label if found else role

    # --- activation code ------------------------------------------------------------------

    def has_unrevoked_first_holder(self, siret: str, demarche: Demarche) -> bool:
        """Any right of the first holder's role not revoked, whatever its source or end:
        the import then issues no new code for the SIRET."""
        found = self.session.scalar(
            select(Habilitation.id)
            .where(
                Habilitation.siret == siret,
                Habilitation.demarche == demarche.id,
                Habilitation.role == demarche.first_holder_role,
                Habilitation.revoked_at.is_(None),
            )
            .limit(1)
        )
        return found is not None

    def has_first_holder(self, demarche: Demarche, siret: str) -> bool:
        found = self.session.scalar(
            select(Habilitation.id)
            .where(
                Habilitation.siret == siret,
                Habilitation.demarche == demarche.id,
                Habilitation.role == demarche.first_holder_role,
                active_clause(now()),
                Habilitation.granted_how != GrantedHow.DELEGATION,
            )
            .limit(1)
        )
        return found is not None

    def activate(self, actor: Actor, demarche_id: str, siret: str, code: str) -> Habilitation:
        """SIRET + activation code: the person becomes the first holder (gestionnaire)."""
        demarche = opened_by_code(self.catalog, demarche_id)
        siret = parse_siret(siret)
        if self.has_first_holder(demarche, siret):
            raise AlreadyManagedError(
                f"Le SIRET {siret} a déjà un gestionnaire pour « {demarche.title} » : "
                "demandez-lui l'accès.",
                siret=siret,
                demarche=demarche.id,
            )
        self.etablissements.consume_code(actor, demarche, siret, code)
        return self._grant(
            actor,
            actor.subject,
            demarche,
            demarche.first_holder_role,
            siret,
            GrantedHow.ACTIVATION_CODE,
            by_name="code d'activation",
        )

    # --- grants by a manager --------------------------------------------------------------

    def _grant(
        self,
        actor: Actor,
        subject: str,
        demarche: Demarche,
        role: str,
        siret: str,
        how: GrantedHow,
        *,
        by_name: str,
        valid_until: datetime | None = None,
    ) -> Habilitation:
        if self.session.get(Etablissement, siret) is None:
            raise NotFoundError(
                f"L'établissement {siret} n'est pas connu de la plateforme.", field="siret"
            )
        if self.session.get(Person, subject) is None:
            raise NotFoundError(
                "Cette personne n'a pas encore de compte sur le portail.", field="subject"
            )
        # A right that ended (valid_until passed) but was never closed would block the unique
        # index of live rights: close it at its end before granting again.
        closed = self.session.execute(
            update(Habilitation)
            .where(
                Habilitation.subject == subject,
                Habilitation.demarche == demarche.id,
                Habilitation.siret == siret,
                Habilitation.role == role,
                Habilitation.revoked_at.is_(None),
                Habilitation.valid_until <= now(),
            )
            .values(revoked_at=Habilitation.valid_until)
            .returning(
                Habilitation.subject, Habilitation.demarche, Habilitation.role, Habilitation.siret
            )
            .execution_options(synchronize_session=False)
        )
        enqueue_rows(self.session, "expiree", closed)
        habilitation = Habilitation(
            subject=subject,
            demarche=demarche.id,
            role=role,
            siret=siret,
            granted_how=how,
            granted_by=actor.subject,
            granted_by_name=by_name,
            granted_at=now(),
            valid_until=valid_until,
        )
        self.session.add(habilitation)
        try:
            self.session.flush()
        except IntegrityError as exc:
            raise ConflictError(
                f"Cette personne détient déjà le rôle « {self._label(demarche, role)} » pour le SIRET {siret}."
            ) from exc
        record(
            self.session,
            actor,
            "habilitation-accordee",
            target=subject,
            siret=siret,
            demarche=demarche.id,
            role=role,
            origine=str(how),
            habilitation=habilitation.id,
        )
        return habilitation

    def grant_by_delegation(
        self,
        actor: Actor,
        subject: str,
        demarche: Demarche,
        role: str,
        siret: str,
        *,
        on_behalf_of: str,
        valid_until: datetime | None,
        by_name: str,
    ) -> Habilitation:
        """The habilitation a tiers receives by accepting an invitation (checked by the caller)."""
        habilitation = self._grant(
            actor,
            subject,
            demarche,
            role,
            siret,
            GrantedHow.DELEGATION,
            by_name=by_name,
            valid_until=valid_until,
        )
        habilitation.on_behalf_of_siret = on_behalf_of
        return habilitation

    def grant(
        self, actor: Actor, demarche_id: str, subject: str, role: str, siret: str
    ) -> Habilitation:
        demarche = demarche_or_refuse(self.catalog, demarche_id)
        self.require_generic_path(demarche)
        role = self._role(demarche, role)
        siret = parse_siret(siret)
        self.require_manager(actor, demarche, siret, role)
        return self.grant_checked(actor, subject, demarche, role, siret)

    def grant_checked(
        self, actor: Actor, subject: str, demarche: Demarche, role: str, siret: str
    ) -> Habilitation:
        """Grant a role the caller has checked the actor may give (by a manager or operator)."""
        return self._grant(
            actor,
            subject,
            demarche,
            role,
            siret,
            GrantedHow.OPERATOR if actor.operator else GrantedHow.GESTIONNAIRE,
            by_name=actor.display_name,
        )

    def _habilitation(self, actor: Actor, demarche: Demarche, habilitation_id: int) -> Habilitation:
        missing = "Cette habilitation n'existe pas ou n'est plus active."
        found = self.session.get(Habilitation, habilitation_id)
        if found is None or found.demarche != demarche.id:
            raise NotFoundError(missing)
        self.require_in_scope(actor, demarche, found.siret, missing)
        if not found.active_at(now()):
            raise NotFoundError(missing)
        return found

    def _refuse_last_holder(self, demarche: Demarche, habilitation: Habilitation) -> None:
        if habilitation.role != demarche.first_holder_role:
            return
        lock_etablissement(self.session, habilitation.siret)
        others = self.session.scalar(
            select(func.count())
            .select_from(Habilitation)
            .where(
                Habilitation.siret == habilitation.siret,
                Habilitation.demarche == demarche.id,
                Habilitation.role == demarche.first_holder_role,
                Habilitation.id != habilitation.id,
                Habilitation.granted_how != GrantedHow.DELEGATION,
                active_clause(now()),
            )
        )
        if not others:
            raise ConflictError(
                f"C'est le dernier {self._label(demarche, habilitation.role).lower()} du SIRET "
                f"{habilitation.siret} : désignez-en un autre avant de retirer celui-ci."
            )

    def change_role(
        self, actor: Actor, demarche_id: str, habilitation_id: int, role: str
    ) -> Habilitation:
        demarche = demarche_or_refuse(self.catalog, demarche_id)
        self.require_generic_path(demarche)
        return self.change_role_checked(actor, demarche, habilitation_id, role)

    def change_role_checked(
        self, actor: Actor, demarche: Demarche, habilitation_id: int, role: str
    ) -> Habilitation:
        """`change_role` for the service that owns the démarche's path (the employer space
        keeps its gestionnaires list in step with the right it changes here)."""
        role = self._role(demarche, role)
        current = self._habilitation(actor, demarche, habilitation_id)
        self.require_manager(actor, demarche, current.siret, current.role)
        self.require_manager(actor, demarche, current.siret, role)
        if current.granted_how == GrantedHow.DELEGATION:
            raise ConflictError(
                "Cette habilitation vient d'une délégation : modifiez ou révoquez la délégation."
            )
        if role == current.role:
            return current
        self._refuse_last_holder(demarche, current)
        current.revoked_at, current.revoked_by = now(), actor.subject
        self.session.flush()
        record(
            self.session,
            actor,
            "habilitation-modifiee",
            target=current.subject,
            siret=current.siret,
            demarche=demarche.id,
            ancien_role=current.role,
            role=role,
        )
        return self._grant(
            actor,
            current.subject,
            demarche,
            role,
            current.siret,
            GrantedHow.OPERATOR if actor.operator else GrantedHow.GESTIONNAIRE,
            by_name=actor.display_name,
        )

    def remove(self, actor: Actor, demarche_id: str, habilitation_id: int) -> None:
        demarche = demarche_or_refuse(self.catalog, demarche_id)
        self.require_generic_path(demarche)
        current = self._habilitation(actor, demarche, habilitation_id)
        self.require_manager(actor, demarche, current.siret, current.role)
        self._refuse_last_holder(demarche, current)
        self.remove_checked(actor, demarche, current)

    def remove_checked(self, actor: Actor, demarche: Demarche, current: Habilitation) -> None:
        """End a right whose removal the caller has allowed (a delegation ends with it)."""
        current.revoked_at, current.revoked_by = now(), actor.subject
        for ended in self.on_removed:
            ended(actor, current)
        record(
            self.session,
            actor,
            "habilitation-retiree",
            target=current.subject,
            siret=current.siret,
            demarche=demarche.id,
            role=current.role,
            habilitation=current.id,
        )

    # --- edits made in the Keycloak console (bridge/sync/console.py) ---------------------------

    def _console_role(self, demarche_id: str, role: str) -> Demarche:
        demarche = demarche_or_refuse(self.catalog, demarche_id)
        found = demarche.role(role)
        if found is None:
            raise UnknownRoleError(f"Le rôle « {role} » n'existe pas pour {demarche.title}.")
        if not found.console:
            raise ForbiddenError(
                f"Le rôle « {found.label} » de {demarche.title} ne s'accorde pas depuis la "
                "console Keycloak (catalogue) : passez par le portail."
            )
        return demarche

    def grant_from_console(
        self, actor: Actor, subject: str, demarche_id: str, role: str, siret: str
    ) -> Habilitation:
        """A right an administrator added in the Keycloak console, if the catalog allows it;
        a SIRET's first holder only from an administrator holding the operator role (anyone
        with `manage-users` would otherwise skip the activation code)."""
        demarche = self._console_role(demarche_id, role)
        siret = parse_siret(siret)
        if role == demarche.first_holder_role and not actor.operator:
            raise ForbiddenError(
                f"Le rôle « {self._label(demarche, role)} » fait le premier titulaire d'un SIRET "
                f"pour {demarche.title} : depuis la console Keycloak, seul un administrateur qui "
                "détient le rôle « operateur » l'accorde (sinon : code d'activation)."
            )
        if not actor.operator and not self.has_first_holder(demarche, siret):
            raise ForbiddenError(
                f"Le SIRET {siret} n'a pas encore de {self._label(demarche, demarche.first_holder_role).lower()} "
                f"pour {demarche.title} : depuis la console Keycloak, seul un administrateur qui "
                "détient le rôle « operateur » y accorde un droit."
            )
        return self._grant(
            actor,
            subject,
            demarche,
            role,
            siret,
            GrantedHow.CONSOLE,
            by_name=actor.display_name,
        )

    def remove_from_console(self, actor: Actor, habilitation: Habilitation) -> None:
        """A right an administrator removed in the console: same rules as the portal's."""
        demarche = self._console_role(habilitation.demarche, habilitation.role)
        self._refuse_last_holder(demarche, habilitation)
        self.remove_checked(actor, demarche, habilitation)

    # --- access requests ------------------------------------------------------------------

    def request_access(
        self, actor: Actor, demarche_id: str, siret: str, wished_role: str | None
    ) -> AccessRequest:
        """Ask the SIRET's gestionnaires for access; they are told by e-mail after the commit."""
        demarche = demarche_or_refuse(self.catalog, demarche_id)
        if not demarche.access_requests:
            raise InvalidInputError(
                f"La démarche « {demarche.title} » ne reçoit pas de demande d'accès."
            )
        if wished_role:
            self._role(demarche, wished_role)
        siret = parse_siret(siret)
        if self.session.get(Etablissement, siret) is None:
            raise NotFoundError(
                f"L'établissement {siret} n'est pas connu de la plateforme.", field="siret"
            )
        managers = self._managers(demarche, siret)
        if not managers:
            raise ConflictError(
                f"Le SIRET {siret} n'a pas encore de gestionnaire pour « {demarche.title} » : "
                "saisissez le code d'activation reçu par courrier.",
                field="siret",
            )
        if self.roles_held(actor.subject, demarche, siret, managing=False):
            raise ConflictError(
                f"Vous avez déjà accès à « {demarche.title} » pour le SIRET {siret}."
            )
        request = AccessRequest(
            subject=actor.subject,
            demarche=demarche.id,
            siret=siret,
            wished_role=wished_role or None,
        )
        self.session.add(request)
        try:
            self.session.flush()
        except IntegrityError as exc:
            raise ConflictError(
                f"Vous avez déjà une demande en attente pour le SIRET {siret} sur « {demarche.title} »."
            ) from exc
        record(
            self.session,
            actor,
            "demande-acces-creee",
            siret=siret,
            demarche=demarche.id,
            demande=request.id,
            role_souhaite=wished_role,
        )
        wished = f" avec le rôle « {self._label(demarche, wished_role)} »" if wished_role else ""
        notify(
            self.session,
            Email(
                to=tuple(sorted(p.email for p in managers)),
                subject=f"Demande d'accès à {demarche.title} pour le SIRET {siret}",
                text=(
                    f"Bonjour,\n\n{actor.display_name} demande l'accès à la démarche {demarche.title} "
                    f"pour le SIRET {siret}{wished}.\n\nConnectez-vous au portail Mes démarches, "
                    "écran « Utilisateurs de la démarche », pour valider ou refuser cette demande"
                    + (
                        f" :\n{self.portal_url}/demarches/{demarche.id}/utilisateurs\n"
                        if self.portal_url
                        else ".\n"
                    )
                ),
            ),
        )
        return request

    def _managers(self, demarche: Demarche, siret: str) -> list[Person]:
        return list(
            self.session.scalars(
                select(Person)
                .join(Habilitation, Habilitation.subject == Person.subject)
                .where(
                    Habilitation.siret == siret,
                    Habilitation.demarche == demarche.id,
                    Habilitation.role.in_(demarche.roles_acting_as(demarche.first_holder_role)),
                    Habilitation.granted_how != GrantedHow.DELEGATION,
                    active_clause(now()),
                )
                .distinct()
            )
        )

    def _pending(
        self, actor: Actor, demarche: Demarche, request_id: int, *, own: bool = False
    ) -> AccessRequest:
        """A pending request the actor may decide on (`own`: one they made themselves)."""
        missing = "Cette demande d'accès n'existe pas."
        request = self.session.get(AccessRequest, request_id)
        if request is None or request.demarche != demarche.id:
            raise NotFoundError(missing)
        if own and request.subject != actor.subject:
            raise NotFoundError(missing)
        if not own:
            self.require_in_scope(actor, demarche, request.siret, missing)
        if request.status != RequestStatus.PENDING:
            raise ConflictError("Cette demande d'accès a déjà été traitée.")
        return request

    def _decide(
        self,
        actor: Actor,
        request: AccessRequest,
        status: RequestStatus,
        role: str | None,
        reason: str | None,
    ) -> None:
        """Move a pending request once: of two simultaneous decisions, only one wins."""
        changed = self.session.execute(
            update(AccessRequest)
            .where(AccessRequest.id == request.id, AccessRequest.status == RequestStatus.PENDING)
            .values(
                status=status,
                decided_at=now(),
                decided_by=actor.subject,
                decided_role=role,
                reason=reason,
            )
            .execution_options(synchronize_session=False)
        )
        if changed.rowcount != 1:  # type: ignore[attr-defined]
            raise ConflictError("Cette demande d'accès a déjà été traitée.")
        self.session.refresh(request)

    def approve(
        self, actor: Actor, demarche_id: str, request_id: int, role: str | None = None
    ) -> Habilitation:
        demarche = demarche_or_refuse(self.catalog, demarche_id)
        request = self._pending(actor, demarche, request_id)
        role = self._role(demarche, role or request.wished_role)
        self.require_manager(actor, demarche, request.siret, role)
        self._decide(actor, request, RequestStatus.APPROVED, role, None)
        habilitation = self._grant(
            actor,
            request.subject,
            demarche,
            role,
            request.siret,
            GrantedHow.REQUEST_APPROVED,
            by_name=actor.display_name,
        )
        self._tell_requester(
            request,
            f"Votre accès à {demarche.title} est validé",
            f"Bonjour,\n\nVotre demande d'accès à {demarche.title} pour le SIRET {request.siret} "
            f"est validée avec le rôle « {self._label(demarche, role)} ».\n",
        )
        return habilitation

    def _tell_requester(self, request: AccessRequest, subject: str, text: str) -> None:
        """The decision, e-mailed to the person who asked once the unit of work commits."""
        requester = self.session.get(Person, request.subject)
        notify(
            self.session,
            Email(to=(requester.email,) if requester else (), subject=subject, text=text),
        )

    def refuse(self, actor: Actor, demarche_id: str, request_id: int, reason: str) -> None:
        demarche = demarche_or_refuse(self.catalog, demarche_id)
        request = self._pending(actor, demarche, request_id)
        reason = (reason or "").strip()
        if not reason:
            raise InvalidInputError(
                "Indiquez le motif du refus : la personne le verra.", field="reason"
            )
        self.require_manager(
            actor, demarche, request.siret, request.wished_role or demarche.first_holder_role
        )
        self._decide(actor, request, RequestStatus.REFUSED, None, reason[:500])
        record(
            self.session,
            actor,
            "demande-acces-refusee",
            target=request.subject,
            siret=request.siret,
            demarche=demarche.id,
            demande=request.id,
            motif=reason[:500],
        )
        self._tell_requester(
            request,
            f"Votre demande d'accès à {demarche.title} est refusée",
            f"Bonjour,\n\nVotre demande d'accès pour le SIRET {request.siret} est "
            f"refusée.\nMotif : {reason}\n",
        )

    def withdraw(self, actor: Actor, demarche_id: str, request_id: int) -> None:
        demarche = demarche_or_refuse(self.catalog, demarche_id)
        request = self._pending(actor, demarche, request_id, own=True)
        self._decide(actor, request, RequestStatus.WITHDRAWN, None, None)
        record(
            self.session,
            actor,
            "demande-acces-retiree",
            siret=request.siret,
            demarche=demarche.id,
            demande=request.id,
        )

    def my_requests(self, subject: str) -> list[AccessRequest]:
        return list(
            self.session.scalars(
                select(AccessRequest)
                .where(AccessRequest.subject == subject)
                .order_by(AccessRequest.created_at.desc())
                .limit(50)
            )
        )

    def pending_for_manager(
        self, actor: Actor, demarche_id: str
    ) -> list[tuple[AccessRequest, Person]]:
        demarche = demarche_or_refuse(self.catalog, demarche_id)
        sirets = self.managed_sirets(actor.subject, demarche)
        if not sirets:
            return []
        rows = self.session.execute(
            select(AccessRequest, Person)
            .join(Person, Person.subject == AccessRequest.subject)
            .where(
                AccessRequest.demarche == demarche.id,
                AccessRequest.siret.in_(sirets),
                AccessRequest.status == RequestStatus.PENDING,
            )
            .order_by(AccessRequest.created_at)
        ).all()
        return [(r, p) for r, p in rows]

    def person_by_email(self, email: str) -> Person:
        found = self.session.scalars(
            select(Person).where(Person.email == email.strip().lower()).limit(1)
        ).first()
        if found is None:
            raise NotFoundError(
                f"Aucun compte du portail n'utilise l'adresse « {email.strip()} » : la personne doit "
                "d'abord créer son compte et se connecter une fois.",
                field="email",
            )
        return found

    # --- users screen ---------------------------------------------------------------------

    def users(
        self,
        actor: Actor,
        demarche_id: str,
        *,
        query: str = "",
        role: str | None = None,
        tiers: bool | None = None,
        page: int = 1,
        sirets: set[str] | None = None,
    ) -> UsersPage:
        """People with a live habilitation on the SIRETs the actor manages, searched and faceted.

        Each facet counts people with the other filter applied (role counts under the tiers
        filter and the reverse), from the same matching habilitations as the results.
        """
        demarche = demarche_or_refuse(self.catalog, demarche_id)
        if sirets is None:
            sirets = self.managed_sirets(actor.subject, demarche)
        if not sirets:
            raise ForbiddenError(
                f"Vous n'êtes gestionnaire d'aucun SIRET pour « {demarche.title} »."
            )
        if role:
            self._role(demarche, role)
        # One query reads the live habilitations of the managed SIRETs (a few thousand rows at
        # most); search, facets, sort and paging happen here, from that one set. Measured: the
        # same in SQL read the whole person table on PostgreSQL for each search.
        conditions: list[ColumnElement[bool]] = [
            Habilitation.demarche == demarche.id,
            Habilitation.siret.in_(sirets),
            active_clause(now()),
        ]
        text = query.strip()
        if text.isdigit():
            # A SIRET (or its start) finds the rights on that SIRET, and the rights received
            # by delegation for that tiers: the people who act for it on the actor's SIRETs.
            conditions.append(
                or_(
                    Habilitation.siret.startswith(text, autoescape=True),
                    Habilitation.on_behalf_of_siret.startswith(text, autoescape=True),
                )
            )
        found: dict[str, _Found] = {}
        for subject, role_id, how, email, first, last in self.session.execute(
            select(
                Habilitation.subject,
                Habilitation.role,
                Habilitation.granted_how,
                Person.email,
                Person.first_name,
                Person.last_name,
            )
            .join(Person, Person.subject == Habilitation.subject)
            .where(*conditions)
        ):
            entry = found.setdefault(subject, _Found(subject, email, first, last))
            entry.roles.add(role_id)
            entry.tiers = entry.tiers or how == GrantedHow.DELEGATION
        if text and not text.isdigit():
            wanted = folded(text)
            found = {k: v for k, v in found.items() if wanted in v.search_key}

        def keep_role(entry: _Found) -> bool:
            return role is None or not role or role in entry.roles

        def keep_tiers(entry: _Found) -> bool:
            return tiers is None or entry.tiers == tiers

        role_counts: dict[str, int] = {}
        for entry in found.values():
            if keep_tiers(entry):
                for role_id in entry.roles:
                    role_counts[role_id] = role_counts.get(role_id, 0) + 1
        with_role = [e for e in found.values() if keep_role(e)]
        tiers_yes = sum(1 for e in with_role if e.tiers)
        matching = sorted((e for e in with_role if keep_tiers(e)), key=_Found.sort_key)
        total = len(matching)
        pages = max(1, -(-total // PAGE_SIZE))
        page = min(max(1, page), pages)
        shown = [e.subject for e in matching[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]]
        by_subject = {
            p.subject: p
            for p in self.session.scalars(select(Person).where(Person.subject.in_(shown)))
        }
        persons = [by_subject[s] for s in shown if s in by_subject]
        holdings: dict[str, list[Habilitation]] = {}
        for habilitation in self.session.scalars(
            select(Habilitation)
            .where(
                Habilitation.demarche == demarche.id,
                Habilitation.siret.in_(sirets),
                active_clause(now()),
                Habilitation.subject.in_([p.subject for p in persons]),
            )
            .order_by(Habilitation.siret, Habilitation.role)
        ):
            holdings.setdefault(habilitation.subject, []).append(habilitation)
        return UsersPage(
            rows=[UserRow(p, tuple(holdings.get(p.subject, ()))) for p in persons],
            total=total,
            page=page,
            pages=pages,
            role_counts=role_counts,
            tiers_counts={True: tiers_yes, False: len(with_role) - tiers_yes},
        )

    def person_detail(self, actor: Actor, demarche_id: str, subject: str) -> PersonDetail:
        demarche = demarche_or_refuse(self.catalog, demarche_id)
        sirets = self.managed_sirets(actor.subject, demarche)
        person = self.session.get(Person, subject)
        habilitations: Sequence[Habilitation] = (
            list(
                self.session.scalars(
                    select(Habilitation)
                    .where(
                        Habilitation.subject == subject,
                        Habilitation.demarche == demarche.id,
                        Habilitation.siret.in_(sirets),
                        active_clause(now()),
                    )
                    .order_by(Habilitation.siret, Habilitation.role)
                )
            )
            if sirets
            else []
        )
        if person is None or not habilitations:
            raise NotFoundError("Cette personne n'a pas d'habilitation sur vos établissements.")
        history = tuple(
            self.session.scalars(
                select(AuditEvent)
                .where(
                    AuditEvent.target == subject,
                    AuditEvent.demarche == demarche.id,
                    AuditEvent.siret.in_(sirets),
                )
                .order_by(AuditEvent.at.desc())
                .limit(50)
            )
        )
        own = tuple(h for h in habilitations if h.granted_how != GrantedHow.DELEGATION)
        delegated = tuple(h for h in habilitations if h.granted_how == GrantedHow.DELEGATION)
        return PersonDetail(person, own, delegated, history)
