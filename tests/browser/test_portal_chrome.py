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


# --- 9. the home's cards, the current entry, the focus after errors ------------------------------


def test_a_cards_links_sit_under_its_title(platform: Platform, page: Page) -> None:
    holder_of_maf(platform, page)
    card = page.get_by_test_id("carte-mon-activite-formation")
    title = card.locator(".fr-card__title").bounding_box()
    link = card.get_by_role("link", name="Utilisateurs de la démarche").bounding_box()
    assert title is not None
    assert link is not None
    assert link["y"] >= title["y"] + title["height"], (title, link)


def test_the_other_demarches_heading_stands_apart_from_the_cards_above(
    platform: Platform, page: Page
) -> None:
    holder_of_maf(platform, page)
    cards = page.get_by_test_id("mes-demarches").bounding_box()
    heading = page.get_by_role("heading", name="Les autres démarches").bounding_box()
    assert cards is not None
    assert heading is not None
    gap = heading["y"] - (cards["y"] + cards["height"])
    assert gap >= 24, f"« Les autres démarches » est à {gap} px des cartes"


def test_a_training_organisation_is_not_offered_the_employer_space(
    platform: Platform, page: Page
) -> None:
    holder_of_maf(platform, page)
    expect(page.get_by_role("heading", name="Les autres démarches")).to_be_visible()
    expect(page.get_by_text("Espace employeur du SI CPF")).to_have_count(0)


def test_the_current_tab_and_the_current_menu_entry_say_so(
    platform: Platform, page: Page, browser: Browser, callers: list[Caller]
) -> None:
    log_in(page, platform, platform.new_person("Onglet", "Courant"))
    page.goto(f"{platform.portal_url}/demarches/mon-activite-formation/ajouter")
    code_tab = page.get_by_role("link", name="Saisir le code d'activation")
    request_tab = page.get_by_role("link", name="Demander l'accès à un gestionnaire")
    expect(code_tab).to_have_attribute("aria-current", "page")
    expect(request_tab).not_to_have_attribute("aria-current", "page")
    request_tab.click()
    expect(request_tab).to_have_attribute("aria-current", "page")
    expect(code_tab).not_to_have_attribute("aria-current", "page")

    siret, principal = employer_principal(platform, callers)
    employer = browser.new_context(locale="fr-FR").new_page()
    employer.goto(f"{platform.portal_url}/auth/login")
    log_in_on_keycloak(employer, principal.username, principal.password)
    menu = employer.get_by_test_id("menu-employeur")
    expect(menu.get_by_role("link", name="Accueil")).to_have_attribute("aria-current", "page")
    menu.get_by_role("link", name="Gérer les habilitations").click()
    expect(employer).to_have_url(f"{platform.portal_url}/employeur/{siret}/gestionnaires")
    expect(menu.get_by_role("link", name="Gérer les habilitations")).to_have_attribute(
        "aria-current", "page"
    )
    expect(menu.get_by_role("link", name="Accueil")).not_to_have_attribute("aria-current", "page")


def test_a_refused_form_moves_the_focus_to_its_errors(platform: Platform, page: Page) -> None:
    siret, _ = etablissement_with_code(platform.context, name="FOCUS")
    log_in(page, platform, platform.new_person("Focus", "Erreur"))
    add_demarche_with_code(page, platform, siret, "AAAA-BBBB-CCCC")
    expect(page.get_by_test_id("erreur-code")).to_be_visible()
    focused = page.locator(":focus")
    expect(focused).to_have_count(1)
    assert focused.evaluate(
        "el => el.matches('[data-testid=erreurs]') || el.getAttribute('aria-invalid') === 'true'"
    ), focused.evaluate("el => el.outerHTML")

    page.get_by_role("link", name="Demander l'accès à un gestionnaire").click()
    page.get_by_label("SIRET Enregistré *").fill("123")
    page.get_by_role("button", name="Demander l'accès").click()
    expect(page.locator(":focus")).to_have_attribute("id", "demande-siret")


# --- « Assistance technique », « En savoir plus », whom to ask for a code -----------------------


def test_the_technical_assistance_is_on_the_footer_the_error_pages_and_the_login_page(
    platform: Platform, page: Page, screens: Screens
) -> None:
    settings = platform.portal_settings
    shown = (settings.assistance_horaires, settings.assistance_telephone)

    page.goto(platform.portal_url)
    footer = page.get_by_role("contentinfo")
    for text in shown:
        expect(footer).to_contain_text(text)
    expect(footer.get_by_role("link", name=settings.assistance_courriel)).to_have_attribute(
        "href", f"mailto:{settings.assistance_courriel}"
    )

    log_in(page, platform, platform.new_person("Aide", "Technique"))
    page.goto(f"{platform.portal_url}/demarches/inexistante/ajouter")
    main = page.get_by_role("main")
    expect(main.get_by_role("heading", name="Assistance technique")).to_be_visible()
    expect(page.get_by_role("heading", name="Assistance technique")).to_have_count(1)  # once
    for text in shown:
        expect(main).to_contain_text(text)
    screens.shot(page, "erreur-assistance")

    login = page.context.browser.new_context(locale="fr-FR").new_page()  # type: ignore[union-attr]
    login.goto(f"{platform.portal_url}/auth/login")
    assistance = login.get_by_test_id("assistance")
    expect(assistance.get_by_role("heading", name="Assistance technique")).to_be_visible()
    for text in (*shown, settings.assistance_courriel):
        expect(assistance).to_contain_text(text)


def test_the_login_page_tells_more_about_the_three_steps(
    platform: Platform, page: Page, screens: Screens
) -> None:
    page.goto(f"{platform.portal_url}/auth/login")
    more = page.locator("summary", has_text="En savoir plus")  # a disclosure, no script
    more.focus()
    page.keyboard.press("Enter")
    steps = page.get_by_test_id("en-savoir-plus")
    expect(steps).to_be_visible()
    for step in ("Créez-vous un compte", "Validez vos accès", "Accédez à vos démarches"):
        expect(steps.get_by_role("heading", name=step)).to_be_visible()
    expect(steps.locator("p")).to_have_count(3)
    screens.shot(page, "connexion-en-savoir-plus")


def test_the_activation_code_hint_names_whom_to_ask(platform: Platform, page: Page) -> None:
    log_in(page, platform, platform.new_person("Code", "Perdu"))
    page.goto(f"{platform.portal_url}/demarches/mon-activite-formation/ajouter")
    expect(page.get_by_test_id("aide-code")).to_contain_text(
        "contactez votre service régional de contrôle"
    )
