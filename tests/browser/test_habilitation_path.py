"""The guide's path in real Chromium: add a démarche with SIRET + code, a colleague asks for
access, the gestionnaire approves it from the users screen, the colleague sees the démarche."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Page, expect

from bridge.person.service import remember_person
from tests.browser.conftest import Screens
from tests.support.seed import etablissement_with_code
from tests.support.stack import Person, Platform

pytestmark = [pytest.mark.browser, pytest.mark.keycloak]


def log_in(page: Page, platform: Platform, person: Person) -> None:
    page.goto(f"{platform.portal_url}/auth/login")
    page.fill("#username", person.email)
    page.fill("#password", person.password)
    page.click("#kc-login")
    expect(page.get_by_test_id("bienvenue")).to_have_text(f"Bonjour {person.display_name}")


def add_demarche_with_code(page: Page, platform: Platform, siret: str, code: str) -> None:
    """« Ajouter une démarche » of Mon Activité Formation with the SIRET and its code."""
    page.goto(f"{platform.portal_url}/demarches/mon-activite-formation/ajouter")
    page.get_by_label("SIRET Enregistré *").fill(siret)
    page.get_by_label("Code d'activation *").fill(code)
    page.get_by_role("button", name="Valider mon accès").click()


def test_gestionnaire_by_code_then_a_colleague_approved_from_the_users_screen(
    platform: Platform, browser: Browser, screens: Screens
) -> None:
    siret, code = etablissement_with_code(platform.context, name="EKYSS")
    gestionnaire = platform.new_person("Amandine", "Munoz Ortega")
    colleague = platform.new_person("Paul", "Durand")

    first = browser.new_context(locale="fr-FR").new_page()
    log_in(first, platform, gestionnaire)
    screens.shot(first, "accueil-sans-demarche")
    first.get_by_role("link", name="Ajouter Mon Activité Formation").click()
    expect(first.get_by_role("heading", name="Ajouter une démarche")).to_be_visible()
    first.get_by_label("SIRET Enregistré *").fill(siret)
    first.get_by_label("Code d'activation *").fill("AAAA-BBBB-CCCC")
    first.get_by_role("button", name="Valider mon accès").click()
    expect(first.get_by_test_id("erreur-code")).to_contain_text(
        "Le code d'activation ne correspond pas"
    )
    expect(first.get_by_label("SIRET Enregistré *")).to_have_value(siret)  # the input is kept
    screens.shot(first, "code-incorrect")
    first.get_by_label("Code d'activation *").fill(code)
    first.get_by_role("button", name="Valider mon accès").click()
    card = first.get_by_test_id("carte-mon-activite-formation")
    expect(card).to_contain_text(f"Gestionnaire - SIRET {siret}")
    screens.shot(first, "carte-gestionnaire")

    second = browser.new_context(locale="fr-FR").new_page()
    log_in(second, platform, colleague)
    second.get_by_role("link", name="Ajouter Mon Activité Formation").click()
    second.get_by_role("link", name="Demander l'accès à un gestionnaire").click()
    second.get_by_label("SIRET Enregistré *").fill(siret)
    second.get_by_label("Rôle souhaité (optionnel)").select_option("declarant")
    screens.shot(second, "demande-acces")
    second.get_by_role("button", name="Demander l'accès").click()
    expect(second.get_by_test_id("demandes")).to_contain_text(f"SIRET {siret}")
    screens.shot(second, "demande-en-attente")
    assert platform.mail.wait_for(gestionnaire.email).subject.startswith("Demande d'accès")

    first.reload()
    first.get_by_role("link", name="Utilisateurs de la démarche").click()
    pending = first.get_by_test_id("demandes-en-attente")
    expect(pending).to_contain_text("Paul Durand")
    screens.shot(first, "utilisateurs-demande-en-attente")
    pending.get_by_role("button", name="Valider la demande").click()
    expect(first.get_by_test_id("message")).to_contain_text("La demande est validée")
    expect(first.get_by_test_id("facettes")).to_contain_text("Déclarant (1)")
    first.get_by_role("link", name="DURAND Paul").click()
    expect(first.get_by_test_id("habilitations")).to_contain_text(f"Déclarant - SIRET {siret}")
    expect(first.get_by_test_id("habilitations")).to_contain_text("par Amandine Munoz Ortega")
    # #20 item 2: the civility and phone Keycloak holds, not « — ».
    expect(first.get_by_test_id("detail")).to_contain_text("CivilitéMadame")
    expect(first.get_by_test_id("detail")).to_contain_text("Téléphone01 23 45 67 89")
    screens.shot(first, "utilisateurs-detail")

    second.reload()
    expect(second.get_by_test_id("carte-mon-activite-formation")).to_contain_text(
        f"Déclarant - SIRET {siret}"
    )
    screens.shot(second, "carte-declarant")


def test_adding_a_habilitation_proposes_no_role_and_refuses_a_missing_choice_in_french(
    platform: Platform, browser: Browser, screens: Screens
) -> None:
    """#20 (smaller item a): « + Ajouter une habilitation » chose « Gestionnaire », then
    « Déclarant », for the person; now the gestionnaire picks the role, or is told to."""
    siret, code = etablissement_with_code(platform.context, name="EKYSS")
    gestionnaire = platform.new_person("Amandine", "Munoz Ortega")
    colleague = platform.new_person("Paul", "Durand")
    with platform.context.work() as work:
        remember_person(work.session, colleague.id, colleague.email, "Paul", "Durand")
    page = browser.new_context(locale="fr-FR").new_page()
    log_in(page, platform, gestionnaire)
    add_demarche_with_code(page, platform, siret, code)
    page.goto(f"{platform.portal_url}/demarches/mon-activite-formation/utilisateurs")
    role = page.get_by_label("Rôle *")
    expect(role).to_have_value("")
    page.get_by_label("Adresse e-mail *").fill(colleague.email)
    page.get_by_role("button", name="Ajouter", exact=True).click()
    expect(page.get_by_test_id("message")).to_contain_text("Choisissez le rôle à accorder")
    expect(page.get_by_test_id("facettes")).to_contain_text("Déclarant (0)")
    screens.shot(page, "ajout-sans-role")
    page.get_by_label("Adresse e-mail *").fill(colleague.email)
    page.get_by_label("Rôle *").select_option("declarant")
    page.get_by_role("button", name="Ajouter", exact=True).click()
    expect(page.get_by_test_id("message")).to_contain_text("L'habilitation est ajoutée")
    expect(page.get_by_test_id("habilitations")).to_contain_text(f"Déclarant - SIRET {siret}")
