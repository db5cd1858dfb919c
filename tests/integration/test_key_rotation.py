"""A signing-key rotation done in Keycloak through its admin API: tokens signed with the new
key are accepted by the running bridge without a restart, and older tokens stay valid while
their key is published."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest

from tests.support.stack import Platform

pytestmark = pytest.mark.keycloak


def key_id(token: str) -> str:
    header = token.split(".", 1)[0]
    kid: str = json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))["kid"]
    return kid


def my_habilitations(platform: Platform, token: str) -> int:
    response = httpx.get(
        f"{platform.portal_url}/api/v1/moi/habilitations",
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    return response.status_code


@contextmanager
def new_signing_key(platform: Platform) -> Iterator[None]:
    """A new RSA signing key, preferred over the realm's own; removed afterwards."""
    admin = platform.admin()
    realm_id = admin.get_realm(platform.keycloak.realm)["id"]
    component_id = admin.create_component(
        {
            "name": "rotation-test",
            "providerId": "rsa-generated",
            "providerType": "org.keycloak.keys.KeyProvider",
            "parentId": realm_id,
            "config": {"priority": ["500"], "keySize": ["2048"], "algorithm": ["RS256"]},
        }
    )
    try:
        yield
    finally:
        admin.delete_component(component_id)


def test_a_key_rotation_in_keycloak_needs_no_restart_of_the_bridge(platform: Platform) -> None:
    person = platform.new_person()
    old = platform.token_for(person)
    assert my_habilitations(platform, old) == 200
    with new_signing_key(platform):
        rotated = platform.token_for(person)
        assert key_id(rotated) != key_id(old)
        # The bridge refetches the keys on the unknown key id (rate-limited: bounded wait).
        deadline = time.monotonic() + 15
        while my_habilitations(platform, rotated) != 200:
            assert time.monotonic() < deadline, "la nouvelle clé n'est jamais acceptée"
            time.sleep(0.5)
        assert my_habilitations(platform, old) == 200  # the old key is still published
