"""A new activation link for who registered and let the first one expire.

Registration sets no password: until the e-mailed link is opened, the person cannot log in,
and registering again says the address is taken. Keycloak sends the new link (its own e-mail
and token); the bridge decides whether to ask for one: only for an open account that never
activated, at most once a minute and five times a day per account (each one audited
« lien-activation-renvoye »). The page says the same sentence whatever the address, so it
tells nobody who has an account.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from bridge.audit.models import AuditEvent
from bridge.audit.service import Actor, record
from bridge.db import now
from bridge.errors import InvalidInputError
from bridge.keycloak_admin import KeycloakDirectory

RESENT = "lien-activation-renvoye"
VISITOR = "visiteur"  # the audit's actor of a request made without logging in
MIN_INTERVAL = timedelta(minutes=1)
DAILY_MAXIMUM = 5


@dataclass(frozen=True)
class ActivationPolicy:
    """Which client the activated person is sent on to, and how long a new link works."""

    client_id: str
    lifespan: timedelta

    @property
    def lifespan_text(self) -> str:
        """« 24 heures », « 2 jours », « 30 minutes »: how the page words the link's life."""
        seconds = int(self.lifespan.total_seconds())
        if seconds >= 2 * 86400 and seconds % 86400 == 0:
            count, unit = seconds // 86400, "jour"
        elif seconds % 3600 == 0:
            count, unit = seconds // 3600, "heure"
        elif seconds % 60 == 0:
            count, unit = seconds // 60, "minute"
        else:
            count, unit = seconds, "seconde"
        return f"{count} {unit}{'s' if count > 1 else ''}"


class ActivationLinks:
    def __init__(
        self,
        session: Session,
        directory: Callable[[], KeycloakDirectory],
        policy: ActivationPolicy,
    ) -> None:
        self.session = session
        self.directory = directory
        self.policy = policy

    def send_again(self, email: str, actor: Actor) -> bool:
        """Ask Keycloak for a new link when the address awaits activation and the limits
        allow; True when one left (for the logs and tests: never shown to the visitor).

        The account is locked for the rest of the unit of work before its limits are read, so
        that two requests at once cannot both pass them; the audit row is written before the
        e-mail is asked for, and a refusal from Keycloak rolls both back."""
        address = valid_address(email)
        directory = self.directory()
        user_id = directory.awaiting_activation(address)
        if user_id is None:
            return False
        self._lock(user_id)
        if not self._allowed(user_id):
            return False
        record(self.session, actor, RESENT, target=user_id)
        self.session.flush()
        directory.send_activation_link(
            user_id, self.policy.client_id, int(self.policy.lifespan.total_seconds())
        )
        return True

    def _lock(self, user_id: str) -> None:
        """PostgreSQL: a transaction-scoped advisory lock on the account. SQLite locks the
        whole database for writing: a first write (that changes nothing) takes that lock
        before anything is read, so the second request reads once the first committed."""
        if self.session.get_bind().dialect.name == "postgresql":
            key = int.from_bytes(hashlib.sha256(user_id.encode()).digest()[:8], "big", signed=True)
            self.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})
        else:
            self.session.execute(text("UPDATE person SET subject = subject WHERE 0 = 1"))

    def _allowed(self, user_id: str) -> bool:
        moment = now()
        count, last = self.session.execute(
            select(func.count(), func.max(AuditEvent.at)).where(
                AuditEvent.action == RESENT,
                AuditEvent.target == user_id,
                AuditEvent.at > moment - timedelta(days=1),
            )
        ).one()
        return count < DAILY_MAXIMUM and (last is None or last <= moment - MIN_INTERVAL)


def valid_address(email: str) -> str:
    """The address as stored (trimmed, lowercase), or a French refusal."""
    address = email.strip().lower()
    if (
        address.count("@") != 1
        or address.startswith("@")
        or address.endswith("@")
        or len(address) > 254
        or any(c.isspace() for c in address)
    ):
        raise InvalidInputError("Saisissez une adresse électronique valide.", field="email")
    return address
