"""« Mes données personnelles » → « Télécharger mes données »: the store's part of what the
platform holds about the person (#19), on the real portal and Keycloak."""

from __future__ import annotations

import json

import httpx
import pytest
from sqlalchemy import select

from bridge.audit.models import AuditEvent
from bridge.audit.service import Actor
from bridge.personal_data import EXPORTED
from tests.support.callers import MAF
from tests.support.portal_login import csrf_of, logged_in_client
from tests.support.seed import etablissement_with_code
from tests.support.stack import Platform

pytestmark = pytest.mark.keycloak


def test_a_person_downloads_what_the_store_holds_about_them_and_nobody_else(
    platform: Platform,
) -> None:
    person = platform.new_person("Données", "Personnelles")
    other = platform.new_person("Autre", "Personne")
    with logged_in_client(platform, other):  # known to the store, with a right of their own
        pass
    siret, code = etablissement_with_code(platform.context)
    other_siret, other_code = etablissement_with_code(platform.context)
    with logged_in_client(platform, person) as client:
        with platform.context.work() as work:
            work.habilitations.activate(Actor(person.id, person.display_name), MAF, siret, code)
            work.habilitations.activate(
                Actor(other.id, other.display_name), MAF, other_siret, other_code
            )
        page = client.get("/mes-donnees")
        assert "Télécharger mes données" in page.text
        answer = client.post("/mes-donnees/export", data={"csrf_token": csrf_of(page)})

    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/json")
    assert answer.headers["content-disposition"].startswith('attachment; filename="mes-donnees-')
    assert answer.headers["cache-control"] == "no-store"
    data = json.loads(answer.text)
    assert data["sujet"] == person.id
    assert data["personne"]["adresse_electronique"] == person.email
    assert [(h["demarche"], h["role"], h["siret"]) for h in data["habilitations"]] == [
        ("Mon Activité Formation", "Gestionnaire", siret)
    ]
    assert any(e["par_vous"] and e["siret"] == siret for e in data["journal"])
    text = answer.text
    for someone_else in (other_siret, other.email, other.id):
        assert someone_else not in text
    with platform.context.sessions() as session:
        exports = session.scalars(
            select(AuditEvent).where(AuditEvent.action == EXPORTED, AuditEvent.actor == person.id)
        ).all()
    assert len(exports) == 1


def test_the_export_needs_a_login_and_the_forms_token(platform: Platform) -> None:
    with httpx.Client(base_url=platform.portal_url, timeout=30) as anonymous:
        assert anonymous.post("/mes-donnees/export").status_code in (303, 403)
    person = platform.new_person("Sans", "Jeton")
    with logged_in_client(platform, person) as client:
        refused = client.post("/mes-donnees/export", data={"csrf_token": "faux"})
    assert refused.status_code == 403
    assert "sujet" not in refused.text
