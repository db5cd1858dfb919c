"""The API reads its caller's ended session and account state in one statement
(`AppContext.refuse_ended_or_disabled`): each refusal still holds, whoever wrote it."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import update

from bridge.db import now, unit_of_work
from bridge.identity.ended_sessions import EndedSessions
from bridge.person.models import Person
from tests.support.bpf import complete_bpf
from tests.support.callers import MAF, Caller, gestionnaire_of_new_siret, new_caller
from tests.support.stack import Platform

pytestmark = pytest.mark.keycloak
YEAR = now().year - 1


def sid_of(caller: Caller) -> str:
    token = caller.http.headers["authorization"].removeprefix("Bearer ")
    payload = token.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    sid: str = claims["sid"]
    return sid


def test_a_session_ended_through_another_replica_is_refused_at_the_next_api_request(
    platform: Platform, callers: list[Caller]
) -> None:
    """Keycloak's back-channel logout reached another replica: only the store tells this one."""
    caller = new_caller(platform, callers, "Session", "Ailleurs")
    assert caller.http.get("/moi/habilitations").status_code == 200

    EndedSessions(platform.context.sessions).end(sid_of(caller))  # the other replica's memory

    refused = caller.http.get("/moi/habilitations")
    assert refused.status_code == 401
    assert refused.headers["content-type"] == "application/problem+json"
    assert "session a été fermée" in refused.json()["detail"]
    assert 'error="invalid_token"' in refused.headers["www-authenticate"]


def test_a_session_whose_end_has_passed_is_no_longer_refused(
    platform: Platform, callers: list[Caller]
) -> None:
    """A row kept past the session's tokens' life (before its pruning) refuses nothing."""
    caller = new_caller(platform, callers, "Session", "Echue")
    EndedSessions(platform.context.sessions, ttl_seconds=-1).end(sid_of(caller))
    assert caller.http.get("/moi/habilitations").status_code == 200


def test_an_ended_session_of_a_disabled_account_is_refused_as_an_ended_session(
    platform: Platform, callers: list[Caller]
) -> None:
    """Both read at once, the session's end comes first (401: log in again), as before."""
    caller = new_caller(platform, callers, "Compte", "Desactive")
    assert caller.http.get("/moi/habilitations").status_code == 200  # the store knows them
    with unit_of_work(platform.context.sessions) as session:
        session.execute(
            update(Person)
            .where(Person.subject == caller.person.id)
            .values(disabled_at=now() - timedelta(seconds=1))
        )
    disabled = caller.http.get("/moi/habilitations")
    assert disabled.status_code == 403
    assert "désactivé" in disabled.json()["detail"]

    EndedSessions(platform.context.sessions).end(sid_of(caller))
    ended = caller.http.get("/moi/habilitations")
    assert ended.status_code == 401
    assert "session a été fermée" in ended.json()["detail"]


def test_the_bpf_read_refuses_as_every_api_route_each_on_the_very_next_request(
    platform: Platform, callers: list[Caller]
) -> None:
    """The BPF read is the hot path: its caller's check, the right and the BPF are read in one
    trip to the thread pool (`bridge.api.deps.CheckedReads`). Same token throughout: a forged
    token 401, a withdrawn right 403, a disabled account 403, an ended session 401."""
    gestionnaire, siret = gestionnaire_of_new_siret(platform, callers)
    colleague = new_caller(platform, callers, "Lecture", "Chaude")
    bpf = f"/demarches/{MAF}/bpf/{siret}/{YEAR}"
    saved = gestionnaire.http.put(bpf, json={"version": 0, "valeurs": complete_bpf()})
    assert saved.status_code == 200, saved.text
    assert colleague.http.get("/moi/habilitations").status_code == 200  # known to the bridge
    granted = gestionnaire.post(
        f"/demarches/{MAF}/habilitations",
        json={"personne": colleague.person.id, "role": "declarant", "siret": siret},
    )
    assert granted.status_code == 201, granted.text
    read = colleague.http.get(bpf)
    assert read.status_code == 200, read.text
    assert read.json()["valeurs"]["c1"] == "12000.50"

    forged = httpx.get(
        f"{platform.portal_url}/api/v1{bpf}", headers={"authorization": "Bearer a.b.c"}
    )
    assert forged.status_code == 401
    assert 'error="invalid_token"' in forged.headers["www-authenticate"]

    removed = gestionnaire.http.delete(f"/demarches/{MAF}/habilitations/{granted.json()['id']}")
    assert removed.status_code == 204
    assert colleague.http.get(bpf).status_code == 403

    assert gestionnaire.http.get(bpf).status_code == 200
    with unit_of_work(platform.context.sessions) as session:
        session.execute(
            update(Person)
            .where(Person.subject == gestionnaire.person.id)
            .values(disabled_at=now() - timedelta(seconds=1))
        )
    disabled = gestionnaire.http.get(bpf)
    assert disabled.status_code == 403
    assert "désactivé" in disabled.json()["detail"]
    with unit_of_work(platform.context.sessions) as session:
        session.execute(
            update(Person).where(Person.subject == gestionnaire.person.id).values(disabled_at=None)
        )
    assert gestionnaire.http.get(bpf).status_code == 200

    EndedSessions(platform.context.sessions).end(sid_of(gestionnaire))
    ended = gestionnaire.http.get(bpf)
    assert ended.status_code == 401
    assert "session a été fermée" in ended.json()["detail"]
