"""Compare the whole store with Keycloak, report the drift, and repair it on demand.

The people compared: everyone the store has ever given a right to, and every member of the
bridge's role groups in Keycloak. The report lists each person's operations (the dry run)
and the outbox rows Keycloak refused; with `repair`, each drifted person is projected again
(under the same per-person claim as the worker). The figures of the last run are kept for
`/metrics`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import select
from tqdm import tqdm

from bridge.db import now
from bridge.habilitation.models import Habilitation
from bridge.keycloak_admin import KeycloakRejectedError
from bridge.outbox import OutboxEntry
from bridge.sync.models import SyncState
from bridge.sync.plan import Operation, describe, plan
from bridge.sync.worker import Projector

LAST_RECONCILE = "rapprochement"


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
    failed_rows: list[tuple[str, str, str]] = field(default_factory=list)

    def lines(self) -> Iterable[str]:
        """The report in French, one line per fact (the dry-run diff)."""
        yield f"Personnes comparées : {self.persons}"
        yield f"Écarts : {len(self.drifts)} personne(s)"
        for drift in self.drifts:
            for operation in drift.operations:
                yield f"  {drift.subject} : {describe(operation)}"
        if self.repaired:
            yield f"Réparées : {self.repaired}"
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
    projector: Projector, *, repair: bool = False, progress: bool = False
) -> ReconcileReport:
    report = ReconcileReport()
    subjects = sorted(subjects_to_compare(projector))
    for subject in tqdm(subjects, desc="Rapprochement", unit="pers.", disable=not progress):
        report.persons += 1
        with projector.sessions() as session:
            wanted = projector.wanted(session, subject)
        try:
            operations = plan(wanted, projector.seen(subject))
        except KeycloakRejectedError:
            report.unreachable.append(subject)
            continue
        if not operations:
            continue
        report.drifts.append(Drift(subject, operations))
        if repair and projector.claim(subject):
            try:
                with projector.sessions() as session:
                    projector.project(subject, projector.wanted(session, subject))
                report.repaired += 1
            finally:
                projector.release(subject)
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
