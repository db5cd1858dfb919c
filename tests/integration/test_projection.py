"""The projection onto the real Keycloak: each mapping rule, applied twice to prove idempotence.

The portal of the test platform runs its projection worker (every 0.2 s); the tests change
the store through the API or the services, wait for Keycloak to follow, then project the
same person again and expect no operation at all.
"""

from __future__ import annotations

import base64
import json
import os
import select as sockets
import socket
import socketserver
import subprocess
import sys
import threading
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from sqlalchemy import select, update

from bridge.audit.models import AuditEvent
from bridge.bootstrap import session_factory
from bridge.db import make_engine, now
from bridge.devstack.ports import LOOPBACK, free_port
from bridge.etablissement.models import Etablissement
from bridge.etablissement.siret import siren_of
from bridge.habilitation.models import GrantedHow, Habilitation
from bridge.keycloak_admin import OWNER, OWNER_ATTRIBUTE, KeycloakDirectory
from bridge.outbox import OutboxEntry
from bridge.person.service import remember_person
from bridge.settings import REPO_ROOT
from bridge.sync.reconcile import reconcile
from tests.support.callers import Caller, gestionnaire_of_new_siret, invite_and_accept, new_caller
from tests.support.projection import eventually, projector_of, role_groups_of, values_of
from tests.support.seed import right_written_in_store
from tests.support.sirets import new_siret
from tests.support.stack import PROFESSIONAL_DETAILS, Person, Platform

MAF = "mon-activite-formation"


def projected_again_changes_nothing(platform: Platform, subject: str) -> None:
    projector = projector_of(platform)
    with projector.sessions() as session:
        wanted = projector.wanted(session, subject)
    assert projector.project(subject, wanted) == []
    assert projector.project(subject, wanted) == []


def test_the_catalog_becomes_client_roles_composites_groups_and_the_token_scope(
    platform: Platform,
) -> None:
    deployer = KeycloakDirectory.with_admin_password(
        platform.keycloak.url,
        platform.keycloak.realm,
        platform.keycloak.admin_user,
        platform.keycloak.admin_password,
    )
    first = projector_of(platform).install_catalog(deployer)
    second = projector_of(platform).install_catalog(deployer)
    assert first == second  # idempotent: the same groups, nothing created twice
    assert projector_of(platform).load_catalog() == first  # what the bridge reads
    admin = platform.admin()
    client = admin.get_client_id(MAF)
    assert client is not None
    assert {r["name"] for r in admin.get_client_roles(client)} >= {"gestionnaire", "declarant"}
    implied = admin.get_composite_client_roles_of_role(client, "gestionnaire")
    assert [r["name"] for r in implied] == ["declarant"]  # the catalog's `implies`
    group = admin.get_group_by_path(f"/demarches/{MAF}/declarant")
    assert group["attributes"][OWNER_ATTRIBUTE] == [OWNER]
    assert [r["name"] for r in admin.get_group_client_roles(group["id"], client)] == ["declarant"]
    optional = {s["name"] for s in admin.get_client_optional_client_scopes(client)}
    assert "habilitations" in optional
    employer = admin.get_client_id("espace-employeur-cpf")
    assert employer is not None
    assert {
        r["name"]
        for r in admin.get_composite_client_roles_of_role(employer, "administrateur-principal")
    } == {
        "administrateur-delegue",
        "gestionnaire",
    }


def test_a_direct_habilitation_appears_then_leaves_nothing_behind_when_removed(
    platform: Platform, callers: list[Caller]
) -> None:
    admin = platform.admin()
    gestionnaire, siret = gestionnaire_of_new_siret(platform, callers)
    subject = gestionnaire.person.id
    value = f"{MAF}:gestionnaire:{siret}"
    eventually(lambda: value in values_of(admin, subject), what="valeur du gestionnaire")
    # The value is written before the membership: wait for both (one person's pass).
    eventually(
        lambda: role_groups_of(admin, subject) == {f"/demarches/{MAF}/gestionnaire"},
        what="groupe du gestionnaire",
    )
    projected_again_changes_nothing(platform, subject)

    colleague = new_caller(platform, callers)
    colleague.http.get("/moi/habilitations")
    added = gestionnaire.post(
        f"/demarches/{MAF}/habilitations",
        json={"personne": colleague.person.id, "role": "declarant", "siret": siret},
    )
    assert added.status_code == 201
    other = colleague.person.id
    eventually(lambda: values_of(admin, other) == {f"{MAF}:declarant:{siret}"}, what="déclarant")
    eventually(
        lambda: role_groups_of(admin, other) == {f"/demarches/{MAF}/declarant"},
        what="groupe du déclarant",
    )
    removed = gestionnaire.http.delete(f"/demarches/{MAF}/habilitations/{added.json()['id']}")
    assert removed.status_code == 204
    eventually(lambda: not role_groups_of(admin, other), what="sortie du groupe")
    user = admin.get_user(other)
    assert "habilitation" not in user.get("attributes", {})  # no empty attribute left behind
    assert user["attributes"]["telephone"]  # the person's other attributes are kept
    projected_again_changes_nothing(platform, other)


def test_a_delegation_gives_the_tiers_the_value_and_its_revocation_removes_it(
    platform: Platform, callers: list[Caller]
) -> None:
    admin = platform.admin()
    gestionnaire, siret = gestionnaire_of_new_siret(platform, callers)
    tiers, delegation_id = invite_and_accept(platform, callers, gestionnaire, siret)
    subject = tiers.person.id
    value = f"{MAF}:declarant:{siret}"
    eventually(lambda: values_of(admin, subject) == {value}, what="valeur du tiers")
    eventually(
        lambda: role_groups_of(admin, subject) == {f"/demarches/{MAF}/declarant"},
        what="groupe du tiers",
    )
    projected_again_changes_nothing(platform, subject)
    assert gestionnaire.http.delete(f"/delegations/{delegation_id}").status_code == 204
    # The value and the membership are two calls to Keycloak: wait for both.
    eventually(
        lambda: not values_of(admin, subject) and not role_groups_of(admin, subject),
        what="fin de la délégation",
    )
    projected_again_changes_nothing(platform, subject)


def test_an_expired_right_is_found_by_the_reconcile_dry_run_and_removed_by_its_repair(
    platform: Platform, callers: list[Caller]
) -> None:
    admin = platform.admin()
    gestionnaire, siret = gestionnaire_of_new_siret(platform, callers)
    colleague = new_caller(platform, callers)
    colleague.http.get("/moi/habilitations")
    added = gestionnaire.post(
        f"/demarches/{MAF}/habilitations",
        json={"personne": colleague.person.id, "role": "declarant", "siret": siret},
    )
    assert added.status_code == 201, added.text
    subject = colleague.person.id
    eventually(lambda: values_of(admin, subject), what="déclarant projeté")
    with platform.context.work() as work:  # its end date passes: no store change, no outbox row
        moved = work.session.execute(
            update(Habilitation)
            .where(Habilitation.id == added.json()["id"])
            .values(valid_until=now() - timedelta(seconds=1))
        )
        assert moved.rowcount == 1  # type: ignore[attr-defined]
    projector = projector_of(platform)
    dry = reconcile(projector)
    drift = [d for d in dry.drifts if d.subject == subject]
    assert drift, list(dry.lines())
    assert any("attribut habilitation" in line for line in dry.lines())
    assert values_of(admin, subject)  # the dry run changed nothing
    repaired = reconcile(projector, repair=True)
    assert repaired.repaired >= 1
    assert not values_of(admin, subject)
    assert not role_groups_of(admin, subject)
    assert not [d for d in reconcile(projector).drifts if d.subject == subject]


def test_a_repair_keycloak_refuses_for_one_person_repairs_the_others_and_says_why(
    platform: Platform, callers: list[Caller]
) -> None:
    """A right whose role has no group (a catalog changed without its deploy step) stopped the
    whole reconcile with its exception: nobody after that person was repaired, and the
    deletions it finds were never handled."""
    admin = platform.admin()
    ghost = platform.new_person("Réparation", "Refusée").id
    siret = right_written_in_store(platform.context, ghost, "role-sans-groupe")
    gestionnaire, own_siret = gestionnaire_of_new_siret(platform, callers)
    subject = gestionnaire.person.id
    eventually(lambda: values_of(admin, subject), what="gestionnaire projeté")
    admin.update_user(subject, {"attributes": {**PROFESSIONAL_DETAILS}})  # a drift by hand
    try:
        report = reconcile(projector_of(platform), repair=True)
        assert [s for s, _ in report.refused if s == ghost], list(report.lines())
        reason = dict(report.refused)[ghost]
        assert "aucun groupe /demarches/mon-activite-formation/role-sans-groupe" in reason
        assert any(ghost in line and "role-sans-groupe" in line for line in report.lines())
        assert any(own_siret in v for v in values_of(admin, subject))  # repaired all the same
    finally:
        with platform.context.work() as work:  # the shared store keeps no right without a group
            work.session.execute(
                update(Habilitation)
                .where(Habilitation.subject == ghost, Habilitation.siret == siret)
                .values(revoked_at=now())
            )


def test_a_group_the_bridge_did_not_create_is_never_touched(
    platform: Platform, callers: list[Caller]
) -> None:
    admin = platform.admin()
    parent = admin.get_group_by_path(f"/demarches/{MAF}")
    name = f"visiteurs-{uuid.uuid4().hex[:6]}"
    group_id = str(admin.create_group({"name": name}, parent=parent["id"]))
    someone = platform.new_person()
    admin.group_user_add(someone.id, group_id)
    projector = projector_of(platform)
    assert (MAF, name) not in projector.directory.role_groups()
    reconcile(projector, repair=True)
    members = {u["id"] for u in admin.get_group_members(group_id)}
    assert someone.id in members
    admin.delete_group(group_id)


def test_a_keycloak_refusal_marks_the_change_failed_with_its_reason_and_the_queue_goes_on(
    platform: Platform, callers: list[Caller]
) -> None:
    # A right whose role has no group in Keycloak (a catalog edited without its deploy step).
    ghost = platform.new_person("Rôle", "Sans Groupe").id
    right_written_in_store(platform.context, ghost, "role-sans-groupe")
    gestionnaire, _ = gestionnaire_of_new_siret(platform, callers)  # queued after it

    def failed() -> OutboxEntry | None:
        with platform.context.sessions() as session:
            return session.scalar(
                select(OutboxEntry).where(
                    OutboxEntry.subject == ghost, OutboxEntry.failed_at.is_not(None)
                )
            )

    row = eventually(failed, what="échec")
    assert row.error is not None
    assert "Keycloak refuse" in row.error
    assert "aucun groupe /demarches/mon-activite-formation/role-sans-groupe" in row.error
    admin = platform.admin()
    eventually(lambda: values_of(admin, gestionnaire.person.id), what="la file continue")
    metrics = metrics_of(platform).text
    assert "bridge_sync_failed_operations_total" in metrics
    failed_total = next(
        line
        for line in metrics.splitlines()
        if line.startswith("bridge_sync_failed_operations_total ")
    )
    assert float(failed_total.split()[1]) >= 1
    report = reconcile(projector_of(platform))
    assert any(ghost in line and "Keycloak refuse" in line for line in report.lines())


def test_the_rows_of_a_person_without_a_keycloak_account_are_done_not_failed(
    platform: Platform,
) -> None:
    """An account gone from Keycloak (#19): nothing to project onto, so no failure piles up;
    the store follows the deletion (tests/integration/test_account_lifecycle.py)."""
    ghost = str(uuid.uuid4())
    right_written_in_store(platform.context, ghost)

    def done() -> OutboxEntry | None:
        with platform.context.sessions() as session:
            return session.scalar(
                select(OutboxEntry).where(
                    OutboxEntry.subject == ghost, OutboxEntry.applied_at.is_not(None)
                )
            )

    row = eventually(done, what="ligne traitée")
    assert row.failed_at is None
    assert row.error == "compte absent de Keycloak : rien à projeter"


def metrics_of(platform: Platform) -> httpx.Response:
    """/metrics read as Prometheus does, with the metrics token."""
    token = platform.portal_settings.metrics_token.get_secret_value()
    return httpx.get(f"{platform.portal_url}/metrics", headers={"Authorization": f"Bearer {token}"})


def test_metrics_report_the_queue_in_prometheus_text(platform: Platform) -> None:
    response = metrics_of(platform)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    for name in (
        "bridge_sync_oldest_pending_age_seconds",
        "bridge_sync_pending_operations",
        "bridge_sync_applied_operations_total",
        "bridge_sync_failed_operations_total",
        "bridge_sync_last_reconcile_drift",
        "bridge_sync_last_reconcile_timestamp_seconds",
        "bridge_sync_console_refusals_total",
    ):
        assert f"# TYPE {name} " in response.text


# --- the Keycloak console round-trip (an admin-API edit stands in for the console) ----------


def _edit_values(platform: Platform, subject: str, change: str, value: str) -> None:
    admin = platform.admin()
    user = admin.get_user(subject)
    values = set(user.get("attributes", {}).get("habilitation", []))
    values = values | {value} if change == "add" else values - {value}
    user["attributes"]["habilitation"] = sorted(values)
    admin.update_user(subject, user)


def _audit(platform: Platform, action: str, target: str) -> list[AuditEvent]:
    with platform.context.sessions() as session:
        return list(
            session.scalars(
                select(AuditEvent).where(AuditEvent.action == action, AuditEvent.target == target)
            )
        )


def test_a_value_added_in_the_console_becomes_an_audited_habilitation_then_its_removal_too(
    platform: Platform, callers: list[Caller]
) -> None:
    _, siret = gestionnaire_of_new_siret(platform, callers)
    colleague = new_caller(platform, callers)
    colleague.http.get("/moi/habilitations")
    subject = colleague.person.id
    _edit_values(platform, subject, "add", f"{MAF}:declarant:{siret}")

    def granted() -> Habilitation | None:
        with platform.context.sessions() as session:
            return session.scalar(
                select(Habilitation).where(
                    Habilitation.subject == subject, Habilitation.revoked_at.is_(None)
                )
            )

    habilitation = eventually(granted, what="habilitation par la console")
    assert habilitation.granted_how == GrantedHow.CONSOLE
    assert habilitation.role == "declarant"
    assert habilitation.siret == siret
    assert "console Keycloak" in habilitation.granted_by_name
    audit = _audit(platform, "habilitation-accordee", subject)
    assert audit
    assert audit[-1].details["origine"] == "console"
    admin = platform.admin()
    eventually(lambda: role_groups_of(admin, subject), what="groupe rejoint")  # the worker follows

    _edit_values(platform, subject, "remove", f"{MAF}:declarant:{siret}")
    eventually(lambda: granted() is None, what="retrait par la console")
    assert _audit(platform, "habilitation-retiree", subject)
    eventually(lambda: not role_groups_of(admin, subject), what="groupe quitté")


def test_an_api_edit_that_leaves_the_attribute_out_removes_no_right_and_the_values_return(
    platform: Platform, callers: list[Caller]
) -> None:
    """Keycloak replaces the whole attribute map, so such an edit drops the values there; the
    bridge does not read it as a removal, and writes the values back."""
    gestionnaire, siret = gestionnaire_of_new_siret(platform, callers)
    subject = gestionnaire.person.id
    admin = platform.admin()
    value = f"{MAF}:gestionnaire:{siret}"
    eventually(lambda: value in values_of(admin, subject), what="droit projeté")
    user = admin.get_user(subject)
    user["attributes"] = {k: v for k, v in user["attributes"].items() if k != "habilitation"}
    admin.update_user(subject, user)
    assert value not in values_of(admin, subject)

    eventually(lambda: value in values_of(admin, subject), what="valeurs réécrites")
    with platform.context.sessions() as session:
        live = session.scalars(
            select(Habilitation).where(
                Habilitation.subject == subject, Habilitation.revoked_at.is_(None)
            )
        ).all()
    assert [h.role for h in live] == ["gestionnaire"]
    assert _audit(platform, "habilitation-retiree", subject) == []


def test_a_console_grant_the_catalog_forbids_is_reverted_and_reported(
    platform: Platform, callers: list[Caller]
) -> None:
    siret = new_siret()
    with platform.context.work() as work:
        work.session.add(Etablissement(siret=siret, siren=siren_of(siret), name="EMPLOYEUR"))
    someone = new_caller(platform, callers)
    someone.http.get("/moi/habilitations")
    subject = someone.person.id
    forbidden = f"espace-employeur-cpf:administrateur-principal:{siret}"
    _edit_values(platform, subject, "add", forbidden)
    refusal = eventually(lambda: _audit(platform, "console-refusee", subject), what="refus signalé")
    assert refusal[0].details["valeur"] == forbidden
    assert "console Keycloak" in refusal[0].details["raison"]
    admin = platform.admin()
    eventually(lambda: forbidden not in values_of(admin, subject), what="valeur retirée")
    metrics = metrics_of(platform).text
    line = next(
        m for m in metrics.splitlines() if m.startswith("bridge_sync_console_refusals_total ")
    )
    assert float(line.split()[1]) >= 1


def test_joining_a_role_group_without_a_siret_in_the_console_is_reverted_and_reported(
    platform: Platform, callers: list[Caller]
) -> None:
    someone = new_caller(platform, callers)
    someone.http.get("/moi/habilitations")
    subject = someone.person.id
    admin = platform.admin()
    group = admin.get_group_by_path(f"/demarches/{MAF}/declarant")
    admin.group_user_add(subject, group["id"])
    refusal = eventually(lambda: _audit(platform, "console-refusee", subject), what="refus signalé")
    assert "SIRET" in refusal[0].details["raison"]
    eventually(lambda: not role_groups_of(admin, subject), what="sortie du groupe")


# --- tokens: the optional client scope ------------------------------------------------------


def _token_claims(
    platform: Platform, username: str, password: str, scope: str
) -> tuple[dict[str, Any], int]:
    """A token of the démarche's own client (password grant opened for this test only)."""
    admin = platform.admin()
    client_id = admin.get_client_id(MAF)
    assert client_id is not None
    client = admin.get_client(client_id)
    admin.update_client(client_id, {**client, "directAccessGrantsEnabled": True})
    try:
        response = httpx.post(
            f"{platform.keycloak.url}/realms/{platform.keycloak.realm}/protocol/openid-connect/token",
            data={
                "grant_type": "password",
                "client_id": MAF,
                "client_secret": platform.relying_party_settings.client_secret.get_secret_value(),
                "username": username,
                "password": password,
                "scope": scope,
            },
        )
    finally:
        admin.update_client(client_id, client)
    assert response.status_code == 200, response.text
    token = response.json()["access_token"]
    claims = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
    return claims, len(token)


def test_the_habilitations_scope_carries_only_the_demarches_rights_and_only_when_asked(
    platform: Platform, callers: list[Caller]
) -> None:
    gestionnaire, siret = gestionnaire_of_new_siret(platform, callers)
    person = gestionnaire.person
    admin = platform.admin()
    eventually(lambda: values_of(admin, person.id), what="projection")
    _edit_values(platform, person.id, "add", f"mes-collectes-formation:declarant:{siret}")
    plain, _ = _token_claims(platform, person.username, person.password, "openid")
    assert "habilitations" not in plain
    assert "gestionnaire" in plain["resource_access"][MAF]["roles"]
    assert (
        "declarant" in plain["resource_access"][MAF]["roles"]
    )  # composite: gestionnaire implies it
    asked, _ = _token_claims(platform, person.username, person.password, "openid habilitations")
    assert asked["habilitations"] == [{"siret": siret, "role": "gestionnaire"}]
    assert "habilitations_tronquees" not in asked


class KeycloakGate:
    """A loopback TCP relay to Keycloak that the test opens late: Keycloak away, then back."""

    def __init__(self, target: str) -> None:
        self.target = urlsplit(target)
        self.port = free_port()
        self.url = f"http://{LOOPBACK}:{self.port}"
        self._server: socketserver.ThreadingTCPServer | None = None

    def open(self) -> None:
        target = (self.target.hostname or LOOPBACK, self.target.port or 80)

        class Relay(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                with socket.create_connection(target) as upstream:
                    pair = {self.request: upstream, upstream: self.request}
                    while True:
                        readable, _, _ = sockets.select(list(pair), [], [], 30)
                        if not readable:
                            return
                        for end in readable:
                            data = end.recv(65536)
                            if not data:
                                return
                            pair[end].sendall(data)

        socketserver.ThreadingTCPServer.allow_reuse_address = True
        self._server = socketserver.ThreadingTCPServer((LOOPBACK, self.port), Relay)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


def test_a_continuous_worker_outlives_failed_passes_then_applies_what_comes(
    platform: Platform, person: Person, tmp_path: Path
) -> None:
    """`sync appliquer --continu` logs a failed pass and tries again; it never exits on one."""
    database_url = f"sqlite:///{tmp_path / 'bridge.db'}"
    gate = KeycloakGate(platform.keycloak.url)  # closed: Keycloak is away when it starts
    log = tmp_path / "worker.log"
    env = {
        **os.environ,
        "BRIDGE_DATABASE_URL": database_url,
        "BRIDGE_KEYCLOAK_URL": gate.url,
        "BRIDGE_KEYCLOAK_REALM": platform.keycloak.realm,
        "BRIDGE_SYNC_INTERVAL_SECONDS": "0.2",
        "BRIDGE_LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",  # its log lines reach the file as they are written
    }
    with log.open("ab") as out:
        worker = subprocess.Popen(
            [sys.executable, "-m", "bridge", "sync", "appliquer", "--continu"],
            cwd=REPO_ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        eventually(
            lambda: log.read_text().count('"projection-echec"') >= 2,
            timeout=60,
            what="deux passes en échec, journalisées",
        )
        assert worker.poll() is None, log.read_text()[-2000:]

        siret = new_siret()
        store = make_engine(database_url)
        with session_factory(store)() as session:
            session.add(Etablissement(siret=siret, siren=siren_of(siret), name="ÉTAB"))
            remember_person(session, person.id, person.email, person.first_name, person.last_name)
            session.flush()  # the establishment and the person before the right that names them
            session.add(
                Habilitation(
                    subject=person.id,
                    demarche=MAF,
                    role="declarant",
                    siret=siret,
                    granted_how=GrantedHow.OPERATOR,
                )
            )
            session.commit()
        store.dispose()
        gate.open()  # Keycloak is back: the next pass applies the waiting change
        eventually(
            lambda: values_of(platform.admin(), person.id) == {f"{MAF}:declarant:{siret}"},
            timeout=60,
            what="droit appliqué par le worker revenu",
        )
        assert worker.poll() is None
    finally:
        worker.terminate()
        worker.wait(timeout=30)
        gate.close()
