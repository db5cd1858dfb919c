"""The bridge's copy of a person follows the tokens it receives: written on the first call,
updated when Keycloak says something new (the hot path remembers what it already wrote)."""

from __future__ import annotations

import httpx
import pytest

from bridge.person.models import Person
from tests.support.stack import Platform

pytestmark = pytest.mark.keycloak


def call_api(platform: Platform, token: str) -> None:
    response = httpx.get(
        f"{platform.portal_url}/api/v1/moi/habilitations",
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert response.status_code == 200, response.text


def stored_name(platform: Platform, subject: str) -> tuple[str, str]:
    with platform.context.work() as work:
        person = work.session.get(Person, subject)
        assert person is not None
        return person.first_name, person.last_name


def test_a_name_changed_in_keycloak_reaches_the_store_with_the_next_token(
    platform: Platform,
) -> None:
    person = platform.new_person("Léa", "Dumas")
    call_api(platform, platform.token_for(person))
    call_api(platform, platform.token_for(person))  # the same details: nothing to write
    assert stored_name(platform, person.id) == ("Léa", "Dumas")

    platform.admin().update_user(person.id, {"firstName": "Léa", "lastName": "Dumas-Roche"})
    call_api(platform, platform.token_for(person))
    assert stored_name(platform, person.id) == ("Léa", "Dumas-Roche")
