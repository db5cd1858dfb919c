"""E-mails never lost, on the real portal (#19): an invitation made while the mail server is
away says « en attente d'envoi » (page) / « en-attente » (API), and leaves once it answers;
/metrics counts what waits."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest
from fastapi.testclient import TestClient

from bridge.api.app import create_app
from bridge.db import now
from bridge.devstack.ports import free_port
from bridge.notification import Mailer, MailQueue
from tests.support.callers import MAF, Caller, gestionnaire_of_new_siret
from tests.support.sirets import new_siret
from tests.support.stack import Platform

pytestmark = pytest.mark.keycloak


@pytest.fixture
def portal_without_mail(platform: Platform) -> Iterator[TestClient]:
    """A replica of the portal whose mail server does not answer, its queue loop off."""
    settings = platform.portal_settings.model_copy(
        update={"smtp_port": free_port(), "mail_interval_seconds": 0, "sync_interval_seconds": 0}
    )
    with TestClient(create_app(settings), base_url=platform.portal_url) as client:
        yield client


def invitation(siret: str, email: str) -> dict[str, str]:
    """A gestionnaire's invitation of a tiers at `email` as declarant for `siret`."""
    return {
        "siret_tiers": new_siret(),
        "email": email,
        "role": "declarant",
        "siret_habilitation": siret,
    }


def metric(platform: Platform, name: str) -> float:
    token = platform.portal_settings.metrics_token.get_secret_value()
    body = httpx.get(
        f"{platform.portal_url}/metrics", headers={"Authorization": f"Bearer {token}"}
    ).text
    return float(next(line for line in body.splitlines() if line.startswith(f"{name} ")).split()[1])


def test_an_invitation_made_while_the_mail_server_is_away_leaves_once_it_answers(
    platform: Platform, callers: list[Caller], portal_without_mail: TestClient
) -> None:
    gestionnaire, siret = gestionnaire_of_new_siret(platform, callers)
    email = f"tiers.{new_siret()}@cabinet.example.fr"
    answer = portal_without_mail.post(
        f"/api/v1/demarches/{MAF}/delegations",
        headers={"Authorization": gestionnaire.http.headers["Authorization"]},
        json=invitation(siret, email),
    )
    assert answer.status_code == 201, answer.text
    assert answer.json()["courriel"] == "en-attente"
    assert platform.mail.for_recipient(email) == []
    assert metric(platform, "bridge_mail_pending") >= 1

    # The mail server answers again: the queue (here one run of it, at the retry's time; the
    # portal's own loop would do the same) sends the invitation, once.
    queue = MailQueue(
        platform.context.sessions,
        Mailer("127.0.0.1", platform.smtp_port, platform.portal_settings.smtp_from),
    )
    queue.run_once(moment=now() + timedelta(minutes=1))
    received = platform.mail.wait_for(email)
    assert "/invitations/" in received.text
    assert len(platform.mail.for_recipient(email)) == 1


def test_an_invitation_sent_at_once_says_so(platform: Platform, callers: list[Caller]) -> None:
    gestionnaire, siret = gestionnaire_of_new_siret(platform, callers)
    email = f"tiers.{new_siret()}@cabinet.example.fr"
    answer = gestionnaire.post(f"/demarches/{MAF}/delegations", json=invitation(siret, email))
    assert answer.status_code == 201, answer.text
    assert answer.json()["courriel"] == "envoye"
    platform.mail.wait_for(email)
