"""Log a person into the portal without a browser: the real Keycloak login form, by HTTP.

For page tests that need a logged-in session but no JavaScript; browser tests use Chromium.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from tests.support.stack import Person, Platform

_FORM_ACTION = re.compile(r'<form[^>]*id="kc-form-login"[^>]*action="([^"]+)"')
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@contextmanager
def logged_in_client(platform: Platform, person: Person) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=platform.portal_url, follow_redirects=True, timeout=30) as client:
        _log_in(client, person)
        yield client


def _log_in(client: httpx.Client, person: Person) -> None:
    log_in_to_portal(client, person.email, person.password, person.display_name)


def log_in_to_portal(client: httpx.Client, username: str, password: str, display_name: str) -> None:
    """Through the portal's « Se connecter » and Keycloak's real login form, by HTTP."""
    login_page = client.get("/auth/login")
    # Keycloak marks its cookies Secure; browsers trust http://127.0.0.1, httpx does not.
    for cookie in client.cookies.jar:
        cookie.secure = False
    home = client.post(
        login_form_action(login_page), data={"username": username, "password": password}
    )
    if f"Bonjour {display_name}" not in home.text:
        raise AssertionError(f"la connexion au portail a échoué : {home.status_code} {home.url}")


def login_form_action(page: httpx.Response) -> str:
    """Where Keycloak's login form posts the name and password."""
    match = _FORM_ACTION.search(page.text)
    if match is None:
        raise AssertionError(f"formulaire de connexion Keycloak introuvable ({page.status_code})")
    return html.unescape(match.group(1))


def csrf_of(page: httpx.Response) -> str:
    match = _CSRF.search(page.text)
    if match is None:
        raise AssertionError("jeton CSRF absent de la page")
    return match.group(1)
