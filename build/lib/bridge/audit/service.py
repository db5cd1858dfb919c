"""Record audit events; there is no update or delete here, by design."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from bridge.audit.models import AuditEvent

SYSTEM = "systeme"


@dataclass(frozen=True)
class Actor:
    """Who acts: a person (Keycloak subject), the operator, or the system; and from where."""

    subject: str
    display_name: str = ""
    client_ip: str | None = None
    operator: bool = False


def record(
    session: Session,
    actor: Actor,
    action: str,
    *,
    target: str | None = None,
    siret: str | None = None,
    demarche: str | None = None,
    **details: Any,
) -> AuditEvent:
    """Add an audit event to the caller's transaction (committed with the change)."""
    event = AuditEvent(
        actor=actor.subject,
        action=action,
        target=target,
        siret=siret,
        demarche=demarche,
        client_ip=actor.client_ip,
        details=details,
    )
    session.add(event)
    return event
