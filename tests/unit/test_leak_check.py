"""A database connection left open fails the test that left it, saying where it was opened
(tests/support/leaks.py), instead of failing the end of the session with no test named (#23).

The first cases run pytest on a small test file whose fixture leaves a SQLAlchemy engine on a
real PostgreSQL server undisposed: its pool keeps a psycopg connection open, which warns only
when the garbage collector frees it. The last one is #23's leak itself: a command of the
operators' command line run in-process, as the integration tests do, on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bridge.cli import main
from tests.support.leaks import garbage_complaints
from tests.support.postgres import running_postgres

pytest_plugins = ["pytester"]

REPO_ROOT = Path(__file__).resolve().parents[2]

LEAKING_TESTS = """
import os

import pytest
from sqlalchemy import create_engine, text


@pytest.fixture
def store():
    engine = create_engine(os.environ["LEAK_DATABASE_URL"])
    yield engine  # never disposed


def test_leaves_a_connection_open(store):
    with store.connect() as connection:
        connection.execute(text("select 1"))


def test_next():
    pass
"""


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    with running_postgres() as url:
        yield url


@pytest.fixture
def leaking_suite(
    pytester: pytest.Pytester, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> pytest.Pytester:
    pytester.makeini("[pytest]\nfilterwarnings = error\n")
    pytester.makepyfile(test_leaky=LEAKING_TESTS)
    monkeypatch.setenv("LEAK_DATABASE_URL", postgres_url)
    monkeypatch.setenv("PYTHONPATH", str(REPO_ROOT))
    return pytester


def test_a_connection_left_open_fails_the_test_that_left_it(leaking_suite: pytest.Pytester) -> None:
    result = leaking_suite.runpytest_subprocess("-p", "tests.support.leaks")

    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at teardown of test_leaves_a_connection_open*",
            "*Connexion jamais fermée, ouverte ici :",
            '*test_leaky.py", line *, in test_leaves_a_connection_open',
            "*with store.connect() as connection:",
            "*Exception ignored in: <psycopg.Connection*",
            "*was deleted while still open*",
        ]
    )


def test_without_the_check_the_same_leak_fails_the_session_with_no_test_named(
    leaking_suite: pytest.Pytester,
) -> None:
    """What #23 saw: every test passed, then pytest failed at its end."""
    result = leaking_suite.runpytest_subprocess()

    result.assert_outcomes(passed=2)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert "was deleted while still open" in result.stderr.str()


def test_a_command_run_in_process_leaves_no_connection_open(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """#23's leak: the command took its context from a web app whose lifespan never ran, so
    nothing disposed that app's engine."""
    monkeypatch.setenv("BRIDGE_DATABASE_URL", postgres_url)

    assert main(["delegations", "echeances"]) == 0

    complaints = garbage_complaints()
    assert not complaints, "\n".join(complaints)
