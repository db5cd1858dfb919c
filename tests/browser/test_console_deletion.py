"""A person deleted by an administrator in Keycloak's own console, in Chromium (#19): the
bridge follows the admin event — the person's rights end, audited « compte-supprime » with
the administrator who deleted, and the SIRET is listed for the operator."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, expect
from sqlalchemy import select

from bridge.accounts import DELETED
from bridge.audit.models import AuditEvent
from bridge.audit.service import Actor
from bridge.habilitation.models import Habilitation
from tests.browser.conftest import Screens
from tests.browser.keycloak_pages import open_user_in_admin_console
from tests.browser.test_habilitation_path import log_in
from tests.support.callers import MAF
from tests.support.projection import eventually
from tests.support.seed import etablissement_with_code
from tests.support.stack import Platform

pytestmark = [pytest.mark.browser, pytest.mark.keycloak]


def test_a_gestionnaire_deleted_in_the_keycloak_console_loses_every_right(
    platform: Platform, browser: Browser, screens: Screens
) -> None:
    person = platform.new_person("Supprimée", "Console")
    portal = browser.new_context(locale="fr-FR").new_page()
    log_in(portal, platform, person)  # the store knows the person from here
    siret, code = etablissement_with_code(platform.context)
    with platform.context.work() as work:
        work.habilitations.activate(Actor(person.id, person.display_name), MAF, siret, code)

    admin = open_user_in_admin_console(browser, platform, person.id, locale="en-US")
    expect(admin.get_by_role("heading", name=person.username)).to_be_visible(timeout=60_000)
    screens.shot(admin, "console-utilisateur")
    admin.get_by_test_id("action-dropdown").click()
    admin.get_by_role("menuitem", name="Delete").click()
    admin.get_by_test_id("confirm").click()
    expect(admin.get_by_text("The user has been deleted")).to_be_visible()
    screens.shot(admin, "console-utilisateur-supprime")

    def rights_ended() -> bool:
        with platform.context.sessions() as session:
            held = session.scalars(
                select(Habilitation).where(
                    Habilitation.subject == person.id, Habilitation.revoked_at.is_(None)
                )
            ).all()
        return not held

    eventually(rights_ended, timeout=30, what="la fin des droits après la suppression")
    with platform.context.sessions() as session:
        [event] = session.scalars(
            select(AuditEvent).where(AuditEvent.action == DELETED, AuditEvent.target == person.id)
        ).all()
    assert event.actor not in ("rapprochement", person.id)  # the console's administrator
    with platform.context.work() as work:
        assert (MAF, siret) in [(o.demarche, o.siret) for o in work.accounts.orphans()]
