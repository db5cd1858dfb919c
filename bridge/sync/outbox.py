"""Write the outbox row of every habilitation change, in the change's own transaction.

ORM changes (a new habilitation, a revoked or modified one) are caught once, here, by a
`before_flush` hook on every session, so no service can forget; the few bulk `UPDATE`
statements on habilitations return the rows they touched and call `enqueue_rows`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

from bridge.habilitation.models import Habilitation
from bridge.sync.models import OutboxEntry


def enqueue(session: Session, subject: str, change: str) -> None:
    """Ask the workers to project `subject`'s current rights onto Keycloak."""
    session.add(OutboxEntry(subject=subject, change=change[:200]))


def enqueue_rows(session: Session, verb: str, rows: Iterable[Any]) -> None:
    """Outbox rows for habilitations changed by a bulk statement (`RETURNING` rows)."""
    for row in rows:
        enqueue(session, row.subject, f"{verb} {row.demarche}:{row.role}:{row.siret}")


def _describe(habilitation: Habilitation) -> str:
    return f"{habilitation.demarche}:{habilitation.role}:{habilitation.siret}"


@event.listens_for(Session, "before_flush")
def _habilitation_changes(session: Session, _context: Any, _instances: Any) -> None:
    for item in session.new:
        if isinstance(item, Habilitation):
            enqueue(session, item.subject, f"accordee {_describe(item)}")
    for item in session.dirty:
        if isinstance(item, Habilitation) and session.is_modified(item):
            verb = "revoquee" if item.revoked_at is not None else "modifiee"
            enqueue(session, item.subject, f"{verb} {_describe(item)}")
    for item in session.deleted:
        if isinstance(item, Habilitation):
            enqueue(session, item.subject, f"supprimee {_describe(item)}")
