"""A person deleted or disabled in Keycloak: the store follows (#19, first part).

Real Keycloak: the deletion and the disabling are made through its admin API, as an
administrator's console does; the portal's own console round-trip (every 0.3 s in the tests)
reads the admin events. A deletion whose event is missed is found by the reconcile.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import select

from bridge.accounts import DELETED, DISABLED, ENABLED, ORPHANED, PSEUDONYMISED
from bridge.audit.models import AuditEvent
from bridge.cli import main
from bridge.delegation.models import Delegation, DelegationStatus
from bridge.habilitation.models import AccessRequest, RequestStatus
from bridge.notification import QueuedEmail
from bridge.outbox import OutboxEntry
from bridge.person.models import Person
from bridge.sync.reconcile import MAX_GONE, reconcile, subjects_to_compare
from tests.support.callers import (
    MAF,
    Caller,
    demarche_http,
    gestionnaire_of_new_siret,
    invite_and_accept,
    new_caller,
)
from tests.support.projection import eventually, projector_of, values_of
from tests.support.seed import OPERATOR, right_written_in_store
from tests.support.stack import Platform

pytestmark = pytest.mark.keycloak


@pytest.fixture(scope="module")
def maf(platform: Platform) -> Iterator[httpx.Client]:
    with demarche_http(platform, "/api/v1/verifications") as client:
        yield client


def allowed(maf: httpx.Client, subject: str, role: str, siret: str) -> bool:
    response = maf.post(
        f"/{MAF}", json={"questions": [{"sujet": subject, "role": role, "siret": siret}]}
    )
    assert response.status_code == 200, response.text
    answer: bool = response.json()["reponses"][0]["autorise"]
    return answer


def audit(platform: Platform, action: str, target: str) -> list[AuditEvent]:
    with platform.context.work() as work:
        found = list(
            work.session.scalars(
                select(AuditEvent).where(AuditEvent.action == action, AuditEvent.target == target)
            )
        )
        work.session.expunge_all()
        return found


def projected(platform: Platform, subject: str) -> None:
    """Wait until the projection wrote the person's rights: deleting the account while the
    worker writes it gets Keycloak's 409 (a conflict of the two writes)."""
    admin = platform.admin()
    eventually(lambda: values_of(admin, subject), what="la projection des droits")


def command_output(
    platform: Platform,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    *argv: str,
) -> str:
    """`python -m bridge …` run in-process on the platform's store: what it printed."""
    monkeypatch.setenv("BRIDGE_DATABASE_URL", platform.portal_settings.database_url)
    capsys.readouterr()
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        assert main(list(argv)) == 0
    finally:  # the CLI sends logs to this test's captured stderr: not the next tests'
        root.handlers[:] = handlers
        root.setLevel(level)
    return capsys.readouterr().out


def deleted(platform: Platform, subject: str) -> bool:
    with platform.context.work() as work:
        person = work.session.get(Person, subject)
        return person is not None and person.deleted_at is not None


def test_a_gestionnaire_deleted_through_the_admin_api_loses_every_right(
    platform: Platform,
    callers: list[Caller],
    maf: httpx.Client,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    gestionnaire, siret = gestionnaire_of_new_siret(platform, callers)
    tiers, delegation_id = invite_and_accept(platform, callers, gestionnaire, siret)
    _, other_siret = gestionnaire_of_new_siret(platform, callers)
    asked = gestionnaire.post(f"/demarches/{MAF}/demandes", json={"siret": other_siret})
    assert asked.status_code == 201, asked.text
    subject = gestionnaire.person.id
    assert allowed(maf, subject, "gestionnaire", siret)
    assert allowed(maf, tiers.person.id, "declarant", siret)
    projected(platform, subject)

    platform.admin().delete_user(subject)

    eventually(lambda: deleted(platform, subject), what="la suppression suivie par le pont")
    assert gestionnaire.http.get("/moi/habilitations").status_code == 403  # its token lives on
    assert not allowed(maf, subject, "gestionnaire", siret)
    assert not allowed(maf, tiers.person.id, "declarant", siret)  # the tiers they invited
    with platform.context.work() as work:
        delegation = work.session.get(Delegation, delegation_id)
        assert delegation is not None
        assert delegation.status == DelegationStatus.REVOKED
        request = work.session.get(AccessRequest, asked.json()["id"])
        assert request is not None
        assert request.status == RequestStatus.WITHDRAWN
        orphans = [(o.demarche, o.siret) for o in work.accounts.orphans()]
    assert (MAF, siret) in orphans  # listed for the operator
    assert (MAF, other_siret) not in orphans
    [event] = audit(platform, DELETED, subject)
    assert event.actor not in ("rapprochement", subject)  # the administrator who deleted it
    assert event.details["habilitations"] == 1
    assert event.details["delegations"] == 1
    assert audit(platform, ORPHANED, subject)[0].siret == siret
    # The tiers is told its delegation ended.
    platform.mail.wait_for(tiers.person.email, count=2)  # the invitation, then the notice
    assert "révoqué" in platform.mail.for_recipient(tiers.person.email)[-1].text

    # The projection does not pile up failures for an account that is gone.
    def settled() -> bool:
        with platform.context.work() as work:
            rows = list(
                work.session.scalars(select(OutboxEntry).where(OutboxEntry.subject == subject))
            )
            return bool(rows) and all(r.applied_at is not None for r in rows)

    eventually(settled, what="les lignes de la projection du compte supprimé")
    with platform.context.work() as work:
        assert not work.session.scalars(
            select(OutboxEntry).where(
                OutboxEntry.subject == subject, OutboxEntry.failed_at.is_not(None)
            )
        ).first()

    # The operator's list, with the way out: a new activation code, and a new gestionnaire.
    listed = command_output(platform, monkeypatch, capsys, "operateur", "sans-gestionnaire")
    assert f"{MAF} {siret} : sans gestionnaire" in listed
    assert f"python -m bridge operateur code {siret} --demarche {MAF} --reemettre" in listed
    with platform.context.work() as work:
        code = work.etablissements.issue_code(OPERATOR, siret, MAF)
    successor = new_caller(platform, callers, "Nouvelle", "Gestionnaire")
    taken = successor.post(f"/demarches/{MAF}/activation", json={"siret": siret, "code": code})
    assert taken.status_code == 201, taken.text
    with platform.context.work() as work:
        assert (MAF, siret) not in [(o.demarche, o.siret) for o in work.accounts.orphans()]


def test_a_deletion_whose_event_was_missed_is_found_by_the_reconcile(
    platform: Platform, callers: list[Caller], maf: httpx.Client
) -> None:
    gestionnaire, siret = gestionnaire_of_new_siret(platform, callers)
    subject = gestionnaire.person.id
    admin = platform.admin()
    projected(platform, subject)
    realm = admin.get_realm(platform.keycloak.realm)
    admin.update_realm(platform.keycloak.realm, {"adminEventsEnabled": False})
    try:
        admin.delete_user(subject)  # no admin event: the console round-trip never hears of it
    finally:
        admin.update_realm(
            platform.keycloak.realm, {"adminEventsEnabled": realm.get("adminEventsEnabled", True)}
        )
    assert allowed(maf, subject, "gestionnaire", siret)  # the store does not know yet

    report = reconcile(projector_of(platform), repair=True, work=platform.context.work)

    assert report.deleted >= 1
    assert deleted(platform, subject)
    assert not allowed(maf, subject, "gestionnaire", siret)
    [event] = audit(platform, DELETED, subject)
    assert event.actor == "rapprochement"
    # A second reconcile finds nothing more to end.
    again = reconcile(projector_of(platform), repair=True, work=platform.context.work)
    assert subject in again.unreachable
    assert len(audit(platform, DELETED, subject)) == 1


def test_a_disabled_account_is_refused_until_enabled_again(
    platform: Platform, callers: list[Caller], maf: httpx.Client
) -> None:
    gestionnaire, siret = gestionnaire_of_new_siret(platform, callers)
    subject = gestionnaire.person.id
    admin = platform.admin()

    admin.update_user(subject, {"enabled": False})
    eventually(lambda: not allowed(maf, subject, "gestionnaire", siret), what="droit suspendu")
    # Its access token still verifies for minutes: the bridge refuses it anyway.
    refused = gestionnaire.http.get("/moi/habilitations")
    assert refused.status_code == 403
    assert "désactivé" in refused.json()["detail"]
    explained = maf.get(
        f"/{MAF}/explication", params={"sujet": subject, "role": "gestionnaire", "siret": siret}
    ).json()
    assert explained["autorise"] is False
    assert "Compte désactivé" in explained["chaine"][0]["motif"]
    assert len(audit(platform, DISABLED, subject)) == 1

    admin.update_user(subject, {"enabled": True})
    eventually(lambda: allowed(maf, subject, "gestionnaire", siret), what="droit rendu")
    assert gestionnaire.http.get("/moi/habilitations").status_code == 200
    assert len(audit(platform, ENABLED, subject)) == 1


def test_too_many_accounts_absent_at_once_end_nothing(platform: Platform) -> None:
    """A wrong realm or a restored Keycloak looks like mass deletions: the reconcile holds."""
    projector = projector_of(platform)
    many = max(MAX_GONE, len(subjects_to_compare(projector)) // 9) + 5  # past 10 % with them
    ghosts = [str(uuid.uuid4()) for _ in range(many)]
    for ghost in ghosts:
        right_written_in_store(platform.context, ghost)

    try:
        report = reconcile(projector, repair=True, work=platform.context.work)
        assert report.deleted == 0
        assert report.deletions_held >= many
        assert any("rien n'est terminé" in line for line in report.lines())
        assert not any(deleted(platform, ghost) for ghost in ghosts)
    finally:  # the shared store keeps no person without an account holding a right
        with platform.context.work() as work:
            for ghost in ghosts:
                work.accounts.deleted(OPERATOR, ghost)


def test_a_person_deleted_longer_ago_than_the_retention_is_pseudonymised_and_the_audit_stays(
    platform: Platform,
    callers: list[Caller],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """#19, personal data: name, address and phones replaced; the audit untouched."""
    gestionnaire, siret = gestionnaire_of_new_siret(platform, callers)
    tiers, delegation_id = invite_and_accept(platform, callers, gestionnaire, siret)
    recent, _ = gestionnaire_of_new_siret(platform, callers)
    subject, email = gestionnaire.person.id, gestionnaire.person.email
    for caller in (gestionnaire, tiers, recent):
        projected(platform, caller.person.id)
    with platform.context.work() as work:
        for caller, days in ((gestionnaire, 91), (tiers, 91), (recent, 10)):
            work.accounts.deleted(OPERATOR, caller.person.id)
            stored = work.session.get(Person, caller.person.id)
            assert stored is not None
            stored.deleted_at = datetime.now(UTC) - timedelta(days=days)
    with platform.context.work() as work:
        trail_before = [
            (e.id, e.action, e.actor, e.target, e.details)
            for e in work.session.scalars(
                select(AuditEvent).where(AuditEvent.target == subject).order_by(AuditEvent.id)
            )
        ]

    printed = command_output(platform, monkeypatch, capsys, "operateur", "pseudonymiser")
    again = command_output(platform, monkeypatch, capsys, "operateur", "pseudonymiser")
    assert "Personnes pseudonymisées : 2 (comptes supprimés depuis plus de 90 jours)" in printed
    assert "Personnes pseudonymisées : 0" in again

    with platform.context.work() as work:
        kept = work.session.get(Person, subject)
        assert kept is not None
        assert (kept.first_name, kept.last_name, kept.civility, kept.phone) == (
            "Personne",
            "supprimée",
            None,
            None,
        )
        assert kept.email.startswith("personne-supprimee-")
        assert kept.email.endswith("@invalid")
        assert kept.pseudonymised_at is not None
        delegation = work.session.get(Delegation, delegation_id)
        assert delegation is not None
        assert delegation.invited_by_name == "Personne supprimée"
        assert delegation.tiers_email.startswith("personne-supprimee-")  # the tiers', also gone
        # The e-mails once queued to them (the tiers' invitation) name them no more.
        tiers_email = tiers.person.email
        assert not work.session.scalars(
            select(QueuedEmail).where(QueuedEmail.recipient == tiers_email)
        ).all()
        untouched = work.session.get(Person, recent.person.id)
        assert untouched is not None
        assert untouched.pseudonymised_at is None
        assert untouched.email == recent.person.email
        trail_after = [
            (e.id, e.action, e.actor, e.target, e.details)
            for e in work.session.scalars(
                select(AuditEvent)
                .where(AuditEvent.target == subject, AuditEvent.id <= trail_before[-1][0])
                .order_by(AuditEvent.id)
            )
        ]
        assert trail_after == trail_before  # not one audit row changed
        dump = " ".join(str(row) for row in trail_after)
        assert email not in dump
    assert len(audit(platform, PSEUDONYMISED, subject)) == 1
