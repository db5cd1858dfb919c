"""The identity journey on Keycloak's pages, in real Chromium: registration with the SIRET and
the offline captcha, activation by the e-mail link, first login of an account created by an
administrator (temporary password, CGU, a new CGU version), personal data, lockout.

Every Keycloak page passed through is saved under test-artifacts/screenshots/."""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import Screens
from tests.browser.keycloak_pages import (
    Registration,
    accept_cgu,
    choose_password,
    fill_registration,
    log_in_on_keycloak,
    register,
    solve_captcha,
    submit_registration,
)
from tests.support.sirets import new_siret
from tests.support.stack import PASSWORD, Platform

pytestmark = [pytest.mark.browser, pytest.mark.keycloak]
NEW_PASSWORD = "Nouveau-Secret-2026!"


def unique_email(prefix: str) -> str:
    return f"{prefix}.{uuid.uuid4().hex[:10]}@organisme.fr"


def users_with_email(platform: Platform, email: str) -> list[dict[str, object]]:
    users: list[dict[str, object]] = platform.admin().get_users({"email": email, "exact": True})
    return users


def open_registration(page: Page, platform: Platform, screens: Screens) -> None:
    page.goto(f"{platform.portal_url}/auth/inscription")
    expect(page.get_by_role("heading", name="Créer mon compte")).to_be_visible()
    screens.shot(page, "keycloak-inscription")


def fresh_login(
    browser: Browser, platform: Platform, email: str, password: str, screens: Screens | None = None
) -> Page:
    """A new browser (no session yet) logging in from the portal's « Se connecter »."""
    page = browser.new_context(locale="fr-FR").new_page()
    page.goto(f"{platform.portal_url}/auth/login")
    log_in_on_keycloak(page, email, password, screens)
    return page


def expect_portal_home(page: Page, display_name: str) -> None:
    expect(page.get_by_test_id("bienvenue")).to_have_text(f"Bonjour {display_name}")


def test_registration_with_the_captcha_then_activation_by_the_email_link_then_login(
    platform: Platform, browser: Browser, screens: Screens
) -> None:
    email, siret = unique_email("claire.lefevre"), new_siret()
    page = browser.new_context(locale="fr-FR").new_page()
    open_registration(page, platform, screens)
    register(page, Registration(email=email, siret=siret), screens)

    mail = platform.mail.wait_for(email)
    assert mail.subject == "Activez votre compte Mes démarches"
    assert "Ce lien est valable 1 jour." in mail.text  # the realm's default, not 5 minutes
    link = next(u for u in mail.links if "action-token" in u)
    # The person opens the link from their mail client: a browser without the form's session.
    mailbox = browser.new_context(locale="fr-FR").new_page()
    mailbox.goto(link)
    activate = mailbox.get_by_role("link", name="Activer mon compte")
    expect(activate).to_be_visible()
    screens.shot(mailbox, "keycloak-activer-mon-compte")
    activate.click()
    choose_password(mailbox, PASSWORD, screens, "keycloak-choix-mot-de-passe")
    accept_cgu(mailbox, screens)
    # The guide's confirmation, then « Accéder au portail » and the login.
    expect(mailbox.locator("body")).to_contain_text("Votre compte est à jour")
    screens.shot(mailbox, "keycloak-compte-active")
    mailbox.get_by_role("link", name="Accéder au portail").click()
    expect(mailbox).to_have_url(f"{platform.portal_url}/")

    login = browser.new_context(locale="fr-FR").new_page()
    login.goto(f"{platform.portal_url}/auth/login")
    expect(
        login.get_by_role("heading", name="Connectez-vous au portail de services")
    ).to_be_visible()
    screens.shot(login, "keycloak-connexion")
    log_in_on_keycloak(login, email, PASSWORD)
    expect_portal_home(login, "Claire Lefèvre")
    screens.shot(login, "portail-accueil")

    [user] = users_with_email(platform, email)
    assert user["emailVerified"] is True
    assert user["username"] == email  # the e-mail is the login of who registers
    attributes: dict[str, list[str]] = user["attributes"]  # type: ignore[assignment]
    assert {
        name: attributes[name] for name in ("civilite", "telephone", "siret", "cguVersion")
    } == {
        "civilite": ["madame"],
        "telephone": ["01 23 45 67 89"],
        "siret": [siret],
        "cguVersion": ["1"],
    }
    assert attributes["cguAccepteeLe"][0].startswith("20")


ACTIVATION_LIFESPAN = "actionTokenGeneratedByUserLifespan.verify-email"


@contextmanager
def activation_links_valid_for(platform: Platform, seconds: int) -> Iterator[None]:
    """The realm's activation link made short for one test, then put back as it was."""
    admin = platform.admin()
    before = admin.get_realm(platform.keycloak.realm)["attributes"][ACTIVATION_LIFESPAN]
    admin.update_realm(platform.keycloak.realm, {"attributes": {ACTIVATION_LIFESPAN: str(seconds)}})
    try:
        yield
    finally:
        admin.update_realm(platform.keycloak.realm, {"attributes": {ACTIVATION_LIFESPAN: before}})


def test_an_expired_activation_link_offers_a_new_one_by_email_then_activation_and_login(
    platform: Platform, browser: Browser, screens: Screens
) -> None:
    email = unique_email("expire")
    with activation_links_valid_for(platform, 3):
        page = browser.new_context(locale="fr-FR").new_page()
        open_registration(page, platform, screens)
        register(page, Registration(email=email, siret=new_siret()), screens)
        first = platform.mail.wait_for(email)
    time.sleep(4)

    mailbox = browser.new_context(locale="fr-FR").new_page()
    mailbox.goto(next(u for u in first.links if "action-token" in u))
    expect(mailbox.locator("#kc-error-message")).to_contain_text("Ce lien a expiré")
    screens.shot(mailbox, "keycloak-lien-expire")
    mailbox.get_by_role("link", name="Recevoir un nouveau lien").click()
    expect(mailbox).to_have_url(f"{platform.portal_url}/compte/nouveau-lien")
    mailbox.get_by_label("Adresse électronique").fill(email.upper())
    mailbox.get_by_role("button", name="Recevoir un nouveau lien").click()
    expect(mailbox.get_by_test_id("lien-demande")).to_contain_text("valable 24 heures")
    screens.shot(mailbox, "portail-nouveau-lien-demande")

    second = platform.mail.wait_for(email, count=2)
    assert second.subject == "Activez votre compte Mes démarches"
    assert "valable 1 jour" in second.text  # the bridge's setting, not the test's 3 seconds
    mailbox.goto(next(u for u in second.links if "action-token" in u))
    mailbox.get_by_role("link", name="Activer mon compte").click()
    choose_password(mailbox, PASSWORD, screens, "keycloak-choix-mot-de-passe")
    accept_cgu(mailbox, screens)
    expect(mailbox.locator("body")).to_contain_text("Votre compte est à jour")

    login = browser.new_context(locale="fr-FR").new_page()
    login.goto(f"{platform.portal_url}/auth/login")
    log_in_on_keycloak(login, email, PASSWORD)
    expect_portal_home(login, "Claire Lefèvre")


def test_the_login_page_offers_a_new_activation_link_and_says_the_same_for_any_address(
    platform: Platform, browser: Browser, screens: Screens
) -> None:
    """Whether the address is unknown, already active or waiting, the answer is one sentence;
    only the waiting account is mailed, and once a minute at most."""
    waiting = unique_email("attente")
    page = browser.new_context(locale="fr-FR").new_page()
    page.goto(f"{platform.portal_url}/auth/inscription")
    register(page, Registration(email=waiting, siret=new_siret()), screens)
    platform.mail.wait_for(waiting)
    active = platform.new_person()

    asker = browser.new_context(locale="fr-FR").new_page()
    answers = []
    for address in (waiting, waiting, active.email, unique_email("inconnu")):
        asker.goto(f"{platform.portal_url}/auth/login")
        asker.get_by_role("link", name="Recevoir un nouveau lien").click()
        asker.get_by_label("Adresse électronique").fill(address)
        asker.get_by_role("button", name="Recevoir un nouveau lien").click()
        answer = asker.get_by_test_id("lien-demande")
        expect(answer).to_be_visible()
        answers.append(answer.inner_text().replace(address, "…"))
    assert len(set(answers)) == 1
    time.sleep(1)  # a mail in flight would have arrived
    assert len(platform.mail.for_recipient(waiting)) == 2  # registration, then one new link
    assert platform.mail.for_recipient(active.email) == []

    asker.goto(f"{platform.portal_url}/compte/nouveau-lien")
    asker.get_by_label("Adresse électronique").fill("pas une adresse")
    asker.get_by_role("button", name="Recevoir un nouveau lien").click()
    expect(asker.get_by_test_id("erreur-email")).to_have_text(
        "Saisissez une adresse électronique valide."
    )
    expect(asker.get_by_test_id("erreurs")).to_be_focused()


def test_a_bad_siret_is_refused_on_the_form_in_french_and_the_other_inputs_are_kept(
    platform: Platform, page: Page, screens: Screens
) -> None:
    email = unique_email("siret.faux")
    open_registration(page, platform, screens)
    fill_registration(page, Registration(email=email, siret="73282932000075"))
    solve_captcha(page)
    submit_registration(page)
    error = page.locator("#input-error-siret")
    expect(error).to_have_text(
        "Ce SIRET n'est pas valide : vérifiez les 14 chiffres saisis (clé de contrôle)."
    )
    screens.shot(page, "keycloak-inscription-siret-refuse")
    expect(page.locator("#email")).to_have_value(email)
    expect(page.locator("#lastName")).to_have_value("Lefèvre")
    expect(page.locator("#telephone")).to_have_value("01 23 45 67 89")
    expect(page.get_by_label("Madame", exact=True)).to_be_checked()

    page.fill("#siret", "7328293200007")
    solve_captcha(page)
    submit_registration(page)
    expect(page.locator("#input-error-siret")).to_have_text("Le SIRET doit comporter 14 chiffres.")
    screens.shot(page, "keycloak-inscription-siret-trop-court")
    assert users_with_email(platform, email) == []


def test_a_registration_that_skips_the_captcha_is_refused_and_creates_nothing(
    platform: Platform, page: Page, screens: Screens
) -> None:
    email = unique_email("robot")
    open_registration(page, platform, screens)
    fill_registration(page, Registration(email=email, siret=new_siret()))
    submit_registration(page)
    expect(page.locator("#input-error-captcha")).to_contain_text("Je ne suis pas un robot")
    screens.shot(page, "keycloak-inscription-sans-captcha")
    expect(page.locator("#email")).to_have_value(email)

    # A robot that posts an answer it did not compute is refused too.
    page.evaluate("document.getElementById('pow-nonce').value = '123456'")
    submit_registration(page)
    expect(page.locator("#input-error-captcha")).to_contain_text("n'a pas abouti")
    screens.shot(page, "keycloak-inscription-captcha-faux")
    assert users_with_email(platform, email) == []


@contextmanager
def cgu_version(platform: Platform, version: str) -> Iterator[None]:
    """Publish another CGU version (the required action's configuration), then restore it."""
    path = (
        f"admin/realms/{platform.keycloak.realm}/authentication/required-actions/demarches-cgu"
        "/config"
    )
    admin = platform.admin()
    before = admin.connection.raw_get(path).json()
    admin.connection.raw_put(path, data=json.dumps({"config": {"version": version}}))
    try:
        yield
    finally:
        admin.connection.raw_put(path, data=json.dumps(before))


def test_an_account_created_by_an_administrator_changes_its_temporary_password_then_accepts_the_cgu(
    platform: Platform, browser: Browser, screens: Screens
) -> None:
    email = unique_email("gestionnaire")
    platform.admin().create_user(
        {
            "username": email,
            "email": email,
            "firstName": "Paul",
            "lastName": "Girard",
            "enabled": True,
            "emailVerified": True,
            "attributes": {
                "civilite": ["monsieur"],
                "telephone": ["06 12 34 56 78"],
                "siret": [new_siret()],
            },
            "credentials": [{"type": "password", "value": "Temporaire-2026!", "temporary": True}],
        }
    )
    page = fresh_login(browser, platform, email, "Temporaire-2026!", screens)
    # The guide's explanation first, then its confirmation on the next page (no second login).
    explanation = page.locator("#kc-premiere-connexion")
    expect(explanation).to_contain_text("Personnalisez votre mot de passe")
    expect(explanation).to_contain_text("Lors de votre première connexion")
    expect(explanation).to_contain_text("mot de passe temporaire")
    choose_password(page, NEW_PASSWORD, screens, "keycloak-mot-de-passe-temporaire-a-changer")

    expect(page.get_by_role("heading", name="Conditions générales d'utilisation")).to_be_visible()
    expect(page.locator("#kc-mot-de-passe-modifie")).to_have_text(
        "Votre mot de passe a bien été enregistré. Dernière étape : acceptez les conditions "
        "générales d'utilisation."
    )
    screens.shot(page, "keycloak-mot-de-passe-enregistre")
    page.locator("#cgu-valider").click()
    expect(page.locator("#input-error-cguAcceptees")).to_contain_text(
        "Vous devez accepter les conditions générales d'utilisation"
    )
    screens.shot(page, "keycloak-cgu-non-cochees")
    accept_cgu(page, screens, version="1")
    expect_portal_home(page, "Paul Girard")
    screens.shot(page, "portail-accueil-premiere-connexion")

    with cgu_version(platform, "2"):
        again = fresh_login(browser, platform, email, NEW_PASSWORD)
        expect(again.locator("#cgu-version")).to_be_visible()
        expect(again.locator("#kc-mot-de-passe-modifie")).to_have_count(0)  # nothing changed now
        accept_cgu(again, screens, version="2")
        expect_portal_home(again, "Paul Girard")
        [user] = users_with_email(platform, email)
        assert user["attributes"]["cguVersion"] == ["2"]  # type: ignore[index]

        # Once accepted, the same version is not asked again.
        third = fresh_login(browser, platform, email, NEW_PASSWORD)
        expect_portal_home(third, "Paul Girard")


def test_personal_data_email_change_applies_only_once_verified_then_phone_and_password(
    platform: Platform, browser: Browser, screens: Screens
) -> None:
    person = platform.new_person("Nadia", "Benali")
    page = fresh_login(browser, platform, person.email, person.password, screens)
    page.get_by_test_id("utilisateur").click()
    expect(page.get_by_role("heading", name="Mes données personnelles")).to_be_visible()
    expect(page.get_by_test_id("adresse")).to_have_text(person.email)
    screens.shot(page, "portail-mes-donnees")

    new_email = unique_email("nadia.nouvelle")
    page.get_by_role("link", name="Modifier mon adresse électronique").click()
    expect(page.locator("#email")).to_be_visible()
    screens.shot(page, "keycloak-modifier-adresse")
    page.fill("#email", new_email)
    page.locator("[type=submit]").first.click()
    screens.shot(page, "keycloak-adresse-a-confirmer")
    mail = platform.mail.wait_for(new_email)
    assert mail.subject == "Confirmez votre nouvelle adresse électronique"
    [user] = users_with_email(platform, person.email)
    assert user["id"] == person.id  # nothing changes until the new address is verified

    page.goto(next(u for u in mail.links if "action-token" in u))
    screens.shot(page, "keycloak-adresse-confirmee")
    [user] = users_with_email(platform, new_email)
    assert user["id"] == person.id
    assert user["emailVerified"] is True
    assert user["username"] == new_email  # the login follows the verified address
    page.goto(f"{platform.portal_url}/auth/action/coordonnees?suite=/mes-donnees")
    expect(page.locator("#telephone")).to_be_visible()
    screens.shot(page, "keycloak-modifier-coordonnees")
    page.fill("#telephone", "09 87 65 43 21")
    page.locator("[type=submit]").first.click()
    expect(page.get_by_test_id("adresse")).to_have_text(new_email)
    expect(page.get_by_test_id("telephone")).to_have_text("09 87 65 43 21")
    screens.shot(page, "portail-mes-donnees-modifiees")

    page.get_by_role("link", name="Modifier mon mot de passe").click()
    # Keycloak asks for the current password first (the last login is not recent enough).
    expect(page.locator("main")).to_contain_text(new_email)
    screens.shot(page, "keycloak-confirmer-identite")
    page.fill("#password", person.password)
    page.click("#kc-login")
    choose_password(page, NEW_PASSWORD, screens, "keycloak-modifier-mot-de-passe")
    expect(page.get_by_role("heading", name="Mes données personnelles")).to_be_visible()
    other = fresh_login(browser, platform, new_email, NEW_PASSWORD)
    expect_portal_home(other, "Nadia Benali")


def test_repeated_wrong_passwords_lock_the_account_with_a_french_message(
    platform: Platform, page: Page, screens: Screens
) -> None:
    person = platform.new_person("Luc", "Moreau")
    page.goto(f"{platform.portal_url}/auth/login")
    screens.shot(page, "keycloak-connexion")
    for _attempt in range(6):  # the realm locks after 5 failures
        log_in_on_keycloak(page, person.email, "Mauvais-Secret-2026!")
        if "temporairement bloqué" in page.locator("body").inner_text():
            break
    expect(page.locator("body")).to_contain_text("Votre compte est temporairement bloqué")
    screens.shot(page, "keycloak-compte-bloque")
    # Even the right password is refused while the lock lasts.
    log_in_on_keycloak(page, person.email, person.password)
    expect(page.locator("body")).to_contain_text("Votre compte est temporairement bloqué")
    platform.admin().connection.raw_delete(
        f"admin/realms/{platform.keycloak.realm}/attack-detection/brute-force/users/{person.id}"
    )
    log_in_on_keycloak(page, person.email, person.password)
    expect_portal_home(page, "Luc Moreau")


def test_a_forgotten_password_is_reset_through_the_emailed_link(
    platform: Platform, browser: Browser, screens: Screens
) -> None:
    person = platform.new_person("Inès", "Fabre")
    page = browser.new_context(locale="fr-FR").new_page()
    page.goto(f"{platform.portal_url}/auth/login")
    page.get_by_role("link", name="Mot de passe oublié ?").click()
    screens.shot(page, "keycloak-mot-de-passe-oublie")
    page.fill("#username", person.email)
    page.locator("[type=submit]").first.click()
    screens.shot(page, "keycloak-mot-de-passe-oublie-envoye")
    mail = platform.mail.wait_for(person.email)
    assert mail.subject == "Réinitialisez votre mot de passe"
    page.goto(next(u for u in mail.links if "action-token" in u))
    choose_password(page, NEW_PASSWORD, screens, "keycloak-nouveau-mot-de-passe")
    expect_portal_home(page, "Inès Fabre")


def test_the_password_page_lists_every_rule_and_marks_each_as_the_person_types(
    platform: Platform, browser: Browser, screens: Screens
) -> None:
    """#20 (smaller item): Keycloak named one broken rule at a time. The page lists every rule
    of the realm's policy, marks each met or not while typing (announced politely), and after
    a refusal still shows the whole list beside Keycloak's message."""
    email = unique_email("regles")
    platform.admin().create_user(
        {
            "username": email,
            "email": email,
            "firstName": "Lise",
            "lastName": "Martin",
            "enabled": True,
            "emailVerified": True,
            "attributes": {"civilite": ["madame"], "telephone": ["06 12 34 56 78"]},
            "credentials": [{"type": "password", "value": "Temporaire-2026!", "temporary": True}],
        }
    )
    page = fresh_login(browser, platform, email, "Temporaire-2026!")
    rules = page.get_by_test_id("regles-mot-de-passe")
    expected = {
        "longueur": "Au moins 12 caractères",
        "majuscule": "Au moins 1 lettre majuscule",
        "minuscule": "Au moins 1 lettre minuscule",
        "chiffre": "Au moins 1 chiffre",
        "symbole": "Au moins 1 caractère spécial",
        "identifiant": "Différent de votre identifiant et de votre adresse électronique",
    }
    for rule, words in expected.items():
        expect(rules.locator(f"[data-regle={rule}]")).to_contain_text(words)
    expect(page.locator("#password-new")).to_have_attribute(
        "aria-describedby", re.compile("regles-password-new")
    )
    page.locator("#password-new").press_sequentially("abcdefgh")
    for rule in ("longueur", "majuscule", "chiffre", "symbole"):
        expect(rules.locator(f"[data-regle={rule}]")).to_have_attribute("data-respectee", "non")
    expect(rules.locator("[data-regle=minuscule]")).to_have_attribute("data-respectee", "oui")
    expect(page.get_by_test_id("etat-regles")).to_have_text(
        "Règles non respectées : au moins 12 caractères, au moins 1 lettre majuscule, "
        "au moins 1 chiffre, au moins 1 caractère spécial."
    )
    screens.shot(page, "keycloak-regles-en-cours")
    page.locator("#password-new").fill("Abcdefgh-2026")
    for rule in ("longueur", "majuscule", "minuscule", "chiffre", "symbole"):
        expect(rules.locator(f"[data-regle={rule}]")).to_have_attribute("data-respectee", "oui")
    expect(page.get_by_test_id("etat-regles")).to_have_text("Toutes les règles sont respectées.")
    screens.shot(page, "keycloak-regles-respectees")

    page.locator("#password-new").fill("Court1!")
    page.locator("#password-confirm").fill("Court1!")
    page.locator("#kc-valider-mot-de-passe").click()
    # Keycloak's message names the first broken rule; the list beside it names them all.
    expect(page.get_by_role("alert").first).to_contain_text("au moins 12 caractères")
    for rule, words in expected.items():
        expect(rules.locator(f"[data-regle={rule}]")).to_contain_text(words)
    screens.shot(page, "keycloak-regles-apres-refus")
