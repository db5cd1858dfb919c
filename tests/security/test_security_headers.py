"""Every answer of the portal and of the démarche site carries the security headers (#17,
finding 7): a policy that allows no inline script, no framing, no MIME sniffing, no referrer to
other sites, and nothing personal kept in a cache. Chromium's side (no page of the walks breaks
under the policy) is checked by `tests/browser/conftest.py::no_csp_violation`."""

from __future__ import annotations

import httpx
import pytest

from tests.support.stack import Platform


def assert_protected(response: httpx.Response, *, cached: bool = False) -> None:
    headers = response.headers
    policy = {
        directive.split(" ", 1)[0]: directive
        for directive in (d.strip() for d in headers["content-security-policy"].split(";"))
    }
    assert policy["script-src"] == "script-src 'self'"  # no inline script, no eval
    assert policy["style-src"] == "style-src 'self'"  # no <style> element
    assert policy["style-src-attr"] == "style-src-attr 'unsafe-inline'"  # the DSFR's script
    assert policy["frame-ancestors"] == "frame-ancestors 'none'"
    assert policy["object-src"] == "object-src 'none'"
    assert headers["x-frame-options"] == "DENY"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "same-origin"
    assert "strict-transport-security" not in headers  # loopback HTTP: only on HTTPS
    if not cached:
        assert headers["cache-control"] == "no-store"


@pytest.mark.parametrize(
    "path",
    ["/", "/auth/login", "/page-qui-n-existe-pas", "/api/v1/moi/habilitations", "/health/live"],
)
def test_every_portal_answer_carries_the_security_headers(platform: Platform, path: str) -> None:
    response = httpx.get(f"{platform.portal_url}{path}", follow_redirects=False)
    assert_protected(response)


def test_the_portal_form_action_allows_only_itself_and_keycloak(platform: Platform) -> None:
    policy = httpx.get(f"{platform.portal_url}/").headers["content-security-policy"]
    form_action = next(d.strip() for d in policy.split(";") if "form-action" in d)
    assert form_action == f"form-action 'self' {platform.portal_settings.keycloak_url.rstrip('/')}"


def test_static_files_carry_the_headers_and_may_be_cached(platform: Platform) -> None:
    response = httpx.get(f"{platform.portal_url}/static/portail.css")
    assert response.status_code == 200
    assert_protected(response, cached=True)
    assert "no-store" not in response.headers.get("cache-control", "")


@pytest.mark.parametrize("path", ["/", "/auth/login", "/health/live"])
def test_every_answer_of_the_demarche_site_carries_the_security_headers(
    platform: Platform, path: str
) -> None:
    response = httpx.get(f"{platform.relying_party_url}{path}", follow_redirects=False)
    assert_protected(response)


def test_the_interactive_api_viewers_are_off_and_the_document_stays(platform: Platform) -> None:
    assert httpx.get(f"{platform.portal_url}/docs").status_code == 404
    assert httpx.get(f"{platform.portal_url}/openapi.json").status_code == 200
