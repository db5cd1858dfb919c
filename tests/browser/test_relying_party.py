"""The example relying party (the « Mon Activité Formation » site): standard OIDC for the
login, then the bridge's AuthZEN endpoints with its own client credentials for the person's
rights."""

from __future__ import annotations

import logging

import pytest
from playwright.sync_api import Browser, expect

from bridge.audit.service import Actor
from tests.browser.conftest import Screens
from tests.browser.test_habilitation_path import log_in
from tests.support.callers import MAF
from tests.support.seed import etablissement_with_code
from tests.support.stack import Platform

pytestmark = [pytest.mark.browser, pytest.mark.keycloak]


def test_the_demarche_site_lists_the_sirets_read_through_authzen(
    platform: Platform, browser: Browser, screens: Screens, caplog: pytest.LogCaptureFixture
) -> None:
    person = platform.new_person("Amandine", "Munoz Ortega")
    page = browser.new_context(locale="fr-FR").new_page()
    log_in(page, platform, person)
    page.goto(platform.relying_party_url)
    expect(page.get_by_test_id("droits")).to_contain_text("Aucune habilitation")

    sirets = []
    for _ in range(2):
        siret, code = etablissement_with_code(platform.context)
        with platform.context.work() as work:
            work.habilitations.activate(Actor(person.id, person.display_name), MAF, siret, code)
        sirets.append(siret)
    caplog.clear()
    with caplog.at_level(logging.DEBUG, logger="bridge.api.routes.authzen"):
        page.reload()
        expect(page.get_by_test_id("total-droits")).to_have_text("2 établissements")
    for siret in sirets:
        # A gestionnaire may act as each role of the démarche: both are listed.
        # #20 item 6: in words, as on the portal.
        expect(page.get_by_test_id("droits")).to_contain_text(
            f"SIRET {siret} — Gestionnaire, Déclarant"
        )
    expect(page.get_by_test_id("droits")).not_to_contain_text("declarant")
    # The site asked the bridge's AuthZEN batch endpoint: two SIRETs × two roles, all allowed.
    [asked] = [r for r in caplog.records if r.getMessage() == "authzen-decisions"]
    assert (asked.demarche, asked.questions, asked.autorisees) == (MAF, 4, 4)  # type: ignore[attr-defined]
    screens.shot(page, "demarche-droits")
