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
    login_page = client.get("/auth/login")
    # Keycloak marks its cookies Secure; browsers trust http://127.0.0.1, httpx does not.
    for cookie in client.cookies.jar:
        cookie.secure = False
    match = _FORM_ACTION.search(login_page.text)
    if match is None:
        raise AssertionError("formulaire de connexion Keycloak introuvable")
    home = client.post(
        html.unescape(match.group(1)), data={"username": person.email, "password": person.password}
    )
    if f"Bonjour {person.display_name}" not in home.text:
        raise AssertionError(f"la connexion au portail a échoué : {home.status_code} {home.url}")


def csrf_of(page: httpx.Response) -> str:
    match = _CSRF.search(page.text)
    if match is None:
        raise AssertionError("jeton CSRF absent de la page")
    return match.group(1)
