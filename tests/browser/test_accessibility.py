"""Accessibility measured in Chromium: axe-core's WCAG 2.1 A and AA rules (RGAA 4.1's ground)
on the pages a person meets, Keycloak's with our theme included (#20, first measurement).

One walk, logged out then logged in as a gestionnaire with a tiers: each page is audited once
it has loaded. The figures (pages, violations by impact, each violation with its rule and
how many elements) are printed in the CI log and written to
`test-artifacts/accessibilite.json`; serious and critical violations fail the test.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, expect

from bridge.api.pages.accessibility import AUDIT_FILE, EMAIL_PREFIX, EXPLAINED, IMPACTS
from bridge.audit.service import Actor
from bridge.backoffice.imports import CHUNK
from bridge.backoffice.service import PER_PAGE
from bridge.etablissement.models import CodeAttempt
from bridge.person.service import remember_person
from bridge.settings import REPO_ROOT
from tests.browser.conftest import Screens
from tests.browser.keycloak_pages import accept_cgu, choose_password
from tests.browser.test_backoffice import import_csv, start_import
from tests.browser.test_employeur_path import NEW_PASSWORD, login_page, open_organisation
from tests.browser.test_habilitation_path import log_in
from tests.browser.test_keyboard_and_phone import PHONE, fits_the_screen
from tests.support.callers import MAF
from tests.support.employeur import make_operator, temporary_password_of
from tests.support.seed import etablissement_with_code
from tests.support.sirets import new_siret
from tests.support.stack import PASSWORD, Platform

pytestmark = [pytest.mark.browser, pytest.mark.keycloak]
WCAG = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
# axe-core's best practices that RGAA asks of pages too (12.6 landmarks, 12.7 skip link, 9.1
# headings, every content in a landmark), on the pages only: an e-mail has no landmarks.
PAGE_PRACTICES = [
    "region",
    "heading-order",
    "skip-link",
    "landmark-one-main",
    "landmark-unique",
    "landmark-no-duplicate-banner",
    "landmark-no-duplicate-contentinfo",
    "landmark-no-duplicate-main",
    "landmark-banner-is-top-level",
    "landmark-contentinfo-is-top-level",
    "landmark-main-is-top-level",
    "landmark-complementary-is-top-level",
]
BLOCKING = ("critical", "serious")
REPORT = REPO_ROOT / "test-artifacts" / "accessibilite.json"


class Audit:
    def __init__(self) -> None:
        self.axe = Axe()
        self.pages: dict[str, list[dict[str, Any]]] = {}
        self.engine = "axe-core"

    def check(self, page: Page, name: str, *, practices: bool = True) -> None:
        """Audit the page as it is now (`practices`: the page-level best practices too)."""
        page.wait_for_load_state("networkidle")
        rules = {rule: {"enabled": True} for rule in PAGE_PRACTICES} if practices else {}
        found = self.axe.run(
            page,
            options={
                "runOnly": {"type": "tag", "values": WCAG},
                "rules": rules,
                "resultTypes": ["violations"],
            },
        )
        self.engine = f"axe-core {found.response['testEngine']['version']}"
        self.pages[name] = [
            {
                "regle": v["id"],
                "impact": v["impact"],
                "elements": len(v["nodes"]),
                "aide": v["help"],
                "exemples": [n["target"] for n in v["nodes"][:3]],
            }
            for v in found.response["violations"]
        ]

    def by_impact(self) -> Counter[str]:
        return Counter(v["impact"] for found in self.pages.values() for v in found)

    def report(self, capsys: pytest.CaptureFixture[str]) -> None:
        """Print the figures, add them to the JSON report, fail on serious or critical."""
        REPORT.parent.mkdir(exist_ok=True)
        known = json.loads(REPORT.read_text(encoding="utf-8")) if REPORT.exists() else {}
        known.update(self.pages)
        REPORT.write_text(json.dumps(known, ensure_ascii=False, indent=2), encoding="utf-8")
        # The statement (/accessibilite) reads this one, shipped with the code.
        shipped = json.loads(AUDIT_FILE.read_text(encoding="utf-8")) if AUDIT_FILE.exists() else {}
        pages = {**shipped.get("pages", {}), **self.pages}
        statement = {"audite_le": date.today().strftime("%d/%m/%Y"), "outil": self.engine}
        AUDIT_FILE.write_text(
            json.dumps(
                {**statement, "pages": dict(sorted(pages.items()))}, ensure_ascii=False, indent=1
            )
            + "\n",
            encoding="utf-8",
        )
        counts = self.by_impact()
        with capsys.disabled():  # the figures reach the CI log, test passed or not
            print(
                f"\naxe-core (WCAG 2.1 A/AA) : {len(self.pages)} pages auditées ; violations : "
                + ", ".join(
                    f"{counts[i]} {i}" for i in ("critical", "serious", "moderate", "minor")
                )
            )
            for name, found in self.pages.items():
                for v in found:
                    print(f"  {name} : {v['impact']} {v['regle']} ({v['elements']}) — {v['aide']}")
        blocking = {
            name: [v for v in found if v["impact"] in BLOCKING]
            for name, found in self.pages.items()
        }
        assert not any(blocking.values()), json.dumps(blocking, ensure_ascii=False, indent=1)
        unexplained = {v["regle"] for found in self.pages.values() for v in found} - set(EXPLAINED)
        assert not unexplained, f"sans raison dans la déclaration d'accessibilité : {unexplained}"


def test_the_pages_people_meet_have_no_serious_or_critical_violation(
    platform: Platform, browser: Browser, capsys: pytest.CaptureFixture[str]
) -> None:
    audit = Audit()
    page = browser.new_context(locale="fr-FR").new_page()
    page.goto(platform.portal_url)
    audit.check(page, "portail (non connecté)")
    page.goto(f"{platform.portal_url}/auth/login")
    audit.check(page, "Keycloak : connexion")
    page.get_by_role("link", name="Mot de passe oublié ?").click()
    audit.check(page, "Keycloak : mot de passe oublié")
    page.goto(f"{platform.portal_url}/auth/login")
    page.get_by_role("link", name="Créer un compte").click()
    audit.check(page, "Keycloak : création de compte")
    page.get_by_role("button", name="Créer mon compte").click()
    audit.check(page, "Keycloak : création de compte (erreurs)")
    page.goto(
        f"{platform.keycloak.url}/realms/{platform.keycloak.realm}/login-actions/action-token?key=perime"
    )
    audit.check(page, "Keycloak : lien invalide (page d'erreur)")
    page.goto(f"{platform.portal_url}/compte/nouveau-lien")
    audit.check(page, "portail : recevoir un nouveau lien")
    page.get_by_role("button", name="Recevoir un nouveau lien").click()
    audit.check(page, "portail : recevoir un nouveau lien (erreurs)")
    page.goto(f"{platform.portal_url}/accessibilite")
    audit.check(page, "portail : déclaration d'accessibilité")

    person = platform.new_person("Amandine", "Munoz Ortega")
    log_in(page, platform, person)  # known to the portal from here
    siret, code = etablissement_with_code(platform.context)
    with platform.context.work() as work:
        work.habilitations.activate(Actor(person.id, person.display_name), MAF, siret, code)
    page.reload()
    audit.check(page, "portail : accueil")
    for name, path in (
        ("ajouter une démarche", f"/demarches/{MAF}/ajouter"),
        ("utilisateurs", f"/demarches/{MAF}/utilisateurs?siret={siret}"),
        ("nouvelle délégation", f"/demarches/{MAF}/delegations/nouvelle"),
        ("mes clients (tiers)", "/mes-clients"),
        ("mes données personnelles", "/mes-donnees"),
        ("mentions légales", "/mentions-legales"),
        ("conditions d'utilisation", "/cgu"),
        ("page introuvable", "/cette-page-n-existe-pas"),
    ):
        page.goto(platform.portal_url + path)
        audit.check(page, f"portail : {name}")
    page.goto(f"{platform.portal_url}/demarches/{MAF}/ajouter")
    page.get_by_role("button", name="Valider mon accès").click()
    audit.check(page, "portail : ajouter une démarche (erreurs)")
    page.goto(platform.relying_party_url)
    audit.check(page, "démarche Mon Activité Formation")

    audit.report(capsys)


def test_the_employer_space_has_no_serious_or_critical_violation(
    platform: Platform, browser: Browser, screens: Screens, capsys: pytest.CaptureFixture[str]
) -> None:
    """The second guide: the operator's form, the first login (temporary password, terms),
    the organisation's home, its gestionnaires, the add form and its errors."""
    audit = Audit()
    operator_person = platform.new_person("Opé", "Rateur")
    make_operator(platform, operator_person.id)
    operator = login_page(browser, platform, operator_person.username, PASSWORD)
    operator.goto(f"{platform.portal_url}/operateur/organisations")
    audit.check(operator, "opérateur : ouvrir une organisation")
    email = f"claire.{new_siret()}@employeur.example.fr"
    siret, login_id = open_organisation(
        platform, operator, "Employeur", ("Claire", "Principale", email), screens
    )
    audit.check(operator, "opérateur : organisation ouverte")

    page = login_page(browser, platform, login_id, temporary_password_of(platform, email))
    audit.check(page, "Keycloak : changer le mot de passe temporaire")
    choose_password(page, NEW_PASSWORD, screens, "accessibilite")
    audit.check(page, "Keycloak : conditions d'utilisation")
    accept_cgu(page, screens)
    audit.check(page, "employeur : après la première connexion")
    for name, path in (
        ("espace de l'organisation", f"/employeur/{siret}"),
        ("gestionnaires", f"/employeur/{siret}/gestionnaires"),
        ("ajouter un gestionnaire", f"/employeur/{siret}/gestionnaires/nouveau"),
    ):
        page.goto(platform.portal_url + path)
        audit.check(page, f"employeur : {name}")
    page.get_by_test_id("enregistrer").click()
    audit.check(page, "employeur : ajouter un gestionnaire (erreurs)")
    audit.report(capsys)

    # The same pages on a phone: nothing wider than 390 px, the side menu behind its button.
    page.set_viewport_size(PHONE)
    for name, path in (
        ("espace", f"/employeur/{siret}"),
        ("gestionnaires", f"/employeur/{siret}/gestionnaires"),
        ("ajout", f"/employeur/{siret}/gestionnaires/nouveau"),
    ):
        page.goto(platform.portal_url + path)
        fits_the_screen(page)
        screens.shot(page, f"390-employeur-{name}")
    expect(page.get_by_test_id("enregistrer")).to_be_visible()


def test_the_operators_back_office_has_no_serious_or_critical_violation(
    platform: Platform, browser: Browser, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """#21: the back-office's home, its searches, an establishment's and a person's file, an
    import under way and its report with its letters, the letter of a new code; and in their
    busy states: a locked account with « Débloquer », a pagination, the confirmation dialog
    open, the import and « Ouvrir une organisation » forms after a failed submit."""
    audit = Audit()
    operator_person = platform.new_person("Opé", "Guichet")
    make_operator(platform, operator_person.id)
    page = login_page(browser, platform, operator_person.username, PASSWORD)
    siret, _ = etablissement_with_code(platform.context, name="Organisme Audité")
    locked = f"audit-{siret}"
    with platform.context.work() as work:
        remember_person(work.session, locked, f"{locked}@exemple.fr", "Bloquée", "Audit")
        work.session.add_all(
            CodeAttempt(siret=siret, subject=locked, success=False) for _ in range(5)
        )
        for n in range(PER_PAGE + 1):
            work.etablissements.ensure(new_siret(), f"Organisme Audité en nombre {n}")
    for name, path in (
        ("accueil", "/operateur"),
        ("établissements", f"/operateur/etablissements?q={siret}"),
        ("établissements (plusieurs pages)", "/operateur/etablissements?q=Audité+en+nombre"),
        ("un établissement (compte bloqué)", f"/operateur/etablissements/{siret}"),
        ("personnes", "/operateur/personnes?q=Guichet"),
        ("une personne", f"/operateur/personnes/{operator_person.id}"),
        ("organisations de l'espace employeur", "/operateur/employeurs"),
        ("établissements sans gestionnaire", "/operateur/sans-gestionnaire"),
        ("importer des établissements", "/operateur/import"),
        ("ouvrir une organisation", "/operateur/organisations"),
    ):
        page.goto(platform.portal_url + path)
        audit.check(page, f"back-office : {name}")
    page.get_by_test_id("ouvrir").click()
    expect(page.get_by_test_id("erreurs")).to_be_visible()
    audit.check(page, "back-office : ouvrir une organisation (erreurs)")
    page.goto(f"{platform.portal_url}/operateur/import")
    page.get_by_role("button", name="Importer").click()
    expect(page.get_by_test_id("erreur-fichier")).to_be_visible()
    audit.check(page, "back-office : importer des établissements (erreurs)")
    page.goto(f"{platform.portal_url}/operateur/etablissements/{siret}")
    page.get_by_role("button", name="Débloquer le compte de Bloquée Audit").click()
    expect(page.get_by_test_id("dialogue-confirmation")).to_be_visible()
    audit.check(page, "back-office : confirmation ouverte")
    page.keyboard.press("Escape")
    page.goto(f"{platform.portal_url}/operateur/etablissements?q=Audité+en+nombre")
    expect(page.get_by_role("navigation", name="Pagination")).to_be_visible()  # audited above
    source, _ = import_csv(tmp_path, CHUNK + 1)
    platform.context.imports.lock.acquire()  # the import stays « en cours » while audited
    try:
        start_import(page, platform, source)
        expect(page.get_by_role("status")).to_contain_text(f"{CHUNK} lignes traitées")
        audit.check(page, "back-office : import en cours")
    finally:
        platform.context.imports.lock.release()
    expect(page.get_by_test_id("rejets")).to_be_visible()
    audit.check(page, "back-office : bilan de l'import et ses courriers")
    page.goto(f"{platform.portal_url}/operateur/etablissements/{siret}")
    page.get_by_role("button", name="Émettre un nouveau code — Mon Activité Formation").click()
    page.get_by_test_id("dialogue-confirmation").get_by_test_id("confirmer").click()
    expect(page.get_by_test_id("lettre")).to_be_visible()
    audit.check(page, "back-office : courrier du code")
    audit.report(capsys)


def test_the_emails_have_no_serious_or_critical_violation(
    platform: Platform, browser: Browser, capsys: pytest.CaptureFixture[str]
) -> None:
    """The HTML of every kind of e-mail the session's tests made (Keycloak's and the bridge's),
    one of each subject, as a mail client shows it."""
    person = platform.new_person("Courriel", "Audité")
    platform.admin().send_verify_email(person.id)  # Keycloak's own, besides the tests' ones
    platform.admin().send_update_account(person.id, ["UPDATE_PASSWORD"])
    platform.mail.wait_for(person.email, count=2)
    audit = Audit()
    page = browser.new_context(locale="fr-FR").new_page()
    seen: set[str] = set()
    for mail in platform.mail.all():
        if mail.subject in seen or not mail.html:
            continue
        seen.add(mail.subject)
        page.set_content(mail.html)
        audit.check(page, f"{EMAIL_PREFIX}{mail.subject}", practices=False)
    assert seen, "aucun courriel HTML reçu pendant la session"
    audit.report(capsys)


def test_the_accessibility_statement_shows_the_last_audit_from_every_footer(
    platform: Platform, browser: Browser, screens: Screens
) -> None:
    """RGAA's statement: « non conforme » until a full audit, the automated figures, whom to
    contact; linked from the portal's footer and from Keycloak's."""
    audit = json.loads(AUDIT_FILE.read_text(encoding="utf-8"))
    page = browser.new_context(locale="fr-FR").new_page()
    page.goto(f"{platform.portal_url}/auth/login")
    page.get_by_role("link", name="Accessibilité : non conforme").click()
    expect(page.get_by_role("heading", name="Déclaration d'accessibilité", level=1)).to_be_visible()
    page.goto(platform.portal_url)
    page.get_by_role("link", name="Accessibilité : non conforme").click()
    expect(page.get_by_test_id("etat-conformite")).to_contain_text("non conforme")
    pages = [name for name in audit["pages"] if not name.startswith(EMAIL_PREFIX)]
    emails = len(audit["pages"]) - len(pages)
    expect(page.get_by_test_id("resultats")).to_contain_text(
        f"Le {audit['audite_le']}, l'outil {audit['outil']} a contrôlé {len(pages)} pages et "
        f"{emails} modèles de courriel"
    )
    found = Counter(v["impact"] for violations in audit["pages"].values() for v in violations)
    for impact, french in IMPACTS.items():
        expect(page.get_by_test_id(f"impact-{french}")).to_have_text(f"{french}{found[impact]}")
    expect(page.get_by_test_id("non-conformites")).to_be_visible()
    expect(page.get_by_test_id("contact-accessibilite")).to_contain_text(
        platform.portal_settings.assistance_courriel
    )
    screens.shot(page, "portail-declaration-accessibilite")
