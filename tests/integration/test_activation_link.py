"""« Recevoir un nouveau lien » (bridge/accounts/activation.py) on the real Keycloak: who gets
a link, how often, what the audit keeps, and the cap per network address."""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from bridge.accounts.activation import RESENT, VISITOR
from bridge.api.app import create_app
from bridge.audit.models import AuditEvent
from bridge.audit.service import Actor
from tests.support.portal_login import csrf_of
from tests.support.stack import Platform

pytestmark = pytest.mark.keycloak
ASKER = Actor(VISITOR, "Visiteur", "192.0.2.7")


def account(platform: Platform, *, verified: bool, enabled: bool = True) -> tuple[str, str]:
    """(id, e-mail) of an account as registration leaves it, or already activated."""
    email = f"lien.{uuid.uuid4().hex[:10]}@organisme.fr"
    user_id: str = platform.admin().create_user(
        {
            "username": email,
            "email": email,
            "firstName": "Lina",
            "lastName": "Morel",
            "enabled": enabled,
            "emailVerified": verified,
            "requiredActions": [] if verified else ["VERIFY_EMAIL", "UPDATE_PASSWORD"],
            "attributes": {"civilite": ["madame"], "telephone": ["01 23 45 67 89"]},
        }
    )
    return user_id, email


def ask(platform: Platform, email: str) -> bool:
    with platform.context.work() as work:
        return work.activation_links.send_again(email, ASKER)


def test_a_waiting_account_gets_one_link_a_minute_and_each_is_audited(platform: Platform) -> None:
    user_id, email = account(platform, verified=False)
    assert ask(platform, f"  {email.upper()} ")  # typed as people type it
    assert not ask(platform, email)  # a minute has not passed
    mail = platform.mail.wait_for(email)
    assert mail.subject == "Activez votre compte Mes démarches"
    assert "Ce lien est valable 1 jour." in mail.text  # the bridge's 24 hours
    time.sleep(1)
    assert len(platform.mail.for_recipient(email)) == 1
    with platform.context.sessions() as session:
        audited = session.scalars(
            select(AuditEvent).where(AuditEvent.action == RESENT, AuditEvent.target == user_id)
        ).all()
    assert [(e.actor, e.client_ip) for e in audited] == [(VISITOR, "192.0.2.7")]


def test_two_requests_at_once_for_one_account_send_one_link(platform: Platform) -> None:
    """The review's race: both read the limits before either wrote its audit row."""
    _, email = account(platform, verified=False)
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(lambda _: ask(platform, email), range(2)))
    assert sorted(results) == [False, True]
    platform.mail.wait_for(email)
    time.sleep(1)
    assert len(platform.mail.for_recipient(email)) == 1


def test_nobody_else_gets_a_link(platform: Platform) -> None:
    _, active = account(platform, verified=True)
    _, disabled = account(platform, verified=False, enabled=False)
    unknown = f"inconnu.{uuid.uuid4().hex[:8]}@organisme.fr"
    assert [ask(platform, e) for e in (active, disabled, unknown)] == [False, False, False]
    time.sleep(1)
    assert all(platform.mail.for_recipient(e) == [] for e in (active, disabled, unknown))


def test_one_network_address_is_refused_with_a_429_after_its_quota(platform: Platform) -> None:
    settings = platform.portal_settings.model_copy(update={"activation_link_asks_per_hour": 2})
    with TestClient(create_app(settings), base_url=platform.portal_url) as client:
        token = csrf_of(client.get("/compte/nouveau-lien"))
        answers = [
            client.post(
                "/compte/nouveau-lien",
                data={"email": f"x{i}.{uuid.uuid4().hex[:6]}@organisme.fr", "csrf_token": token},
                follow_redirects=False,
            )
            for i in range(3)
        ]
    assert [a.status_code for a in answers] == [303, 303, 429]
    assert "Trop de demandes de lien depuis votre connexion" in answers[2].text
