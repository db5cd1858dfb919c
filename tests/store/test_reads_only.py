"""The API's hot reads run without a transaction (`reads_only`): what they may and may not do,
on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import func, insert, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from bridge.bootstrap import bootstrap
from bridge.db import (
    WriteInReadError,
    make_engine,
    make_session_factory,
    migrate,
    raise_event,
    reads_only,
)
from bridge.etablissement.models import Etablissement
from bridge.habilitation.service import may_act
from bridge.services import Services
from bridge.settings import Settings
from tests.store.test_habilitation_store import CATALOG, MAF, activate, etablissement, person
from tests.support.sirets import new_siret


@pytest.fixture
def reads(sessions: sessionmaker[Session], database_url: str) -> Iterator[sessionmaker[Session]]:
    """The API's read sessions on the same store (`AppContext.read_sessions`)."""
    engine = make_engine(database_url, read_only=True)
    yield make_session_factory(engine)
    engine.dispose()


def count(sessions: sessionmaker[Session], siret: str) -> int:
    with sessions() as session:
        found = session.scalar(
            select(func.count()).select_from(Etablissement).where(Etablissement.siret == siret)
        )
    return found or 0


def test_a_read_sees_what_was_committed_and_answers_as_a_transaction_would(
    sessions: sessionmaker[Session], reads: sessionmaker[Session]
) -> None:
    actor = person(sessions, "lecteur")
    siret, code = etablissement(sessions)
    with reads_only(reads) as session:
        assert not may_act(session, CATALOG, actor.subject, MAF, "gestionnaire", siret)
    activate(sessions, actor, siret, code)
    with reads_only(reads) as session:
        assert may_act(session, CATALOG, actor.subject, MAF, "gestionnaire", siret)


def test_a_write_left_pending_in_a_read_is_refused_and_never_kept(
    sessions: sessionmaker[Session], reads: sessionmaker[Session]
) -> None:
    siret = new_siret()
    with pytest.raises(WriteInReadError), reads_only(reads) as session:
        session.add(Etablissement(siret=siret, siren=siret[:9], name="Écrit par erreur"))
    assert count(sessions, siret) == 0


def test_a_write_flushed_by_a_query_in_a_read_is_refused_and_never_kept(
    sessions: sessionmaker[Session], reads: sessionmaker[Session]
) -> None:
    """Without a transaction a flushed row would be committed at once: it never reaches the
    database."""
    siret = new_siret()
    with reads_only(reads) as session:
        session.add(Etablissement(siret=siret, siren=siret[:9], name="Écrit par erreur"))
        with pytest.raises(WriteInReadError):
            session.scalar(select(Etablissement).where(Etablissement.siret == siret))  # autoflush
        session.expunge_all()
    assert count(sessions, siret) == 0


def test_a_statement_that_writes_in_a_read_is_refused_by_the_database(
    sessions: sessionmaker[Session], reads: sessionmaker[Session]
) -> None:
    """Core statements bypass the ORM's flush: the read connections refuse them themselves."""
    siret = new_siret()
    with pytest.raises(DBAPIError), reads_only(reads) as session:
        session.execute(
            insert(Etablissement).values(siret=siret, siren=siret[:9], name="Écrit par erreur")
        )
    assert count(sessions, siret) == 0


def test_an_event_raised_in_a_read_is_refused_not_dropped(reads: sessionmaker[Session]) -> None:
    """A read has no commit after which an e-mail would leave: raising one is an error."""
    with pytest.raises(WriteInReadError), reads_only(reads) as session:
        raise_event(session, "un courriel")


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_reads_whose_connections_the_database_dropped_are_answered_on_new_ones(
    database_url: str,
) -> None:
    """The read engine has no pre-ping (a round trip at every checkout): when PostgreSQL
    drops the pooled connections (a restart, a failover), each of the API's reads runs once
    more on a new connection and its caller sees no error (`once_more_if_dropped`)."""
    migrate(database_url)
    context = bootstrap(Settings(database_url=database_url))

    def drop_every_connection() -> None:
        with context.engine.connect() as admin:
            admin.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            )
            admin.commit()

    def one(work: Services) -> int:
        return int(work.session.connection().execute(text("SELECT 1")).scalar_one())

    try:
        assert context.read(one) == 1  # a pooled connection now
        drop_every_connection()
        assert context.read(one) == 1
        drop_every_connection()
        assert context.is_disabled("personne-relue") is False
        drop_every_connection()
        context.refuse_ended_or_disabled("personne-relue", "session-relue")  # refuses nothing
        drop_every_connection()
        with pytest.raises(DBAPIError), context.read_engine.connect() as bare:
            bare.execute(text("SELECT 1"))  # what each of them would have met without
    finally:
        context.close()
