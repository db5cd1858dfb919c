"""Habilitation rules on the real store, identical on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from bridge.accounts import AccountService
from bridge.audit.models import AuditEvent
from bridge.audit.service import Actor
from bridge.catalog import load_catalog
from bridge.db import now, unit_of_work
from bridge.delegation.service import DelegationService
from bridge.errors import ConflictError, TooManyAttemptsError
from bridge.etablissement.models import ActivationCode, Etablissement, ImportJob
from bridge.etablissement.service import EtablissementService, WrongCodeError
from bridge.habilitation.models import Habilitation
from bridge.habilitation.service import HabilitationService, may_act
from bridge.person.service import remember_person
from tests.support.sirets import new_siret

CATALOG = load_catalog()
PEPPER = "poivre-des-tests"
MAF = "mon-activite-formation"
OPERATOR = Actor("operateur", "Opérateur", operator=True)


def services(session: Session) -> tuple[EtablissementService, HabilitationService]:
    etablissements = EtablissementService(session, CATALOG, PEPPER)
    habilitations = HabilitationService(session, CATALOG, etablissements)
    DelegationService(session, CATALOG, habilitations)  # a delegation ends with its right
    return etablissements, habilitations


def person(sessions: sessionmaker[Session], name: str) -> Actor:
    subject = f"{name}-{new_siret()}"
    with unit_of_work(sessions) as session:
        remember_person(session, subject, f"{subject}@exemple.fr", name.title(), "Test")
    return Actor(subject, name.title())


def etablissement(sessions: sessionmaker[Session]) -> tuple[str, str]:
    siret = new_siret()
    with unit_of_work(sessions) as session:
        session.add(Etablissement(siret=siret, siren=siret[:9], name="EKYSS"))
        session.flush()
        code = services(session)[0].issue_code(OPERATOR, siret, MAF)
    return siret, code


def activate(sessions: sessionmaker[Session], actor: Actor, siret: str, code: str) -> Habilitation:
    with unit_of_work(sessions) as session:
        return services(session)[1].activate(actor, MAF, siret, code)


def test_a_used_code_never_works_again(sessions: sessionmaker[Session]) -> None:
    siret, code = etablissement(sessions)
    first = person(sessions, "amandine")
    holding = activate(sessions, first, siret, code)
    with unit_of_work(sessions) as session:  # the gestionnaire leaves (say, by the operator)
        session.execute(
            update(Habilitation).where(Habilitation.id == holding.id).values(revoked_at=now())
        )
    with pytest.raises(WrongCodeError):
        activate(sessions, person(sessions, "paul"), siret, code)


def test_wrong_codes_are_counted_even_though_the_request_fails(
    sessions: sessionmaker[Session],
) -> None:
    siret, code = etablissement(sessions)
    guesser = person(sessions, "guesser")
    for _ in range(5):
        with pytest.raises(WrongCodeError):
            activate(sessions, guesser, siret, "AAAA-AAAA-AAAA")
    with pytest.raises(TooManyAttemptsError, match="Réessayez dans 15 minutes"):
        activate(sessions, guesser, siret, code)  # even the right code waits for this account


def test_the_lockout_ends_fifteen_minutes_after_the_fifth_failure(
    sessions: sessionmaker[Session],
) -> None:
    from bridge.etablissement.models import CodeAttempt

    siret, code = etablissement(sessions)
    guesser = person(sessions, "guesser")
    for _ in range(5):
        with pytest.raises(WrongCodeError):
            activate(sessions, guesser, siret, "AAAA-AAAA-AAAA")
    with pytest.raises(TooManyAttemptsError):
        activate(sessions, guesser, siret, code)
    with unit_of_work(sessions) as session:  # as if the failures were 16 minutes old
        session.execute(
            update(CodeAttempt)
            .where(CodeAttempt.siret == siret)
            .values(at=now() - timedelta(minutes=16))
        )
    assert activate(sessions, guesser, siret, code).role == "gestionnaire"


def test_codes_are_stored_as_keyed_hashes_only(sessions: sessionmaker[Session]) -> None:
    siret, code = etablissement(sessions)
    with unit_of_work(sessions) as session:
        stored = session.scalars(select(ActivationCode).where(ActivationCode.siret == siret)).one()
    assert code not in repr(vars(stored))
    assert len(stored.code_hash) == 64


def test_an_ended_or_revoked_habilitation_gives_no_right_from_that_instant(
    sessions: sessionmaker[Session],
) -> None:
    siret, code = etablissement(sessions)
    holder = person(sessions, "holder")
    habilitation = activate(sessions, holder, siret, code)
    end = now() + timedelta(minutes=1)
    with unit_of_work(sessions) as session:
        session.execute(
            update(Habilitation).where(Habilitation.id == habilitation.id).values(valid_until=end)
        )
    with unit_of_work(sessions) as session:
        assert may_act(
            session, CATALOG, holder.subject, MAF, "declarant", siret, end - timedelta(seconds=1)
        )
        assert not may_act(session, CATALOG, holder.subject, MAF, "declarant", siret, end)
        assert not may_act(
            session,
            CATALOG,
            holder.subject,
            MAF,
            "declarant",
            new_siret(),
            end - timedelta(seconds=1),
        )
        assert not may_act(
            session, CATALOG, holder.subject, "mes-collectes-formation", "declarant", siret
        )


def test_two_simultaneous_approvals_give_one_habilitation_and_one_audit_entry(
    sessions: sessionmaker[Session],
) -> None:
    siret, code = etablissement(sessions)
    first = person(sessions, "first")
    activate(sessions, first, siret, code)
    second = person(sessions, "second")
    with unit_of_work(sessions) as session:
        services(session)[1].grant(first, MAF, second.subject, "gestionnaire", siret)
    requester = person(sessions, "requester")
    with unit_of_work(sessions) as session:
        request = services(session)[1].request_access(requester, MAF, siret, "declarant")
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def approve(actor: Actor) -> None:
        barrier.wait()
        try:
            with unit_of_work(sessions) as session:
                services(session)[1].approve(actor, MAF, request.id)
            outcomes.append("approuvee")
        except ConflictError:
            outcomes.append("deja-traitee")

    threads = [threading.Thread(target=approve, args=(a,)) for a in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["approuvee", "deja-traitee"]
    with unit_of_work(sessions) as session:
        holdings = session.scalar(
            select(func.count())
            .select_from(Habilitation)
            .where(Habilitation.subject == requester.subject)
        )
        audits = session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(
                AuditEvent.target == requester.subject, AuditEvent.action == "habilitation-accordee"
            )
        )
    assert (holdings, audits) == (1, 1)


def test_a_second_pending_request_is_refused_by_the_store(sessions: sessionmaker[Session]) -> None:
    siret, code = etablissement(sessions)
    activate(sessions, person(sessions, "gestionnaire"), siret, code)
    requester = person(sessions, "requester")
    with unit_of_work(sessions) as session:
        services(session)[1].request_access(requester, MAF, siret, None)
    with (
        pytest.raises(ConflictError, match="déjà une demande en attente"),
        unit_of_work(sessions) as session,
    ):
        services(session)[1].request_access(requester, MAF, siret, "declarant")


def test_a_failed_grant_leaves_no_audit_entry(sessions: sessionmaker[Session]) -> None:
    siret, code = etablissement(sessions)
    gestionnaire = person(sessions, "gestionnaire")
    activate(sessions, gestionnaire, siret, code)
    with pytest.raises(ConflictError), unit_of_work(sessions) as session:
        services(session)[1].grant(gestionnaire, MAF, gestionnaire.subject, "gestionnaire", siret)
    with unit_of_work(sessions) as session:
        audits = session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.siret == siret, AuditEvent.action == "habilitation-accordee")
        )
    assert audits == 1  # only the activation's


def test_an_import_is_idempotent(sessions: sessionmaker[Session]) -> None:
    rows = [
        (2, {"siret": new_siret(), "raison_sociale": "A"}),
        (3, {"siret": new_siret(), "raison_sociale": "B"}),
    ]
    with unit_of_work(sessions) as session:
        first = services(session)[0].import_rows(OPERATOR, rows, MAF)
    with unit_of_work(sessions) as session:
        again = services(session)[0].import_rows(OPERATOR, rows, MAF)
    assert (first.created, first.codes_issued) == (2, 2)
    assert (again.created, again.codes_issued, again.unchanged) == (0, 0, 2)


class CrashError(Exception):
    """The portal stopping in the middle of a chunk."""


def chunk_then_crash(sessions: sessionmaker[Session], job_id: str) -> None:
    with unit_of_work(sessions) as session:
        services(session)[0].import_chunk(job_id, 2)
        raise CrashError  # rolled back: the chunk is done again, once


def test_an_import_job_resumes_after_a_crash_and_imports_nothing_twice(
    sessions: sessionmaker[Session],
) -> None:
    first, second, third = new_siret(), new_siret(), new_siret()
    rows = [
        (2, {"siret": first, "raison_sociale": "A"}),
        (3, {"siret": second, "raison_sociale": "B"}),
        (4, {"siret": first, "raison_sociale": "A encore"}),
        (5, {"siret": "123", "raison_sociale": "C"}),
        (6, {"siret": third, "raison_sociale": "D"}),
    ]
    with unit_of_work(sessions) as session:
        job_id = services(session)[0].start_import(OPERATOR, rows, MAF, ";").id
    with unit_of_work(sessions) as session:
        assert services(session)[0].import_chunk(job_id, 2)[0] is False
    with pytest.raises(CrashError):
        chunk_then_crash(sessions, job_id)
    with unit_of_work(sessions) as session:
        assert session.get(ImportJob, job_id).done == 2  # type: ignore[union-attr]
        finished, letters = services(session)[0].import_chunk(job_id, 2)
        assert finished is False
    with unit_of_work(sessions) as session:
        finished, last = services(session)[0].import_chunk(job_id, 2)
        job = session.get(ImportJob, job_id)
        assert job is not None
        codes = session.scalar(
            select(func.count())
            .select_from(ActivationCode)
            .where(ActivationCode.siret.in_([first, second, third]))
        )
        audits = session.scalars(
            select(AuditEvent).where(
                AuditEvent.action == "import-etablissements", AuditEvent.at >= job.started_at
            )
        ).all()
    assert finished is True
    assert letters == []  # the duplicate (line 4) and the bad SIRET (line 5): no code
    assert [siret for siret, _, _ in last] == [third]
    assert (job.done, job.created, job.codes_issued, codes) == (5, 3, 3, 3)
    assert [line for line, _, _ in job.rejected] == [4, 5]
    assert "déjà plus haut" in job.rejected[0][2]
    assert job.letters == [[first, "A"], [second, "B"], [third, "D"]]
    assert [a.details for a in audits if a.demarche == MAF][-1] == {"codes": 3, "rejetees": 2}


def test_the_users_screen_finds_accented_names_whatever_the_case(
    sessions: sessionmaker[Session],
) -> None:
    siret, code = etablissement(sessions)
    actor = person(sessions, "gestionnaire")
    activate(sessions, actor, siret, code)
    with unit_of_work(sessions) as session:
        remember_person(session, f"elodie-{siret}", f"E.{siret}@Exemple.fr", "Élodie", "Étienne")
        services(session)[1].grant(actor, MAF, f"elodie-{siret}", "declarant", siret)
    with unit_of_work(sessions) as session:
        for query in ("élodie", "Élodie", "ÉTIENNE", "étienne"):
            assert services(session)[1].users(actor, MAF, query=query).total == 1, query
        assert (
            services(session)[1].person_by_email(f"e.{siret}@EXEMPLE.fr").subject
            == f"elodie-{siret}"
        )


def test_a_siret_whose_gestionnaire_left_is_listed_for_the_operator_until_a_new_one_comes(
    sessions: sessionmaker[Session],
) -> None:
    """Not only a deleted account: a right revoked (in the console, by an operator) or past its
    end also leaves the SIRET without a gestionnaire; read from the rights, not from events."""

    def orphans() -> dict[str, str]:
        with unit_of_work(sessions) as session:
            habilitations = services(session)[1]
            delegations = DelegationService(session, CATALOG, habilitations)
            found = AccountService(session, CATALOG, habilitations, delegations).orphans()
            return {o.siret: f"{o.former_holder} ({o.how})" for o in found if o.demarche == MAF}

    siret, code = etablissement(sessions)
    gerante = person(sessions, "gerante")
    held = activate(sessions, gerante, siret, code)
    assert siret not in orphans()

    with unit_of_work(sessions) as session:
        session.execute(
            update(Habilitation).where(Habilitation.id == held.id).values(revoked_at=now())
        )
    assert orphans()[siret] == "Gerante Test (droit retiré)"

    with unit_of_work(sessions) as session:
        new_code = services(session)[0].issue_code(OPERATOR, siret, MAF, reissue=True)
    activate(sessions, person(sessions, "successeur"), siret, new_code)
    assert siret not in orphans()
