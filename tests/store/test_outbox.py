"""Every habilitation change writes its outbox row in the same transaction (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bridge.db import now, unit_of_work
from bridge.habilitation.models import GrantedHow, Habilitation
from bridge.outbox import OutboxEntry
from bridge.sync.models import PersonClaim
from bridge.sync.worker import Projector
from tests.store.test_habilitation_store import CATALOG, MAF, activate, etablissement, person


def changes(sessions: sessionmaker[Session], subject: str) -> list[str]:
    with sessions() as session:
        return list(
            session.scalars(
                select(OutboxEntry.change)
                .where(OutboxEntry.subject == subject)
                .order_by(OutboxEntry.id)
            )
        )


def test_a_grant_and_its_revocation_each_write_their_row(sessions: sessionmaker[Session]) -> None:
    siret, code = etablissement(sessions)
    actor = person(sessions, "gestionnaire")
    habilitation = activate(sessions, actor, siret, code)
    assert changes(sessions, actor.subject) == [f"accordee {MAF}:gestionnaire:{siret}"]
    with unit_of_work(sessions) as session:
        found = session.get(Habilitation, habilitation.id)
        assert found is not None
        found.revoked_by = "test"
        found.revoked_at = now()
    assert changes(sessions, actor.subject)[-1] == f"revoquee {MAF}:gestionnaire:{siret}"


def test_a_rolled_back_change_leaves_no_row(sessions: sessionmaker[Session]) -> None:
    siret, _ = etablissement(sessions)
    actor = person(sessions, "personne")

    def failing_change() -> None:
        with unit_of_work(sessions) as session:
            session.add(
                Habilitation(
                    subject=actor.subject,
                    demarche=MAF,
                    role="declarant",
                    siret=siret,
                    granted_how=GrantedHow.OPERATOR,
                )
            )
            session.flush()
            raise RuntimeError("panne au milieu")

    with pytest.raises(RuntimeError):
        failing_change()
    assert changes(sessions, actor.subject) == []


def test_two_workers_claiming_the_same_people_split_them(sessions: sessionmaker[Session]) -> None:
    first = Projector(sessions, None, CATALOG, "w1")  # type: ignore[arg-type]  # no Keycloak call
    second = Projector(sessions, None, CATALOG, "w2")  # type: ignore[arg-type]
    people = ["a", "b", "c"]
    assert sorted(first.claim_many(people)) == people
    assert second.claim_many(people) == []
    with sessions() as session:
        assert {c.worker for c in session.scalars(select(PersonClaim))} >= {"w1"}
