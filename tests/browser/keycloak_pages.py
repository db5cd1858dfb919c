"""Steps on Keycloak's own pages (our `demarches-dsfr` login theme), shared by browser tests."""

from __future__ import annotations

from dataclasses import dataclass

from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import Screens
from tests.support.stack import Person, Platform

# Solving the proof of work takes well under a second at the realm's difficulty; the margin
# is for a loaded CI machine.
CAPTCHA_TIMEOUT_MS = 60_000


@dataclass(frozen=True)
class Registration:
    """What a professional types on « Créer mon compte »."""

    email: str
    siret: str
    civilite: str = "Madame"
    last_name: str = "Lefèvre"
    first_name: str = "Claire"
    telephone: str = "01 23 45 67 89"


def fill_registration(page: Page, registration: Registration) -> None:
    expect(page.locator("#kc-register-form")).to_be_visible()
    page.get_by_label(registration.civilite, exact=True).check()
    page.fill("#lastName", registration.last_name)
    page.fill("#firstName", registration.first_name)
    page.fill("#email", registration.email)
    page.fill("#telephone", registration.telephone)
    page.fill("#siret", registration.siret)


def solve_captcha(page: Page) -> None:
    """Tick « Je ne suis pas un robot » and wait for the browser to finish the proof of work."""
    page.locator("#captcha-case").check()
    expect(page.locator("#captcha-statut")).to_contain_text(
        "Vérification réussie", timeout=CAPTCHA_TIMEOUT_MS
    )


def submit_registration(page: Page) -> None:
    page.locator("#kc-register-form [type=submit]").click()


def register(page: Page, registration: Registration, screens: Screens) -> None:
    """The whole registration form, captcha solved, then « Créer mon compte »."""
    fill_registration(page, registration)
    solve_captcha(page)
    screens.shot(page, "keycloak-inscription-remplie")
    submit_registration(page)
    expect(page.locator("body")).to_contain_text("e-mail")
    screens.shot(page, "keycloak-verifier-adresse")


def choose_password(page: Page, password: str, screens: Screens, name: str) -> None:
    expect(page.locator("#password-new")).to_be_visible()
    screens.shot(page, name)
    page.fill("#password-new", password)
    page.fill("#password-confirm", password)
    page.locator("[type=submit]").first.click()


def accept_cgu(page: Page, screens: Screens, version: str = "1") -> None:
    expect(page.get_by_role("heading", name="Conditions générales d'utilisation")).to_be_visible()
    expect(page.locator("body")).to_contain_text(f"Version {version}")
    screens.shot(page, f"keycloak-cgu-version-{version}")
    page.get_by_label("J'ai lu et j'accepte les conditions générales d'utilisation").check()
    page.locator("#cgu-valider").click()


def log_in_on_keycloak(
    page: Page, email: str, password: str, screens: Screens | None = None
) -> None:
    """Fill Keycloak's login form (screenshot first when `screens` is given)."""
    expect(page.locator("#kc-form-login")).to_be_visible()
    if screens is not None:
        screens.shot(page, "keycloak-connexion")
    page.fill("#username", email)
    page.fill("#password", password)
    page.click("#kc-login")


ADMINISTRATOR_ROLES = ("view-users", "manage-users", "view-realm")


def open_user_in_admin_console(
    browser: Browser, platform: Platform, user_id: str, locale: str = "fr-FR"
) -> Page:
    """A user's page in Keycloak's own admin console, logged in as the master administrator."""
    page = browser.new_context(locale=locale).new_page()
    realm = platform.keycloak.realm
    page.goto(f"{platform.keycloak.url}/admin/master/console/#/{realm}/users/{user_id}/settings")
    page.fill("#username", platform.keycloak.admin_user)
    page.fill("#password", platform.keycloak.admin_password)
    page.click("#kc-login")
    return page


def realm_administrator(platform: Platform) -> Person:
    """A person of the realm who administers its users in its own console
    (`/admin/{realm}/console/`), as the service in charge of the platform would."""
    administrator = platform.new_person("Administratrice", "Royaume")
    admin = platform.keycloak.admin()
    realm_management = admin.get_client_id("realm-management")
    assert realm_management is not None
    roles = [admin.get_client_role(realm_management, role) for role in ADMINISTRATOR_ROLES]
    admin.assign_client_role(administrator.id, realm_management, roles)
    return administrator


def open_user_as_realm_administrator(
    browser: Browser, platform: Platform, administrator: Person, user_id: str
) -> Page:
    """A user's page in the realm's own admin console, for a French administrator (tall
    enough for the whole user profile: the console scrolls inside its own panel)."""
    page = browser.new_context(locale="fr-FR", viewport={"width": 1280, "height": 1700}).new_page()
    realm = platform.keycloak.realm
    page.goto(f"{platform.keycloak.url}/admin/{realm}/console/#/{realm}/users/{user_id}/settings")
    page.fill("#username", administrator.email)
    page.fill("#password", administrator.password)
    page.click("#kc-login")
    return page
