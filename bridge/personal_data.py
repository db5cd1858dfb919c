"""What the bridge holds about one person, as they may download it (« Mes données
personnelles », RGPD's right of access and portability).

Keycloak's part (the account: names, address, phone, password) is shown on the page and kept
by Keycloak; this is the store's part: the local copy of the contact details, the
habilitations, the delegations received and given, the access requests, the employer space's
record, and the audit entries where the person acted or was acted upon. Field names are
French (the file is read by the person); each export is audited « donnees-exportees ».
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from bridge.audit.models import AuditEvent
from bridge.audit.service import Actor, record
from bridge.catalog import Catalog
from bridge.db import now
from bridge.delegation.models import Delegation
from bridge.employeur.models import Gestionnaire
from bridge.habilitation.models import AccessRequest, Habilitation
from bridge.notification import QueuedEmail
from bridge.person.models import Person

EXPORTED = "donnees-exportees"


def _when(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


class PersonalData:
    def __init__(self, session: Session, catalog: Catalog) -> None:
        self.session = session
        self.catalog = catalog

    def export(self, actor: Actor) -> dict[str, Any]:
        """Everything the store keeps about `actor` (never about anyone else), audited."""
        subject = actor.subject
        person = self.session.get(Person, subject)
        email = person.email if person is not None else ""
        data = {
            "genere_le": now().isoformat(),
            "sujet": subject,
            "personne": self._person(person),
            "habilitations": [
                self._habilitation(h)
                for h in self.session.scalars(
                    select(Habilitation)
                    .where(Habilitation.subject == subject)
                    .order_by(Habilitation.id)
                )
            ],
            "delegations_recues": [
                self._delegation(d)
                for d in self.session.scalars(
                    select(Delegation)
                    .where(
                        or_(
                            Delegation.accepted_by == subject,
                            and_(Delegation.tiers_email == email, Delegation.accepted_by.is_(None)),
                        )
                    )
                    .order_by(Delegation.id)
                )
            ],
            "delegations_transmises": [
                self._delegation(d)
                for d in self.session.scalars(
                    select(Delegation)
                    .where(Delegation.invited_by == subject)
                    .order_by(Delegation.id)
                )
            ],
            "demandes": [
                {
                    "demarche": self.catalog.title_of(r.demarche),
                    "siret": r.siret,
                    "role_souhaite": self._role(r.demarche, r.wished_role),
                    "statut": str(r.status),
                    "demandee_le": _when(r.created_at),
                    "decidee_le": _when(r.decided_at),
                    "motif": r.reason,
                }
                for r in self.session.scalars(
                    select(AccessRequest)
                    .where(AccessRequest.subject == subject)
                    .order_by(AccessRequest.id)
                )
            ],
            "espace_employeur": [
                {
                    "siret": g.siret,
                    "identifiant": g.login_id,
                    "civilite": g.civility,
                    "telephone_fixe": g.landline,
                    "telephone_mobile": g.mobile,
                    "niveau": g.level,
                    "role": self._role(g.demarche, g.role),
                    "actif": g.active,
                    "cree_le": _when(g.created_at),
                }
                for g in self.session.scalars(
                    select(Gestionnaire).where(Gestionnaire.subject == subject)
                )
            ],
            "courriels": [
                {
                    "objet": m.subject,
                    "cree_le": _when(m.created_at),
                    "envoye_le": _when(m.sent_at),
                    "abandonne_le": _when(m.failed_at),
                }
                for m in self.session.scalars(
                    select(QueuedEmail)
                    .where(QueuedEmail.recipient == email)
                    .order_by(QueuedEmail.id)
                )
            ],
            "journal": [
                {
                    "le": _when(e.at),
                    "action": e.action,
                    "par_vous": e.actor == subject,
                    "siret": e.siret,
                    "demarche": self.catalog.title_of(e.demarche) if e.demarche else None,
                    "adresse_ip": e.client_ip if e.actor == subject else None,
                }
                for e in self.session.scalars(
                    select(AuditEvent)
                    .where(or_(AuditEvent.actor == subject, AuditEvent.target == subject))
                    .order_by(AuditEvent.id)
                )
            ],
        }
        record(self.session, actor, EXPORTED, target=subject)
        return data

    def _person(self, person: Person | None) -> dict[str, Any] | None:
        if person is None:
            return None
        return {
            "civilite": person.civility,
            "nom": person.last_name,
            "prenom": person.first_name,
            "adresse_electronique": person.email,
            "telephone": person.phone,
            "mis_a_jour_le": _when(person.updated_at),
        }

    def _role(self, demarche: str, role: str | None) -> str | None:
        return self.catalog.role_label(demarche, role) if role else None

    def _habilitation(self, h: Habilitation) -> dict[str, Any]:
        return {
            "demarche": self.catalog.title_of(h.demarche),
            "role": self._role(h.demarche, h.role),
            "siret": h.siret,
            "obtenue_par": str(h.granted_how),
            "accordee_par": h.granted_by_name or None,
            "accordee_le": _when(h.granted_at),
            "jusqu_au": _when(h.valid_until),
            "pour_le_compte_de": h.on_behalf_of_siret,
            "revoquee_le": _when(h.revoked_at),
        }

    def _delegation(self, d: Delegation) -> dict[str, Any]:
        return {
            "demarche": self.catalog.title_of(d.demarche),
            "role": self._role(d.demarche, d.role),
            "siret_delegant": d.delegator_siret,
            "siret_tiers": d.tiers_siret,
            "adresse_invitee": d.tiers_email,
            "invitee_par": d.invited_by_name,
            "invitee_le": _when(d.created_at),
            "jusqu_au": _when(d.valid_until),
            "statut": str(d.status),
        }
