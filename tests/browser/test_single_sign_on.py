"""The foundation's path in real Chromium: log in once, open a second démarche, log out of both."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, Response, expect

from tests.browser.conftest import Screens
from tests.support.stack import Person, Platform

pytestmark = [pytest.mark.browser, pytest.mark.keycloak]


def _log_in_on_keycloak(page: Page, person: Person, screens: Screens) -> None:
    expect(page.locator("#username")).to_be_visible()
    screens.shot(page, "keycloak-connexion")
    page.fill("#username", person.email)
    page.fill("#password", person.password)
    page.click("#kc-login")


def test_one_login_opens_every_demarche_and_logout_ends_both_sessions(
    platform: Platform, person: Person, page: Page, screens: Screens
) -> None:
    authorization_answers: list[int] = []

    def record(response: Response) -> None:
        if "/protocol/openid-connect/auth" in response.url:
            authorization_answers.append(response.status)

    page.goto(platform.portal_url)
    expect(
        page.get_by_role("heading", name="Connectez-vous au portail de services")
    ).to_be_visible()
    screens.shot(page, "portail-accueil")
    page.get_by_role("link", name="Se connecter").first.click()
    assert page.url.startswith(f"{platform.keycloak.url}/realms/{platform.keycloak.realm}/")
    _log_in_on_keycloak(page, person, screens)

    expect(page.get_by_role("heading", name="Mes démarches")).to_be_visible()
    expect(page.get_by_test_id("bienvenue")).to_have_text(f"Bonjour {person.display_name}")
    screens.shot(page, "mes-demarches")

    page.on("response", record)
    page.goto(platform.relying_party_url)  # the démarche's own site, served apart
    page.wait_for_url(f"{platform.relying_party_url}/")
    expect(page.get_by_test_id("bienvenue")).to_have_text(f"Bonjour {person.display_name}")
    screens.shot(page, "demarche-sans-mot-de-passe")
    # Keycloak answered the démarche's authorization request with a redirect, never a form.
    assert authorization_answers, "la démarche n'est pas passée par Keycloak"
    assert all(status == 302 for status in authorization_answers)
    page.remove_listener("response", record)

    sessions = platform.admin().get_sessions(person.id)
    assert len(sessions) == 1
    clients = set(sessions[0]["clients"].values())
    assert clients == {"portail", "mon-activite-formation"}

    page.goto(platform.portal_url)
    page.get_by_role("button", name="Se déconnecter").click()
    expect(
        page.get_by_role("heading", name="Connectez-vous au portail de services")
    ).to_be_visible()
    screens.shot(page, "portail-deconnecte")

    assert platform.admin().get_sessions(person.id) == []
    # The démarche learnt of the logout from Keycloak (back-channel): it asks for the password.
    page.goto(platform.relying_party_url)
    expect(page.locator("#password")).to_be_visible()
    assert re.match(rf"{re.escape(platform.keycloak.url)}/realms/", page.url)
    screens.shot(page, "demarche-redemande-le-mot-de-passe")


def test_a_session_ended_by_an_administrator_ends_at_the_portal_on_the_next_request(
    platform: Platform, person: Person, page: Page, screens: Screens
) -> None:
    page.goto(f"{platform.portal_url}/auth/login")
    _log_in_on_keycloak(page, person, screens)
    expect(page.get_by_test_id("bienvenue")).to_be_visible()

    platform.admin().user_logout(person.id)

    page.reload()
    expect(
        page.get_by_role("heading", name="Connectez-vous au portail de services")
    ).to_be_visible()
    screens.shot(page, "portail-apres-deconnexion-par-administrateur")
