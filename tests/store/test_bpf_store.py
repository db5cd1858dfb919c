"""The BPF in the store (SQLite and PostgreSQL): who may read and write it, drafts, the
submission with its receipt, the history with « pour le compte de », concurrent writers."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session, sessionmaker

from bridge.audit.service import Actor
from bridge.bpf.models import BpfStatus
from bridge.bpf.service import BpfInvalidError, BpfService
from bridge.db import now, unit_of_work
from bridge.errors import ConflictError, ForbiddenError, InvalidInputError
from tests.store.test_delegation_store import delegated_tiers, delegations, gestionnaire
from tests.store.test_habilitation_store import CATALOG, person
from tests.support.bpf import complete_bpf

YEAR = now().year - 1


def bpf(session: Session) -> BpfService:
    return BpfService(session, CATALOG)


def save(
    sessions: sessionmaker[Session], who: Actor, siret: str, values: dict[str, object], version: int
) -> int:
    with unit_of_work(sessions) as session:
        return bpf(session).save(who, siret, YEAR, values, version).version


def test_a_gestionnaire_saves_a_draft_then_submits_it_and_gets_a_receipt(
    sessions: sessionmaker[Session],
) -> None:
    actor, siret = gestionnaire(sessions)
    assert save(sessions, actor, siret, {"c1": "100"}, 0) == 1
    assert save(sessions, actor, siret, complete_bpf(), 1) == 2
    with unit_of_work(sessions) as session:
        submitted = bpf(session).submit(actor, siret, YEAR, 2)
        assert submitted.status == BpfStatus.SUBMITTED
        assert submitted.receipt_number == f"BPF-{YEAR}-{submitted.id:07d}"
    with pytest.raises(ConflictError, match="déposé"):
        save(sessions, actor, siret, complete_bpf(), 3)
    with unit_of_work(sessions) as session, pytest.raises(ConflictError, match="déjà déposé"):
        bpf(session).submit(actor, siret, YEAR, 3)


def test_an_incomplete_bpf_cannot_be_submitted_and_nothing_changes(
    sessions: sessionmaker[Session],
) -> None:
    actor, siret = gestionnaire(sessions)
    save(sessions, actor, siret, {"c1": "100"}, 0)
    with unit_of_work(sessions) as session, pytest.raises(BpfInvalidError) as refused:
        bpf(session).submit(actor, siret, YEAR, 1)
    assert "denomination" in refused.value.extra["erreurs"]
    with unit_of_work(sessions) as session:
        found = bpf(session).read(actor, siret, YEAR)
        assert found is not None
        assert (found.status, found.version) == (BpfStatus.DRAFT, 1)


def test_a_bad_value_saves_nothing(sessions: sessionmaker[Session]) -> None:
    actor, siret = gestionnaire(sessions)
    with pytest.raises(BpfInvalidError):
        save(sessions, actor, siret, {"c1": "-5"}, 0)
    with unit_of_work(sessions) as session:
        assert bpf(session).read(actor, siret, YEAR) is None


def test_a_stale_version_is_refused(sessions: sessionmaker[Session]) -> None:
    actor, siret = gestionnaire(sessions)
    save(sessions, actor, siret, {"c1": "100"}, 0)
    save(sessions, actor, siret, {"c1": "200"}, 1)
    with pytest.raises(ConflictError, match="enregistré entre-temps"):
        save(sessions, actor, siret, {"c1": "300"}, 1)


def test_nobody_else_reads_or_writes_and_years_are_bounded(
    sessions: sessionmaker[Session],
) -> None:
    actor, siret = gestionnaire(sessions)
    stranger = person(sessions, "inconnu")
    _, other_siret = gestionnaire(sessions)
    with unit_of_work(sessions) as session, pytest.raises(ForbiddenError):
        bpf(session).read(stranger, siret, YEAR)
    with pytest.raises(ForbiddenError):
        save(sessions, actor, other_siret, {"c1": "1"}, 0)  # cross-SIRET
    with unit_of_work(sessions) as session, pytest.raises(InvalidInputError, match="exercice"):
        bpf(session).read(actor, siret, now().year + 1)


def test_a_tiers_saves_for_its_client_and_the_history_says_so(
    sessions: sessionmaker[Session],
) -> None:
    actor, siret = gestionnaire(sessions)
    tiers, _ = delegated_tiers(sessions, actor, siret)
    save(sessions, tiers, siret, {"c1": "100"}, 0)
    save(sessions, actor, siret, {"c1": "150"}, 1)
    with unit_of_work(sessions) as session:
        history = bpf(session).history(actor, siret, YEAR)
        assert [(h.by_subject, h.version, h.changed) for h in history] == [
            (actor.subject, 2, ["c1"]),
            (tiers.subject, 1, ["c1"]),
        ]
        assert history[1].tiers_siret is not None
        assert history[0].tiers_siret is None


def test_a_tiers_whose_delegation_ended_is_refused(sessions: sessionmaker[Session]) -> None:
    actor, siret = gestionnaire(sessions)
    tiers, _ = delegated_tiers(sessions, actor, siret)
    save(sessions, tiers, siret, {"c1": "100"}, 0)
    with unit_of_work(sessions) as session:
        [given] = delegations(session).of_etablissements(actor, "mon-activite-formation")
        delegations(session).revoke(actor, given.id)
    with pytest.raises(ForbiddenError):
        save(sessions, tiers, siret, {"c1": "200"}, 1)


def test_two_first_saves_at_once_make_one_bpf(
    sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    actor, siret = gestionnaire(sessions)
    save(sessions, actor, siret, {"c1": "1"}, 0)
    # The second saver looked before the first committed: it saw no BPF yet.
    monkeypatch.setattr(BpfService, "_find", lambda *_: None)
    with pytest.raises(ConflictError, match="créé par quelqu'un d'autre"):
        save(sessions, actor, siret, {"c1": "2"}, 0)
    monkeypatch.undo()
    with unit_of_work(sessions) as session:
        found = bpf(session).read(actor, siret, YEAR)
        assert found is not None
        assert (found.version, found.content) == (1, {"c1": "1.00"})
