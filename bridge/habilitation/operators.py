"""Who the bridge believes is an operator: a person designated in the store, not a role alone.

Keycloak lets any administrator holding `manage-users` (the bridge's own service account
among them) map any realm role that is not an admin role, `operateur` included: had the realm
role sufficed, one of them could have made themselves operator and issued activation codes.
So the operator's powers need both: the realm role in the token (as before) and a designation
here, written only by `python -m bridge operateur designer` (a deploy-time credential: the
command runs where the store is, never from the web).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, Session, mapped_column

from bridge.audit.service import Actor, record
from bridge.db import Base, UtcDateTime, now


class DesignatedOperator(Base):
    __tablename__ = "operateur_designe"

    subject: Mapped[str] = mapped_column(String(64), primary_key=True)
    designated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=now)
    designated_by: Mapped[str] = mapped_column(String(64))


def is_designated(session: Session, subject: str) -> bool:
    return session.get(DesignatedOperator, subject) is not None


def designate(session: Session, actor: Actor, subject: str) -> bool:
    """Make `subject` an operator; False when they were already."""
    if is_designated(session, subject):
        return False
    session.add(DesignatedOperator(subject=subject, designated_by=actor.subject))
    record(session, actor, "operateur-designe", target=subject)
    return True


def withdraw(session: Session, actor: Actor, subject: str) -> bool:
    """End `subject`'s operator powers; False when they had none."""
    found = session.get(DesignatedOperator, subject)
    if found is None:
        return False
    session.delete(found)
    record(session, actor, "operateur-retire", target=subject)
    return True
