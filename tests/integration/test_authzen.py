"""The AuthZEN Authorization API 1.0 of the running bridge, against the standard's own examples.

Each test sends the request of one of the specification's examples (its section named in the
test), with the standard's structure kept and our values put in: a subject of type `user`
whose id is a Keycloak `sub`, a resource of type `siret`, an action that is a catalog role
(or `agir`). Real Keycloak, real client-credentials tokens, the real store.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from tests.support.callers import (
    MAF,
    Caller,
    another_siret_of,
    client_token,
    demarche_http,
    gestionnaire_of_new_siret,
    invite_and_accept,
    new_caller,
)
from tests.support.seed import OPERATOR
from tests.support.sirets import new_siret
from tests.support.stack import Platform

pytestmark = pytest.mark.keycloak
OTHER_DEMARCHE = "mes-collectes-formation"
REQUEST_ID = "bfe9eb29-ab87-4ca3-be83-a1d5d8305716"  # the standard's own example value


@pytest.fixture(scope="module")
def pdp(platform: Platform) -> Iterator[httpx.Client]:
    """The bridge as a policy decision point, called with the démarche's own token."""
    with demarche_http(platform) as client:
        yield client


def user(caller: Caller) -> dict[str, str]:
    return {"type": "user", "id": caller.person.id}


def siret_of(siret: str) -> dict[str, str]:
    return {"type": "siret", "id": siret}


def now_text() -> str:
    return datetime.now(UTC).isoformat(timespec="minutes")


def post(pdp: httpx.Client, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = pdp.post(path, json=body)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    found: dict[str, Any] = response.json()
    return found


# --- Policy Decision Point Metadata -------------------------------------------------------


def test_the_metadata_names_every_endpoint_under_the_pdp_identifier(platform: Platform) -> None:
    """§ Policy Decision Point Metadata Response: GET, 200, application/json, no token."""
    response = httpx.get(
        f"{platform.portal_url}/.well-known/authzen-configuration",
        headers={"X-Request-ID": REQUEST_ID},
    )
    assert response.status_code == 200
    assert response.headers["X-Request-ID"] == REQUEST_ID
    assert response.headers["content-type"] == "application/json"
    metadata = response.json()
    # § Metadata Validation: the identifier is the URL the well-known path was added to.
    assert metadata["policy_decision_point"] == platform.portal_url
    assert metadata == {
        "policy_decision_point": platform.portal_url,
        "access_evaluation_endpoint": f"{platform.portal_url}/access/v1/evaluation",
        "access_evaluations_endpoint": f"{platform.portal_url}/access/v1/evaluations",
        "search_subject_endpoint": f"{platform.portal_url}/access/v1/search/subject",
        "search_resource_endpoint": f"{platform.portal_url}/access/v1/search/resource",
        "search_action_endpoint": f"{platform.portal_url}/access/v1/search/action",
    }  # parameters with no value (capabilities, signed_metadata) are omitted


# --- Access Evaluation API ----------------------------------------------------------------


def test_the_access_evaluation_example_is_answered_with_its_reason(
    platform: Platform, callers: list[Caller], pdp: httpx.Client
) -> None:
    """§ Access Evaluation API Request example and § HTTPS binding example (X-Request-ID)."""
    gestionnaire, siret = gestionnaire_of_new_siret(platform, callers)
    request = {
        "subject": {**user(gestionnaire), "properties": {"department": "Sales"}},
        "resource": siret_of(siret),
        "action": {"name": "gestionnaire", "properties": {"method": "GET"}},
        "context": {"time": now_text()},
    }
    response = pdp.post("/access/v1/evaluation", json=request, headers={"X-Request-ID": REQUEST_ID})
    assert response.status_code == 200, response.text
    assert response.headers["X-Request-ID"] == REQUEST_ID
    decision = response.json()
    assert decision["decision"] is True
    context = decision["context"]
    assert context["demarche"] == MAF
    assert context["reason_user"] == {"fr": "Habilitation active."}
    [link] = context["chaine"]
    assert link["active"] is True
    assert link["habilitation"]["role"] == "gestionnaire"
    assert link["habilitation"]["siret"] == siret

    denied = post(pdp, "/access/v1/evaluation", {**request, "resource": siret_of(new_siret())})
    assert denied["decision"] is False
    assert denied["context"]["chaine"] == []
    assert "Aucune habilitation" in denied["context"]["reason_user"]["fr"]


def test_a_delegated_right_explains_its_delegation_and_its_end(
    platform: Platform, callers: list[Caller], pdp: httpx.Client
) -> None:
    """The decision's context carries the explain API's chain: through which delegation."""
    gestionnaire, siret = gestionnaire_of_new_siret(platform, callers)
    tiers, delegation_id = invite_and_accept(platform, callers, gestionnaire, siret)
    request = {"subject": user(tiers), "resource": siret_of(siret), "action": {"name": "declarant"}}
    allowed = post(pdp, "/access/v1/evaluation", request)
    assert allowed["decision"] is True
    [link] = allowed["context"]["chaine"]
    assert link["delegation"]["id"] == delegation_id
    assert link["delegation"]["siret_delegant"] == siret
    assert link["habilitation"]["accordee_par"] == "delegation"

    assert gestionnaire.http.delete(f"/delegations/{delegation_id}").status_code == 204
    ended = post(pdp, "/access/v1/evaluation", request)
    assert ended["decision"] is False
    assert ended["context"]["chaine"][0]["motif"].startswith("Retirée le")
    assert "Retirée le" in ended["context"]["reason_user"]["fr"]


# --- Access Evaluations API ---------------------------------------------------------------


def test_three_requests_with_no_default_values(
    platform: Platform, callers: list[Caller], pdp: httpx.Client
) -> None:
    """§ Access Evaluations API Request: three evaluations, each complete."""
    gestionnaire, siret = gestionnaire_of_new_siret(platform, callers)
    other = another_siret_of(platform, gestionnaire)
    evaluations = [
        {
            "subject": user(gestionnaire),
            "action": {"name": "declarant"},
            "resource": siret_of(target),
            "context": {"time": now_text()},
        }
        for target in (siret, new_siret(), other)
    ]
    found = post(pdp, "/access/v1/evaluations", {"evaluations": evaluations})
    assert found == {
        "evaluations": [{"decision": True}, {"decision": False}, {"decision": True}]
    }  # `decision` omitted at the top, as RECOMMENDED; no context unless asked


def test_default_values_and_an_overridden_action(
    platform: Platform, callers: list[Caller], pdp: httpx.Client
) -> None:
    """§ Default values: one subject and context for all; a default action the third overrides."""
    gestionnaire, siret = gestionnaire_of_new_siret(platform, callers)
    tiers, _ = invite_and_accept(platform, callers, gestionnaire, siret)
    shared = {"subject": user(tiers), "context": {"time": now_text()}}
    per_item = post(
        pdp,
        "/access/v1/evaluations",
        {
            **shared,
            "evaluations": [
                {"action": {"name": "declarant"}, "resource": siret_of(siret)},
                {"action": {"name": "gestionnaire"}, "resource": siret_of(siret)},
                {"action": {"name": "agir"}, "resource": siret_of(siret)},
            ],
        },
    )
    assert [e["decision"] for e in per_item["evaluations"]] == [True, False, True]
    overridden = post(
        pdp,
        "/access/v1/evaluations",
        {
            **shared,
            "action": {"name": "declarant"},
            "evaluations": [
                {"resource": siret_of(siret)},
                {"resource": siret_of(new_siret())},
                {"action": {"name": "gestionnaire"}, "resource": siret_of(siret)},
            ],
        },
    )
    assert [e["decision"] for e in overridden["evaluations"]] == [True, False, False]


def test_the_three_evaluation_semantics(
    platform: Platform, callers: list[Caller], pdp: httpx.Client
) -> None:
    """§ Evaluations semantics example: `read` on three documents, allowed, denied, allowed."""
    gestionnaire, first = gestionnaire_of_new_siret(platform, callers)
    third = another_siret_of(platform, gestionnaire)

    def ask(semantic: str | None) -> list[dict[str, Any]]:
        body: dict[str, Any] = {
            "subject": user(gestionnaire),
            "action": {"name": "declarant"},
            "evaluations": [
                {"resource": siret_of(first)},
                {"resource": siret_of(new_siret())},
                {"resource": siret_of(third)},
            ],
        }
        if semantic is not None:
            body["options"] = {"evaluations_semantic": semantic}
        found: list[dict[str, Any]] = post(pdp, "/access/v1/evaluations", body)["evaluations"]
        return found

    everything = [{"decision": True}, {"decision": False}, {"decision": True}]
    assert ask(None) == ask("execute_all") == everything  # the default semantic
    assert ask("deny_on_first_deny") == [
        {"decision": True},
        {"decision": False, "context": {"reason": "deny_on_first_deny"}},
    ]
    assert ask("permit_on_first_permit") == [
        {"decision": True, "context": {"reason": "permit_on_first_permit"}}
    ]


def test_without_an_evaluations_array_the_batch_answers_as_one_evaluation(
    platform: Platform, callers: list[Caller], pdp: httpx.Client
) -> None:
    """§ Access Evaluations Request: absent or empty `evaluations` is the single request."""
    gestionnaire, siret = gestionnaire_of_new_siret(platform, callers)
    single = {
        "subject": user(gestionnaire),
        "action": {"name": "agir"},
        "resource": siret_of(siret),
    }
    for body in (single, {**single, "evaluations": []}):
        found = post(pdp, "/access/v1/evaluations", body)
        assert found["decision"] is True
        assert "evaluations" not in found
        assert found["context"]["chaine"][0]["habilitation"]["siret"] == siret


def test_errors_in_single_evaluations_are_closed_decisions_with_their_error(
    platform: Platform, callers: list[Caller], pdp: httpx.Client
) -> None:
    """§ Errors, second kind: an evaluation that cannot be answered is `false` with its error."""
    gestionnaire, siret = gestionnaire_of_new_siret(platform, callers)
    base = {"subject": user(gestionnaire), "action": {"name": "declarant"}}
    found = post(
        pdp,
        "/access/v1/evaluations",
        {
            **base,
            "options": {"explication": True},
            "evaluations": [
                {"resource": siret_of(siret)},
                {"resource": {"type": "document", "id": "boxcarring.md"}},
                {"resource": siret_of("123")},
                {"resource": siret_of(siret), "action": {"name": "can_read"}},
                {"resource": siret_of(siret), "context": {"time": "1985-10-26T01:22-07:00"}},
                {"resource": {"type": "etablissement", "id": siret}},
            ],
        },
    )["evaluations"]
    assert found[0]["decision"] is True
    assert found[0]["context"]["reason_user"] == {"fr": "Habilitation active."}  # explication
    for index, status in ((1, 400), (2, 400), (3, 404), (4, 400)):
        assert found[index]["decision"] is False
        assert found[index]["context"]["error"]["status"] == status
        assert found[index]["context"]["error"]["message"]
    assert "can_read" in found[3]["context"]["error"]["message"]
    assert "instant présent" in found[4]["context"]["error"]["message"]
    assert found[5]["decision"] is True  # `etablissement` names the same resource


# --- Search APIs ----------------------------------------------------------------------------


def test_pagination_example_three_results_two_per_page(
    platform: Platform, callers: list[Caller], pdp: httpx.Client
) -> None:
    """§ Pagination examples: limit 2 over three results, then the token alone."""
    gestionnaire, first = gestionnaire_of_new_siret(platform, callers)
    sirets = sorted(
        [first, another_siret_of(platform, gestionnaire), another_siret_of(platform, gestionnaire)]
    )
    question = {
        "subject": user(gestionnaire),
        "action": {"name": "declarant"},
        "resource": {"type": "siret"},
    }
    one = post(pdp, "/access/v1/search/resource", {**question, "page": {"limit": 2}})
    assert list(one) == ["page", "results"]  # `page` first, as RECOMMENDED
    assert one["page"]["next_token"] != ""
    assert (one["page"]["count"], one["page"]["total"]) == (2, 3)
    assert [r["id"] for r in one["results"]] == sirets[:2]
    assert all(r["type"] == "siret" and r["properties"]["raison_sociale"] for r in one["results"])

    token = one["page"]["next_token"]
    two = post(pdp, "/access/v1/search/resource", {**question, "page": {"token": token}})
    assert two["page"] == {"next_token": "", "count": 1, "total": 3}
    assert [r["id"] for r in two["results"]] == sirets[2:]

    # The standard's SHOULD: a token used with another question, or another limit, is an error.
    for changed in (
        {**question, "action": {"name": "gestionnaire"}, "page": {"token": token}},
        {**question, "page": {"token": token, "limit": 5}},
        {**question, "page": {"token": "pas-un-jeton"}},
    ):
        refused = pdp.post("/access/v1/search/resource", json=changed)
        assert refused.status_code == 400, refused.text
        assert refused.headers["content-type"].startswith("text/plain")
        assert "page" in refused.text


def test_subject_search_lists_only_this_demarches_people(
    platform: Platform, callers: list[Caller], pdp: httpx.Client
) -> None:
    """§ Subject Search API example: the users who may act for one resource."""
    gestionnaire, siret = gestionnaire_of_new_siret(platform, callers)
    tiers, _ = invite_and_accept(platform, callers, gestionnaire, siret)
    # Someone holding a right on the same SIRET in another démarche only: not this one's.
    with platform.context.work() as work:
        code = work.etablissements.issue_code(OPERATOR, siret, OTHER_DEMARCHE)
    outsider = new_caller(platform, callers, "Autre", "Démarche")
    answer = outsider.post(
        f"/demarches/{OTHER_DEMARCHE}/activation", json={"siret": siret, "code": code}
    )
    assert answer.status_code == 201, answer.text
    found = post(
        pdp,
        "/access/v1/search/subject",
        {
            "subject": {"type": "user"},
            "action": {"name": "declarant"},
            "resource": siret_of(siret),
            "context": {"time": now_text()},
        },
    )
    assert sorted(r["id"] for r in found["results"]) == sorted(
        [gestionnaire.person.id, tiers.person.id]
    )
    assert all(r["type"] == "user" for r in found["results"])
    assert found["page"] == {"next_token": "", "count": 2, "total": 2}
    managers = post(
        pdp,
        "/access/v1/search/subject",
        {
            "subject": {"type": "user", "id": "ignoré"},
            "action": {"name": "gestionnaire"},
            "resource": siret_of(siret),
        },
    )
    assert [r["id"] for r in managers["results"]] == [gestionnaire.person.id]


def test_resource_and_action_search_examples(
    platform: Platform, callers: list[Caller], pdp: httpx.Client
) -> None:
    """§ Resource Search API and § Action Search API examples."""
    gestionnaire, siret = gestionnaire_of_new_siret(platform, callers)
    tiers, _ = invite_and_accept(platform, callers, gestionnaire, siret)
    resources = post(
        pdp,
        "/access/v1/search/resource",
        {
            "subject": user(tiers),
            "action": {"name": "declarant"},
            "resource": {"type": "etablissement"},
        },
    )
    assert [(r["type"], r["id"]) for r in resources["results"]] == [("etablissement", siret)]
    as_manager = post(
        pdp,
        "/access/v1/search/resource",
        {"subject": user(tiers), "action": {"name": "gestionnaire"}, "resource": {"type": "siret"}},
    )
    assert as_manager == {"page": {"next_token": "", "count": 0, "total": 0}, "results": []}

    def actions(caller: Caller) -> list[str]:
        found = post(
            pdp,
            "/access/v1/search/action",
            {"subject": user(caller), "resource": siret_of(siret), "context": {"time": now_text()}},
        )
        return [r["name"] for r in found["results"]]

    assert actions(gestionnaire) == ["gestionnaire", "declarant", "agir"]
    assert actions(tiers) == ["declarant", "agir"]


# --- Transport: errors ----------------------------------------------------------------------


def test_transport_errors_are_a_status_and_a_message_string(
    platform: Platform, callers: list[Caller], pdp: httpx.Client
) -> None:
    """§ Error Responses: 400, 401, 403, 405 with a message string; a deny is a 200."""
    gestionnaire, siret = gestionnaire_of_new_siret(platform, callers)
    complete = {
        "subject": user(gestionnaire),
        "action": {"name": "declarant"},
        "resource": siret_of(siret),
    }
    url = f"{platform.portal_url}/access/v1/evaluation"

    def refused(response: httpx.Response, status: int) -> str:
        assert response.status_code == status, response.text
        assert response.headers["content-type"].startswith("text/plain")
        assert response.text
        return response.text

    # 400: a required attribute omitted, a body that is not JSON, a batch item with no default.
    assert "subject" in refused(
        pdp.post(url, json={k: v for k, v in complete.items() if k != "subject"}), 400
    )
    refused(
        pdp.post(url, content=b"{pas du json", headers={"Content-Type": "application/json"}), 400
    )
    assert "evaluations.1" in refused(
        pdp.post(
            "/access/v1/evaluations",
            json={
                "subject": complete["subject"],
                "action": complete["action"],
                "evaluations": [{"resource": siret_of(siret)}, {}],
            },
        ),
        400,
    )
    # 401: no token (with its challenge), or a token Keycloak did not sign.
    missing = httpx.post(url, json=complete, headers={"X-Request-ID": REQUEST_ID})
    refused(missing, 401)
    assert missing.headers["WWW-Authenticate"].startswith("Bearer")
    assert missing.headers["X-Request-ID"] == REQUEST_ID  # echoed on errors too
    refused(httpx.post(url, json=complete, headers={"Authorization": "Bearer abc.def.ghi"}), 401)
    # A person's token: its audience is the person API, not this one (401, as the check API).
    person = gestionnaire.http.headers["Authorization"]
    refused(httpx.post(url, json=complete, headers={"Authorization": person}), 401)
    # 403: another démarche asking about this one.
    other = {"Authorization": f"Bearer {client_token(platform, OTHER_DEMARCHE)}"}
    assert "ses propres habilitations" in refused(
        httpx.post(url, json={**complete, "context": {"demarche": MAF}}, headers=other), 403
    )
    # The other démarche's own question about the same person is simply denied (its own rights).
    assert httpx.post(url, json=complete, headers=other).json()["decision"] is False
    # Not a POST: 405 as a message string too.
    refused(pdp.get("/access/v1/evaluation"), 405)


def test_forged_tokens_and_hostile_inputs_are_refused_with_a_400(
    platform: Platform, callers: list[Caller], pdp: httpx.Client
) -> None:
    """Found by a review: a page token is sealed (no forged limit or key), `limit: 0` counts
    without looping, no NUL reaches the store, nested objects are bounded, bodies too."""
    gestionnaire, first = gestionnaire_of_new_siret(platform, callers)
    for _ in range(2):
        another_siret_of(platform, gestionnaire)
    question = {
        "subject": user(gestionnaire),
        "action": {"name": "declarant"},
        "resource": {"type": "siret"},
    }
    token = post(pdp, "/access/v1/search/resource", {**question, "page": {"limit": 1}})["page"][
        "next_token"
    ]
    body, _, seal = token.partition(".")

    def encoded(payload: dict[str, Any] | str) -> str:
        text = payload if isinstance(payload, str) else json.dumps(payload)
        return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")

    for forged in (
        f"{encoded({'a': '', 'l': 10**30})}.{seal}",  # a huge page, the same seal
        f"{encoded({'a': '', 'l': -2})}.{seal}",
        encoded('{"a": "", "l": 1e400}') + "." + seal,
        f"{body}.{'A' * len(seal)}",
        body,  # no seal at all
        "@@@",
    ):
        refused = pdp.post(
            "/access/v1/search/resource", json={**question, "page": {"token": forged}}
        )
        assert refused.status_code == 400, (forged, refused.text)
        assert refused.headers["content-type"].startswith("text/plain")

    counted = post(pdp, "/access/v1/search/resource", {**question, "page": {"limit": 0}})
    assert counted == {"page": {"next_token": "", "count": 0, "total": 3}, "results": []}

    nul = {**question, "subject": {"type": "user", "id": "a\u0000b"}}
    assert pdp.post("/access/v1/search/resource", json=nul).status_code == 400
    single = {
        "subject": nul["subject"],
        "action": {"name": "declarant"},
        "resource": siret_of(first),
    }
    assert pdp.post("/access/v1/evaluation", json=single).status_code == 400
    nested: dict[str, Any] = {}
    for _ in range(50):
        nested = {"x": nested}
    deep = {**question, "subject": {**user(gestionnaire), "properties": nested}}
    refused = pdp.post("/access/v1/search/resource", json=deep)
    assert refused.status_code == 400
    assert "niveaux" in refused.text
    huge = pdp.post(
        "/access/v1/evaluation",
        content=b'{"pad": "' + b"x" * (2 << 20) + b'"}',
        headers={"Content-Type": "application/json"},
    )
    assert huge.status_code == 413
    # An identifier of any form is echoed, on a refusal too (§ Request Identification).
    odd = "essai 42 / " + "x" * 300  # spaces, a slash, over 128 characters
    echoed = pdp.get("/access/v1/evaluation", headers={"X-Request-ID": odd})
    assert echoed.status_code == 405
    assert echoed.headers["X-Request-ID"] == odd
    # The check API refuses a NUL in a subject the same way (422, its own convention).
    checked = pdp.post(
        f"/api/v1/verifications/{MAF}",
        json={"questions": [{"sujet": "a\u0000b", "role": "declarant", "siret": first}]},
    )
    assert checked.status_code == 422
