"""The one place that wires the bridge, for every entry point.

The web app, the command line, the projection's workers, the tests' fixtures and the
benches all call `bootstrap(settings)`: it builds the store's session factory (with the
outbox hook installed on it), the catalog, the mail queue, the token verifier, the Keycloak
directory (made on first use) and hands out units of work (`work()`). Nothing below this
module knows the web framework; nothing below it builds its own wiring.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TypeVar

from sqlalchemy import Connection, Engine, bindparam, select
from sqlalchemy.orm import Session, sessionmaker

from bridge import outbox
from bridge.accounts import DISABLED_ACCOUNT
from bridge.backoffice.imports import ImportRunner
from bridge.catalog import Catalog, load_catalog
from bridge.db import (
    make_engine,
    make_session_factory,
    once_more_if_dropped,
    reads_only,
    unit_of_work,
)
from bridge.errors import ForbiddenError
from bridge.habilitation.operators import is_designated
from bridge.identity.ended_sessions import UNTIL_OF_SID, EndedSessions
from bridge.identity.tokens import SESSION_ENDED, InvalidTokenError, Principal, TokenVerifier
from bridge.keycloak_admin import KeycloakDirectory
from bridge.notification import SILENT, Mailer, MailQueue, Queued
from bridge.person.models import Person
from bridge.services import Delivery, Services, open_services
from bridge.settings import Settings
from bridge.sync.worker import Projector


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions on `engine` whose habilitation changes write their outbox rows."""
    return outbox.install(make_session_factory(engine))


def bridge_directory(settings: Settings) -> KeycloakDirectory:
    """The admin-API adapter with the bridge's service account (client `bridge`)."""
    return KeycloakDirectory.with_service_account(
        (settings.keycloak_internal_url or settings.keycloak_url).rstrip("/"),
        settings.keycloak_realm,
        settings.sync_client_id,
        settings.sync_client_secret.get_secret_value(),
    )


def token_verifier(settings: Settings, ended: EndedSessions) -> TokenVerifier:
    internal = (settings.keycloak_internal_url or settings.keycloak_url).rstrip("/")
    return TokenVerifier(
        issuer=settings.issuer,
        jwks_url=f"{internal}/realms/{settings.keycloak_realm}/protocol/openid-connect/certs",
        audience=settings.api_audience,
        refetch_interval=settings.jwks_refetch_seconds,
        ended=ended,
    )


REMEMBERED_MAX = 10_000
T = TypeVar("T")
# Built once (the statement costs more to build than to run): read on every page request.
_DISABLED = select(Person.disabled_at, Person.deleted_at).where(
    Person.subject == bindparam("subject")
)
# The API caller's ended session and account state in one statement (one round trip).
_CALLER = select(
    UNTIL_OF_SID.label("until"),
    select(Person.disabled_at).where(Person.subject == bindparam("subject")).scalar_subquery(),
    select(Person.deleted_at).where(Person.subject == bindparam("subject")).scalar_subquery(),
)


@dataclass
class AppContext:
    """What one process shares: settings, catalog, store, mail queue, token verifier."""

    settings: Settings
    catalog: Catalog
    engine: Engine
    sessions: sessionmaker[Session]
    # The API's reads without a transaction (`reads`): a pool of AUTOCOMMIT connections.
    read_engine: Engine
    read_sessions: sessionmaker[Session]
    mail_queue: MailQueue
    ended: EndedSessions
    verifier: TokenVerifier
    # (subject, e-mail, given name, family name) already written to the store by this process.
    remembered: set[tuple[str, str, str, str]] = field(default_factory=set)
    _directory: KeycloakDirectory | None = None
    # The back-office's imports, run by the portal's loop (`bridge.api.app`).
    imports: ImportRunner = field(init=False)

    def __post_init__(self) -> None:
        self.imports = ImportRunner(self.work)

    def directory(self) -> KeycloakDirectory:
        """The bridge's admin-API client (its service account), made on first use."""
        if self._directory is None:
            self._directory = bridge_directory(self.settings)
        return self._directory

    @contextmanager
    def work(self, *, notify: bool = True) -> Iterator[Services]:
        """One unit of work: the services on one session, committed when the block
        succeeds; the e-mails they raised are queued with it and tried after the commit
        (none at all with `notify=False`: a store put in a known state by tests or a bench)."""
        delivery = Delivery()

        def publish(events: list[object]) -> None:
            delivery.sent = self.deliver(events)

        with unit_of_work(self.sessions, publish if notify else None) as session:
            session.info[SILENT] = not notify
            yield open_services(session, self.catalog, self.settings, self.directory, delivery)

    @contextmanager
    def reads(self) -> Iterator[Services]:
        """The services for a request that only reads (`reads_only`: no transaction, no
        e-mail, nothing written). The API's hot reads use it through `read`."""
        with reads_only(self.read_sessions) as session:
            yield open_services(session, self.catalog, self.settings, self.directory, Delivery())

    def read(self, read: Callable[[Services], T]) -> T:
        """`read(work)` on `reads()`'s services, run once more if the database dropped the
        connection (`once_more_if_dropped`: the read engine has no pre-ping)."""

        def run() -> T:
            with self.reads() as work:
                return read(work)

        return once_more_if_dropped(run)

    def deliver(self, events: list[object]) -> bool:
        """Hand on what a committed unit of work raised: try its queued e-mails at once
        (what does not leave now, the queue's loop sends later); True if all left."""
        return self.mail_queue.send_now([e.row_id for e in events if isinstance(e, Queued)])

    def is_operator(self, subject: str) -> bool:
        """Designated in the store (`bridge.habilitation.operators`): what makes a token's
        `operateur` role count."""
        with self.sessions() as session:
            return is_designated(session, subject)

    def is_disabled(self, subject: str) -> bool:
        """The person's account is disabled, or deleted, in Keycloak (`bridge.accounts`): its
        tokens, still valid for minutes, may not act."""

        # Every page request: two columns, no ORM, no transaction (BEGIN and ROLLBACK would
        # be two more round trips to PostgreSQL for one read).
        def read() -> bool:
            with self.read_engine.connect() as connection:
                row = connection.execute(_DISABLED, {"subject": subject}).first()
            return row is not None and (row.disabled_at is not None or row.deleted_at is not None)

        return once_more_if_dropped(read)

    def api_principal(self, token: str) -> Principal:
        """The verified caller of a person's API: the token checked, then its session and
        account read in one statement (`refuse_ended_or_disabled`)."""
        principal = self.api_token(token)
        self.refuse_ended_or_disabled(principal.subject, principal.claims.get("sid"))
        return principal

    def api_token(self, token: str) -> Principal:
        """A person's API token verified, its session and account NOT yet checked: the caller
        must call `refuse_ended_or_disabled` before acting (`api_principal`, and the one-hop
        reads of `bridge.api.deps`: the only places the verifier is told so)."""
        return self.verifier.verify(token, session_checked_by_caller=True)

    def remembered_api_token(self, token: str) -> Principal | None:
        """`api_token` when it needs no I/O (a token verified before), None otherwise: the
        event loop asks it, and goes to a thread only on None."""
        return self.verifier.remembered(token, session_checked_by_caller=True)

    def refuse_ended_or_disabled(
        self, subject: str, sid: str | None, connection: Connection | None = None
    ) -> None:
        """Refuse an API caller whose Keycloak session was ended (401) or whose account is
        disabled or deleted (403), as `verify` and `is_disabled` would, in one read (on the
        request's own read connection when given: one checkout of the pool, not two)."""
        if sid is not None and self.ended.seen_ended(sid):
            raise InvalidTokenError(SESSION_ENDED)
        parameters = {"sid": sid, "subject": subject}

        def read(on: Connection) -> tuple[datetime | None, datetime | None, datetime | None]:
            until, disabled_at, deleted_at = on.execute(_CALLER, parameters).one()
            return until, disabled_at, deleted_at

        def own() -> tuple[datetime | None, datetime | None, datetime | None]:
            with self.read_engine.connect() as connection:
                return read(connection)

        # On the caller's connection, its read retries as a whole.
        until, disabled_at, deleted_at = (
            once_more_if_dropped(own) if connection is None else read(connection)
        )
        if sid is not None and self.ended.ended_until(sid, until):
            raise InvalidTokenError(SESSION_ENDED)
        if disabled_at is not None or deleted_at is not None:
            raise ForbiddenError(DISABLED_ACCOUNT)

    def close(self) -> None:
        """Release the store's connections (the web app's lifespan, the CLI, fixtures)."""
        self.engine.dispose()
        self.read_engine.dispose()


def bootstrap(settings: Settings | None = None) -> AppContext:
    """Wire the bridge from validated settings (read from `BRIDGE_*` when not given)."""
    settings = settings or Settings()
    catalog = load_catalog(settings.catalog_file)  # a refused catalog leaves no engine behind
    engine = make_engine(settings.database_url, pool_size=settings.db_pool_size)
    sessions = session_factory(engine)
    read_engine = make_engine(
        settings.database_url, pool_size=settings.db_pool_size, read_only=True
    )
    # Shared by pages and API, and through the store by every replica of the bridge.
    ended = EndedSessions(sessions)
    return AppContext(
        settings=settings,
        catalog=catalog,
        engine=engine,
        sessions=sessions,
        read_engine=read_engine,
        read_sessions=make_session_factory(read_engine),
        mail_queue=MailQueue(
            sessions,
            Mailer(
                settings.smtp_host,
                settings.smtp_port,
                settings.smtp_from,
                settings.mail_send_deadline_seconds,
            ),
            timedelta(seconds=settings.mail_claim_lease_seconds),
        ),
        ended=ended,
        verifier=token_verifier(settings, ended),
    )


@contextmanager
def bootstrapped(settings: Settings | None = None) -> Iterator[AppContext]:
    """`bootstrap`, closed when the block ends (commands, tests, benches)."""
    context = bootstrap(settings)
    try:
        yield context
    finally:
        context.close()


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def make_projector(context: AppContext) -> Projector:
    """The projection's worker on this process's store, with the bridge's service account."""
    settings = context.settings
    return Projector(
        context.sessions,
        bridge_directory(settings),
        context.catalog,
        worker_id(),
        settings.sync_token_habilitations_max,
        timedelta(seconds=settings.sync_claim_lease_seconds),
    )
