"""A tiers with 1,000 client SIRETs: its token stays small (no list of SIRETs in it) and it
may act for any of them, the right being read from the store on each request."""

from __future__ import annotations

import base64
import json

import httpx
import pytest

from bridge.audit.service import Actor
from bridge.db import now
from bridge.person.service import remember_person
from tests.support.seed import siret_delegated_to
from tests.support.sirets import new_siret
from tests.support.stack import Platform

pytestmark = pytest.mark.keycloak
MAF = "mon-activite-formation"
CLIENTS = 1000


def test_a_tiers_with_a_thousand_clients_has_a_small_token_and_acts_for_each(
    platform: Platform, capsys: pytest.CaptureFixture[str]
) -> None:
    gestionnaire = platform.new_person("Gestion", "Nombreuse")
    tiers = platform.new_person("Cabinet", "Comptable")
    boss = Actor(gestionnaire.id, gestionnaire.display_name)
    with platform.context.work() as work:
        remember_person(work.session, gestionnaire.id, gestionnaire.email, "Gestion", "Nombreuse")
        remember_person(work.session, tiers.id, tiers.email, "Cabinet", "Comptable")
    clients: list[str] = []
    ids: list[int] = []
    tiers_siret = new_siret()
    for _ in range(CLIENTS):
        siret, delegation_id = siret_delegated_to(
            platform.context, boss, tiers.email, tiers_siret, platform.portal_url
        )
        clients.append(siret)
        ids.append(delegation_id)
    with platform.context.work() as work:
        work.delegations.accept_many(Actor(tiers.id, tiers.display_name), tiers.email, True, ids)

    token = platform.token_for(tiers)
    payload = token.split(".")[1]
    claims = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)).decode()
    assert not any(siret in claims for siret in clients)
    assert len(token) < 2000
    with capsys.disabled():
        print(f"\nJeton d'accès d'un tiers à {CLIENTS} clients : {len(token)} octets.")

    year = now().year - 1
    with httpx.Client(
        base_url=f"{platform.portal_url}/api/v1/demarches/{MAF}/bpf",
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    ) as api:
        # 404 « aucun BPF encore » means the right was granted; 403 would be a refusal.
        answers = {api.get(f"/{siret}/{year}").status_code for siret in clients}
        assert answers == {404}
        assert api.get(f"/{new_siret()}/{year}").status_code == 403
    assert json.loads(claims)["sub"] == tiers.id
