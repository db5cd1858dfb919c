"""Keycloak sessions ended by back-channel logout, shared by every bridge replica.

Keycloak sends a back-channel logout to one address; behind a load balancer one replica
receives it. The ended session id is written to the store so that every replica refuses it:
pages forget their login, the API refuses the session's tokens. Kept until the session's
tokens have expired, then pruned.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta

from sqlalchemy import String, bindparam, delete, select
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from bridge.db import AUTOCOMMIT, Base, UtcDateTime, now, unit_of_work


class EndedSession(Base):
    """A Keycloak session id (`sid`) ended by Keycloak, refused until `until`."""

    __tablename__ = "session_terminee"

    sid: Mapped[str] = mapped_column(String(100), primary_key=True)
    until: Mapped[datetime] = mapped_column(UtcDateTime)


_UNTIL = select(EndedSession.until).where(EndedSession.sid == bindparam("sid"))
# The same, as a column of another statement (the API's caller check).
UNTIL_OF_SID = _UNTIL.scalar_subquery()


class EndedSessions:
    """The ended sessions: in the store when there is one, remembered in memory once seen.

    Without a store (the example démarche site), memory only: one process, one view.
    """

    def __init__(
        self, store: sessionmaker[Session] | None = None, ttl_seconds: float = 36_000
    ) -> None:
        self._store = store
        self._ttl = ttl_seconds
        self._seen: dict[str, float] = {}  # sid → monotonic deadline
        self._lock = threading.Lock()

    def end(self, sid: str) -> None:
        self._remember(sid, self._ttl)
        if self._store is None:
            return
        with unit_of_work(self._store) as session:
            session.execute(delete(EndedSession).where(EndedSession.until < now()))
            session.merge(EndedSession(sid=sid, until=now() + timedelta(seconds=self._ttl)))

    def is_ended(self, sid: str | None) -> bool:
        if sid is None:
            return False
        if self.seen_ended(sid):
            return True
        if self._store is None:
            return False
        with self._store() as session:  # pages and logins: one column, no transaction
            reads = session.connection(execution_options={"isolation_level": AUTOCOMMIT})
            until = reads.execute(_UNTIL, {"sid": sid}).scalar()
        return self.ended_until(sid, until)

    def seen_ended(self, sid: str) -> bool:
        """Ended, as this process already knows (no visit to the store)."""
        with self._lock:
            deadline = self._seen.get(sid)
        return deadline is not None and deadline > time.monotonic()

    def ended_until(self, sid: str, until: datetime | None) -> bool:
        """Judge the store's `until` for `sid`, read here or by a caller's own statement
        (the API reads it with the account's state, one round trip), and remember it."""
        remaining = (until - now()).total_seconds() if until is not None else 0.0
        if remaining <= 0:
            return False
        self._remember(sid, remaining)
        return True

    def _remember(self, sid: str, seconds: float) -> None:
        current = time.monotonic()
        with self._lock:
            self._seen = {s: t for s, t in self._seen.items() if t > current}
            self._seen[sid] = current + seconds
