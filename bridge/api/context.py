"""What the web layer shares: objects created once per app, and one unit of work per action.

Routes run their services inside `ctx.work(actor)`: one transaction that commits when the
block succeeds (e-mails are sent only after that), never half a change.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session, sessionmaker

from bridge.api.tokens import Principal, TokenVerifier
from bridge.audit.service import Actor
from bridge.catalog import Catalog
from bridge.db import unit_of_work
from bridge.delegation.service import DelegationService
from bridge.employeur.service import EmployeurService
from bridge.etablissement.service import EtablissementService
from bridge.habilitation.service import HabilitationService
from bridge.notification import Email, Mailer
from bridge.person.models import Person
from bridge.person.service import remember_person
from bridge.settings import Settings
from bridge.sync.keycloak import KeycloakDirectory


@dataclass(frozen=True)
class Services:
    session: Session
    etablissements: EtablissementService
    habilitations: HabilitationService
    delegations: DelegationService
    employeur: EmployeurService


REMEMBERED_MAX = 10_000


@dataclass
class AppContext:
    settings: Settings
    catalog: Catalog
    sessions: sessionmaker[Session]
    mailer: Mailer
    verifier: TokenVerifier
    # (subject, e-mail, given name, family name) already written to the store by this process.
    remembered: set[tuple[str, str, str, str]] = field(default_factory=set)
    _directory: KeycloakDirectory | None = None

    def directory(self) -> KeycloakDirectory:
        """The bridge's admin-API client (its service account), made on first use."""
        if self._directory is None:
            from bridge.sync.jobs import bridge_directory

            self._directory = bridge_directory(self.settings)
        return self._directory

    @contextmanager
    def work(self) -> Iterator[Services]:
        with unit_of_work(self.sessions) as session:
            etablissements = EtablissementService(
                session,
                self.catalog,
                self.settings.code_pepper.get_secret_value(),
                timedelta(days=self.settings.code_validity_days),
            )
            habilitations = HabilitationService(session, self.catalog, etablissements)
            delegations = DelegationService(
                session,
                self.catalog,
                habilitations,
                timedelta(days=self.settings.invitation_validity_days),
            )
            employeur = EmployeurService(
                session, self.catalog, habilitations, self.directory, self.settings.public_url
            )
            yield Services(session, etablissements, habilitations, delegations, employeur)

    def send(self, *emails: Email) -> bool:
        """Send every e-mail (one failure does not stop the others); True if all left."""
        return all([self.mailer.send(email) for email in emails])


def app_context(request: Request) -> AppContext:
    context: AppContext = request.app.state.context
    return context


ContextDep = Annotated[AppContext, Depends(app_context)]


def client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


def bearer_token(
    request: Request, missing: str = "Un jeton d'accès (Authorization: Bearer) est requis."
) -> str:
    """The token of `Authorization: Bearer …` (401 problem+json saying `missing` otherwise)."""
    from bridge.api.tokens import InvalidTokenError

    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise InvalidTokenError(missing)
    return token.strip()


def bearer_principal(request: Request, context: ContextDep) -> Principal:
    """The verified caller of an API route (401 problem+json otherwise)."""
    principal = context.verifier.verify(bearer_token(request))
    _remember(context, principal)
    return principal


PrincipalDep = Annotated[Principal, Depends(bearer_principal)]


def _remember(context: AppContext, principal: Principal) -> None:
    """Keep the person's copy current from the token, writing only what changed, never an
    empty name, and the e-mail only once Keycloak has verified it.

    The same details seen moments ago need no visit to the store (the hot path): a bounded
    memory of the last ones remembered is kept per process.
    """
    claims = principal.claims
    given = str(claims.get("given_name") or "")
    family = str(claims.get("family_name") or "")
    email = principal.email.strip().lower() if claims.get("email_verified") else ""
    seen = (principal.subject, email, given, family)
    if seen in context.remembered:
        return
    _write_person(context, principal, email, given, family)
    if len(context.remembered) >= REMEMBERED_MAX:
        context.remembered.clear()
    context.remembered.add(seen)  # only once the store has it


def _write_person(
    context: AppContext, principal: Principal, email: str, given: str, family: str
) -> None:
    with context.work() as work:
        known = work.session.get(Person, principal.subject)
        unchanged = known is not None and (
            (not email or known.email == email)
            and (not given or known.first_name == given)
            and (not family or known.last_name == family)
        )
        if unchanged:
            return
        remember_person(
            work.session,
            principal.subject,
            email or (known.email if known else principal.email),
            given or (known.first_name if known else ""),
            family or (known.last_name if known else ""),
        )


def api_actor(request: Request, principal: PrincipalDep) -> Actor:
    return Actor(principal.subject, principal.display_name, client_ip(request), principal.operator)


ActorDep = Annotated[Actor, Depends(api_actor)]
