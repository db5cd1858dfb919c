"""The bridge's store: SQLAlchemy 2 engine, sessions and migrations (SQLite or PostgreSQL).

Services never commit: the web layer (one unit of work per request) or a job owns the
transaction, so a change and its audit entry are written together or not at all.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import DateTime, Engine, MetaData, TypeDecorator, create_engine, event
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

MIGRATIONS_DIR = Path(__file__).with_name("migrations")

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite forgets the zone)."""

    impl = DateTime
    cache_ok = True

    def __init__(self, timezone: bool = True) -> None:
        super().__init__(timezone=True)

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime refused: use datetime.now(UTC)")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


# The isolation level of a single read that needs no transaction (on the API's hot path: no
# BEGIN nor ROLLBACK round trip to PostgreSQL around it).
AUTOCOMMIT = "AUTOCOMMIT"

# The largest integer every store keeps (a signed 64-bit integer): ids and versions that come
# from outside are refused above it (422) instead of reaching the database (500).
MAX_STORE_INT = 2**63 - 1


def now() -> datetime:
    return datetime.now(UTC)


def _lower(value: object) -> object:
    return value.lower() if isinstance(value, str) else value


# Connections a pool keeps open. Past it, a connection is opened and closed for each use:
# on PostgreSQL a new server process each time (`docs/performance/`).
POOL_SIZE = 10


def make_engine(url: str, *, pool_size: int = POOL_SIZE, read_only: bool = False) -> Engine:
    """An engine; SQLite gets foreign keys, WAL and a busy timeout for concurrent writers.

    `read_only`: the API's reads (`reads_only`): every connection of the pool stays in
    AUTOCOMMIT (none is switched there and back at each use), and the database itself
    refuses any write on it (SQLite's `query_only`, PostgreSQL's read-only transactions):
    without a transaction, a write could not be rolled back.
    """
    options: dict[str, Any] = {"pool_size": pool_size}
    if read_only:
        options["isolation_level"] = AUTOCOMMIT
    if url.startswith("sqlite"):
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, **options
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(connection: Any, _record: Any) -> None:
            # SQLite's lower() only lowers ASCII; searches on « Élodie » need Python's.
            connection.create_function("lower", 1, _lower, deterministic=True)
            cursor = connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            if read_only:
                cursor.execute("PRAGMA query_only=ON")
            cursor.close()

        return engine
    if read_only:
        # No pre-ping (a round trip at every checkout, a quarter of the hot path's): its
        # users retry a read the database dropped instead (`once_more_if_dropped`).
        options["connect_args"] = {"options": "-c default_transaction_read_only=on"}
        return create_engine(url, **options)
    return create_engine(url, pool_pre_ping=True, **options)


T = TypeVar("T")


def once_more_if_dropped(read: Callable[[], T]) -> T:
    """`read()`, run once more if the database dropped its connection (a restart, a
    failover): a read has nothing to undo, so the caller sees no error. SQLAlchemy then
    invalidates the pool's older connections, and the second run gets a fresh one.

    What the read engine's users do instead of the pool's pre-ping (`make_engine`)."""
    try:
        return read()
    except DBAPIError as exc:
        if not exc.connection_invalidated:
            raise
    return read()


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def unit_of_work(
    factory: sessionmaker[Session], publish: Callable[[list[object]], None] | None = None
) -> Iterator[Session]:
    """Commit if the block succeeds, roll back otherwise (but keep a refusal that counts).

    A change made outside the store during the block (a Keycloak account created) registers
    its undoing with `on_rollback`: run when the store's part does not commit, so neither
    side keeps half of it. The events the block raised (`raise_event`: e-mails to send) are
    handed to `publish` only once the commit succeeded, so nobody is told of a change that
    was not kept.
    """
    with factory() as session:
        try:
            yield session
            session.commit()
        except BaseException as exc:
            if getattr(exc, "keeps_changes", False):
                session.commit()
            else:
                session.rollback()
                _undo(session)
            raise
        finally:
            session.info.pop(_UNDO, None)
            events = session.info.pop(_EVENTS, [])
        if events and publish is not None:
            publish(events)


_UNDO = "undo"
_EVENTS = "events"
_READ_ONLY = "read-only"


class WriteInReadError(RuntimeError):
    """A change was made inside `reads_only`: a programming error, never kept."""


@contextmanager
def reads_only(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session for a request that only reads, from a factory on a `read_only` engine: no
    transaction around its statements, so no BEGIN nor COMMIT round trip to PostgreSQL (the
    API's hot reads, `docs/performance/`).

    Under PostgreSQL's READ COMMITTED each statement reads its own snapshot anyway, so a
    transaction would give these reads nothing more. A write is refused: an ORM change before
    it is flushed, an event (an e-mail) when it is raised, a statement by the database.
    """
    with factory() as session:
        session.info[_READ_ONLY] = True
        yield session
        if session.new or session.dirty or session.deleted:
            raise WriteInReadError("Une lecture a tenté d'écrire : rien n'est enregistré.")


@event.listens_for(Session, "before_flush")
def _refuse_writes_in_reads(session: Session, _context: Any, _instances: Any) -> None:
    if session.info.get(_READ_ONLY) and (session.new or session.dirty or session.deleted):
        raise WriteInReadError("Une lecture a tenté d'écrire : rien n'est enregistré.")


def raise_event(session: Session, event: object) -> None:
    """Something to hand on after this unit of work commits (dropped if it rolls back)."""
    if session.info.get(_READ_ONLY):  # a read has no commit: it would be dropped unsaid
        raise WriteInReadError("Une lecture a tenté d'envoyer un message : rien n'est envoyé.")
    session.info.setdefault(_EVENTS, []).append(event)


def raised_events(session: Session) -> list[object]:
    """The events raised on `session` and not yet handed on."""
    return list(session.info.get(_EVENTS, []))


def on_rollback(session: Session, undo: Callable[[], None]) -> None:
    """Run `undo` if this unit of work rolls back (latest first)."""
    session.info.setdefault(_UNDO, []).append(undo)


def _undo(session: Session) -> None:
    for undo in reversed(session.info.pop(_UNDO, [])):
        try:
            undo()
        except Exception:  # the original error matters more; this one is logged
            logging.getLogger(__name__).exception("annulation-echouee")


def _alembic_config(url: str) -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def migrate(url: str, revision: str = "head") -> None:
    """Bring the database to the newest migration (Alembic), or to `revision`."""
    from alembic import command

    command.upgrade(_alembic_config(url), revision)


def downgrade(url: str, revision: str) -> None:
    """Take the database back down to `revision` (each migration's declared downgrade)."""
    from alembic import command

    command.downgrade(_alembic_config(url), revision)


def head_revision() -> str:
    """The newest migration this code knows (what a store must be at to be served)."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(_alembic_config("sqlite://")).get_current_head()
    if head is None:
        raise RuntimeError("no migration in bridge/migrations")
    return head


def revisions() -> list[str]:
    """Every migration, oldest first."""
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(_alembic_config("sqlite://"))
    return [step.revision for step in reversed(list(script.walk_revisions()))]


def current_revision(engine: Engine) -> str | None:
    """The migration a database is at (None for an empty one)."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()
