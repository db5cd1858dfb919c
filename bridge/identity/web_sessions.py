"""Browser sessions kept on the server: the cookie carries an opaque token, nothing else.

A signed cookie (Starlette's default) can be read by anyone holding it: the e-mail, phone,
SIRET and ID token were in plain base64. Here the session's content stays in the store,
under the SHA-256 of the cookie's token (the store alone opens no session), and every
replica reads the same sessions. Without a store (the example démarche site), the sessions
live in the process's memory.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import JSON, String, delete, update
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from bridge.db import Base, UtcDateTime, now, unit_of_work

PRUNE_EVERY = 100  # sessions created between two deletions of the expired ones
MEMORY_MAX = 100_000  # sessions a store-less site keeps at most (the oldest go first)
# A session nobody has logged into (only the OIDC state of a login under way) lives this long.
ANONYMOUS_LIFETIME = timedelta(minutes=15)


class WebSession(Base):
    """One browser's session: what the portal remembers between two pages."""

    __tablename__ = "session_web"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)


def new_token() -> str:
    return secrets.token_urlsafe(32)


def _key(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class WebSessions:
    """Load, save and forget sessions by their cookie token (in the store, else in memory)."""

    def __init__(self, store: sessionmaker[Session] | None, lifetime_seconds: float) -> None:
        self._store = store
        self.lifetime = timedelta(seconds=lifetime_seconds)
        self._memory: dict[str, tuple[dict[str, Any], datetime]] = {}
        self._lock = threading.Lock()
        self._created = 0

    def load(self, token: str) -> dict[str, Any] | None:
        if len(token) > 100:
            return None
        key, moment = _key(token), now()
        if self._store is None:
            with self._lock:
                found = self._memory.get(key)
            return dict(found[0]) if found and found[1] > moment else None
        with self._store() as session:
            row = session.get(WebSession, key)
            if row is None or row.expires_at <= moment:
                return None
            return dict(row.data)

    def save(self, token: str, data: dict[str, Any], *, new: bool, lifetime: timedelta) -> bool:
        """Write a session; a `new` one is created, a known one only updated: a request that
        loaded it before a logout cannot bring it back (False: it is gone)."""
        key, expires = _key(token), now() + lifetime
        if self._store is None:
            with self._lock:
                if not new and key not in self._memory:
                    return False
                if new and len(self._memory) >= MEMORY_MAX:
                    moment = now()
                    self._memory = {k: v for k, v in self._memory.items() if v[1] > moment}
                    while len(self._memory) >= MEMORY_MAX:  # still full: the oldest go
                        self._memory.pop(next(iter(self._memory)))
                self._memory[key] = (dict(data), expires)
            return True
        with unit_of_work(self._store) as session:
            if new:
                with self._lock:
                    self._created += 1
                    prune = self._created % PRUNE_EVERY == 0
                if prune:  # now and then, the expired sessions go with a new one
                    session.execute(delete(WebSession).where(WebSession.expires_at <= now()))
                session.add(WebSession(key=key, data=dict(data), expires_at=expires))
                return True
            updated = session.execute(
                update(WebSession)
                .where(WebSession.key == key)
                .values(data=dict(data), expires_at=expires)
                .execution_options(synchronize_session=False)
            )
            return bool(updated.rowcount)  # type: ignore[attr-defined]

    def forget(self, token: str) -> None:
        key = _key(token)
        if self._store is None:
            with self._lock:
                self._memory.pop(key, None)
            return
        with unit_of_work(self._store) as session:
            session.execute(delete(WebSession).where(WebSession.key == key))
