"""The captcha costs a robot, and one connection cannot flood registrations or reset e-mails
(#17, finding 5). The proof of work was 16 bits (7 ms for a script) and nothing limited the
e-mails a registration or « Mot de passe oublié ? » sends to whatever address was typed.

The limits are configured on the realm's authenticator configs; each test lowers its own
for its run (the counters are per Keycloak node and per client address, and this suite's
other registrations come from the same 127.0.0.1) and puts the realm's value back.
"""

from __future__ import annotations

import hashlib
import html
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from keycloak import KeycloakAdmin

from tests.support.sirets import new_siret
from tests.support.stack import Platform

FORM = re.compile(r'<form[^>]*id="kc-register-form"[^>]*action="([^"]+)"')
RESET_FORM = re.compile(r'<form[^>]*id="kc-reset-password-form"[^>]*action="([^"]+)"')
RESET_LINK = re.compile(r'href="([^"]*reset-credentials[^"]*)"')
CHALLENGE = re.compile(r'data-pow-challenge="([0-9a-f]+)"')
DIFFICULTY = re.compile(r'data-pow-difficulty="([0-9]+)"')


@contextmanager
def authenticator_config(
    admin: KeycloakAdmin, flow: str, provider: str, values: dict[str, str]
) -> Iterator[None]:
    """The config of `provider`'s execution in `flow`, changed for the block only."""
    execution = next(
        e for e in admin.get_authentication_flow_executions(flow) if e.get("providerId") == provider
    )
    config: dict[str, Any] = admin.get_authenticator_config(execution["authenticationConfig"])
    saved = dict(config["config"])
    admin.update_authenticator_config(
        {**config, "config": {**saved, **values}}, execution["authenticationConfig"]
    )
    try:
        yield
    finally:
        admin.update_authenticator_config({**config, "config": saved}, config["id"])


def trust_loopback_cookies(client: httpx.Client) -> None:
    """Keycloak marks its cookies Secure; browsers trust http://127.0.0.1, httpx does not."""
    for cookie in client.cookies.jar:
        cookie.secure = False


def solve(challenge: str, difficulty: int) -> str:
    bound, nonce = 1 << (32 - difficulty), 0
    while int.from_bytes(hashlib.sha256(f"{challenge}:{nonce}".encode()).digest()[:4]) >= bound:
        nonce += 1
    return str(nonce)


def register(platform: Platform, email: str) -> httpx.Response:
    """« Créer mon compte » by HTTP: the real form, its proof of work solved in Python."""
    with httpx.Client(follow_redirects=True, timeout=30) as client:
        page = client.get(f"{platform.portal_url}/auth/inscription")
        trust_loopback_cookies(client)
        action = FORM.search(page.text)
        challenge, difficulty = CHALLENGE.search(page.text), DIFFICULTY.search(page.text)
        assert action, page.text[:500]
        assert challenge, page.text[:500]
        assert difficulty, page.text[:500]
        return client.post(
            html.unescape(action.group(1)),
            data={
                "civilite": "madame",
                "lastName": "Robot",
                "firstName": "Inscription",
                "email": email,
                "telephone": "01 23 45 67 89",
                "siret": new_siret(),
                "pow-challenge": challenge.group(1),
                "pow-nonce": solve(challenge.group(1), int(difficulty.group(1))),
            },
        )


def test_the_realm_asks_a_proof_of_work_that_costs_a_robot(platform: Platform) -> None:
    with httpx.Client(follow_redirects=True, timeout=30) as client:
        page = client.get(f"{platform.portal_url}/auth/inscription")
    found = DIFFICULTY.search(page.text)
    assert found is not None
    assert int(found.group(1)) >= 22  # about 4 million hashes: seconds of a script (bench.captcha)


def test_one_connection_cannot_create_accounts_beyond_the_hourly_limit(
    platform: Platform,
) -> None:
    admin = platform.admin()
    limits = {"difficulte": "8", "inscriptionsParHeureEtParAdresse": "1"}
    with authenticator_config(admin, "inscription formulaire", "demarches-captcha", limits):
        outcomes = []
        for _ in range(2):  # the suite may already have registered from this address
            email = f"robot.{uuid.uuid4().hex[:10]}@exemple.fr"
            answer = register(platform, email)
            refused = "Trop de comptes ont été créés depuis votre connexion" in answer.text
            if not refused:  # then the account was made: Keycloak asks to verify the e-mail
                assert admin.get_users({"email": email, "exact": True}), answer.text[-3000:]
            outcomes.append(refused)
            if refused:
                assert admin.get_users({"email": email, "exact": True}) == []  # nothing made
                assert not [m for m in platform.mail.all() if email in m.recipients]
        assert outcomes[-1], "la limite par adresse n'a rien refusé"


def request_reset(platform: Platform, email: str) -> httpx.Response:
    with httpx.Client(follow_redirects=True, timeout=30) as client:
        login = client.get(f"{platform.portal_url}/auth/login")
        trust_loopback_cookies(client)
        link = RESET_LINK.search(login.text)
        assert link, login.text[:500]
        form = client.get(login.url.join(html.unescape(link.group(1))))
        action = RESET_FORM.search(form.text)
        assert action, form.text[:500]
        return client.post(html.unescape(action.group(1)), data={"username": email})


def test_one_connection_cannot_send_reset_emails_beyond_the_hourly_limit(
    platform: Platform,
) -> None:
    person = platform.new_person("Reinit", "Limitee")
    admin = platform.admin()
    with authenticator_config(
        admin, "reinitialisation", "demarches-limite-reinitialisation", {"parHeure": "1"}
    ):
        answers = [request_reset(platform, person.email) for _ in range(2)]
    refusals = [
        "Trop de demandes de réinitialisation du mot de passe" in answer.text for answer in answers
    ]
    assert refusals[-1], answers[-1].text[:800]
    sent = [m for m in platform.mail.all() if person.email in m.recipients]
    assert len(sent) == refusals.count(False) <= 1
