"""The BPF in real Chromium: a gestionnaire picks the SIRET, a wrong amount is refused next to
its field with the other inputs kept, the complete bilan is saved, submitted, and its
receipt printed; a tiers with several clients finds one by searching."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, expect

from bridge.db import now
from tests.browser.conftest import Screens
from tests.browser.test_habilitation_path import add_demarche_with_code, log_in
from tests.support.bpf import complete_bpf
from tests.support.seed import etablissement_with_code
from tests.support.stack import Platform

pytestmark = [pytest.mark.browser, pytest.mark.keycloak]
MAF = "mon-activite-formation"


def test_a_gestionnaire_fills_saves_and_submits_the_bpf(
    platform: Platform, browser: Browser, screens: Screens
) -> None:
    siret, code = etablissement_with_code(platform.context, name="EKYSS")
    person = platform.new_person("Amandine", "Munoz Ortega")
    page = browser.new_context(locale="fr-FR").new_page()
    log_in(page, platform, person)
    add_demarche_with_code(page, platform, siret, code)

    page.get_by_role("link", name="Bilan pédagogique et financier").click()
    expect(page.get_by_test_id("etablissements")).to_contain_text(siret)
    screens.shot(page, "bpf-choix")
    page.get_by_role("link", name=f"EKYSS — SIRET {siret}").click()
    year = now().year - 1
    expect(
        page.get_by_role("heading", name=f"Bilan pédagogique et financier {year}")
    ).to_be_visible()

    page.fill("#bpf-denomination", "EKYSS Formation")
    page.fill("#bpf-c1", "-100")
    page.get_by_role("button", name="Enregistrer le brouillon").click()
    expect(page.get_by_test_id("erreur-c1")).to_have_text("Le montant ne peut pas être négatif.")
    expect(page.locator("#bpf-denomination")).to_have_value("EKYSS Formation")
    screens.shot(page, "bpf-erreur")

    for key, value in complete_bpf().items():
        page.fill(f"#bpf-{key}", str(value))
    page.fill("#bpf-c2_total", "1")
    page.get_by_role("button", name="Enregistrer le brouillon").click()
    expect(page.get_by_test_id("erreur-c2_total")).to_contain_text("somme de ses lignes")
    page.fill("#bpf-c2_total", "38000")
    page.get_by_role("button", name="Enregistrer le brouillon").click()
    expect(page.get_by_test_id("message")).to_contain_text("Le brouillon est enregistré.")
    expect(page.get_by_test_id("historique")).to_contain_text("Amandine Munoz Ortega")
    screens.shot(page, "bpf-brouillon")
    page.get_by_role("button", name="Déposer le BPF").click()
    expect(page.get_by_test_id("numero")).to_contain_text(f"BPF-{year}-")
    screens.shot(page, "bpf-recepisse")
    page.goto(f"{platform.portal_url}/demarches/{MAF}/bpf/{siret}/{year}")
    expect(page.get_by_test_id("depose")).to_contain_text("récépissé")
    expect(page.locator("#bpf-c1")).to_have_attribute("readonly", "")
