"""Nobody can keep the real holder of an activation code out (#17, finding 2).

Wrong codes used to be counted per SIRET for everyone: any registered account sent five wrong
codes on a public SIRET and its holder got « trop de tentatives » for 15 minutes, renewable at
will. And the count was not serialised: simultaneous guesses were evaluated past the limit.
Each test runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from bridge.db import now, unit_of_work
from bridge.errors import TooManyAttemptsError
from bridge.etablissement.models import CodeAttempt
from bridge.etablissement.service import (
    MAX_FAILURES,
    SIRET_LOCK_ACCOUNTS,
    SIRET_LOCK_WINDOW,
    WrongCodeError,
)
from tests.store.test_habilitation_store import activate, etablissement, person

WRONG = "AAAA-AAAA-AAAA"


def guess_wrong(sessions: sessionmaker[Session], name: str, siret: str, times: int) -> None:
    guesser = person(sessions, name)
    for _ in range(times):
        with pytest.raises(WrongCodeError):
            activate(sessions, guesser, siret, WRONG)


def test_one_account_guessing_cannot_lock_out_the_holder(
    sessions: sessionmaker[Session],
) -> None:
    siret, code = etablissement(sessions)
    guesser = person(sessions, "guesser")
    for _ in range(MAX_FAILURES):
        with pytest.raises(WrongCodeError):
            activate(sessions, guesser, siret, WRONG)
    with pytest.raises(TooManyAttemptsError, match="depuis votre compte"):
        activate(sessions, guesser, siret, WRONG)  # the guesser waits…
    assert activate(sessions, person(sessions, "holder"), siret, code).role == "gestionnaire"


def test_the_limit_follows_the_account_from_one_siret_to_the_next(
    sessions: sessionmaker[Session],
) -> None:
    guesser = person(sessions, "guesser")
    sirets = [etablissement(sessions)[0] for _ in range(MAX_FAILURES + 1)]
    for siret in sirets[:MAX_FAILURES]:
        with pytest.raises(WrongCodeError):
            activate(sessions, guesser, siret, WRONG)
    with pytest.raises(TooManyAttemptsError):
        activate(sessions, guesser, sirets[-1], WRONG)


def test_simultaneous_guesses_are_counted_one_by_one(sessions: sessionmaker[Session]) -> None:
    siret, _ = etablissement(sessions)
    guesser = person(sessions, "guesser")
    attempts = 40
    barrier = threading.Barrier(attempts)
    outcomes: list[str] = []

    def guess() -> None:
        barrier.wait()
        try:
            activate(sessions, guesser, siret, WRONG)
        except WrongCodeError:
            outcomes.append("evalue")
        except TooManyAttemptsError:
            outcomes.append("refuse")

    threads = [threading.Thread(target=guess) for _ in range(attempts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["evalue"] * MAX_FAILURES + ["refuse"] * (attempts - MAX_FAILURES)
    with unit_of_work(sessions) as session:
        counted = session.scalar(
            select(func.count()).select_from(CodeAttempt).where(CodeAttempt.siret == siret)
        )
    assert counted == MAX_FAILURES


def test_many_accounts_lock_the_siret_for_a_day_and_then_it_opens(
    sessions: sessionmaker[Session],
) -> None:
    siret, code = etablissement(sessions)
    for index in range(SIRET_LOCK_ACCOUNTS - 1):
        guess_wrong(sessions, f"bot{index}", siret, 1)
    holder = person(sessions, "holder")
    guess_wrong(sessions, "last-bot", siret, 1)  # the threshold: the SIRET is protected
    with pytest.raises(TooManyAttemptsError, match="nombreux comptes"):
        activate(sessions, holder, siret, code)
    with unit_of_work(sessions) as session:  # a day later
        session.execute(
            update(CodeAttempt)
            .where(CodeAttempt.siret == siret)
            .values(at=now() - SIRET_LOCK_WINDOW - timedelta(minutes=1))
        )
    assert activate(sessions, holder, siret, code).role == "gestionnaire"
