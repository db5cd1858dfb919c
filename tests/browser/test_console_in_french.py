"""Keycloak's admin console speaks to the realm's administrators in French (#21): the user
profile's names and options are the realm's localization texts, not raw message keys, and
the console itself is French for an administrator of the realm (its default locale)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, expect

from bridge.audit.service import Actor
from tests.browser.conftest import Screens
from tests.browser.keycloak_pages import open_user_as_realm_administrator, realm_administrator
from tests.browser.test_habilitation_path import log_in
from tests.support.callers import MAF
from tests.support.projection import eventually
from tests.support.seed import etablissement_with_code
from tests.support.stack import Platform

pytestmark = [pytest.mark.browser, pytest.mark.keycloak]

# The user profile's message keys, as the console showed them before the realm's texts.
RAW_KEY = re.compile(
    r"\b(civilite\w*|telephone\w*|siret(Aide)?|cguVersion|cguAccepteeLe|emailAide|"
    r"(?<!['’])habilitation(Aide|sGroupe)?)\b"
)


def test_a_person_page_in_the_console_reads_in_french_without_raw_keys(
    platform: Platform, browser: Browser, screens: Screens
) -> None:
    person = platform.new_person("Joséphine", "Console")
    portal = browser.new_context(locale="fr-FR").new_page()
    log_in(portal, platform, person)
    siret, code = etablissement_with_code(platform.context)
    with platform.context.work() as work:
        work.habilitations.activate(Actor(person.id, person.display_name), MAF, siret, code)
    habilitation = f"{MAF}:gestionnaire:{siret}"

    def projected() -> bool:
        user = platform.admin().get_user(person.id)
        return habilitation in user.get("attributes", {}).get("habilitation", [])

    eventually(projected, timeout=30, what="l'habilitation projetée dans Keycloak")

    administrator = realm_administrator(platform)
    console = open_user_as_realm_administrator(browser, platform, administrator, person.id)
    main = console.locator("main")
    expect(console.get_by_role("heading", name=person.username)).to_be_visible(timeout=60_000)
    for label in (
        "Civilité",
        "Madame",
        "Monsieur",
        "Téléphone",
        "Téléphone mobile",
        "Version des CGU acceptée",
        "CGU acceptées le",
        "Habilitation",
        "Sauvegarder",  # the console's own words: French for the realm's administrators
    ):
        expect(main.get_by_text(label, exact=True).first).to_be_visible()
    expect(main.locator(f"input[value='{habilitation}']")).to_be_visible()
    # The habilitations' own section says what a value means and where the person's file is.
    expect(
        main.get_by_role("heading", name="Habilitations (tenues par le portail)")
    ).to_be_visible()
    expect(main.get_by_text("de la forme démarche:rôle:SIRET")).to_be_visible()
    expect(main.get_by_text(f"{platform.portal_url}/operateur/personnes")).to_be_visible()
    screens.keep(console, "console-utilisateur-fr")
    assert RAW_KEY.findall(main.inner_text()) == []
