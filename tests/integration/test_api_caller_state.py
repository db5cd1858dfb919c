"""The API reads its caller's ended session and account state in one statement
(`AppContext.refuse_ended_or_disabled`): each refusal still holds, whoever wrote it."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import pytest
from sqlalchemy import update

from bridge.db import now, unit_of_work
from bridge.identity.ended_sessions import EndedSessions
from bridge.person.models import Person
from tests.support.callers import Caller, new_caller
from tests.support.stack import Platform

pytestmark = pytest.mark.keycloak


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
