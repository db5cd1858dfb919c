"""The BPF pages over HTTP: a tiers with several clients searches the SIRET to act for, and
nobody reaches another SIRET's form by typing its address."""

from __future__ import annotations

import pytest

from bridge.audit.service import Actor
from bridge.db import now
from bridge.etablissement.models import Etablissement
from bridge.person.service import remember_person
from tests.support.portal_login import logged_in_client
from tests.support.seed import siret_delegated_to
from tests.support.sirets import new_siret
from tests.support.stack import Platform

pytestmark = pytest.mark.keycloak
MAF = "mon-activite-formation"


def test_a_tiers_searches_among_its_clients_and_cannot_reach_others(platform: Platform) -> None:
    boss = platform.new_person("Gestion", "Cliente")
    tiers = platform.new_person("Cabinet", "Conseil")
    actor = Actor(boss.id, boss.display_name)
    with platform.context.work() as work:
        remember_person(work.session, boss.id, boss.email, "Gestion", "Cliente")
        remember_person(work.session, tiers.id, tiers.email, "Cabinet", "Conseil")
    names = ["Boulangerie Formation", "Garage École", "Atelier Numérique"]
    sirets = []
    for name in names:
        siret, delegation_id = siret_delegated_to(
            platform.context, actor, tiers.email, new_siret(), platform.portal_url, name=name
        )
        with platform.context.work() as work:
            work.delegations.accept_many(
                Actor(tiers.id, tiers.display_name), tiers.email, True, [delegation_id]
            )
        sirets.append(siret)

    with logged_in_client(platform, tiers) as client:
        everything = client.get(f"/demarches/{MAF}/bpf")
        assert "3 établissements" in everything.text
        found = client.get(f"/demarches/{MAF}/bpf", params={"q": "garage"})
        assert "1 établissement" in found.text
        assert sirets[1] in found.text
        assert sirets[0] not in found.text
        by_siret = client.get(f"/demarches/{MAF}/bpf", params={"q": sirets[2][:9]})
        assert sirets[2] in by_siret.text

        stranger_siret = new_siret()
        with platform.context.work() as work:
            work.session.add(
                Etablissement(siret=stranger_siret, siren=stranger_siret[:9], name="Autre")
            )
        refused = client.get(f"/demarches/{MAF}/bpf/{stranger_siret}/{now().year - 1}")
        assert refused.status_code == 403
        assert "ni gestionnaire ni déclarant" in refused.text
