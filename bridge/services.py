"""The services of one unit of work, built together on one session.

Every entry point reaches the business rules through `Services` (the web routes, the CLI,
the jobs, the console round-trip): one place says how the services are made and which
settings each one reads.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy.orm import Session

from bridge.accounts import AccountService
from bridge.accounts.activation import ActivationLinks, ActivationPolicy
from bridge.backoffice.service import BackofficeService
from bridge.bpf.service import BpfService
from bridge.catalog import Catalog
from bridge.delegation.service import DelegationService
from bridge.employeur.service import EmployeurService
from bridge.etablissement.service import EtablissementService
from bridge.habilitation.service import HabilitationService
from bridge.keycloak_admin import KeycloakDirectory
from bridge.person.service import PersonService
from bridge.personal_data import PersonalData
from bridge.settings import Settings
from bridge.verification.checks import VerificationService


@dataclass
class Delivery:
    """Whether the e-mails of a unit of work left (known once it has committed)."""

    sent: bool = True


@dataclass(frozen=True)
class Services:
    session: Session
    etablissements: EtablissementService
    habilitations: HabilitationService
    delegations: DelegationService
    employeur: EmployeurService
    bpf: BpfService
    persons: PersonService
    verifications: VerificationService
    accounts: AccountService
    activation_links: ActivationLinks
    personal_data: PersonalData
    backoffice: BackofficeService
    delivery: Delivery = field(default_factory=Delivery)


def activation_policy(settings: Settings) -> ActivationPolicy:
    """Where an activated person goes on to (the portal) and how long a new link works."""
    return ActivationPolicy(settings.client_id, timedelta(seconds=settings.activation_link_seconds))


def open_services(
    session: Session,
    catalog: Catalog,
    settings: Settings,
    directory: Callable[[], KeycloakDirectory],
    delivery: Delivery | None = None,
) -> Services:
    """Every service on `session` (which the caller's unit of work commits)."""
    etablissements = EtablissementService(
        session,
        catalog,
        settings.code_pepper.get_secret_value(),
        timedelta(days=settings.code_validity_days),
    )
    habilitations = HabilitationService(session, catalog, etablissements, settings.public_url)
    delegations = DelegationService(
        session, catalog, habilitations, timedelta(days=settings.invitation_validity_days)
    )
    return Services(
        session=session,
        etablissements=etablissements,
        habilitations=habilitations,
        delegations=delegations,
        employeur=EmployeurService(session, catalog, habilitations, directory, settings.public_url),
        bpf=BpfService(session, catalog),
        persons=PersonService(session),
        verifications=VerificationService(session, catalog),
        accounts=AccountService(session, catalog, habilitations, delegations),
        activation_links=ActivationLinks(session, directory, activation_policy(settings)),
        personal_data=PersonalData(session, catalog),
        backoffice=BackofficeService(session, catalog, etablissements, directory),
        delivery=delivery or Delivery(),
    )
