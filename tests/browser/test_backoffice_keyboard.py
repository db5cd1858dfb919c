"""The operator's back-office without a mouse, and on a phone (RGAA 7.3, 10.7, 10.11, 12.7–12.13):
from « Back-office », by Tab, Shift+Tab, Enter and Échap alone, find an establishment, open
it, « Débloquer » a locked account through the confirmation dialog (cancelled once with Échap,
the focus back on its button) and issue a new code; then, 390 px wide, every back-office page
fits the screen (a wide table scrolls inside its own region) and every element the Tab key
reaches is on screen, uncovered, with its focus ring.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from tests.browser.conftest import Screens
from tests.browser.test_backoffice import operator_page
from tests.browser.test_keyboard_and_phone import PHONE
from tests.support.seed import code_locked_person, etablissement_with_code
from tests.support.sirets import new_siret
from tests.support.stack import Platform

pytestmark = [pytest.mark.browser, pytest.mark.keycloak]
MOST_TABS = 120  # every stop of the longest back-office page, and some

# Where the focused element is, as a sentence when something is wrong ("" when all is well):
# on screen, the element found at its centre is itself (or inside it), and it shows a ring
# (a DSFR radio button draws it on its label; a DSFR « enlarged » link on its ::before).
FOCUS_PROBLEM = """() => {
  const element = document.activeElement;
  if (!element || element === document.body) return "";
  const choice = element.matches("input[type=radio], input[type=checkbox]");
  const shown = choice && element.labels.length ? element.labels[0] : element;
  // A link that wraps is two boxes: its bounding box's centre may be the next link's.
  const box = [...shown.getClientRects()].find((r) => r.width && r.height)
    || shown.getBoundingClientRect();
  const name = `${element.tagName.toLowerCase()} « ${(element.innerText || element.id || "").trim().slice(0, 60)} »`;
  if (box.width === 0 || box.height === 0) return `${name} : sans taille`;
  if (box.bottom <= 0 || box.top >= innerHeight || box.right <= 0 || box.left >= innerWidth) {
    return `${name} : hors de l'écran (${Math.round(box.left)}, ${Math.round(box.top)})`;
  }
  const x = Math.min(Math.max(box.left + box.width / 2, 0), innerWidth - 1);
  const y = Math.min(Math.max(box.top + box.height / 2, 0), innerHeight - 1);
  const found = document.elementFromPoint(x, y);
  if (!found || !(shown.contains(found) || found.contains(shown) || element.contains(found))) {
    return `${name} : caché sous ${found ? found.outerHTML.slice(0, 80) : "rien"}`;
  }
  const ring = (style) => (style.outlineStyle !== "none" && parseFloat(style.outlineWidth) > 0)
    || style.boxShadow !== "none";
  const drawn = choice
    ? ring(getComputedStyle(shown, "::before"))
    : ring(getComputedStyle(element)) || ring(getComputedStyle(element, "::before"));
  return drawn ? "" : `${name} : sans contour de focus`;
}"""


def focused_is_visible(page: Page) -> None:
    problem = page.evaluate(FOCUS_PROBLEM)
    assert not problem, f"{page.url} : {problem}"


def is_focused(page: Page, target: Locator) -> bool:
    return bool(page.evaluate("(e) => document.activeElement === e", target.element_handle()))


def tab_to(page: Page, target: Locator, key: str = "Tab") -> None:
    """Press Tab (or Shift+Tab) until `target` has the focus, each stop visible on the way."""
    for _ in range(MOST_TABS):
        page.keyboard.press(key)
        focused_is_visible(page)
        if is_focused(page, target):
            return
    raise AssertionError(f"jamais atteint au clavier en {MOST_TABS} tabulations : {target}")


def locked_out(platform: Platform, siret: str, first: str, last: str) -> None:
    """A person whose wrong codes locked their account on this SIRET (the store only)."""
    code_locked_person(platform.context, siret, first, last, "clavier")


def test_the_back_office_by_keyboard_alone(
    platform: Platform, browser: Browser, screens: Screens
) -> None:
    siret, _ = etablissement_with_code(platform.context, name="Organisme Clavier")
    locked_out(platform, siret, "Agathe", "Verrou")
    locked_out(platform, siret, "Basile", "Verrou")
    page = operator_page(browser, platform)
    page.goto(f"{platform.portal_url}/operateur")

    # The first stop: « Aller au contenu », to the main content past the header.
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Aller au contenu")
    expect(skip).to_be_focused()
    focused_is_visible(page)
    screens.shot(page, "clavier-back-office-evitement")
    page.keyboard.press("Enter")
    expect(page.locator("main#contenu")).to_be_focused()

    search = page.get_by_label("Rechercher un établissement")
    tab_to(page, search)
    page.keyboard.type(siret)
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("total")).to_have_text("1 établissement trouvé")
    tab_to(page, page.get_by_role("link", name=siret))
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Organisme Clavier", level=1)).to_be_visible()

    # « Débloquer »: two on the page, each named; the dialog takes the focus, Échap cancels
    # and gives it back to the button.
    unlock = page.get_by_role("button", name="Débloquer le compte de Basile Verrou")
    tab_to(page, unlock)
    page.keyboard.press("Enter")
    dialog = page.get_by_test_id("dialogue-confirmation")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Débloquer le compte de Basile Verrou ?")
    expect(dialog.get_by_test_id("annuler")).to_be_focused()
    focused_is_visible(page)
    screens.shot(page, "clavier-back-office-confirmation")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(unlock).to_be_focused()
    page.keyboard.press("Enter")
    expect(dialog).to_be_visible()
    page.keyboard.press("Tab")
    expect(dialog.get_by_test_id("confirmer")).to_be_focused()
    page.keyboard.press("Shift+Tab")
    expect(dialog.get_by_test_id("annuler")).to_be_focused()
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    message = page.get_by_test_id("message")
    expect(message).to_contain_text("Le blocage de ce compte est levé")
    expect(message).to_be_focused()  # read first, after the reload
    lockouts = page.get_by_test_id("blocages")
    expect(lockouts).to_contain_text("Agathe")
    expect(lockouts).not_to_contain_text("Basile")

    # A new code: Shift+Tab back up from the lockouts to its button, confirmed, its letter.
    tab_to(page, page.get_by_role("button", name="Débloquer le compte de Agathe Verrou"))
    issue = page.get_by_role("button", name="Émettre un nouveau code — Mon Activité Formation")
    tab_to(page, issue, "Shift+Tab")
    page.keyboard.press("Enter")
    expect(dialog).to_contain_text(f"(SIRET {siret})")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("lettre")).to_contain_text(f"SIRET {siret}")
    screens.shot(page, "clavier-back-office-lettre")


def fits_the_phone(page: Page) -> None:
    """The page itself never scrolls sideways; a table may, inside its own region."""
    sizes = page.evaluate(
        """() => ({
          page: document.scrollingElement.scrollWidth,
          screen: innerWidth,
          tables: [...document.querySelectorAll(".fr-table__container")].map(
            (c) => c.getBoundingClientRect().right),
        })"""
    )
    assert sizes["page"] <= sizes["screen"], f"{page.url} : {sizes}"
    assert all(right <= sizes["screen"] for right in sizes["tables"]), f"{page.url} : {sizes}"


# What scrolls sideways inside the page (a wide table's container) and was never a tab stop:
# the keyboard could not scroll it (RGAA 7.3, axe « scrollable-region-focusable »).
UNREACHED_SCROLLS = """() => [...document.querySelectorAll("main *")]
  .filter((e) => ["auto", "scroll"].includes(getComputedStyle(e).overflowX)
    && e.scrollWidth > e.clientWidth + 1 && !e.hasAttribute("data-atteint"))
  .map((e) => e.outerHTML.slice(0, 100))"""


def every_tab_stop_is_visible(page: Page) -> int:
    """Tab through the whole page from its top, each stop visible; what scrolls sideways is
    among the stops. The stops counted."""
    page.evaluate("document.activeElement && document.activeElement.blur()")
    first, stops = None, 0
    for _ in range(MOST_TABS):
        page.keyboard.press("Tab")
        focused = page.evaluate_handle("document.activeElement")
        if first is not None and page.evaluate("([a, b]) => a === b", [focused, first]):
            break
        if page.evaluate("(e) => e === document.body", focused):
            break  # past the last stop
        first = first or focused
        focused_is_visible(page)
        page.evaluate("(e) => e.setAttribute('data-atteint', '')", focused)
        stops += 1
    else:
        raise AssertionError(f"{page.url} : plus de {MOST_TABS} arrêts de tabulation")
    unreached = page.evaluate(UNREACHED_SCROLLS)
    assert not unreached, f"{page.url} : défile sans être atteint au clavier : {unreached}"
    return stops


def test_at_390_px_the_back_office_fits_and_every_focus_is_seen(
    platform: Platform, browser: Browser, screens: Screens
) -> None:
    siret, _ = etablissement_with_code(platform.context, name="Organisme Étroit")
    locked_out(platform, siret, "Chloé", "Étroite")
    for n in range(21):  # a second page of results: the pagination shows
        with platform.context.work() as work:
            work.etablissements.ensure(
                new_siret(), f"Organisme Paginé {n}, établissement secondaire de formation"
            )
    page = operator_page(browser, platform)
    page.set_viewport_size(PHONE)
    for name, path in (
        ("accueil", "/operateur"),
        ("etablissements", "/operateur/etablissements?q=Organisme+Paginé"),
        ("etablissement", f"/operateur/etablissements/{siret}"),
        ("personnes", "/operateur/personnes?q=Guichet"),
        ("employeurs", "/operateur/employeurs"),
        ("sans-gestionnaire", "/operateur/sans-gestionnaire"),
        ("import", "/operateur/import"),
        ("organisation", "/operateur/organisations"),
    ):
        page.goto(platform.portal_url + path)
        fits_the_phone(page)
        stops = every_tab_stop_is_visible(page)
        assert stops > 3, f"{path} : {stops} arrêts"
        screens.shot(page, f"390-back-office-{name}")
    expect(page.get_by_test_id("ouvrir")).to_be_visible()
