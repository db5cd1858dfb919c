"""An authorization-code flow with PKCE, scripted: Keycloak's real login form, by HTTP.

What a relying party does in a browser, without one: for tests that need a user's token
from a Keycloak they reach only over HTTP (the compose stack, the cluster's proxy).
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import httpx

from tests.support.portal_login import login_form_action


@dataclass(frozen=True)
class OidcClient:
    """A confidential client of the realm, as the relying party knows it."""

    keycloak_url: str
    realm: str
    client_id: str
    secret: str
    redirect_uri: str

    @property
    def endpoint(self) -> str:
        return f"{self.keycloak_url}/realms/{self.realm}/protocol/openid-connect"


def code_flow_tokens(client: OidcClient, username: str, password: str) -> dict[str, str]:
    """Log `username` in through the login form; return the token response of the code."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    state = secrets.token_urlsafe(16)
    query = {
        "response_type": "code",
        "client_id": client.client_id,
        "redirect_uri": client.redirect_uri,
        "scope": "openid",
        "state": state,
        "nonce": secrets.token_urlsafe(16),
        "code_challenge": challenge.decode().rstrip("="),
        "code_challenge_method": "S256",
    }
    with httpx.Client(timeout=30) as http:
        page = http.get(f"{client.endpoint}/auth?{urlencode(query)}")
        for cookie in http.cookies.jar:  # Secure cookies over http://127.0.0.1
            cookie.secure = False
        # The form's address is built from Keycloak's public hostname; it is sent to the
        # address this client talks to, so that a chosen node (not the proxy) opens the session.
        action = urlsplit(login_form_action(page))
        chosen = urlsplit(client.keycloak_url)
        answer = http.post(
            urlunsplit(action._replace(scheme=chosen.scheme, netloc=chosen.netloc)),
            data={"username": username, "password": password},
        )
        location = answer.headers.get("location", "")
        if answer.status_code != 302 or not location.startswith(client.redirect_uri):
            raise AssertionError(
                f"la connexion a échoué : {answer.status_code} {location or answer.text[:300]}"
            )
        params = parse_qs(urlsplit(location).query)
        if params.get("state") != [state] or "code" not in params:
            raise AssertionError(f"retour de Keycloak inattendu : {location}")
        tokens = http.post(
            f"{client.endpoint}/token",
            data={
                "grant_type": "authorization_code",
                "code": params["code"][0],
                "redirect_uri": client.redirect_uri,
                "code_verifier": verifier,
                "client_id": client.client_id,
                "client_secret": client.secret,
            },
        )
    if tokens.status_code != 200:
        raise AssertionError(f"échange du code refusé : {tokens.status_code} {tokens.text}")
    result: dict[str, str] = tokens.json()
    return result


def refreshed_tokens(client: OidcClient, refresh_token: str, timeout: float = 10) -> httpx.Response:
    """The token endpoint's answer to a refresh (the session must still exist)."""
    return httpx.post(
        f"{client.endpoint}/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
            "client_id": client.client_id,
            "client_secret": client.secret,
        },
        timeout=timeout,
    )
