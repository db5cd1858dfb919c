"""Browser sessions are kept on the server, and what they grant is read again (#17,
finding 10). The signed cookie used to carry the e-mail, phone, SIRET and ID token in
readable base64, and the operator flag stayed as it was at login for up to 10 hours."""

from __future__ import annotations

import base64
import hashlib
import time

import httpx
from sqlalchemy import select

from bridge.identity.web_sessions import WebSession
from tests.support.employeur import make_operator
from tests.support.portal_login import csrf_of, log_in_to_portal, logged_in_client
from tests.support.stack import Platform


def test_the_session_cookie_is_an_opaque_token_and_the_content_stays_in_the_store(
    platform: Platform,
) -> None:
    person = platform.new_person("Opaque", "Cookie")
    with logged_in_client(platform, person) as client:
        cookie = client.cookies.get(platform.portal_settings.session_cookie)
        assert cookie is not None
        assert len(cookie) <= 64
        assert "." not in cookie  # no signed payload
        decoded = base64.urlsafe_b64decode(cookie + "=" * (-len(cookie) % 4))
        assert person.email.encode() not in decoded
        assert person.email not in cookie
        with platform.context.sessions() as session:
            row = session.get(WebSession, hashlib.sha256(cookie.encode()).hexdigest())
            assert row is not None  # stored under the token's hash, not the token
            assert row.data["user"]["email"] == person.email
        assert client.get("/").status_code == 200

        csrf = csrf_of(client.get("/"))
        client.post("/auth/logout", data={"csrf_token": csrf}, follow_redirects=False)
        with platform.context.sessions() as session:
            gone = session.scalar(
                select(WebSession).where(
                    WebSession.key == hashlib.sha256(cookie.encode()).hexdigest()
                )
            )
        assert gone is None  # the logout forgot it on the server


def test_a_login_gets_a_new_token_so_a_planted_one_is_worth_nothing(platform: Platform) -> None:
    person = platform.new_person("Fixation", "Session")
    name = platform.portal_settings.session_cookie
    with httpx.Client(base_url=platform.portal_url, follow_redirects=True, timeout=30) as client:
        client.get("/auth/login")  # a session before the login (the OIDC state is in it)
        before = client.cookies.get(name)
        assert before is not None
        log_in_to_portal(client, person.email, person.password, person.display_name)
        after = client.cookies.get(name)
        assert after is not None
        assert after != before
        assert platform.context.sessions is not None
        with platform.context.sessions() as session:
            stale = session.get(WebSession, hashlib.sha256(before.encode()).hexdigest())
        assert stale is None  # the token known before the login opens nothing


def test_an_operator_role_taken_away_in_keycloak_ends_at_the_next_recheck(
    platform: Platform,
) -> None:
    operator = platform.new_person("Ope", "Retiree")
    make_operator(platform, operator.id)
    admin = platform.admin()
    role = admin.get_realm_role("operateur")
    with logged_in_client(platform, operator) as client:
        assert client.get("/operateur/organisations").status_code == 200
        admin.delete_realm_roles_of_user(operator.id, [role])
        time.sleep(platform.portal_settings.session_recheck_seconds + 0.5)
        assert client.get("/operateur/organisations").status_code == 403


def test_a_disabled_account_is_logged_out_at_the_next_recheck(platform: Platform) -> None:
    person = platform.new_person("Compte", "Desactive")
    with logged_in_client(platform, person) as client:
        assert "Bonjour Compte Desactive" in client.get("/").text
        cookie = client.cookies.get(platform.portal_settings.session_cookie)
        assert cookie is not None
        platform.admin().update_user(person.id, {"enabled": False})
        time.sleep(platform.portal_settings.session_recheck_seconds + 0.5)
        home = client.get("/", follow_redirects=False)
        assert home.status_code == 200
        assert "Bonjour Compte Desactive" not in home.text
        assert 'href="/auth/login"' in home.text  # the anonymous home: « Se connecter »
        with platform.context.sessions() as session:
            gone = session.get(WebSession, hashlib.sha256(cookie.encode()).hexdigest())
        assert gone is None
