"""What surrounds every page of the portal (#20): the header on a phone, the home's cards, the
current entry of a navigation, the focus after a refused form, the « Assistance technique »
block, the login page's « En savoir plus », and whom to ask for a lost activation code."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Page, ViewportSize, expect

from tests.browser.conftest import Screens
from tests.browser.keycloak_pages import log_in_on_keycloak
from tests.browser.test_habilitation_path import add_demarche_with_code, log_in
from tests.support.callers import Caller
from tests.support.employeur import account_caller, new_organisation, operator_caller, person_form
from tests.support.seed import etablissement_with_code
from tests.support.stack import Person, Platform

pytestmark = [pytest.mark.browser, pytest.mark.keycloak]

PHONE: ViewportSize = {"width": 390, "height": 844}


def phone_page(browser: Browser) -> Page:
    return browser.new_context(locale="fr-FR", viewport=PHONE).new_page()


def holder_of_maf(platform: Platform, page: Page) -> Person:
    """A person logged in who holds « Mon Activité Formation » as its gestionnaire."""
    siret, code = etablissement_with_code(platform.context, name="CARTES")
    person = platform.new_person("Carla", "Cartes")
    log_in(page, platform, person)
    add_demarche_with_code(page, platform, siret, code)
    expect(page.get_by_test_id("carte-mon-activite-formation")).to_be_visible()
    return person


def employer_principal(platform: Platform, callers: list[Caller]) -> tuple[str, Person]:
    """An organisation of the employer space and its main administrator (first login done)."""
    operator = operator_caller(platform, callers)
    siret = new_organisation(operator)
    response = operator.post(
        f"/employeur/organisations/{siret}/administrateur-principal",
        json=person_form("Elsa", "Employeur"),
    )
    assert response.status_code == 201, response.text
    return siret, account_caller(platform, callers, response.json()).person


def assert_no_sideways_scroll(page: Page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"la page déborde : {width} px de large"


# --- 7. the header on a phone ----------------------------------------------------------------


def test_at_390_px_the_menu_button_opens_the_account_and_logout_by_keyboard(
    platform: Platform, browser: Browser, screens: Screens
) -> None:
    page = phone_page(browser)
    page.goto(f"{platform.portal_url}/auth/login")
    expect(page.locator("#kc-header")).to_be_visible()
    assert_no_sideways_scroll(page)  # Keycloak's login page: its header fits a phone
    screens.shot(page, "connexion-390")
    person = platform.new_person("Mobile", "Téléphone")
    log_in_on_keycloak(page, person.email, person.password)
    expect(page.get_by_test_id("bienvenue")).to_be_visible()
    tools = page.locator(".fr-header__tools-links")
    expect(tools.get_by_role("button", name="Se déconnecter")).to_be_hidden()

    menu_button = page.get_by_role("button", name="Menu")
    menu_button.focus()
    page.keyboard.press("Enter")
    menu = page.get_by_role("dialog", name="Menu principal")
    expect(menu).to_be_visible()
    expect(menu.get_by_role("link", name=person.display_name)).to_be_visible()
    logout = menu.get_by_role("button", name="Se déconnecter")
    expect(logout).to_be_visible()
    screens.shot(page, "menu-390")
    page.keyboard.press("Escape")
    expect(menu).to_be_hidden()
    expect(menu_button).to_be_focused()

    menu_button.click()
    logout.focus()
    page.keyboard.press("Enter")
    expect(
        page.get_by_role("heading", name="Connectez-vous au portail de services")
    ).to_be_visible()


def test_at_390_px_the_employer_menu_opens_from_its_button(
    platform: Platform, browser: Browser, callers: list[Caller], screens: Screens
) -> None:
    siret, principal = employer_principal(platform, callers)
    page = phone_page(browser)
    page.goto(f"{platform.portal_url}/auth/login")
    log_in_on_keycloak(page, principal.username, principal.password)
    expect(page).to_have_url(f"{platform.portal_url}/employeur/{siret}")
    entry = page.get_by_role("link", name="Gérer les habilitations")
    expect(entry).to_be_hidden()
    page.get_by_role("button", name="Dans cette rubrique").click()
    expect(entry).to_be_visible()
    screens.shot(page, "menu-employeur-390")
    entry.click()
    expect(page).to_have_url(f"{platform.portal_url}/employeur/{siret}/gestionnaires")
    page.get_by_role("button", name="Menu").click()
    expect(
        page.get_by_role("dialog", name="Menu principal").get_by_role(
            "button", name="Se déconnecter"
        )
    ).to_be_visible()
