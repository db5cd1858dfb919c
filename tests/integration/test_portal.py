"""The portal app against the real Keycloak: probes, OpenAPI, login redirect, CSRF, errors."""

from __future__ import annotations

import html
import time
from collections.abc import Iterator
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
from fastapi.testclient import TestClient
from joserfc import jwt
from joserfc.jwk import RSAKey

from bridge.api.app import create_app
from tests.support.portal_login import logged_in_client
from tests.support.stack import Person, Platform

pytestmark = pytest.mark.keycloak


@pytest.fixture
def portal(platform: Platform) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=platform.portal_url) as client:
        yield client


def test_probes_say_live_and_ready(portal: httpx.Client) -> None:
    assert portal.get("/health/live").json() == {"status": "ok"}
    assert portal.get("/health/ready").json() == {"status": "ok"}


def test_openapi_describes_the_api(portal: httpx.Client) -> None:
    spec = portal.get("/openapi.json").json()
    assert spec["info"]["title"] == "Bridge des habilitations"
    assert "/health/ready" in spec["paths"]


def test_login_sends_the_browser_to_keycloak_with_pkce(
    portal: httpx.Client, platform: Platform
) -> None:
    response = portal.get("/auth/login")
    assert response.status_code == 302
    location = urlparse(response.headers["location"])
    assert f"{location.scheme}://{location.netloc}" == platform.keycloak.url
    query = parse_qs(location.query)
    assert query["client_id"] == ["portail"]
    assert query["code_challenge_method"] == ["S256"]
    assert len(query["code_challenge"][0]) >= 43
    assert query["state"][0]
    assert query["redirect_uri"] == [f"{platform.portal_url}/auth/callback"]


def test_registration_link_opens_keycloak_registration(portal: httpx.Client) -> None:
    location = portal.get("/auth/inscription").headers["location"]
    assert parse_qs(urlparse(location).query)["prompt"] == ["create"]


def test_a_callback_with_a_forged_state_is_refused_in_french(portal: httpx.Client) -> None:
    portal.get("/auth/login")
    response = portal.get("/auth/callback", params={"code": "x", "state": "forged"})
    assert response.status_code == 400
    text = html.unescape(response.text)
    assert "La connexion a échoué" in text
    assert "Recommencez depuis l'accueil" in text


def test_a_form_without_its_csrf_token_is_refused(portal: httpx.Client) -> None:
    portal.get("/")
    response = portal.post("/auth/logout", data={})
    assert response.status_code == 403
    assert "Ce formulaire a expiré" in response.text


def test_a_form_with_a_token_of_another_session_is_refused(
    platform: Platform, portal: httpx.Client
) -> None:
    page = portal.get("/auth/login")  # a session exists from here on
    assert page.status_code == 302
    with httpx.Client(base_url=platform.portal_url) as other:
        other.get("/")
        response = other.post("/auth/logout", data={"csrf_token": "jeton-d-une-autre-session"})
    assert response.status_code == 403


def test_unknown_page_is_a_french_page_and_unknown_api_is_problem_json(
    portal: httpx.Client,
) -> None:
    page = portal.get("/nulle-part")
    assert page.status_code == 404
    assert "Page introuvable" in page.text
    assert page.headers["content-type"].startswith("text/html")
    api = portal.get("/api/nulle-part")
    assert api.status_code == 404
    assert api.headers["content-type"] == "application/problem+json"
    assert api.json()["status"] == 404


def test_a_forged_back_channel_logout_token_is_refused(
    portal: httpx.Client, platform: Platform
) -> None:
    forged_key = RSAKey.generate_key(2048)
    now = int(time.time())
    claims = {
        "iss": f"{platform.keycloak.url}/realms/{platform.keycloak.realm}",
        "aud": "portail",
        "iat": now,
        "exp": now + 60,
        "sid": "s",
        "sub": "u",
        "events": {"http://schemas.openid.net/event/backchannel-logout": {}},
    }
    forged = jwt.encode({"alg": "RS256", "kid": "forged"}, claims, forged_key)
    response = portal.post("/auth/backchannel-logout", data={"logout_token": forged})
    assert response.status_code == 400


def test_an_unsigned_back_channel_logout_token_is_refused(
    portal: httpx.Client, platform: Platform
) -> None:
    import base64
    import json

    def part(value: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    claims = {
        "iss": f"{platform.keycloak.url}/realms/{platform.keycloak.realm}",
        "aud": "portail",
        "iat": int(time.time()),
        "sid": "s",
        "events": {"http://schemas.openid.net/event/backchannel-logout": {}},
    }
    unsigned = f"{part({'alg': 'none'})}.{part(claims)}."
    response = portal.post("/auth/backchannel-logout", data={"logout_token": unsigned})
    assert response.status_code == 400


def test_a_session_ended_in_keycloak_ends_on_every_replica_of_the_portal(
    platform: Platform, person: Person
) -> None:
    """Keycloak's back-channel logout reaches one replica; the store tells the others."""
    other_replica = create_app(platform.portal_settings)  # same store, same session key
    with (
        logged_in_client(platform, person) as browser,
        TestClient(other_replica, base_url=platform.portal_url) as replica,
    ):
        replica.cookies.update({c.name: c.value for c in browser.cookies.jar if c.value})
        assert f"Bonjour {person.display_name}" in replica.get("/").text

        platform.admin().user_logout(person.id)  # Keycloak calls the first replica only

        home = replica.get("/", follow_redirects=True)
        assert f"Bonjour {person.display_name}" not in home.text
        assert "Connectez-vous" in home.text


def test_an_error_page_shows_the_person_logged_in_not_a_login_button(
    platform: Platform,
) -> None:
    """#20, item 8: a refused page offered « Se connecter » to someone logged in."""
    person = platform.new_person("Erreur", "Connectee")
    with logged_in_client(platform, person) as client:
        forbidden = client.get("/operateur/organisations")
        missing = client.get("/page-qui-n-existe-pas")
    for page in (forbidden, missing):
        assert page.status_code in (403, 404)
        assert "Erreur Connectee" in page.text
        assert "Se déconnecter" in page.text
        assert 'href="/auth/login"' not in page.text
