"""The employer space: organisations, units, gestionnaires' accounts and password renewal.

Who may appoint, modify, deactivate whom and who may renew whose password are the
catalog's answers (`granted_by`, `password_renewed_by` of the employer démarche's roles);
this module has no role name in it. Accounts are made in Keycloak (generated login id,
temporary password e-mailed, forced change and CGU at first login) in the same unit of work
as the store's rows: if the store's part does not commit, the account is deleted again
(`bridge.db.on_rollback`), and a Keycloak refusal leaves the store untouched.
"""

from __future__ import annotations

import logging
import re
import secrets
import string
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bridge.audit.service import Actor, record
from bridge.catalog import Catalog, Demarche
from bridge.db import now, on_rollback
from bridge.employeur.models import Gestionnaire, Organisation, Unite
from bridge.errors import (
    BridgeError,
    ConflictError,
    ForbiddenError,
    InvalidInputError,
    NotFoundError,
)
from bridge.etablissement.models import Etablissement
from bridge.etablissement.siret import parse_siret, siren_of
from bridge.habilitation.models import Habilitation
from bridge.habilitation.service import HabilitationService, active_clause, known_role
from bridge.keycloak_admin import (
    KeycloakDirectory,
    KeycloakRejectedError,
    KeycloakRetriableError,
    NewPerson,
)
from bridge.notification import Email, notify
from bridge.person.models import Person
from bridge.text import folded

log = logging.getLogger(__name__)

PAGE_SIZE = 20
CIVILITIES = {"madame": "Madame", "monsieur": "Monsieur"}
# The realm's user profile checks the same formats (keycloak/realm-export).
LANDLINE = re.compile(r"^(?:(?:\+|00)33 ?|0)[1-9](?:[ .-]?[0-9]{2}){4}$")
MOBILE = re.compile(r"^(?:(?:\+|00)33 ?|0)[67](?:[ .-]?[0-9]{2}){4}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# Professional details shown on the user in the Keycloak console (realm user profile).
UNIT_ATTRIBUTE = "unite"
LEVEL_ATTRIBUTE = "niveauHabilitation"
LOGIN_ATTRIBUTE = "identifiantGestionnaire"


# Who hands a new account its login id (the guide: the operator appoints the main
# administrator; the main or a delegated administrator, the other gestionnaires).
LOGIN_ID_FROM_OPERATOR = "l'opérateur du service"
LOGIN_ID_FROM_ADMINISTRATOR = "l'administrateur de votre organisation"


class IdentityUnavailableError(BridgeError):
    status = 503
    code = "identite-indisponible"
    title = "Service d'identité indisponible"


@dataclass(frozen=True)
class Details:
    """What the « Ajouter un gestionnaire » form asks (checked by `checked_details`)."""

    civility: str
    last_name: str
    first_name: str
    email: str
    landline: str | None = None
    mobile: str | None = None
    unite_id: int | None = None
    level: str | None = None


@dataclass(frozen=True)
class Row:
    gestionnaire: Gestionnaire
    person: Person
    unite: str | None


@dataclass(frozen=True)
class GestionnairesPage:
    rows: list[Row]
    total: int
    page: int
    pages: int


def _phone(value: str | None, pattern: re.Pattern[str], field: str, what: str) -> str | None:
    value = (value or "").strip()
    if not value:
        return None
    if not pattern.match(value):
        raise InvalidInputError(
            f"Le {what} « {value} » n'est pas un numéro français valide (ex. : "
            f"{'06 12 34 56 78' if pattern is MOBILE else '01 23 45 67 89'}).",
            field=field,
        )
    digits = re.sub(r"\D", "", value)
    national = "0" + digits[-9:]
    return " ".join(national[i : i + 2] for i in range(0, 10, 2))


def checked_details(details: Details) -> Details:
    """The form's fields, trimmed and checked; every refusal at once, each naming its field in
    French (the first one leads; `erreurs` lists them all, for the form's summary)."""
    errors: list[tuple[str, str]] = []
    civility = details.civility.strip().lower()
    if civility not in CIVILITIES:
        errors.append(("civilite", "Choisissez la civilité : Madame ou Monsieur."))
    last, first = details.last_name.strip(), details.first_name.strip()
    if not last or len(last) > 100:
        errors.append(("nom", "Le nom est obligatoire (100 caractères au plus)."))
    if not first or len(first) > 100:
        errors.append(("prenom", "Le prénom est obligatoire (100 caractères au plus)."))
    email = details.email.strip().lower()
    if not EMAIL.match(email) or len(email) > 254:
        errors.append(
            (
                "email",
                "L'adresse électronique est obligatoire et doit être valide (ex. : "
                "nom@exemple.fr).",
            )
        )
    elif not email.split("@")[0].isascii():
        errors.append(
            ("email", "L'adresse électronique ne peut pas contenir d'accent avant le « @ ».")
        )
    phones: list[str | None] = []
    for value, pattern, field, what in (
        (details.landline, LANDLINE, "telephone_fixe", "téléphone fixe"),
        (details.mobile, MOBILE, "telephone_mobile", "téléphone mobile"),
    ):
        try:
            phones.append(_phone(value, pattern, field, what))
        except InvalidInputError as exc:
            errors.append((field, exc.detail))
            phones.append("")
    landline, mobile = phones
    if landline is None and mobile is None:
        errors.append(
            ("telephone_fixe", "Indiquez au moins un numéro de téléphone (fixe ou mobile).")
        )
    level = (details.level or "").strip() or None
    if level is not None and len(level) > 64:
        errors.append(("niveau", "Le niveau tient en 64 caractères au plus."))
    if errors:
        field, message = errors[0]
        raise InvalidInputError(
            message, field=field, erreurs=[{"champ": f, "message": m} for f, m in errors]
        )
    return Details(civility, last, first, email, landline, mobile, details.unite_id, level)


def temporary_password() -> str:
    """16 characters meeting the realm's password policy (every class present)."""
    classes = (string.ascii_uppercase, string.ascii_lowercase, string.digits, "!#$%*+-=?@_")
    chars = [secrets.choice(c) for c in classes]
    chars += [secrets.choice("".join(classes)) for _ in range(12)]
    secrets.SystemRandom().shuffle(chars)
    return "".join(chars)


def new_login_id() -> str:
    """A login id that says nothing about the person (the guide: not the e-mail)."""
    return "g" + "".join(secrets.choice(string.digits) for _ in range(8))


@contextmanager
def keycloak_step() -> Iterator[None]:
    """Keycloak away becomes a French 503 (the unit of work then rolls the store back)."""
    try:
        yield
    except KeycloakRetriableError as exc:
        raise IdentityUnavailableError(
            "Le service d'identité ne répond pas : rien n'a été enregistré, réessayez dans "
            "quelques minutes."
        ) from exc


class EmployeurService:
    def __init__(
        self,
        session: Session,
        catalog: Catalog,
        habilitations: HabilitationService,
        directory: Callable[[], KeycloakDirectory],
        portal_url: str,
    ) -> None:
        self.session = session
        self.catalog = catalog
        self.habilitations = habilitations
        self._directory = directory
        self.portal_url = portal_url.rstrip("/")

    @property
    def directory(self) -> KeycloakDirectory:
        return self._directory()

    # --- organisations ------------------------------------------------------------------

    def demarche_for_type(self, type_id: str) -> Demarche:
        found = next(
            (d for d in self.catalog.employer_demarches if type_id in d.organisation_types), None
        )
        if self.catalog.organisation_type(type_id) is None or found is None:
            known = ", ".join(t.id for t in self.catalog.organisation_types)
            raise InvalidInputError(
                f"Le type d'organisation « {type_id} » n'existe pas (types : {known}).",
                field="type",
            )
        return found

    def organisation_name(self, organisation: Organisation) -> str:
        """The organisation's raison sociale (its establishment's name), else its SIRET."""
        etablissement = self.session.get(Etablissement, organisation.siret)
        return etablissement.name if etablissement else organisation.siret

    def organisation(self, siret: str) -> tuple[Organisation, Demarche]:
        try:
            siret = parse_siret(siret)
        except InvalidInputError:
            raise NotFoundError("Cette organisation n'existe pas.", field="siret") from None
        found = self.session.get(Organisation, siret)
        if found is None:
            raise NotFoundError(
                f"Aucune organisation n'est ouverte pour le SIRET {siret}.", field="siret"
            )
        return found, self.demarche_for_type(found.type)

    def create_organisation(
        self, actor: Actor, siret: str, type_id: str, name: str
    ) -> Organisation:
        """The operator opens the employer space to an organisation (its SIRET and type)."""
        if not actor.operator:
            raise ForbiddenError("Seul l'opérateur de la plateforme crée une organisation.")
        siret = parse_siret(siret)
        demarche = self.demarche_for_type(type_id)
        name = " ".join(name.split())
        if not name or len(name) > 200:
            raise InvalidInputError(
                "La raison sociale est obligatoire (200 caractères au plus).",
                field="raison_sociale",
            )
        if self.session.get(Organisation, siret) is not None:
            raise ConflictError(f"Une organisation existe déjà pour le SIRET {siret}.")
        if self.session.get(Etablissement, siret) is None:
            self.session.add(Etablissement(siret=siret, siren=siren_of(siret), name=name))
            self.session.flush()  # no relationship() orders the two inserts: the parent first
        organisation = Organisation(siret=siret, type=type_id, created_by=actor.subject)
        self.session.add(organisation)
        try:
            self.session.flush()
        except IntegrityError as exc:
            raise ConflictError(f"Une organisation existe déjà pour le SIRET {siret}.") from exc
        record(
            self.session,
            actor,
            "organisation-creee",
            siret=siret,
            demarche=demarche.id,
            type=type_id,
            nom=name,
        )
        return organisation

    def organisations_of(self, subject: str) -> list[tuple[Organisation, Etablissement]]:
        """The organisations where the person holds a role of their employer démarche."""
        demarches = [d.id for d in self.catalog.employer_demarches]
        rows = self.session.execute(
            select(Organisation, Etablissement)
            .join(Etablissement, Etablissement.siret == Organisation.siret)
            .join(Habilitation, Habilitation.siret == Organisation.siret)
            .where(
                Habilitation.subject == subject,
                Habilitation.demarche.in_(demarches),
                active_clause(now()),
            )
            .distinct()
            .order_by(Etablissement.name)
        ).all()
        return [(o, e) for o, e in rows]

    def roles_of(self, subject: str, siret: str, demarche: Demarche) -> set[str]:
        return self.habilitations.roles_held(subject, demarche, siret, managing=True)

    def require_member(self, actor: Actor, siret: str) -> tuple[Organisation, Demarche, set[str]]:
        """The organisation, for the operator or a person holding a role in it; to anyone
        else it is answered like one that does not exist (404), so SIRETs cannot be probed."""
        organisation, demarche = self.organisation(siret)
        roles = self.roles_of(actor.subject, organisation.siret, demarche)
        if not roles and not actor.operator:
            raise NotFoundError(
                f"Aucune organisation n'est ouverte pour le SIRET {organisation.siret}.",
                field="siret",
            )
        return organisation, demarche, roles

    def require_administrator(
        self, actor: Actor, siret: str
    ) -> tuple[Organisation, Demarche, set[str]]:
        """Like `require_member`, for someone who may grant at least one role there."""
        organisation, demarche, roles = self.require_member(actor, siret)
        if not any(
            demarche.may_grant(roles, r.id, operator=actor.operator) for r in demarche.roles
        ):
            raise ForbiddenError(
                "Seuls les administrateurs de l'organisation gèrent ses gestionnaires."
            )
        return organisation, demarche, roles

    def grantable_roles(self, actor: Actor, demarche: Demarche, roles: set[str]) -> list[str]:
        """Roles this person may give in the add form (never the first holder's)."""
        return [
            r.id
            for r in demarche.roles
            if r.id != demarche.first_holder_role
            and demarche.may_grant(roles, r.id, operator=actor.operator)
        ]

    # --- units --------------------------------------------------------------------------

    def units(self, siret: str) -> list[Unite]:
        return list(
            self.session.scalars(select(Unite).where(Unite.siret == siret).order_by(Unite.key))
        )

    def add_unit(self, actor: Actor, siret: str, name: str) -> Unite:
        organisation, demarche, _ = self.require_administrator(actor, siret)
        name = " ".join(name.split())
        if not name:
            raise InvalidInputError("Le nom de l'unité est obligatoire.", field="unite")
        if len(name) > 100:
            raise InvalidInputError(
                "Le nom de l'unité tient en 100 caractères au plus.", field="unite"
            )
        key = folded(name, single_spaces=True)
        exists = self.session.scalar(
            select(Unite.id).where(Unite.siret == organisation.siret, Unite.key == key)
        )
        if exists is not None:
            raise ConflictError(f"L'unité « {name} » existe déjà.", field="unite")
        unite = Unite(siret=organisation.siret, name=name, key=key)
        self.session.add(unite)
        try:
            self.session.flush()
        except IntegrityError as exc:  # the same unit added at the same moment
            raise ConflictError(f"L'unité « {name} » existe déjà.", field="unite") from exc
        record(
            self.session,
            actor,
            "unite-ajoutee",
            siret=organisation.siret,
            demarche=demarche.id,
            unite=name,
        )
        return unite

    def _unit(self, siret: str, unite_id: int | None) -> Unite | None:
        if unite_id is None:
            return None
        unite = self.session.get(Unite, unite_id)
        if unite is None or unite.siret != siret:
            raise InvalidInputError("Cette unité n'existe pas dans l'organisation.", field="unite")
        return unite

    # --- gestionnaires ------------------------------------------------------------------

    def appoint_principal(self, actor: Actor, siret: str, details: Details) -> Gestionnaire:
        """The operator appoints the organisation's first holder (main administrator)."""
        organisation, demarche = self.organisation(siret)
        role = demarche.first_holder_role
        self.habilitations.require_manager(actor, demarche, organisation.siret, role)
        if self.habilitations.has_first_holder(demarche, organisation.siret):
            raise ConflictError(
                f"L'organisation {organisation.siret} a déjà son "
                f"{self._label(demarche, role).lower()} : confiez ce rôle à un autre "
                "gestionnaire (transfert) plutôt que d'en désigner un second."
            )
        return self._create(actor, organisation, demarche, role, details)

    def transfer_principal(self, actor: Actor, siret: str, subject: str) -> Gestionnaire:
        """Another gestionnaire becomes the first holder (main administrator); the previous
        one takes that person's former role. Allowed to whoever may grant the first holder's
        role (the operator, by the catalog)."""
        organisation, demarche = self.organisation(siret)
        principal_role = demarche.first_holder_role
        self.habilitations.require_manager(actor, demarche, organisation.siret, principal_role)
        incoming = self.gestionnaire(organisation.siret, subject)
        if incoming.role == principal_role:
            return incoming
        if not incoming.active:
            raise ConflictError("Ce gestionnaire est désactivé : réactivez-le d'abord.")
        outgoing = self.session.scalar(
            select(Gestionnaire).where(
                Gestionnaire.siret == organisation.siret,
                Gestionnaire.role == principal_role,
                Gestionnaire.active.is_(True),
            )
        )
        former_role = incoming.role
        for person, role in ((incoming, principal_role), (outgoing, former_role)):
            if person is None:
                continue
            current = self._current(person)
            if current is not None:
                self.habilitations.remove_checked(actor, demarche, current)
            self.session.flush()
            self.habilitations.grant_checked(actor, person.subject, demarche, role, person.siret)
            person.role = role
        self.session.flush()
        record(
            self.session,
            actor,
            "administrateur-principal-change",
            target=subject,
            siret=organisation.siret,
            demarche=demarche.id,
            precedent=outgoing.subject if outgoing else None,
        )
        return incoming

    def add(self, actor: Actor, siret: str, details: Details, role: str) -> Gestionnaire:
        """« Ajouter un gestionnaire »: an account, its professional details and its role."""
        organisation, demarche, _ = self.require_administrator(actor, siret)
        role = known_role(demarche, role)
        if role == demarche.first_holder_role:
            raise ForbiddenError(
                f"Le rôle « {self._label(demarche, role)} » ne s'ajoute pas ici : l'opérateur "
                "le désigne ou le transfère.",
                field="role",
            )
        return self._create(actor, organisation, demarche, role, details)

    def _create(
        self,
        actor: Actor,
        organisation: Organisation,
        demarche: Demarche,
        role: str,
        details: Details,
    ) -> Gestionnaire:
        siret = organisation.siret
        self.habilitations.require_manager(actor, demarche, siret, role)
        details = checked_details(details)
        unite = self._unit(siret, details.unite_id)
        taken = ConflictError(
            f"L'adresse électronique {details.email} est déjà utilisée par un compte.",
            field="email",
        )
        if self.session.scalar(select(Person.subject).where(Person.email == details.email)):
            raise taken
        password = temporary_password()
        with keycloak_step():
            if self.directory.email_taken(details.email):
                raise taken
            user_id, login_id = self._new_account(details, siret, unite, password)
        on_rollback(self.session, lambda: self.directory.delete_account(user_id))
        self.session.add(
            Person(
                subject=user_id,
                email=details.email,
                first_name=details.first_name,
                last_name=details.last_name,
                civility=details.civility,
                phone=details.landline or details.mobile,
            )
        )
        self.session.flush()  # the person before the rows that point at it
        gestionnaire = Gestionnaire(
            siret=siret,
            subject=user_id,
            demarche=demarche.id,
            login_id=login_id,
            civility=details.civility,
            landline=details.landline,
            mobile=details.mobile,
            unite_id=unite.id if unite else None,
            level=details.level,
            role=role,
            created_by=actor.subject,
        )
        self.session.add(gestionnaire)
        try:
            self.session.flush()
        except IntegrityError as exc:
            raise taken from exc
        self.habilitations.grant_checked(actor, user_id, demarche, role, siret)
        record(
            self.session,
            actor,
            "gestionnaire-ajoute",
            target=user_id,
            siret=siret,
            demarche=demarche.id,
            role=role,
            identifiant=login_id,
            unite=unite.name if unite else None,
        )
        # Who hands over the login id: the operator for a main administrator, else the
        # organisation's administrator.
        by = LOGIN_ID_FROM_OPERATOR if actor.operator else LOGIN_ID_FROM_ADMINISTRATOR
        self._send_password(details.email, password, created=True, login_id_from=by)
        return gestionnaire

    def _new_account(
        self, details: Details, siret: str, unite: Unite | None, password: str
    ) -> tuple[str, str]:
        """Create the Keycloak account under a fresh login id (a taken one is drawn again)."""
        for _ in range(5):
            login_id = new_login_id()
            person = NewPerson(
                username=login_id,
                email=details.email,
                first_name=details.first_name,
                last_name=details.last_name,
                civilite=details.civility,
                # The realm asks every person for a main phone: the landline, else the mobile.
                telephone=details.landline or details.mobile,
                siret=siret,
            )
            try:
                user_id = self.directory.create_account(
                    person, password, self._attributes(login_id, details, unite)
                )
            except KeycloakRejectedError as exc:
                if exc.status == 409 and "email" in str(exc).lower():
                    raise ConflictError(
                        f"L'adresse électronique {details.email} est déjà utilisée par un compte.",
                        field="email",
                    ) from exc
                if exc.status == 409:
                    continue
                log.warning("compte-refuse", extra={"raison": str(exc)})
                raise InvalidInputError(
                    "Le service d'identité a refusé ce compte : vérifiez l'adresse électronique, "
                    "les noms et les téléphones.",
                    field="email",
                ) from exc
            return user_id, login_id
        raise ConflictError("Aucun identifiant libre n'a été trouvé : réessayez.")

    @staticmethod
    def _attributes(login_id: str, details: Details, unite: Unite | None) -> dict[str, list[str]]:
        return {
            LOGIN_ATTRIBUTE: [login_id],
            "telephoneMobile": [details.mobile] if details.mobile else [],
            UNIT_ATTRIBUTE: [unite.name] if unite else [],
            LEVEL_ATTRIBUTE: [details.level] if details.level else [],
        }

    def _send_password(
        self,
        to: str,
        password: str,
        *,
        created: bool,
        login_id_from: str,
    ) -> None:
        """The temporary password, e-mailed once the account's unit of work commits."""
        login_id = (
            f"Votre identifiant vous est communiqué par {login_id_from}"
            if created
            else f"Votre identifiant ne change pas : c'est celui que vous a communiqué {login_id_from}"
        )
        opening = (
            "Un compte a été créé pour vous dans l'espace employeur."
            if created
            else "Le mot de passe de votre compte de l'espace employeur a été renouvelé."
        )
        notify(
            self.session,
            Email(
                to=(to,),
                subject="Votre mot de passe temporaire — espace employeur",
                text=(
                    f"Bonjour,\n\n{opening}\n\nMot de passe temporaire : {password}\n\n"
                    f"{login_id}. À la connexion, "
                    "vous choisirez un mot de passe personnel, puis "
                    f"accepterez les conditions générales d'utilisation :\n{self.portal_url}/\n\n"
                    "Si vous n'êtes pas à l'origine de cette demande, prévenez votre "
                    "administrateur.\n"
                ),
            ),
        )

    def gestionnaire(self, siret: str, subject: str) -> Gestionnaire:
        found = self.session.scalar(
            select(Gestionnaire).where(Gestionnaire.siret == siret, Gestionnaire.subject == subject)
        )
        if found is None:
            raise NotFoundError("Ce gestionnaire n'existe pas dans l'organisation.")
        return found

    def _target(
        self, actor: Actor, siret: str, subject: str
    ) -> tuple[Organisation, Demarche, set[str], Gestionnaire]:
        """The gestionnaire, for someone allowed to manage its current role (else 403)."""
        organisation, demarche, roles = self.require_member(actor, siret)
        target = self.gestionnaire(organisation.siret, subject)
        if not demarche.may_grant(roles, target.role, operator=actor.operator):
            raise ForbiddenError(
                f"Vous n'avez pas le droit de gérer un « {self._label(demarche, target.role)} »."
            )
        return organisation, demarche, roles, target

    @staticmethod
    def _label(demarche: Demarche, role: str) -> str:
        found = demarche.role(role)
        return found.label if found else role

    def _current(self, target: Gestionnaire) -> Habilitation | None:
        return self.session.scalar(
            select(Habilitation).where(
                Habilitation.subject == target.subject,
                Habilitation.demarche == target.demarche,
                Habilitation.siret == target.siret,
                Habilitation.role == target.role,
                active_clause(now()),
            )
        )

    def modify(
        self, actor: Actor, siret: str, subject: str, details: Details, role: str
    ) -> Gestionnaire:
        """Names, phones, unit, level and role (the e-mail is the person's to change)."""
        organisation, demarche, _, target = self._target(actor, siret, subject)
        person = self.session.get(Person, subject)
        assert person is not None  # noqa: S101 - a gestionnaire always has its person row
        details = checked_details(
            Details(
                details.civility,
                details.last_name,
                details.first_name,
                person.email,
                details.landline,
                details.mobile,
                details.unite_id,
                details.level,
            )
        )
        unite = self._unit(organisation.siret, details.unite_id)
        role = known_role(demarche, role)
        if role != target.role:
            current = self._current(target)
            if current is None:
                raise ConflictError("Réactivez ce gestionnaire avant de changer son rôle.")
            self.habilitations.change_role_checked(actor, demarche, current.id, role)
            target.role = role
        target.civility, target.landline, target.mobile = (
            details.civility,
            details.landline,
            details.mobile,
        )
        target.unite_id, target.level = (unite.id if unite else None), details.level
        person.first_name, person.last_name = details.first_name, details.last_name
        person.civility, person.phone = details.civility, details.landline or details.mobile
        person.updated_at = now()
        self.session.flush()
        record(
            self.session,
            actor,
            "gestionnaire-modifie",
            target=subject,
            siret=organisation.siret,
            demarche=demarche.id,
            role=role,
            unite=unite.name if unite else None,
        )
        with keycloak_step():  # last: a refusal here rolls the store back with it
            self.directory.update_account(
                subject,
                details.first_name,
                details.last_name,
                {
                    "civilite": [details.civility],
                    "telephone": [details.landline or details.mobile or ""],
                    **self._attributes(target.login_id, details, unite),
                },
            )
        return target

    def set_active(self, actor: Actor, siret: str, subject: str, active: bool) -> Gestionnaire:
        """Deactivate (its right ends, its account closes) or reactivate (both come back)."""
        organisation, demarche, _, target = self._target(actor, siret, subject)
        if target.active == active:
            return target
        if active:
            first_holder = target.role == demarche.first_holder_role
            if first_holder and self.habilitations.has_first_holder(demarche, target.siret):
                raise ConflictError(
                    f"L'organisation a un autre {self._label(demarche, target.role).lower()} "
                    "actif : il n'y en a qu'un."
                )
            self.habilitations.grant_checked(actor, subject, demarche, target.role, target.siret)
        else:
            current = self._current(target)
            if current is not None:
                self.habilitations.remove_checked(actor, demarche, current)
        target.active = active
        self.session.flush()
        record(
            self.session,
            actor,
            "gestionnaire-reactive" if active else "gestionnaire-desactive",
            target=subject,
            siret=organisation.siret,
            demarche=demarche.id,
            role=target.role,
        )
        with keycloak_step():
            self.directory.set_enabled(subject, active)
        return target

    def renew_password(self, actor: Actor, siret: str, subject: str) -> None:
        """A new temporary password, e-mailed; the person's sessions end (catalog rules)."""
        organisation, demarche, roles = self.require_member(actor, siret)
        target = self.gestionnaire(organisation.siret, subject)
        held = self.roles_of(subject, organisation.siret, demarche) or {target.role}
        if not demarche.may_renew_password(roles, held, operator=actor.operator):
            raise ForbiddenError(
                "Vous n'avez pas le droit de renouveler le mot de passe d'un « "
                f"{self._label(demarche, target.role)} »."
            )
        if not target.active:
            raise ConflictError("Ce compte est désactivé : réactivez-le d'abord.")
        person = self.session.get(Person, subject)
        assert person is not None  # noqa: S101
        password = temporary_password()
        record(
            self.session,
            actor,
            "mot-de-passe-renouvele",
            target=subject,
            siret=organisation.siret,
            demarche=demarche.id,
            role=target.role,
        )
        self.session.flush()
        with keycloak_step():
            self.directory.renew_password(subject, password)
        # The login id does not change: it came from the operator for the main administrator
        # (the only one who renews that password), else from the organisation's administrator.
        by = (
            LOGIN_ID_FROM_OPERATOR
            if target.role == demarche.first_holder_role
            else LOGIN_ID_FROM_ADMINISTRATOR
        )
        self._send_password(person.email, password, created=False, login_id_from=by)

    def row(self, gestionnaire: Gestionnaire) -> Row:
        person = self.session.get(Person, gestionnaire.subject)
        assert person is not None  # noqa: S101 - a gestionnaire always has its person row
        unite = self.session.get(Unite, gestionnaire.unite_id) if gestionnaire.unite_id else None
        return Row(gestionnaire, person, unite.name if unite else None)

    def page(
        self,
        siret: str,
        *,
        search: str = "",
        unite_id: int | None = None,
        role: str = "",
        page: int = 1,
    ) -> GestionnairesPage:
        """The list: search in names, e-mail and login id; filters by unit and role."""
        query = (
            select(Gestionnaire, Person, Unite.name)
            .join(Person, Person.subject == Gestionnaire.subject)
            .outerjoin(Unite, Unite.id == Gestionnaire.unite_id)
            .where(Gestionnaire.siret == siret)
        )
        for word in search.split()[:5]:
            pattern = f"%{word.lower()}%"
            query = query.where(
                or_(
                    func.lower(Person.last_name).like(pattern),
                    func.lower(Person.first_name).like(pattern),
                    func.lower(Person.email).like(pattern),
                    func.lower(Gestionnaire.login_id).like(pattern),
                    func.lower(Unite.name).like(pattern),
                )
            )
        if unite_id is not None:
            query = query.where(Gestionnaire.unite_id == unite_id)
        if role:
            query = query.where(Gestionnaire.role == role)
        total = self.session.scalar(select(func.count()).select_from(query.subquery())) or 0
        pages = max(1, -(-total // PAGE_SIZE))
        page = min(max(1, page), pages)
        rows = self.session.execute(
            query.order_by(Person.last_name, Person.first_name, Gestionnaire.id)
            .offset((page - 1) * PAGE_SIZE)
            .limit(PAGE_SIZE)
        ).all()
        return GestionnairesPage(
            [Row(g, p, u) for g, p, u in rows], total=total, page=page, pages=pages
        )
