"""The example démarche site says when rights cannot be read instead of failing."""

from __future__ import annotations

import pytest
from fastapi import FastAPI, Request

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


def fake_pdp(port: int, endpoint: str, answer: object, asked: list[str]) -> UvicornThread:
    """A PDP on loopback whose metadata names `endpoint` and whose batch answers `answer`."""
    pdp = FastAPI()

    @pdp.get("/.well-known/authzen-configuration")
    def metadata() -> dict[str, str]:
        return {
            "policy_decision_point": f"http://127.0.0.1:{port}",
            "access_evaluations_endpoint": endpoint,
        }

    @pdp.post("/access/v1/evaluations")
    def evaluations(request: Request) -> object:
        asked.append(request.headers.get("authorization", ""))
        return answer

    server = UvicornThread(pdp, port, "pdp-test", "-")
    server.start()
    return server


QUESTION = [("declarant", Entity("siret", "1" * 14))]


@pytest.mark.parametrize(
    ("answer", "why"),
    [
        ({"evaluations": [{"decision": "false"}]}, None),  # a string is not a permit
        ({"evaluations": []}, "0 décision"),  # fewer decisions than questions
        ({"resultats": []}, "illisible"),
        (["pas", "un", "objet"], "objet JSON"),
    ],
)
def test_the_pep_client_fails_closed_on_a_strange_answer(answer: object, why: str | None) -> None:
    port = free_port()
    asked: list[str] = []
    server = fake_pdp(port, f"http://127.0.0.1:{port}/access/v1/evaluations", answer, asked)
    try:
        client = AuthzenClient(f"http://127.0.0.1:{port}", lambda: "jeton")
        if why is None:
            [decision] = client.evaluations(Entity("user", "x"), QUESTION)
            assert decision.decision is False
        else:
            with pytest.raises(AuthzenUnavailableError, match=why):
                client.evaluations(Entity("user", "x"), QUESTION)
    finally:
        server.stop()
    assert asked == ["Bearer jeton"]


def test_an_endpoint_on_another_host_never_receives_the_token() -> None:
    port = free_port()
    asked: list[str] = []
    server = fake_pdp(port, "http://127.0.0.2:9/access/v1/evaluations", {}, asked)
    try:
        client = AuthzenClient(f"http://127.0.0.1:{port}", lambda: "jeton")
        with pytest.raises(AuthzenUnavailableError, match="n'annonce pas"):
            client.evaluations(Entity("user", "x"), QUESTION)
    finally:
        server.stop()
    assert asked == []
