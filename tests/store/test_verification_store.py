"""The check API's batches answer as its single question does (`may_act`), on both stores."""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from bridge.db import now, unit_of_work
from bridge.habilitation.service import may_act
from bridge.person.models import Person
from bridge.verification.checks import Question, check_many
from tests.store.test_habilitation_store import CATALOG, MAF, activate, etablissement, person
from tests.support.sirets import new_siret


def _answers(
    sessions: sessionmaker[Session], questions: list[Question]
) -> tuple[list[bool], list[bool]]:
    """(the batch's answers, each question asked alone), read at the same moment."""
    demarche = CATALOG.demarche(MAF)
    assert demarche is not None
    at = now()
    with unit_of_work(sessions) as session:
        batch = check_many(session, CATALOG, demarche, questions, at)
        alone = [may_act(session, CATALOG, q.subject, MAF, q.role, q.siret, at) for q in questions]
    return batch, alone


def test_a_batch_answers_every_question_as_it_is_answered_alone(
    sessions: sessionmaker[Session],
) -> None:
    """Held and not held, on SIRETs held by someone else, disabled and deleted holders, and
    batch sizes on either side of the statements' sizes (8, 16)."""
    people = [person(sessions, f"p{n}") for n in range(4)]
    sirets = []
    for holder in people:
        siret, code = etablissement(sessions)
        activate(sessions, holder, siret, code)
        sirets.append(siret)
    disabled, deleted = people[2].subject, people[3].subject
    with unit_of_work(sessions) as session:
        session.execute(update(Person).where(Person.subject == disabled).values(disabled_at=now()))
        # Gone from Keycloak while its rights are still there: between the event and its
        # handling, or had they been left
        session.execute(update(Person).where(Person.subject == deleted).values(deleted_at=now()))
    questions = [
        Question(p.subject, role, siret)
        for p in people
        for siret in [*sirets, new_siret()]
        for role in ("declarant", "gestionnaire", "agir")
    ]
    assert len(questions) == 60
    for size in (1, 2, 7, 8, 9, 16, 17, 60):
        batch, alone = _answers(sessions, questions[:size])
        assert batch == alone, size
    batch, alone = _answers(sessions, questions)
    # p0 and p1 on their own SIRET, and the deleted p3 (declarant, gestionnaire, agir): the
    # rule refuses disabled accounts; a deletion ends the rights in the unit of work that
    # records it (`bridge.accounts`), so a deleted person with rights is asked about only
    # before its event is handled, and both paths answer « oui » then
    assert [q.subject for q, yes in zip(questions, batch, strict=True) if yes] == [
        people[0].subject
    ] * 3 + [people[1].subject] * 3 + [people[3].subject] * 3


def test_a_deleted_person_gets_the_same_answer_in_a_batch_as_alone(
    sessions: sessionmaker[Session],
) -> None:
    holder = person(sessions, "holder")
    siret, code = etablissement(sessions)
    activate(sessions, holder, siret, code)
    with unit_of_work(sessions) as session:
        session.execute(
            update(Person).where(Person.subject == holder.subject).values(deleted_at=now())
        )
    questions = [Question(holder.subject, "declarant", siret)] * 2
    batch, alone = _answers(sessions, questions)
    assert batch == alone
