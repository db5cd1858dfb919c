"""What the HTTP answers say to a client that is refused (#17, finding 11): the metrics are
not public, a 401 says how to authenticate (RFC 6750 §3), a 405 says which methods are
accepted (RFC 9110 §15.5.6)."""

from __future__ import annotations

import httpx

from tests.support.stack import Platform


def test_the_metrics_need_their_own_token(platform: Platform) -> None:
    url = f"{platform.portal_url}/metrics"
    anonymous = httpx.get(url)
    assert anonymous.status_code == 401
    assert anonymous.headers["www-authenticate"] == 'Bearer realm="demarches"'
    assert "bridge_sync" not in anonymous.text
    wrong = httpx.get(url, headers={"Authorization": "Bearer pas-le-bon-jeton"})
    assert wrong.status_code == 401
    assert 'error="invalid_token"' in wrong.headers["www-authenticate"]
    assert "bridge_sync" not in wrong.text
    person_token = httpx.get(url, headers={"Authorization": f"Bearer {platform.test_api_secret}"})
    assert person_token.status_code == 401
    token = platform.portal_settings.metrics_token.get_secret_value()
    allowed = httpx.get(url, headers={"Authorization": f"Bearer {token}"})
    assert allowed.status_code == 200
    assert "bridge_sync_pending_operations" in allowed.text


def test_a_401_of_the_api_carries_a_bearer_challenge(platform: Platform) -> None:
    api = f"{platform.portal_url}/api/v1/moi/habilitations"
    missing = httpx.get(api)
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"] == 'Bearer realm="demarches"'
    assert missing.headers["content-type"].startswith("application/problem+json")
    forged = httpx.get(api, headers={"Authorization": "Bearer eyJhbGciOiJub25lIn0.e30."})
    assert forged.status_code == 401
    assert forged.headers["www-authenticate"].startswith('Bearer realm="demarches", error=')


def test_a_405_says_which_methods_the_address_accepts(platform: Platform) -> None:
    response = httpx.put(f"{platform.portal_url}/api/v1/moi/habilitations")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET"
    assert response.headers["content-type"].startswith("application/problem+json")
    page = httpx.delete(f"{platform.portal_url}/")
    assert page.status_code == 405
    assert "GET" in page.headers["allow"]
