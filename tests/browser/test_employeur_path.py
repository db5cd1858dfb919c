"""The second guide's path in real Chromium, on the real Keycloak and the real mail catcher.

The operator opens an organisation and appoints its main administrator; the temporary
password arrives by e-mail; the first login forces a personal password, then the CGU, then
shows the employer home and its left menu; the main administrator adds a delegated
administrator with a new unit; the delegated administrator adds a gestionnaire with that
unit from the list; the gestionnaire logs in; the delegated administrator is refused the
main administrator's password renewal; a regional council's administrator sees the entries
reserved to regional councils, and an employer's neither sees nor reaches them.
"""

from __future__ import annotations

import html
import re

from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import Screens
from tests.browser.keycloak_pages import (
    accept_cgu,
    choose_password,
    log_in_on_keycloak,
    open_user_in_admin_console,
)
from tests.support.employeur import make_operator, temporary_password_of
from tests.support.sirets import new_siret
from tests.support.stack import PASSWORD, Platform

LOGIN_ID = re.compile(r"\b(g\d{8})\b")
NEW_PASSWORD = "Employeur-Solide-2026!"


def login_page(browser: Browser, platform: Platform, username: str, password: str) -> Page:
    page = browser.new_context(locale="fr-FR").new_page()
    page.goto(f"{platform.portal_url}/auth/login")
    log_in_on_keycloak(page, username, password)
    return page


def first_login(
    browser: Browser, platform: Platform, login_id: str, email: str, screens: Screens, who: str
) -> Page:
    """Temporary password from the mail catcher, forced change, then the CGU."""
    page = login_page(browser, platform, login_id, temporary_password_of(platform, email))
    choose_password(page, NEW_PASSWORD, screens, f"{who}-mot-de-passe-temporaire")
    accept_cgu(page, screens)
    return page


def open_organisation(
    platform: Platform,
    operator: Page,
    type_label: str,
    person: tuple[str, str, str],
    screens: Screens,
) -> tuple[str, str]:
    """The operator's form: the organisation and its main administrator; (siret, login id)."""
    first, last, email = person
    siret = new_siret()
    operator.goto(f"{platform.portal_url}/operateur/organisations")
    operator.fill("#siret", siret)
    operator.fill("#raison-sociale", f"{type_label} {last}")
    operator.select_option("#type", label=type_label)
    pick(operator, "civilite-madame")
    operator.fill("#nom", last)
    operator.fill("#prenom", first)
    operator.fill("#email", email)
    operator.fill("#telephone-fixe", "01 23 45 67 89")
    screens.shot(operator, f"operateur-ouvrir-{type_label}")
    operator.get_by_test_id("ouvrir").click()
    message = operator.get_by_test_id("message")
    expect(message).to_contain_text("est ouverte")
    found = LOGIN_ID.search(message.inner_text())
    assert found, message.inner_text()
    return siret, found.group(1)


def pick(page: Page, radio_id: str) -> None:
    """A DSFR radio button: its label is what a person clicks."""
    page.locator(f"label[for={radio_id}]").click()
    expect(page.locator(f"#{radio_id}")).to_be_checked()


def add_gestionnaire(page: Page, first: str, email: str) -> None:
    pick(page, "civilite-madame")
    page.fill("#nom", "Test")
    page.fill("#prenom", first)
    page.fill("#email", email)
    page.fill("#telephone-mobile", "06 12 34 56 78")


def saved_login_id(page: Page) -> str:
    message = page.get_by_test_id("message")
    expect(message).to_contain_text("Son identifiant est")
    found = LOGIN_ID.search(message.inner_text())
    assert found, message.inner_text()
    expect(page.get_by_test_id("identifiant")).to_have_text(found.group(1))
    return found.group(1)


def test_the_employer_guide_from_appointment_to_the_gestionnaire_login(
    platform: Platform, browser: Browser, screens: Screens
) -> None:
    operator_person = platform.new_person("Opé", "Rateur")
    make_operator(platform, operator_person.id)
    operator = login_page(browser, platform, operator_person.username, PASSWORD)
    expect(operator.get_by_test_id("bienvenue")).to_be_visible()

    # The operator appoints a main administrator; the temporary password arrives by mail.
    principal_email = f"claire.{new_siret()}@employeur.example.fr"
    siret, principal_id = open_organisation(
        platform, operator, "Employeur", ("Claire", "Principale", principal_email), screens
    )
    screens.shot(operator, "operateur-organisation-ouverte")

    # First login: personal password, CGU, then the employer home with its left menu.
    principal = first_login(browser, platform, principal_id, principal_email, screens, "principal")
    expect(principal.get_by_test_id("menu-employeur")).to_be_visible()
    expect(principal.get_by_test_id("bienvenue")).to_have_text("Bonjour Claire Principale")
    expect(principal.get_by_test_id("menu-donnees-personnelles")).to_have_text(
        "Mes données personnelles"
    )
    expect(principal.get_by_test_id("menu-habilitations")).to_have_text("Gérer les habilitations")
    expect(principal.get_by_test_id("menu-espace-titulaire")).to_have_count(0)
    expect(principal.get_by_test_id("menu-cloture-simplifiee")).to_have_count(0)
    screens.keep(principal, "employeur-accueil")

    # « Gérer les habilitations » → « Ajouter un gestionnaire »: errors first, in French.
    principal.get_by_test_id("menu-habilitations").click()
    principal.get_by_role("link", name="Ajouter un gestionnaire").click()
    principal.fill("#nom", "Delegue")
    principal.fill("#prenom", "Denis")
    principal.fill("#email", "denis@")
    principal.fill("#telephone-fixe", "12 34")
    principal.get_by_test_id("enregistrer").click()
    expect(principal.get_by_test_id("erreur-civilite")).to_contain_text("Madame ou Monsieur")
    # Every error at once (#20 item 5), in a summary that takes the focus, each a link.
    expect(principal.get_by_test_id("resume-erreurs").locator("li")).to_have_count(3)
    expect(principal.get_by_test_id("erreur-email")).to_be_visible()
    expect(principal.get_by_test_id("erreur-telephone_fixe")).to_be_visible()
    expect(principal.get_by_test_id("erreurs")).to_be_focused()
    pick(principal, "civilite-monsieur")
    principal.get_by_test_id("enregistrer").click()
    expect(principal.get_by_test_id("erreur-email")).to_contain_text("doit être valide")
    expect(principal.locator("#prenom")).to_have_value("Denis")  # inputs kept
    principal.fill("#email", f"denis.{new_siret()}@employeur.example.fr")
    principal.get_by_test_id("enregistrer").click()
    expect(principal.get_by_test_id("erreur-telephone_fixe")).to_contain_text(
        "n'est pas un numéro français valide"
    )
    screens.keep(principal, "employeur-ajout-erreurs")

    # A delegated administrator, with a unit added on the spot.
    delegue_email = f"denis.{new_siret()}@employeur.example.fr"
    principal.fill("#email", delegue_email)
    principal.fill("#telephone-fixe", "01 98 76 54 32")
    principal.fill("#nouvelle-unite", "Service paie")
    principal.get_by_role("button", name="Ajouter une unité").click()
    expect(principal.locator("#unite option:checked")).to_have_text("Service paie")
    expect(principal.locator("#email")).to_have_value(delegue_email)
    pick(principal, "role-administrateur-delegue")
    principal.get_by_test_id("enregistrer").click()
    delegue_id = saved_login_id(principal)
    expect(principal.get_by_test_id("unite")).to_have_text("Service paie")
    screens.shot(principal, "principal-delegue-ajoute")
    # Its edit form refuses as the add form does: a summary that takes the focus, each error a
    # link to its field, nothing changed.
    principal.fill("#telephone-fixe", "12 34")
    principal.get_by_role("button", name="Enregistrer les modifications").click()
    expect(principal.get_by_test_id("erreurs")).to_be_focused()
    expect(principal.get_by_test_id("resume-erreurs").locator("a")).to_have_attribute(
        "href", "#telephone-fixe"
    )
    expect(principal.get_by_test_id("erreur-telephone_fixe")).to_be_visible()
    expect(principal.get_by_test_id("unite")).to_have_text("Service paie")

    # The delegated administrator logs in and adds a gestionnaire with the unit from the list.
    delegue = first_login(browser, platform, delegue_id, delegue_email, screens, "delegue")
    expect(delegue.get_by_test_id("menu-habilitations")).to_be_visible()
    delegue.get_by_test_id("menu-habilitations").click()
    delegue.get_by_role("link", name="Ajouter un gestionnaire").click()
    gestionnaire_email = f"gaston.{new_siret()}@employeur.example.fr"
    add_gestionnaire(delegue, "Gaston", gestionnaire_email)
    delegue.select_option("#unite", label="Service paie")
    expect(delegue.locator("#role-administrateur-delegue")).to_have_count(0)  # not his to give
    delegue.get_by_test_id("enregistrer").click()
    gestionnaire_id = saved_login_id(delegue)

    # The list, searched by unit.
    delegue.get_by_role("link", name="Retour à la liste").click()
    expect(delegue.get_by_test_id("total")).to_have_text("3 gestionnaires")
    delegue.select_option("#filtre-unite", label="Service paie")
    delegue.get_by_role("button", name="Rechercher").click()
    expect(delegue.get_by_test_id("total")).to_have_text("2 gestionnaires")
    delegue.select_option("#filtre-unite", label="Toutes")
    delegue.get_by_role("button", name="Rechercher").click()
    screens.keep(delegue, "employeur-liste")

    # The gestionnaire logs in: the employer home, without « Gérer les habilitations ».
    gestionnaire = first_login(
        browser, platform, gestionnaire_id, gestionnaire_email, screens, "gestionnaire"
    )
    expect(gestionnaire.get_by_test_id("bienvenue")).to_have_text("Bonjour Gaston Test")
    expect(gestionnaire.get_by_test_id("menu-habilitations")).to_have_count(0)

    # The delegated administrator may not renew the main administrator's password: no button,
    # and the request itself is refused.
    delegue.locator(f"[data-testid=ligne-{principal_id}] a").click()
    expect(delegue.get_by_role("button", name="Renouveler le mot de passe")).to_have_count(0)
    token = delegue.locator("input[name=csrf_token]").first.get_attribute("value")
    forged = delegue.request.post(f"{delegue.url}/mot-de-passe", form={"csrf_token": str(token)})
    assert forged.ok
    assert (
        "Vous n'avez pas le droit de renouveler le mot de passe d'un « Administrateur principal »"
        in html.unescape(forged.text())
    )
    assert len(platform.mail.for_recipient(principal_email)) == 1  # no new password sent

    # A regional council sees its reserved entries; an employer neither sees nor reaches them.
    council_email = f"regine.{new_siret()}@region.example.fr"
    _, council_id = open_organisation(
        platform, operator, "Conseil régional", ("Régine", "Region", council_email), screens
    )
    council = first_login(browser, platform, council_id, council_email, screens, "region")
    expect(council.get_by_test_id("menu-espace-titulaire")).to_be_visible()
    expect(council.get_by_test_id("menu-cloture-simplifiee")).to_be_visible()
    screens.shot(council, "conseil-regional-accueil")
    principal.goto(f"{platform.portal_url}/employeur/{siret}/menu/cloture-simplifiee")
    expect(principal.locator("body")).to_contain_text("n'est pas ouverte à votre organisation")
    # Nor does an administrator reach the operator's page.
    principal.goto(f"{platform.portal_url}/operateur/organisations")
    expect(principal.locator("body")).to_contain_text("réservée à l'opérateur")


def organisation_opened(
    browser: Browser, platform: Platform, screens: Screens
) -> tuple[str, str, str, Page]:
    """A new operator opens an employer organisation: (SIRET, the main administrator's login
    id and e-mail, the operator's page)."""
    operator_person = platform.new_person("Opé", "Rateur")
    make_operator(platform, operator_person.id)
    operator = login_page(browser, platform, operator_person.username, PASSWORD)
    principal_email = f"claire.{new_siret()}@employeur.example.fr"
    siret, principal_id = open_organisation(
        platform, operator, "Employeur", ("Claire", "Principale", principal_email), screens
    )
    return siret, principal_id, principal_email, operator


def test_personal_data_reached_from_the_employer_menu_keeps_the_left_menu(
    platform: Platform, browser: Browser, screens: Screens
) -> None:
    """#20 (smaller item e): « Mes données personnelles » of the employer menu showed the
    portal's page without the employer space's left menu; each change comes back there."""
    siret, principal_id, principal_email, _ = organisation_opened(browser, platform, screens)
    principal = first_login(browser, platform, principal_id, principal_email, screens, "principal")
    principal.get_by_test_id("menu-donnees-personnelles").click()
    expect(principal.get_by_role("heading", name="Mes données personnelles")).to_be_visible()
    expect(principal.get_by_test_id("adresse")).to_have_text(principal_email)
    expect(principal.get_by_test_id("menu-employeur")).to_be_visible()
    expect(principal.get_by_test_id("menu-habilitations")).to_have_text("Gérer les habilitations")
    expect(
        principal.get_by_role("link", name="Modifier mon adresse électronique")
    ).to_have_attribute("href", re.compile(rf"suite=/employeur/{siret}/mes-donnees$"))
    screens.shot(principal, "employeur-mes-donnees")


def test_the_main_administrators_emails_name_the_operator_as_who_gives_the_login_id(
    platform: Platform, browser: Browser, screens: Screens
) -> None:
    """#20 (smaller item c): the main administrator is appointed, and its password renewed, by
    the operator (the guide: « Seule la Caisse des Dépôts peut renouveler le mot de passe de
    l'administrateur principal »), yet a renewal said the login id came « de l'administrateur
    de votre organisation »."""
    siret, principal_id, principal_email, operator = organisation_opened(browser, platform, screens)
    appointed = platform.mail.wait_for(principal_email)
    assert "communiqué par l'opérateur du service" in appointed.text
    operator.goto(f"{platform.portal_url}/employeur/{siret}/gestionnaires")
    operator.locator(f"[data-testid=ligne-{principal_id}] a").click()
    operator.get_by_role("button", name="Renouveler le mot de passe").click()
    dialog = operator.get_by_test_id("dialogue-confirmation")  # it cannot be undone: asked first
    expect(dialog).to_contain_text("Renouveler le mot de passe de")
    dialog.get_by_test_id("confirmer").click()
    expect(operator.get_by_test_id("message")).to_contain_text("mot de passe")
    screens.shot(operator, "operateur-renouvelle-principal")
    renewed = platform.mail.wait_for(principal_email, count=2)
    assert "de l'administrateur de votre organisation" not in renewed.text
    assert "l'opérateur du service" in renewed.text


def test_the_keycloak_console_describes_the_portals_attributes_in_plain_french(
    platform: Platform, browser: Browser, screens: Screens
) -> None:
    """#20 (smaller item): the console said « Tenues par le pont (espace employeur) » and
    « demarche:role:siret, tenues par le pont »; an administrator reads who fills them and
    that they are not to be changed there."""
    user_id = platform.new_person("Console", "Lecture").id
    page = open_user_in_admin_console(browser, platform, user_id)
    body = page.locator("body")
    expect(body).to_contain_text("Renseignées par le portail (espace employeur)", timeout=60_000)
    # The master administrator's console is English (#21): the realm's English texts.
    expect(body).to_contain_text("Habilitations (kept by the portal)")
    expect(body).to_contain_text("do not edit them here")
    expect(body).not_to_contain_text("tenues par le pont", ignore_case=True)
    screens.shot(page, "console-keycloak-attributs")
