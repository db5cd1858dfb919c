"""The compose file's `cluster` profile: two Keycloak nodes, two bridge replicas, one proxy.

A session opened through node A is valid on node B; then, under a steady stream of requests
through the proxy (token refreshes and habilitation changes), one Keycloak node and one
bridge replica are stopped. The test prints what the stream saw and checks that no session
and no acknowledged change was lost.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

import httpx
import pytest
from keycloak import KeycloakAdmin

from tests.docker.conftest import Stack
from tests.docker.test_compose_stack import new_account, portal_client, stack_admin
from tests.support.docker_engine import run
from tests.support.employeur import person_form
from tests.support.oidc_flow import OidcClient, code_flow_tokens, refreshed_tokens
from tests.support.projection import eventually, values_of
from tests.support.sirets import new_siret
from tests.support.stack import PASSWORD, finish_first_login

pytestmark = pytest.mark.docker

DEMARCHE = "espace-employeur-cpf"
ROLES = ("gestionnaire", "administrateur-delegue")
STREAM_SECONDS = 45
STOP_AT_SECONDS = 15


@dataclass
class Stream:
    """What the steady stream of requests saw, by kind."""

    sent: Counter[str] = field(default_factory=Counter)
    failed: Counter[str] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    acknowledged: dict[str, str] = field(default_factory=dict)  # person → last role acked
    changes: int = 0


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def holds_only(admin: KeycloakAdmin, person_id: str, value: str) -> bool:
    """The person's `habilitation` values in Keycloak are exactly `value`."""
    return values_of(admin, person_id) == {value}


def test_a_session_survives_a_node_and_no_change_is_lost_when_one_of_each_stops(
    compose_stack: Callable[..., Stack],
) -> None:
    stack = compose_stack(cluster=True)
    stack.project.up(healthy_within=600)
    states = stack.project.states()
    for service in ("keycloak", "keycloak-2", "bridge", "bridge-2", "proxy"):
        assert states[service] == "healthy", states
    node_a, node_b = stack.url("KEYCLOAK_PORT"), stack.url("KEYCLOAK_2_PORT")
    proxy = stack.url("CLUSTER_KEYCLOAK_PORT")
    portal = stack.url("CLUSTER_PORTAL_PORT")
    admin_b = stack_admin(stack, node_b)

    # An operator opens an organisation and appoints its main administrator, via the proxy.
    admin_a = stack_admin(stack, node_a)
    operator_id = new_account(admin_a, "operateur.cluster@exemple.fr")
    # As an operator of the platform would: the designation the bridge believes, and the role.
    stack.project.run(
        "exec", "-T", "bridge", "python", "-m", "bridge", "operateur", "designer", operator_id
    )
    operator = code_flow_tokens(
        portal_client(stack, proxy), "operateur.cluster@exemple.fr", PASSWORD
    )
    siret = new_siret()
    api = f"{portal}/api/v1/employeur/organisations"
    created = httpx.post(
        api,
        json={"siret": siret, "type": "employeur", "raison_sociale": "Grappe SA"},
        headers=bearer(operator["access_token"]),
        timeout=30,
    )
    assert created.status_code == 201, created.text
    form = person_form("Principale", "Grappe")
    appointed = httpx.post(
        f"{api}/{siret}/administrateur-principal",
        json=form,
        headers=bearer(operator["access_token"]),
        timeout=30,
    )
    assert appointed.status_code == 201, appointed.text
    principal_id = appointed.json()["personne"]
    eventually(lambda: values_of(admin_a, principal_id), timeout=60, what="droit projeté")
    finish_first_login(admin_a, principal_id)

    # The session is opened through node A and is valid on node B.
    through_a = portal_client(stack, node_a)
    tokens = code_flow_tokens(through_a, form["email"], PASSWORD)
    through_b = OidcClient(node_b, "demarches", "portail", through_a.secret, through_a.redirect_uri)
    refreshed_on_b = refreshed_tokens(through_b, tokens["refresh_token"])
    assert refreshed_on_b.status_code == 200, refreshed_on_b.text
    userinfo = httpx.get(
        f"{through_b.endpoint}/userinfo", headers=bearer(refreshed_on_b.json()["access_token"])
    )
    assert userinfo.status_code == 200
    assert userinfo.json()["email"] == form["email"]
    print(f"\nSession ouverte par le nœud A ({node_a}), rafraîchie et lue sur le nœud B ({node_b})")

    # Three gestionnaires whose role the stream switches back and forth.
    latest = refreshed_on_b.json()
    people: dict[str, dict[str, str]] = {}
    for number in range(3):
        added_form = person_form("Gestionnaire", f"Grappe {number}")
        added = httpx.post(
            f"{api}/{siret}/gestionnaires",
            json=added_form,
            headers=bearer(latest["access_token"]),
            timeout=30,
        )
        assert added.status_code == 201, added.text
        people[added.json()["personne"]] = added_form
    for person_id in people:
        eventually(
            partial(holds_only, admin_b, person_id, f"{DEMARCHE}:gestionnaire:{siret}"),
            timeout=60,
            what="gestionnaire projeté",
        )

    via_proxy = OidcClient(proxy, "demarches", "portail", through_a.secret, through_a.redirect_uri)
    stream = Stream()
    holder = {"tokens": latest}
    started = time.monotonic()

    def request(kind: str, call: Callable[[], httpx.Response], ok: int) -> httpx.Response | None:
        stream.sent[kind] += 1
        try:
            answer = call()
        except httpx.HTTPError as exc:
            stream.failed[kind] += 1
            stream.failures.append(f"{time.monotonic() - started:5.1f} s {kind} : {exc!r}")
            return None
        if answer.status_code != ok:
            stream.failed[kind] += 1
            stream.failures.append(
                f"{time.monotonic() - started:5.1f} s {kind} : {answer.status_code} {answer.text[:120]}"
            )
            return None
        return answer

    def put_with_latest_token(target: str, body: dict[str, str]) -> httpx.Response:
        return httpx.put(
            target, json=body, headers=bearer(holder["tokens"]["access_token"]), timeout=30
        )

    def run_stream() -> None:
        turn = 0
        while time.monotonic() - started < STREAM_SECONDS:
            refreshed = request(
                "rafraîchissement du jeton (Keycloak)",
                lambda: refreshed_tokens(via_proxy, holder["tokens"]["refresh_token"]),
                200,
            )
            if refreshed is not None:
                holder["tokens"] = refreshed.json()
            person_id = list(people)[turn % len(people)]
            role = ROLES[(turn // len(people) + 1) % 2]
            body = {k: v for k, v in people[person_id].items() if k != "email"} | {"role": role}
            target = f"{api}/{siret}/gestionnaires/{person_id}"
            # The same change again until acknowledged: a PUT says the state it wants.
            for _attempt in range(20):
                changed = request(
                    "changement d'habilitation (bridge)",
                    partial(put_with_latest_token, target, body),
                    200,
                )
                if changed is not None:
                    stream.acknowledged[person_id] = role
                    stream.changes += 1
                    break
                time.sleep(0.5)
            turn += 1
            time.sleep(0.1)

    worker = threading.Thread(target=run_stream, name="flux")
    worker.start()
    time.sleep(STOP_AT_SECONDS)
    stopped_at = time.monotonic() - started
    run(
        ["docker", "stop", "--time", "30",
         stack.project.container_id("keycloak"), stack.project.container_id("bridge")],
        timeout=120,
    )  # fmt: skip
    worker.join(timeout=STREAM_SECONDS + 120)
    assert not worker.is_alive()

    print(
        f"Arrêt du nœud Keycloak A et du réplica bridge 1 à {stopped_at:.1f} s ; flux de {STREAM_SECONDS} s"
    )
    for kind, count in stream.sent.items():
        print(f"  {kind} : {count} requêtes, {stream.failed[kind]} en échec")
    print(f"  changements d'habilitation acquittés : {stream.changes}")
    for line in stream.failures:
        print(f"  échec : {line}")

    # No session lost: the session of node A still refreshes, now on node B alone.
    assert refreshed_tokens(via_proxy, holder["tokens"]["refresh_token"]).status_code == 200
    assert len(admin_b.get_sessions(principal_id)) >= 1
    # No acknowledged change lost: the store says the last acknowledged role of each person,
    # and the projection carries it into Keycloak (node B; node A is down).
    listing = httpx.get(
        f"{api}/{siret}/gestionnaires",
        headers=bearer(holder["tokens"]["access_token"]),
        timeout=30,
    )
    assert listing.status_code == 200, listing.text
    roles = {row["personne"]: row["role"] for row in listing.json()["gestionnaires"]}
    assert stream.changes >= 2 * len(people)
    for person_id, role in stream.acknowledged.items():
        assert roles[person_id] == role
        eventually(
            partial(holds_only, admin_b, person_id, f"{DEMARCHE}:{role}:{siret}"),
            timeout=60,
            what=f"rôle {role} projeté",
        )
