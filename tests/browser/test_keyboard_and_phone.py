"""Without a mouse, and on a phone (#20, RGAA): the first guide's path from registration to
« Ajouter une démarche » done with the keyboard alone, and the pages a person meets at 390 px
wide, each with its actions reachable and nothing wider than the screen.

Every step leaves a screenshot under test-artifacts/screenshots/ (the focused element shows
its DSFR focus ring)."""

from __future__ import annotations

import uuid

import pytest
from playwright.sync_api import Browser, Locator, Page, ViewportSize, expect

from bridge.audit.service import Actor
from tests.browser.conftest import Screens
from tests.browser.keycloak_pages import CAPTCHA_TIMEOUT_MS
from tests.support.callers import MAF
from tests.support.seed import etablissement_with_code
from tests.support.sirets import new_siret
from tests.support.stack import PASSWORD, Platform

pytestmark = [pytest.mark.browser, pytest.mark.keycloak]
PHONE: ViewportSize = {"width": 390, "height": 844}
MOST_TABS = 80  # a page whose control is further than this is not usable by keyboard


def tab_to(page: Page, target: Locator) -> None:
    """Press Tab until `target` has the focus (Shift+Tab is never needed on our pages)."""
    handle = target.element_handle()
    for _ in range(MOST_TABS):
        page.keyboard.press("Tab")
        if page.evaluate("(element) => document.activeElement === element", handle):
            return
    raise AssertionError(f"jamais atteint au clavier en {MOST_TABS} tabulations : {target}")


def type_into(page: Page, target: Locator, text: str) -> None:
    tab_to(page, target)
    page.keyboard.type(text)


def test_registration_activation_and_adding_a_demarche_with_the_keyboard_only(
    platform: Platform, browser: Browser, screens: Screens
) -> None:
    email = f"clavier.{uuid.uuid4().hex[:10]}@organisme.fr"
    page = browser.new_context(locale="fr-FR").new_page()
    page.goto(f"{platform.portal_url}/auth/login")
    tab_to(page, page.get_by_role("link", name="Se créer un compte"))
    screens.shot(page, "clavier-connexion-lien-inscription")
    page.keyboard.press("Enter")

    expect(page.locator("#kc-register-form")).to_be_visible()
    tab_to(page, page.get_by_label("Madame", exact=True))
    page.keyboard.press("Space")
    for label, value in (
        ("#lastName", "Lefèvre"),
        ("#firstName", "Claire"),
        ("#email", email),
        ("#telephone", "01 23 45 67 89"),
        ("#siret", new_siret()),
    ):
        type_into(page, page.locator(label), value)
    tab_to(page, page.locator("#captcha-case"))
    page.keyboard.press("Space")
    expect(page.locator("#captcha-statut")).to_contain_text(
        "Vérification réussie", timeout=CAPTCHA_TIMEOUT_MS
    )
    screens.keep(page, "clavier-inscription-remplie")
    tab_to(page, page.locator("#kc-register-form [type=submit]"))
    page.keyboard.press("Enter")
    expect(page.locator("body")).to_contain_text("e-mail")

    mail = platform.mail.wait_for(email)
    mailbox = browser.new_context(locale="fr-FR").new_page()
    mailbox.goto(next(u for u in mail.links if "action-token" in u))
    tab_to(mailbox, mailbox.get_by_role("link", name="Activer mon compte"))
    screens.shot(mailbox, "clavier-activer")
    mailbox.keyboard.press("Enter")
    expect(mailbox.locator("#password-new")).to_be_focused()  # the page puts the focus there
    mailbox.keyboard.type(PASSWORD)
    type_into(mailbox, mailbox.locator("#password-confirm"), PASSWORD)
    tab_to(mailbox, mailbox.locator("#kc-valider-mot-de-passe"))
    screens.shot(mailbox, "clavier-mot-de-passe")
    mailbox.keyboard.press("Enter")
    tab_to(mailbox, mailbox.locator("#cguAcceptees"))
    mailbox.keyboard.press("Space")
    tab_to(mailbox, mailbox.locator("#cgu-valider"))
    mailbox.keyboard.press("Enter")
    tab_to(mailbox, mailbox.get_by_role("link", name="Accéder au portail"))
    mailbox.keyboard.press("Enter")

    login = browser.new_context(locale="fr-FR").new_page()
    login.goto(f"{platform.portal_url}/auth/login")
    type_into(login, login.locator("#username"), email)
    type_into(login, login.locator("#password"), PASSWORD)
    login.keyboard.press("Enter")
    expect(login.get_by_test_id("bienvenue")).to_have_text("Bonjour Claire Lefèvre")

    siret, code = etablissement_with_code(platform.context)
    tab_to(login, login.get_by_role("link", name="Ajouter Mon Activité Formation"))
    screens.shot(login, "clavier-accueil-ajouter")
    login.keyboard.press("Enter")
    type_into(login, login.get_by_label("SIRET Enregistré *"), siret)
    type_into(login, login.get_by_label("Code d'activation *"), code)
    tab_to(login, login.get_by_role("button", name="Valider mon accès"))
    screens.keep(login, "clavier-code-saisi")
    login.keyboard.press("Enter")
    expect(login.get_by_test_id(f"carte-{MAF}")).to_contain_text(f"Gestionnaire - SIRET {siret}")
    screens.shot(login, "clavier-demarche-ajoutee")


def fits_the_screen(page: Page) -> None:
    """Nothing wider than the phone: no sideways scrolling to reach an action."""
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{page.url} : {width} px de large pour un écran de 390"


def test_at_390_px_every_page_fits_and_keeps_its_actions_within_reach(
    platform: Platform, browser: Browser, screens: Screens
) -> None:
    phone = browser.new_context(locale="fr-FR", viewport=PHONE)
    page = phone.new_page()
    page.goto(f"{platform.portal_url}/auth/login")
    fits_the_screen(page)
    for offered in ("Se connecter", "Se créer un compte", "Mot de passe oublié ?"):
        expect(
            page.get_by_role("link", name=offered)
            .or_(page.get_by_role("button", name=offered))
            .first
        ).to_be_visible()
    screens.shot(page, "390-connexion")
    page.get_by_role("link", name="Se créer un compte").click()
    fits_the_screen(page)
    expect(page.locator("#kc-register-form [type=submit]")).to_be_visible()
    screens.shot(page, "390-inscription")

    person = platform.new_person("Amandine", "Munoz Ortega")
    page.goto(f"{platform.portal_url}/auth/login")
    page.fill("#username", person.email)
    page.fill("#password", person.password)
    page.click("#kc-login")
    expect(page.get_by_test_id("bienvenue")).to_be_visible()
    siret, code = etablissement_with_code(platform.context)
    with platform.context.work() as work:
        work.habilitations.activate(Actor(person.id, person.display_name), MAF, siret, code)
    pages: dict[str, tuple[str, str | None]] = {
        "accueil": ("/", "Utilisateurs"),
        "ajouter": (f"/demarches/{MAF}/ajouter", "Valider mon accès"),
        "utilisateurs": (f"/demarches/{MAF}/utilisateurs?siret={siret}", "Rechercher"),
        "delegation": (f"/demarches/{MAF}/delegations/nouvelle", "Continuer"),
        "mes-clients": ("/mes-clients", None),
        "mes-donnees": ("/mes-donnees", "Modifier mon mot de passe"),
        "nouveau-lien": ("/compte/nouveau-lien", "Recevoir un nouveau lien"),
        "accessibilite": ("/accessibilite", None),
    }
    for name, (path, action) in pages.items():
        page.goto(platform.portal_url + path)
        fits_the_screen(page)
        if action is not None:
            reachable = page.get_by_role("button", name=action).or_(
                page.get_by_role("link", name=action)
            )
            expect(reachable.first).to_be_visible()
        (screens.keep if name == "utilisateurs" else screens.shot)(page, f"390-{name}")

    # The header's tools (account, logout) are behind « Menu » on a phone.
    page.goto(platform.portal_url)
    page.get_by_role("button", name="Menu").click()
    expect(
        page.get_by_role("button", name="Se déconnecter")
        .or_(page.get_by_role("link", name="Se déconnecter"))
        .first
    ).to_be_visible()
    screens.keep(page, "390-menu-ouvert")
