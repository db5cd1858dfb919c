"""The guide's « Déléguer une habilitation à un tiers » in real Chromium, with two people and
the real e-mails: form, recap, confirmation, invitation; the tiers registers, verifies its
address, accepts; the gestionnaire sees the delegation and revokes it; the tiers' next
request no longer shows the right."""

from __future__ import annotations

import re
import uuid
from datetime import date, datetime, timedelta

import pytest
from playwright.sync_api import Browser, Page, expect

from bridge.api.routes.delegations import end_of
from bridge.audit.service import Actor, record
from bridge.delegation.service import PARIS
from bridge.habilitation.service import may_act
from bridge.person.service import remember_person
from tests.browser.conftest import Screens
from tests.browser.keycloak_pages import Registration, accept_cgu, choose_password, register
from tests.browser.test_habilitation_path import add_demarche_with_code, log_in
from tests.support.seed import etablissement_with_code, siret_delegated_to
from tests.support.sirets import new_siret
from tests.support.stack import PASSWORD, Person, Platform

pytestmark = [pytest.mark.browser, pytest.mark.keycloak]
MAF = "mon-activite-formation"


def test_delegation_to_a_tiers_who_registers_then_revocation(
    platform: Platform, browser: Browser, screens: Screens
) -> None:
    siret, code = etablissement_with_code(platform.context, name="EKYSS")
    gestionnaire = platform.new_person("Amandine", "Munoz Ortega")
    with platform.context.work() as work:
        from bridge.person.service import remember_person

        remember_person(
            work.session, gestionnaire.id, gestionnaire.email, "Amandine", "Munoz Ortega"
        )
    first = browser.new_context(locale="fr-FR").new_page()
    log_in(first, platform, gestionnaire)
    add_demarche_with_code(first, platform, siret, code)
    first.get_by_role("link", name="Utilisateurs de la démarche").click()
    first.get_by_role("link", name="Déléguer une habilitation à un tiers").click()

    tiers_email = f"cabinet.{uuid.uuid4().hex[:8]}@fournisseur.fr"
    tiers_siret = new_siret()
    first.get_by_label("SIRET du tiers-déclarant *").fill(tiers_siret)
    first.get_by_label("Adresse e-mail *").fill(tiers_email)
    screens.shot(first, "formulaire-delegation")
    first.get_by_role("button", name="Continuer").click()
    recap = first.get_by_test_id("recapitulatif")
    expect(recap).to_contain_text(
        "Invitation à rejoindre la démarche Mon Activité Formation pour le compte de EKYSS"
    )
    expect(recap).to_contain_text("Bonjour, AMANDINE MUNOZ ORTEGA vous invite à accéder au service")
    screens.shot(first, "recapitulatif")
    first.get_by_role("button", name="Continuer").click()
    expect(first.get_by_test_id("confirmation")).to_contain_text(
        f"Vous allez habiliter l'utilisateur {tiers_email}"
    )
    screens.shot(first, "confirmation")
    first.get_by_role("button", name="Confirmer").click()
    expect(first.get_by_test_id("message")).to_contain_text(
        f"L'invitation est envoyée à {tiers_email}"
    )

    invitation = platform.mail.wait_for(tiers_email)
    link = next(u for u in invitation.links if "/invitations/" in u)
    tiers = browser.new_context(locale="fr-FR").new_page()
    tiers.goto(link)
    expect(tiers.get_by_test_id("invitation")).to_contain_text("vous invite à agir au nom de EKYSS")
    screens.shot(tiers, "invitation-sans-compte")
    tiers.get_by_role("link", name="Se créer un compte").click()
    register(tiers, Registration(email=tiers_email, siret=tiers_siret), screens)
    verification = platform.mail.wait_for(tiers_email, count=2)
    tiers.goto(next(u for u in verification.links if "action-token" in u))
    screens.shot(tiers, "keycloak-apres-verification")
    # Keycloak asks for the password once the address is verified, then the CGU.
    choose_password(tiers, PASSWORD, screens, "keycloak-choix-mot-de-passe")
    accept_cgu(tiers, screens)
    expect(tiers.get_by_role("button", name="Accepter la délégation")).to_be_visible()
    screens.shot(tiers, "invitation-connecte")
    tiers.get_by_role("button", name="Accepter la délégation").click()
    expect(tiers.get_by_test_id("clients")).to_contain_text(siret)
    # #20 item 6: words, not identifiers.
    expect(tiers.get_by_test_id("clients")).to_contain_text("Mon Activité Formation")
    expect(tiers.get_by_test_id("clients")).to_contain_text("Déclarant")
    expect(tiers.get_by_test_id("clients")).not_to_contain_text("mon-activite-formation")
    expect(tiers.get_by_test_id("clients")).not_to_contain_text("declarant")
    screens.shot(tiers, "mes-clients")
    tiers.goto(platform.portal_url)
    expect(tiers.get_by_test_id("carte-mon-activite-formation")).to_contain_text(
        f"Organisme de formation - SIRET {siret}"
    )

    first.reload()
    expect(first.get_by_test_id("facettes")).to_contain_text("Oui (1)")
    delegations = first.get_by_test_id("delegations")
    expect(delegations).to_contain_text(f"SIRET {tiers_siret}")
    expect(delegations).to_contain_text("acceptée")
    screens.shot(first, "utilisateurs-avec-delegation")
    tiers_subject = platform.admin().get_user_id(tiers_email)
    with platform.context.work() as work:
        assert may_act(
            work.session, platform.context.catalog, tiers_subject or "", MAF, "declarant", siret
        )
    # #20 item 4: nothing that cannot be undone in one click — a modal dialog asks first.
    delegations.get_by_role("button", name="Révoquer").click()
    dialog = first.get_by_test_id("dialogue-confirmation")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text(f"SIRET {tiers_siret}")
    expect(dialog.get_by_test_id("annuler")).to_be_focused()
    screens.shot(first, "confirmation-revocation")
    dialog.get_by_test_id("annuler").click()
    expect(dialog).to_be_hidden()
    expect(delegations).to_contain_text("acceptée")  # cancelled: nothing changed
    delegations.get_by_role("button", name="Révoquer").click()
    dialog.get_by_test_id("confirmer").click()
    expect(first.get_by_test_id("message")).to_contain_text("La délégation est révoquée")

    tiers.goto(f"{platform.portal_url}/mes-clients")
    expect(tiers.get_by_test_id("total-clients")).to_have_text("0 établissement")
    screens.shot(tiers, "apres-revocation")
    with platform.context.work() as work:
        assert not may_act(
            work.session, platform.context.catalog, tiers_subject or "", MAF, "declarant", siret
        )


def _delegation_accepted(
    platform: Platform, last_day: date | None = None
) -> tuple[Person, Person, str, str]:
    """A gestionnaire of « KDS Pro » (by its code) whose delegation of « Déclarant » the
    tiers has accepted: the gestionnaire, the tiers, the délégant's SIRET and the tiers'."""
    gestionnaire = platform.new_person("Gestion", "Kds")
    tiers = platform.new_person("Déclarant", "Tiers")
    with platform.context.work() as work:
        remember_person(work.session, gestionnaire.id, gestionnaire.email, "Gestion", "Kds")
        remember_person(work.session, tiers.id, tiers.email, "Déclarant", "Tiers")
    tiers_siret = new_siret()
    siret, delegation_id = siret_delegated_to(
        platform.context,
        Actor(gestionnaire.id, gestionnaire.display_name),
        tiers.email,
        tiers_siret,
        platform.portal_url,
        name="KDS Pro",
        valid_until=end_of(last_day),
    )
    with platform.context.work() as work:
        work.delegations.accept_many(
            Actor(tiers.id, tiers.display_name), tiers.email, True, [delegation_id]
        )
    return gestionnaire, tiers, siret, tiers_siret


def _users_screen(page: Page, platform: Platform, person: Person) -> None:
    log_in(page, platform, person)
    page.goto(f"{platform.portal_url}/demarches/{MAF}/utilisateurs")


def test_a_tiers_delegation_shows_in_its_own_block_with_words_and_no_modifier(
    platform: Platform, browser: Browser, screens: Screens
) -> None:
    """#20 item 3: « Délégation(s) » apart from « Habilitation(s) », as in the guide."""
    last_day = datetime.now(PARIS).date() + timedelta(days=60)
    gestionnaire, _, siret, _ = _delegation_accepted(platform, last_day)
    page = browser.new_context(locale="fr-FR").new_page()
    _users_screen(page, platform, gestionnaire)
    page.get_by_role("link", name="TIERS Déclarant").click()
    block = page.get_by_test_id("delegations-personne")
    expect(block).to_contain_text(f"Organisme de formation - SIRET {siret}")
    expect(block).to_contain_text("Mon Activité Formation")
    expect(block).to_contain_text("Déclarant")
    today = datetime.now(PARIS).strftime("%d/%m/%Y")
    expect(block).to_contain_text(f"Habilité le {today} par KDS Pro")
    expect(block).to_contain_text(f"jusqu'au {last_day.strftime('%d/%m/%Y')}")
    expect(block).not_to_contain_text("declarant")
    expect(block.get_by_role("button", name="Modifier")).to_have_count(0)
    expect(block.get_by_role("combobox")).to_have_count(0)
    # Not among the habilitations, which keep « Modifier » for rights of their own.
    expect(page.get_by_test_id("habilitations")).not_to_contain_text(siret)
    screens.shot(page, "detail-delegation")
    # The délégant's gestionnaire manages it where delegations are managed.
    block.get_by_role("link", name="Gérer cette délégation").click()
    expect(page.get_by_test_id("delegations")).to_contain_text("acceptée")
    expect(
        page.get_by_test_id("delegations").get_by_role("button", name="Révoquer")
    ).to_be_visible()


def test_searching_a_tiers_siret_finds_the_people_acting_by_delegation_for_that_tiers(
    platform: Platform, browser: Browser, screens: Screens
) -> None:
    """#20 item 3: the délégant's gestionnaire types the tiers' SIRET and finds its people
    (those who accepted a delegation given to that SIRET), not an empty list."""
    gestionnaire, _, _, tiers_siret = _delegation_accepted(platform)
    page = browser.new_context(locale="fr-FR").new_page()
    _users_screen(page, platform, gestionnaire)
    page.get_by_label("Rechercher un utilisateur (nom, e-mail, SIRET)").fill(tiers_siret)
    page.get_by_role("button", name="Rechercher").click()
    expect(page.get_by_test_id("total")).to_have_text("1 Droit d'accès trouvé")
    expect(page.get_by_test_id("resultats")).to_contain_text("TIERS Déclarant")
    expect(page.get_by_test_id("facettes")).to_contain_text("Oui (1)")
    screens.shot(page, "recherche-siret-tiers")
    # Its first nine digits (the tiers' SIREN) find it too, as a SIRET's start does.
    page.get_by_label("Rechercher un utilisateur (nom, e-mail, SIRET)").fill(tiers_siret[:9])
    page.get_by_role("button", name="Rechercher").click()
    expect(page.get_by_test_id("resultats")).to_contain_text("TIERS Déclarant")


def test_the_recap_shows_the_address_the_invitation_goes_to(
    platform: Platform, browser: Browser, screens: Screens
) -> None:
    """#20 (smaller item d): the recap showed the subject and message, not the recipient's
    address — the one thing to check before the invitation leaves."""
    siret, code = etablissement_with_code(platform.context, name="EKYSS")
    gestionnaire = platform.new_person("Amandine", "Munoz Ortega")
    page = browser.new_context(locale="fr-FR").new_page()
    log_in(page, platform, gestionnaire)
    add_demarche_with_code(page, platform, siret, code)
    page.goto(f"{platform.portal_url}/demarches/{MAF}/delegations/nouvelle")
    tiers_email = f"cabinet.{uuid.uuid4().hex[:8]}@fournisseur.fr"
    tiers_siret = new_siret()
    page.get_by_label("SIRET du tiers-déclarant *").fill(tiers_siret)
    page.get_by_label("Adresse e-mail *").fill(tiers_email)
    page.get_by_role("button", name="Continuer").click()
    recap = page.get_by_test_id("recapitulatif")
    recipient = recap.get_by_test_id("destinataire")
    expect(recipient).to_contain_text(tiers_email)
    expect(recipient).to_contain_text(f"Organisme de formation - SIRET {tiers_siret}")
    screens.shot(page, "recapitulatif-destinataire")


def test_the_users_screen_history_reads_every_event_in_words(
    platform: Platform, browser: Browser, screens: Screens
) -> None:
    """#20 item 6: the history said « console refusee », « habilitation accordée (declarant) »:
    every event is a French sentence, the démarche and roles in words, no code shown."""
    gestionnaire, tiers, siret, _ = _delegation_accepted(platform)
    with platform.context.work() as work:
        # What the console round-trip and the employer space write for this person.
        record(
            work.session,
            Actor(gestionnaire.id),
            "console-refusee",
            target=tiers.id,
            siret=siret,
            demarche=MAF,
            role="gestionnaire",
        )
        record(
            work.session,
            Actor(gestionnaire.id),
            "habilitation-modifiee",
            target=tiers.id,
            siret=siret,
            demarche=MAF,
            ancien_role="declarant",
            role="gestionnaire",
        )
    page = browser.new_context(locale="fr-FR").new_page()
    _users_screen(page, platform, gestionnaire)
    page.get_by_role("link", name="TIERS Déclarant").click()
    history = page.get_by_test_id("historique")
    expect(history).to_contain_text("Habilitation accordée : Déclarant")
    expect(history).to_contain_text("Habilitation modifiée : Déclarant devient Gestionnaire")
    expect(history).to_contain_text("Modification depuis la console Keycloak refusée")
    screens.shot(page, "historique-en-mots")
    text = history.inner_text()
    assert re.search(r"\b[a-z]+-[a-z-]+\b", text) is None, text  # no audit code
    # Neither identifier as a bare word (the tiers' address « declarant.…@ » is not one).
    bare = re.compile(r"(?<![.@\w])(declarant|mon-activite-formation)(?![.@\w-])")
    assert bare.search(page.inner_text("main")) is None


def test_a_revoked_tiers_is_told_to_contact_the_organisation_that_delegated(
    platform: Platform, browser: Browser, screens: Screens
) -> None:
    """#20 item 8: an outside firm whose delegation was revoked is not told to « demander
    l'accès à un gestionnaire » but to contact the organisation, named, that delegated; the
    refusal keeps the person logged in (their name in the header, no « Se connecter »)."""
    gestionnaire, tiers, siret, _ = _delegation_accepted(platform)
    with platform.context.work() as work:
        [delegation] = work.delegations.of_etablissements(Actor(gestionnaire.id), MAF)
        work.delegations.revoke(Actor(gestionnaire.id, gestionnaire.display_name), delegation.id)
    page = browser.new_context(locale="fr-FR").new_page()
    log_in(page, platform, tiers)
    year = datetime.now(PARIS).year - 1
    page.goto(f"{platform.portal_url}/demarches/{MAF}/bpf/{siret}/{year}")
    main = page.locator("main")
    expect(main).to_contain_text(f"KDS Pro (SIRET {siret})")
    expect(main).to_contain_text("a été révoquée")
    expect(main).to_contain_text("contactez KDS Pro")
    expect(main).not_to_contain_text("demandez l'accès")
    expect(page.get_by_test_id("utilisateur").first).to_contain_text(tiers.display_name)
    expect(page.get_by_role("link", name="Se connecter")).to_have_count(0)
    screens.shot(page, "tiers-revoque")
    # The démarche's own site, which reads only current rights, gives the same advice.
    page.goto(platform.relying_party_url)
    expect(page.get_by_test_id("droits")).to_contain_text("contactez cet organisme")
