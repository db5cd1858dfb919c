"""Put the store in a known state through the services (one helper writes a right straight
into the store, for the cases no service may make)."""

from __future__ import annotations

from datetime import datetime

from bridge.audit.service import Actor
from bridge.bootstrap import AppContext
from bridge.etablissement.models import CodeAttempt, Etablissement
from bridge.habilitation.models import GrantedHow, Habilitation
from bridge.person.service import remember_person
from tests.support.sirets import new_siret

OPERATOR = Actor("operateur-tests", "Opérateur des tests", operator=True)


def etablissement_with_code(
    context: AppContext, demarche: str = "mon-activite-formation", name: str = "EKYSS"
) -> tuple[str, str]:
    """A new establishment and the plaintext of its activation code (as the letter carries it)."""
    siret = new_siret()
    with context.work() as work:
        work.etablissements.ensure(siret, name)
        code = work.etablissements.issue_code(OPERATOR, siret, demarche)
    return siret, code


def siret_delegated_to(
    context: AppContext,
    gestionnaire: Actor,
    tiers_email: str,
    tiers_siret: str,
    portal_url: str,
    name: str = "EKYSS",
    valid_until: datetime | None = None,
) -> tuple[str, int]:
    """A new SIRET whose gestionnaire (by its code) invites the tiers as déclarant of
    Mon Activité Formation (until `valid_until`); the SIRET and the invitation's id (not yet
    accepted)."""
    siret, code = etablissement_with_code(context, name=name)
    with context.work(notify=False) as work:  # the tests accept it without its e-mail
        work.habilitations.activate(gestionnaire, "mon-activite-formation", siret, code)
        draft = work.delegations.prepare(
            gestionnaire,
            "mon-activite-formation",
            tiers_siret=tiers_siret,
            tiers_email=tiers_email,
            role="declarant",
            delegator_siret=siret,
            valid_until=valid_until,
        )
        delegation = work.delegations.invite(gestionnaire, draft, portal_url)
        return siret, delegation.id


def right_written_in_store(
    context: AppContext, subject: str, role: str = "declarant", *, name: str = "FANTÔME"
) -> str:
    """A right written straight into the store for `subject` on a new SIRET (no service: a
    person Keycloak may not know, a role the catalog may not have); the SIRET."""
    siret = new_siret()
    with context.work() as work:
        work.session.add(Etablissement(siret=siret, siren=siret[:9], name=name))
        remember_person(work.session, subject, f"{subject}@exemple.fr", "Personne", "Absente")
        work.session.flush()
        work.session.add(
            Habilitation(
                subject=subject,
                demarche="mon-activite-formation",
                role=role,
                siret=siret,
                granted_how=GrantedHow.OPERATOR,
            )
        )
    return siret


def code_locked_person(context: AppContext, siret: str, first: str, last: str, prefix: str) -> str:
    """A person whose wrong activation codes locked them out of `siret` (the store only: 5
    failed tries); their subject."""
    subject = f"{prefix}-{new_siret()}"
    with context.work() as work:
        remember_person(work.session, subject, f"{subject}@exemple.fr", first, last)
        work.session.add_all(
            CodeAttempt(siret=siret, subject=subject, success=False) for _ in range(5)
        )
    return subject
