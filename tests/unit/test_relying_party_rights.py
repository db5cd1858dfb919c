"""The example démarche site says when rights cannot be read instead of failing."""

from __future__ import annotations

import pytest
from fastapi import FastAPI

from bridge.devstack.ports import free_port
from bridge.devstack.servers import UvicornThread
from bridge.relying_party.authzen import AuthzenClient, AuthzenUnavailableError, Entity
from bridge.relying_party.rights import RightsClient, RightsUnavailableError


def test_an_unreachable_keycloak_or_bridge_is_reported_as_unavailable() -> None:
    port = free_port()  # nothing listens there
    client = RightsClient(
        f"http://127.0.0.1:{port}/token", f"http://127.0.0.1:{port}", "maf", "secret"
    )
    with pytest.raises(RightsUnavailableError):
        client.sirets("personne")


def test_metadata_naming_another_pdp_is_refused_before_any_question() -> None:
    """The standard's mix-up defence: metadata whose `policy_decision_point` is not the PDP
    that was asked is not used, and no question (nor token) is sent."""
    port = free_port()
    asked: list[str] = []
    pdp = FastAPI()

    @pdp.get("/.well-known/authzen-configuration")
    def metadata() -> dict[str, str]:
        return {
            "policy_decision_point": "https://autre-pdp.example",
            "access_evaluations_endpoint": f"http://127.0.0.1:{port}/access/v1/evaluations",
        }

    @pdp.post("/access/v1/evaluations")
    def evaluations() -> dict[str, object]:
        asked.append("evaluations")
        return {"evaluations": [{"decision": True}]}

    server = UvicornThread(pdp, port, "pdp-test", "-")
    server.start()
    try:
        client = AuthzenClient(f"http://127.0.0.1:{port}", lambda: "jeton")
        with pytest.raises(AuthzenUnavailableError, match="autre-pdp"):
            client.evaluations(Entity("user", "x"), [("declarant", Entity("siret", "1" * 14))])
    finally:
        server.stop()
    assert asked == []
