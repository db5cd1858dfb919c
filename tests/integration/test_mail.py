"""Keycloak's e-mails reach the catcher, and their links work when followed."""

from __future__ import annotations

import httpx
import pytest

from tests.support.stack import Person, Platform

pytestmark = pytest.mark.keycloak


def test_a_keycloak_email_arrives_in_the_catcher_with_a_working_link(
    platform: Platform, person: Person
) -> None:
    platform.admin().send_update_account(user_id=person.id, payload=["UPDATE_PASSWORD"])

    mail = platform.mail.wait_for(person.email)
    assert mail.recipients == (person.email,)
    action_links = [u for u in mail.links if "/login-actions/action-token" in u]
    assert action_links, mail.text

    page = httpx.get(action_links[0], follow_redirects=True)
    assert page.status_code == 200
    assert page.url.host == httpx.URL(platform.keycloak.url).host
    assert "Mot de passe" in page.text or "mot de passe" in page.text
