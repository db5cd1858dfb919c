"""Session fixtures: one real platform (Keycloak, mail catcher, portal, démarche site) per run.

Keycloak starts once per test session (about 40 s); tests stay independent by creating
their own people with unique e-mails.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.callers import Caller
from tests.support.stack import Person, Platform, running_platform

ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"

# A connection left open fails the test that left it, with where it was opened.
pytest_plugins = ["tests.support.leaks"]


@pytest.fixture(scope="session", autouse=True)
def _no_local_platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """A `make run` up on the machine must not pull the tests' commands onto its store."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DEVSTACK_STATE_DIR", str(tmp_path_factory.mktemp("etat-plateforme")))
        yield


@pytest.fixture(scope="session")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    with running_platform(tmp_path_factory.mktemp("keycloak")) as running:
        yield running


@pytest.fixture
def person(platform: Platform) -> Person:
    return platform.new_person()


@pytest.fixture
def callers(platform: Platform) -> Iterator[list[Caller]]:
    """The API clients a test made, closed after it."""
    made: list[Caller] = []

    yield made
    for caller in made:
        caller.http.close()
