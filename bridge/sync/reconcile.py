"""Compare the whole store with Keycloak, report the drift, and repair it on demand.

The people compared: everyone the store has ever given a right to, and every member of the
bridge's role groups in Keycloak. The report lists each person's operations (the dry run)
and the outbox rows Keycloak refused; with `repair`, each drifted person is projected again
(under the same per-person claim as the worker). The figures of the last run are kept for
`/metrics`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import select
from tqdm import tqdm

from bridge.audit.service import Actor
from bridge.db import now
from bridge.habilitation.models import Habilitation
from bridge.keycloak_admin import KeycloakRejectedError
from bridge.outbox import OutboxEntry
from bridge.sync.console import Work, follow_deletions
from bridge.sync.models import SyncState
from bridge.sync.plan import Operation, describe, plan
from bridge.sync.worker import Projector

log = logging.getLogger(__name__)

LAST_RECONCILE = "rapprochement"
MAX_GONE = 20  # accounts absent at once beyond which the reconcile ends nothing (and 10 %)
RECONCILE_ACTOR = Actor("rapprochement", "Rapprochement avec Keycloak")


@dataclass
class Drift:
    subject: str
    operations: list[Operation]


@dataclass
class ReconcileReport:
    persons: int = 0
    drifts: list[Drift] = field(default_factory=list)
    repaired: int = 0
    unreachable: list[str] = field(default_factory=list)
    deleted: int = 0  # people gone from Keycloak whose rights the store then ended
    deletions_held: int = 0  # too many gone at once: nothing ended, an operator looks
    failed_rows: list[tuple[str, str, str]] = field(default_factory=list)
    # People whose repair Keycloak refused (a role without its group…): the others go on.
    refused: list[tuple[str, str]] = field(default_factory=list)

    def lines(self) -> Iterable[str]:
        """The report in French, one line per fact (the dry-run diff)."""
        yield f"Personnes comparées : {self.persons}"
        yield f"Écarts : {len(self.drifts)} personne(s)"
        for drift in self.drifts:
            for operation in drift.operations:
                yield f"  {drift.subject} : {describe(operation)}"
        if self.repaired:
            yield f"Réparées : {self.repaired}"
        if self.refused:
            yield f"Réparations refusées par Keycloak : {len(self.refused)}"
            for subject, reason in self.refused[:50]:
                yield f"  {subject} : {reason}"
        if self.deleted:
            yield f"Comptes supprimés dans Keycloak, droits terminés : {self.deleted}"
        if self.deletions_held:
            yield (
                f"{self.deletions_held} comptes absents de Keycloak d'un coup : rien n'est "
                "terminé (mauvais realm ? Keycloak restauré ?) ; vérifiez avant d'agir."
            )
        for subject in self.unreachable:
            yield f"  {subject} : compte absent de Keycloak"
        if self.failed_rows:
            yield f"Opérations refusées par Keycloak : {len(self.failed_rows)}"
            for subject, change, error in self.failed_rows[:50]:
                yield f"  {subject} ({change}) : {error}"


def subjects_to_compare(projector: Projector) -> set[str]:
    with projector.sessions() as session:
        subjects = set(session.scalars(select(Habilitation.subject).distinct()))
    for group_id in projector.groups.values():
        subjects.update(projector.directory.members(group_id))
    return subjects


def reconcile(
    projector: Projector,
    *,
    repair: bool = False,
    progress: bool = False,
    work: Work | None = None,
) -> ReconcileReport:
    """Compare (and with `repair`, fix); with `work` too, a person whose account is gone
    from Keycloak (a deletion whose event was missed) has their rights ended in the store."""
    report = ReconcileReport()
    gone: list[str] = []
    subjects = sorted(subjects_to_compare(projector))
    for subject in tqdm(subjects, desc="Rapprochement", unit="pers.", disable=not progress):
        report.persons += 1
        with projector.sessions() as session:
            wanted = projector.wanted(session, subject)
        try:
            operations = plan(wanted, projector.seen(subject))
        except KeycloakRejectedError as exc:
            report.unreachable.append(subject)
            if exc.status == 404:
                gone.append(subject)
            continue
        if not operations:
            continue
        report.drifts.append(Drift(subject, operations))
        if repair and projector.claim(subject):
            try:
                with projector.sessions() as session:
                    projector.project(subject, projector.wanted(session, subject))
                report.repaired += 1
            except KeycloakRejectedError as exc:  # one person's refusal stops nobody else's
                report.refused.append((subject, str(exc)))
            finally:
                projector.release(subject)
    if repair and work is not None and gone:
        with work() as services:  # only those the store still gives a right to
            gone = sorted(services.accounts.gone_with_rights(set(gone)))
    if repair and work is not None and gone:
        if len(gone) > max(MAX_GONE, report.persons // 10):
            # So many accounts at once is more likely a wrong realm or a restored Keycloak
            # than deletions: nothing is ended, an operator looks (the console's events
            # still end the rights of people really deleted).
            report.deletions_held = len(gone)
            log.error(
                "rapprochement-suppressions-suspendues",
                extra={"absents": len(gone), "personnes": report.persons},
            )
        else:
            report.deleted = follow_deletions(work, gone, RECONCILE_ACTOR)
    with projector.sessions() as session:
        report.failed_rows = [
            (row.subject, row.change, row.error or "")
            for row in session.scalars(
                select(OutboxEntry)
                .where(OutboxEntry.failed_at.is_not(None))
                .order_by(OutboxEntry.id.desc())
                .limit(200)
            )
        ]
        value = json.dumps(
            {
                "at": now().isoformat(),
                "persons": report.persons,
                "drift": len(report.drifts),
                "repaired": report.repaired,
            }
        )
        state = session.get(SyncState, LAST_RECONCILE)
        if state is None:
            session.add(SyncState(name=LAST_RECONCILE, value=value))
        else:
            state.value = value
        session.commit()
    return report
