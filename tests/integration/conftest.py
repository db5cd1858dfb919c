"""Fixtures shared by the integration tests (the platform itself is in tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.callers import Caller
from tests.support.stack import Platform


@pytest.fixture
def callers(platform: Platform) -> Iterator[list[Caller]]:
    """The API clients a test made, closed after it."""
    made: list[Caller] = []

    yield made
    for caller in made:
        caller.http.close()
