"""The example démarche site says when rights cannot be read instead of failing."""

from __future__ import annotations

import pytest

from bridge.devstack.ports import free_port
from bridge.relying_party.rights import RightsClient, RightsUnavailableError


def test_an_unreachable_keycloak_or_bridge_is_reported_as_unavailable() -> None:
    port = free_port()  # nothing listens there
    client = RightsClient(
        f"http://127.0.0.1:{port}/token", f"http://127.0.0.1:{port}", "maf", "secret"
    )
    with pytest.raises(RightsUnavailableError):
        client.sirets("personne")
