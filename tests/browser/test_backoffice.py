"""The operator's back-office in Chromium (#21): from « Back-office », find an establishment,
issue a new code (asked first) and print its letter, lift a code lockout; find a person whom
Keycloak locked after failed logins and unlock the account."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, Route, expect
from sqlalchemy import select

from bridge.audit.service import Actor
from bridge.backoffice.imports import CHUNK
from bridge.employeur.models import Gestionnaire
from bridge.employeur.service import Details
from bridge.etablissement.models import CodeAttempt
from bridge.person.service import remember_person
from tests.browser.conftest import Screens
from tests.browser.test_employeur_path import open_organisation
from tests.browser.test_habilitation_path import log_in
from tests.support.employeur import make_operator
from tests.support.seed import etablissement_with_code
from tests.support.sirets import new_siret
from tests.support.stack import TEST_API_CLIENT, Person, Platform

pytestmark = [pytest.mark.browser, pytest.mark.keycloak]


def operator_page(browser: Browser, platform: Platform) -> Page:
    operator = platform.new_person("Opératrice", "Guichet")
    make_operator(platform, operator.id)
    page = browser.new_context(locale="fr-FR").new_page()
    log_in(page, platform, operator)
    return page


def confirm(page: Page) -> None:
    dialog = page.get_by_test_id("dialogue-confirmation")
    expect(dialog).to_be_visible()
    dialog.get_by_test_id("confirmer").click()


def test_the_operator_issues_a_new_code_and_prints_its_letter(
    platform: Platform, browser: Browser, screens: Screens
) -> None:
    siret, old_code = etablissement_with_code(platform.context, name="Organisme Courrier")
    page = operator_page(browser, platform)
    page.get_by_test_id("back-office").first.click()
    expect(page.get_by_role("heading", name="Back-office de l'opérateur")).to_be_visible()
    page.get_by_label("Rechercher un établissement").fill(siret)
    page.get_by_role("button", name="Rechercher").click()
    expect(page.get_by_test_id("total")).to_have_text("1 établissement trouvé")
    page.get_by_role("link", name=siret).click()
    expect(page.get_by_role("heading", name="Organisme Courrier")).to_be_visible()
    expect(page.get_by_test_id("codes")).to_contain_text("Actif")
    screens.keep(page, "back-office-etablissement")

    page.get_by_role("button", name="Émettre un nouveau code — Mon Activité Formation").click()
    confirm(page)
    letter = page.get_by_test_id("lettre")
    expect(letter).to_contain_text(f"SIRET {siret}")
    expect(letter).to_contain_text("Organisme Courrier")
    code = page.get_by_test_id("code").inner_text()
    assert code != old_code
    screens.keep(page, "back-office-lettre")

    page.get_by_role("link", name="Revenir à l'établissement").click()
    codes = page.get_by_test_id("codes")
    expect(codes).to_contain_text("Révoqué")
    expect(codes).not_to_contain_text(code)
    expect(page.get_by_test_id("historique")).to_contain_text("Nouveau code d'activation émis")


def test_the_operator_lifts_a_code_lockout(
    platform: Platform, browser: Browser, screens: Screens
) -> None:
    siret, _ = etablissement_with_code(platform.context)
    locked = platform.new_person("Bloqué", "Code")
    with platform.context.work() as work:
        remember_person(work.session, locked.id, locked.email, locked.first_name, locked.last_name)
        work.session.add_all(
            CodeAttempt(siret=siret, subject=locked.id, success=False) for _ in range(5)
        )
    page = operator_page(browser, platform)
    page.goto(f"{platform.portal_url}/operateur/etablissements/{siret}")
    lockouts = page.get_by_test_id("blocages")
    expect(lockouts).to_contain_text(f"Compte bloqué : CODE Bloqué ({locked.email})")
    lockouts.get_by_role("button", name="Débloquer").click()
    confirm(page)
    expect(page.get_by_test_id("message")).to_contain_text("Le blocage de ce compte est levé")
    expect(lockouts).to_have_text("Aucun blocage en cours.")
    expect(page.get_by_test_id("historique")).to_contain_text(
        "Blocage des codes d'activation levé par l'opérateur"
    )


def fail_logins(platform: Platform, person: Person, times: int) -> None:
    """Wrong passwords until Keycloak's brute-force protection locks the account."""
    for _ in range(times):
        httpx.post(
            f"{platform.keycloak.url}/realms/{platform.keycloak.realm}/protocol/openid-connect/token",
            data={
                "grant_type": "password",
                "client_id": TEST_API_CLIENT,
                "client_secret": platform.test_api_secret,
                "username": person.username,
                "password": "pas-le-bon-mot-de-passe",
            },
            timeout=10,
        )


def test_the_operator_unlocks_an_account_keycloak_locked_after_failed_logins(
    platform: Platform, browser: Browser, screens: Screens
) -> None:
    person = platform.new_person("Verrouillée", "Connexions")
    portal = browser.new_context(locale="fr-FR").new_page()
    log_in(portal, platform, person)  # the store knows the person from here
    fail_logins(platform, person, 5)
    status = platform.admin().get_bruteforce_detection_status(person.id)
    assert status["disabled"] is True

    page = operator_page(browser, platform)
    page.goto(f"{platform.portal_url}/operateur")
    page.get_by_role("link", name="Personnes : compte").click()
    page.get_by_label("Rechercher une personne").fill(person.email)
    page.get_by_role("button", name="Rechercher").click()
    page.get_by_role("link", name="CONNEXIONS Verrouillée").click()
    account = page.get_by_test_id("compte")
    expect(account).to_contain_text("Bloqué après trop d'échecs de connexion")
    screens.keep(page, "back-office-personne-bloquee")
    account.get_by_role("button", name="Débloquer").click()
    confirm(page)
    expect(page.get_by_test_id("message")).to_contain_text("Le compte est débloqué")
    expect(account).to_contain_text("Non bloqué")
    assert platform.admin().get_bruteforce_detection_status(person.id)["disabled"] is False
    platform.token_for(person)  # the person logs in again
    expect(page.get_by_test_id("historique")).to_contain_text("Compte débloqué par l'opérateur")


def test_the_operator_renews_a_main_administrators_password_from_the_organisation_list(
    platform: Platform, browser: Browser, screens: Screens
) -> None:
    page = operator_page(browser, platform)
    email = f"principale.{new_siret()}@employeur.example.fr"
    siret, login_id = open_organisation(
        platform, page, "Employeur", ("Paule", "Principale", email), screens
    )
    page.goto(f"{platform.portal_url}/operateur")
    page.get_by_role("link", name="Organisations de l'espace employeur").click()
    page.get_by_label("SIRET ou raison sociale").fill(siret)
    page.get_by_label("Type d'organisation").select_option(label="Employeur")
    page.get_by_role("button", name="Rechercher").click()
    listing = page.get_by_test_id("employeurs")
    expect(listing).to_contain_text(f"Administrateur principal : PRINCIPALE Paule ({login_id})")
    screens.keep(page, "back-office-employeurs")
    listing.get_by_role("link", name="PRINCIPALE Paule").click()
    page.get_by_role("button", name="Renouveler le mot de passe").click()
    expect(page.get_by_test_id("dialogue-confirmation")).to_contain_text(
        "Renouveler le mot de passe de Paule Principale ?"
    )
    confirm(page)
    expect(page.get_by_test_id("message")).to_contain_text("mot de passe")
    renewed = platform.mail.wait_for(email, count=2)
    assert "l'opérateur du service" in renewed.text


def import_csv(tmp_path: Path, valid: int) -> tuple[Path, list[str]]:
    """A file of `valid` new establishments and one line rejected (its SIRET too short)."""
    sirets = [new_siret() for _ in range(valid)]
    lines = [f"{siret};Organisme Importé {n}" for n, siret in enumerate(sirets, 1)]
    source = tmp_path / "etablissements.csv"
    source.write_text(
        "siret;raison_sociale\n" + "\n".join([*lines, "12345;Trop court"]) + "\n",
        encoding="utf-8",
    )
    return source, sirets


def start_import(page: Page, platform: Platform, source: Path) -> None:
    page.goto(f"{platform.portal_url}/operateur/import")
    page.get_by_label("Démarche").select_option(label="Mon Activité Formation")
    page.get_by_label("Fichier CSV").set_input_files(source)
    page.get_by_role("button", name="Importer").click()


def test_the_operator_imports_establishments_from_the_page_and_prints_their_letters(
    platform: Platform, browser: Browser, screens: Screens, tmp_path: Path
) -> None:
    """Upload, progress (a chunk at a time, told in a live region), report, rejects file,
    the letters one per printed sheet."""
    source, sirets = import_csv(tmp_path, 2 * CHUNK + 19)
    page = operator_page(browser, platform)
    page.goto(f"{platform.portal_url}/operateur")
    expect(page.get_by_role("link", name="Importer des établissements")).to_be_visible()
    runner = platform.context.imports
    runner.lock.acquire()  # the job stops after its first chunk, while the test looks
    try:
        start_import(page, platform, source)
        expect(page.get_by_role("heading", name="Import en cours")).to_be_visible()
        status = page.get_by_role("status")
        expect(status).to_have_attribute("aria-live", "polite")
        expect(status).to_have_text(f"{CHUNK} lignes traitées sur {len(sirets) + 1}.")
        expect(page.locator("progress")).to_have_attribute("value", str(CHUNK))
    finally:
        runner.lock.release()
    expect(page.get_by_test_id("bilan")).to_contain_text(
        f"codes émis : {len(sirets)} ; lignes rejetées : 1"
    )
    expect(page.get_by_test_id("rejets")).to_contain_text("Trop court")
    letters = page.get_by_test_id("lettre")
    expect(letters).to_have_count(len(sirets))
    expect(letters.first).to_contain_text(f"SIRET {sirets[0]}")
    screens.keep(page, "back-office-import")

    with page.expect_download() as download:
        page.get_by_test_id("telecharger-rejets").click()
    content = Path(download.value.path()).read_bytes()
    assert content.startswith("\ufeffligne;contenu;motif\r\n".encode())
    assert f"{len(sirets) + 2};12345;Trop court;".encode() not in content  # quoted, one field
    assert f'{len(sirets) + 2};"12345;Trop court";'.encode() in content

    page.emulate_media(media="print")
    breaks = letters.evaluate_all("(all) => all.map((l) => getComputedStyle(l).breakBefore)")
    assert breaks[0] != "page"
    assert set(breaks[1:]) == {"page"}  # one letter a sheet
    expect(page.get_by_test_id("bilan")).to_be_hidden()


def test_the_operator_transfers_the_main_administrators_role_from_a_gestionnaires_page(
    platform: Platform, browser: Browser, screens: Screens
) -> None:
    page = operator_page(browser, platform)
    principal_email = f"principal.{new_siret()}@employeur.example.fr"
    siret, _ = open_organisation(
        platform, page, "Employeur", ("Pierre", "Sortant", principal_email), screens
    )
    with platform.context.work() as work:
        principal = work.session.scalars(
            select(Gestionnaire.subject).where(
                Gestionnaire.siret == siret, Gestionnaire.role == "administrateur-principal"
            )
        ).one()
        incoming = work.employeur.add(
            Actor(principal, "Pierre Sortant"),
            siret,
            Details(
                "madame",
                "Entrante",
                "Inès",
                f"ines.{new_siret()}@employeur.example.fr",
                "01 23 45 67 89",
                None,
                None,
                None,
            ),
            "gestionnaire",
        )
        login_id = incoming.login_id
    page.goto(f"{platform.portal_url}/operateur/employeurs?q={siret}")
    page.get_by_test_id("employeurs").get_by_role("link", name=siret).click()
    page.locator(f"[data-testid=ligne-{login_id}] a").click()
    page.get_by_role("button", name="Transférer le rôle d'administrateur principal").click()
    confirm(page)
    expect(page.get_by_test_id("message")).to_contain_text("est transféré")
    expect(page.get_by_test_id("role")).to_have_text("Administrateur principal")
    page.goto(f"{platform.portal_url}/operateur/employeurs?q={siret}")
    expect(page.get_by_test_id("employeurs")).to_contain_text(
        "Administrateur principal : ENTRANTE Inès"
    )


def test_an_imports_live_region_speaks_at_each_tenth_and_says_when_it_is_done(
    platform: Platform, browser: Browser, screens: Screens, tmp_path: Path
) -> None:
    """The page polls every two seconds; a screen reader hears the rows done only when a new
    tenth is reached, then « Import terminé. » before the report replaces the page. The
    answers of the state endpoint are scripted here (a real import moves by 50 rows), the
    page's clock is Playwright's (no 2 s wait per answer)."""
    source, _ = import_csv(tmp_path, CHUNK + 1)
    answers = [
        {"traitees": traitees, "total": 1000, "termine": False}
        for traitees in (500, 550, 599, 600, 650, 700)
    ] + [{"traitees": 1000, "total": 1000, "termine": True}]
    served: list[object] = []

    def answer(route: Route) -> None:
        served.append(answers[len(served)])
        route.fulfill(json=served[-1])

    page = operator_page(browser, platform)
    runner = platform.context.imports
    runner.lock.acquire()  # the real job waits after its first chunk
    try:
        page.clock.install()
        page.route("**/operateur/imports/*/etat", answer)
        start_import(page, platform, source)
        status = page.get_by_role("status")  # 0 or 50 lines of 52, as the real job goes
        expect(status).to_contain_text(f"sur {CHUNK + 2}.")
        page.evaluate(
            """(status) => {
              window.annonces = [];
              new MutationObserver(() => window.annonces.push(status.textContent))
                .observe(status, { childList: true, characterData: true, subtree: true });
            }""",
            status.element_handle(),
        )
        for n in range(len(answers)):
            page.clock.run_for(2000)
            for _ in range(200):  # the fetch and its answer are real: wait for them
                if len(served) > n:
                    break
                page.wait_for_timeout(10)
        expect(status).to_have_text("Import terminé.")
        assert page.evaluate("window.annonces") == [
            "500 lignes traitées sur 1000.",
            "600 lignes traitées sur 1000.",
            "700 lignes traitées sur 1000.",
            "Import terminé.",
        ]
        expect(page.locator("progress")).to_have_attribute("value", "1000")
        page.unroute("**/operateur/imports/*/etat")
    finally:
        runner.lock.release()
    state = f"{page.url}/etat"
    for _ in range(100):  # the real job ends once the lock is free
        if page.request.get(state).json()["termine"]:
            break
        page.wait_for_timeout(50)
    page.clock.run_for(1500)
    expect(page.get_by_test_id("bilan")).to_be_visible()
