"""The effectful half of the projection: apply a person's rights to Keycloak, from the outbox.

A worker takes the oldest people with pending rows, claims each person (one worker at a
time per person, a lease that a crashed worker lets expire), reads the person's current
rights from the store and what Keycloak shows, applies the plan, then marks exactly the
rows it read as applied. Keycloak away (network, 5xx): the rows wait with a growing delay
and the batch stops. Keycloak refusing (4xx): those rows are marked failed with the reason
and the queue goes on.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, delete, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, sessionmaker

from bridge.catalog import Catalog
from bridge.db import now
from bridge.errors import SetupError
from bridge.habilitation.models import Habilitation
from bridge.keycloak_admin import (
    GROUP_ROOT,
    HABILITATION_ATTRIBUTE,
    KeycloakDirectory,
    KeycloakRejectedError,
    KeycloakRetriableError,
)
from bridge.outbox import OutboxEntry
from bridge.sync.models import PersonClaim
from bridge.sync.plan import Join, Leave, Operation, Projection, Right, SetValues, desired, plan

log = logging.getLogger(__name__)


class CatalogNotInstalledError(SetupError):
    """The realm lacks a démarche's groups: the deploy step has not run since it was added."""


LEASE = timedelta(seconds=120)
MAX_DELAY_SECONDS = 30
MAX_CONFLICTS = 5  # Keycloak 409s in a row for one person before its rows are failed


def install_catalog(
    deployer: KeycloakDirectory, catalog: Catalog, token_habilitations_max: int
) -> dict[tuple[str, str], str]:
    """Clients, client roles (composites from `implies`), role groups and the token scope,
    from the catalog: a deploy step, run with `deployer`'s rights (`python -m bridge keycloak
    catalogue`). The always-on bridge may not create clients (docs/security.md).

    Deploys racing on the same creations get some answered with a 400 rather than a 409: a
    second pass then finds everything there.
    """
    for attempt in range(3):
        try:
            return _install_catalog(deployer, catalog, token_habilitations_max)
        except KeycloakRejectedError:
            if attempt == 2:
                raise
            time.sleep(0.5 + random.random())  # noqa: S311
    raise AssertionError("unreachable")


def _install_catalog(
    deployer: KeycloakDirectory, catalog: Catalog, token_habilitations_max: int
) -> dict[tuple[str, str], str]:
    groups: dict[tuple[str, str], str] = {}
    clients = []
    for demarche in catalog.demarches:
        client_uuid = deployer.ensure_client_roles(
            demarche.id,
            demarche.title,
            [(r.id, r.label, list(r.implies)) for r in demarche.roles],
        )
        clients.append(client_uuid)
        for role in demarche.roles:
            groups[(demarche.id, role.id)] = deployer.ensure_role_group(
                client_uuid, demarche.id, role.id
            )
    deployer.ensure_habilitations_scope(clients, token_habilitations_max)
    return groups


@dataclass
class RunResult:
    """What one pass of the worker did."""

    persons: int = 0
    applied_rows: int = 0
    failed_rows: int = 0
    retried_rows: int = 0
    keycloak_away: bool = False
    operations: list[Operation] = field(default_factory=list)


def pending(query_moment: datetime) -> list[ColumnElement[bool]]:
    """Rows neither applied nor failed, whose retry delay has passed."""
    return [
        OutboxEntry.applied_at.is_(None),
        OutboxEntry.failed_at.is_(None),
        OutboxEntry.not_before <= query_moment,
    ]


class Projector:
    """Projects people's rights onto Keycloak through the adapter."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        directory: KeycloakDirectory,
        catalog: Catalog,
        worker_id: str,
        token_habilitations_max: int = 20,
        lease: timedelta = LEASE,
    ) -> None:
        self.lease = lease
        self.sessions = sessions
        self.token_habilitations_max = token_habilitations_max
        self.directory = directory
        self.catalog = catalog
        self.worker_id = worker_id
        self._groups: dict[tuple[str, str], str] = {}

    # --- the catalog's clients, roles and groups ----------------------------------------

    def install_catalog(self, deployer: KeycloakDirectory) -> dict[tuple[str, str], str]:
        """`install_catalog` (below) with this projector's catalog; its groups then known."""
        self._groups = install_catalog(deployer, self.catalog, self.token_habilitations_max)
        return self._groups

    def load_catalog(self) -> dict[tuple[str, str], str]:
        """The catalog's role groups, read (never created) with the bridge's own rights; a
        démarche or role the deploy step has not installed stops here with the way out."""
        found = self.directory.role_groups()
        missing = [
            f"/{GROUP_ROOT}/{d.id}/{r.id}"
            for d in self.catalog.demarches
            for r in d.roles
            if (d.id, r.id) not in found
        ]
        if missing:
            raise CatalogNotInstalledError(
                "Le catalogue n'est pas installé dans Keycloak (manque "
                f"{', '.join(missing[:3])}{'…' if len(missing) > 3 else ''}) : lancez "
                "« python -m bridge keycloak catalogue » avec le compte de déploiement."
            )
        self._groups = {key: found[key] for key in found if self.catalog.demarche(key[0])}
        return self._groups

    @property
    def ready(self) -> bool:
        """The catalog's groups are known (read once per process)."""
        return bool(self._groups)

    @property
    def groups(self) -> dict[tuple[str, str], str]:
        if not self._groups:
            self.load_catalog()
        return self._groups

    # --- one person ------------------------------------------------------------------

    def wanted(self, session: Session, subject: str) -> Projection:
        rows = session.scalars(
            select(Habilitation).where(
                Habilitation.subject == subject, Habilitation.revoked_at.is_(None)
            )
        )
        return desired(rows, now())

    def seen(self, subject: str) -> Projection:
        return self._observe(subject)[0]

    def _observe(self, subject: str) -> tuple[Projection, dict[str, Any]]:
        """What Keycloak shows for the person, and the user representation it was read from."""
        user = self.directory.person(subject)
        values = (user.get("attributes") or {}).get(HABILITATION_ATTRIBUTE, [])
        by_id = {group_id: key for key, group_id in self.groups.items()}
        member_of = self.directory.group_ids_of(subject)
        seen = Projection(frozenset(values), frozenset(by_id[g] for g in member_of if g in by_id))
        return seen, user

    def apply(
        self, subject: str, operations: Sequence[Operation], user: dict[str, Any] | None = None
    ) -> None:
        for operation in operations:
            match operation:
                case SetValues(values):
                    self.directory.set_habilitation_values(subject, list(values), user)
                case Join(demarche, role):
                    self.directory.join(subject, self._group(demarche, role))
                case Leave(demarche, role):
                    self.directory.leave(subject, self._group(demarche, role))

    def _group(self, demarche: str, role: str) -> str:
        group = self.groups.get((demarche, role))
        if group is None:
            raise KeycloakRejectedError(
                f"aucun groupe /demarches/{demarche}/{role} : rôle absent du catalogue"
            )
        return group

    def project(self, subject: str, wanted: Projection) -> list[Operation]:
        """Make Keycloak show `wanted` for the person; the operations it took."""
        seen, user = self._observe(subject)
        operations = plan(wanted, seen)
        self.apply(subject, operations, user)
        return operations

    def _exists(self, subject: str) -> bool:
        """Whether Keycloak still has the account (a 404 may come from a group instead)."""
        try:
            self.directory.person(subject)
        except KeycloakRejectedError as exc:
            if exc.status == 404:
                return False
            raise
        return True

    # --- claims -------------------------------------------------------------------------

    def claim(self, subject: str) -> bool:
        """Take the person for this worker; False when another live worker has it."""
        return subject in self.claim_many([subject])

    def release(self, subject: str) -> None:
        with self.sessions() as session:
            self._release(session, subject)
            session.commit()

    def _release(self, session: Session, subject: str) -> None:
        session.execute(
            delete(PersonClaim).where(
                PersonClaim.subject == subject, PersonClaim.worker == self.worker_id
            )
        )

    # --- the outbox -----------------------------------------------------------------------

    def claim_many(self, subjects: list[str]) -> list[str]:
        """Claim several people in one transaction; those now held by this worker."""
        if not subjects:
            return []
        until = now() + self.lease
        with self.sessions() as session:
            insert = (
                pg_insert(PersonClaim)
                if session.get_bind().dialect.name == "postgresql"
                else sqlite_insert(PersonClaim)
            )
            session.execute(
                insert.values(
                    [{"subject": s, "worker": self.worker_id, "until": until} for s in subjects]
                ).on_conflict_do_nothing()
            )
            session.execute(  # claims left by a worker that died take over
                update(PersonClaim)
                .where(PersonClaim.subject.in_(subjects), PersonClaim.until < now())
                .values(worker=self.worker_id, until=until)
            )
            session.commit()
            return list(
                session.scalars(
                    select(PersonClaim.subject).where(
                        PersonClaim.subject.in_(subjects), PersonClaim.worker == self.worker_id
                    )
                )
            )

    def run_once(self, limit: int = 50) -> RunResult:
        """Apply the oldest pending people (at most `limit`); stop early if Keycloak is away.

        Store work is batched (one claim, one read, one closing transaction per pass), so
        the store is not the bottleneck; Keycloak calls go one person after the other.
        """
        result = RunResult()
        with self.sessions() as session:
            moment = now()
            # People another live worker holds are skipped, so that several workers share
            # the queue instead of all asking for the same oldest ones.
            held_elsewhere = (
                select(PersonClaim.subject)
                .where(
                    PersonClaim.subject == OutboxEntry.subject,
                    PersonClaim.worker != self.worker_id,
                    PersonClaim.until >= moment,
                )
                .exists()
            )
            candidates = list(
                session.execute(
                    select(OutboxEntry.subject)
                    .where(*pending(moment), ~held_elsewhere)
                    .group_by(OutboxEntry.subject)
                    .order_by(func.min(OutboxEntry.id))
                    .limit(limit)
                ).scalars()
            )
        claimed = self.claim_many(candidates)
        if not claimed:
            return result
        with self.sessions() as session:
            rows: dict[str, list[tuple[int, int]]] = {s: [] for s in claimed}
            for row in session.execute(
                select(OutboxEntry.subject, OutboxEntry.id, OutboxEntry.attempts).where(
                    OutboxEntry.subject.in_(claimed), *pending(now())
                )
            ):
                rows[row.subject].append((row.id, row.attempts))
            held = session.scalars(
                select(Habilitation).where(
                    Habilitation.subject.in_(claimed), Habilitation.revoked_at.is_(None)
                )
            ).all()
            moment = now()
            wanted = {s: desired([h for h in held if h.subject == s], moment) for s in claimed}
        applied: list[int] = []
        gone: list[int] = []  # rows of people deleted from Keycloak: nothing left to project
        failed: dict[str, list[int]] = {}
        retry: list[tuple[int, int]] = []
        conflicted: list[int] = []  # Keycloak's 409: another write of the person meanwhile
        away_reason = ""
        for index, subject in enumerate(claimed):
            ids = [row_id for row_id, _ in rows[subject]]
            result.persons += 1
            try:
                result.operations.extend(self.project(subject, wanted[subject]))
                applied.extend(ids)
            except KeycloakRetriableError as exc:
                away_reason = str(exc)
                retry = [r for s in claimed[index:] for r in rows[s]]
                result.keycloak_away = True
                log.warning("projection-reportee", extra={"sujet": subject, "raison": away_reason})
                break
            except KeycloakRejectedError as exc:
                tries = max((a for _, a in rows[subject]), default=0)
                if exc.status == 409 and tries < MAX_CONFLICTS:  # a concurrent write (a worker
                    conflicted.extend(ids)  # killed mid-call, the console): again shortly
                    log.warning("projection-conflit", extra={"sujet": subject, "raison": str(exc)})
                    continue
                if exc.status == 404 and not self._exists(subject):
                    gone.extend(ids)  # the store follows the deletion (bridge/accounts/)
                    log.info("projection-sans-compte", extra={"sujet": subject})
                    continue
                failed.setdefault(str(exc), []).extend(ids)
                log.error("projection-refusee", extra={"sujet": subject, "raison": str(exc)})
        with self.sessions() as session:
            if applied:
                session.execute(
                    update(OutboxEntry)
                    .where(OutboxEntry.id.in_(applied), OutboxEntry.applied_at.is_(None))
                    .values(
                        applied_at=now(),
                        applied_count=OutboxEntry.applied_count + 1,
                        applied_by=self.worker_id,
                        attempts=OutboxEntry.attempts + 1,
                        error=None,
                    )
                )
            if gone:
                session.execute(
                    update(OutboxEntry)
                    .where(OutboxEntry.id.in_(gone), OutboxEntry.applied_at.is_(None))
                    .values(
                        applied_at=now(),
                        applied_by=self.worker_id,
                        attempts=OutboxEntry.attempts + 1,
                        error="compte absent de Keycloak : rien à projeter",
                    )
                )
            for reason, ids in failed.items():
                session.execute(
                    update(OutboxEntry)
                    .where(OutboxEntry.id.in_(ids))
                    .values(
                        attempts=OutboxEntry.attempts + 1,
                        failed_at=now(),
                        error=f"Keycloak refuse : {reason}"[:2000],
                    )
                )
            if conflicted:
                session.execute(
                    update(OutboxEntry)
                    .where(OutboxEntry.id.in_(conflicted))
                    .values(
                        attempts=OutboxEntry.attempts + 1,
                        not_before=now() + timedelta(seconds=1 + random.random()),  # noqa: S311
                        error="Keycloak : écriture concurrente (409), nouvel essai",
                    )
                )
            if retry:
                attempts = max(a for _, a in retry) + 1
                delay = min(2**attempts, MAX_DELAY_SECONDS) * (0.5 + random.random() / 2)  # noqa: S311
                session.execute(
                    update(OutboxEntry)
                    .where(OutboxEntry.id.in_([r for r, _ in retry]))
                    .values(
                        attempts=OutboxEntry.attempts + 1,
                        not_before=now() + timedelta(seconds=delay),
                        error=f"Keycloak injoignable : {away_reason}"[:2000],
                    )
                )
            session.execute(
                delete(PersonClaim).where(
                    PersonClaim.subject.in_(claimed), PersonClaim.worker == self.worker_id
                )
            )
            session.commit()
        result.applied_rows += len(applied)
        result.failed_rows += sum(len(ids) for ids in failed.values())
        result.retried_rows += len(retry)
        return result

    def drain(self, deadline_seconds: float = 60.0) -> RunResult:
        """Run until nothing is pending or due (tests, the CLI); sums what was done."""
        total = RunResult()
        stop = time.monotonic() + deadline_seconds
        while time.monotonic() < stop:
            step = self.run_once()
            total.persons += step.persons
            total.applied_rows += step.applied_rows
            total.failed_rows += step.failed_rows
            total.retried_rows += step.retried_rows
            total.operations.extend(step.operations)
            if step.persons == 0 and not self.has_due_rows():
                return total
            if step.keycloak_away or step.persons == 0:
                time.sleep(0.5)
        return total

    def has_due_rows(self) -> bool:
        with self.sessions() as session:
            return (
                session.scalar(select(OutboxEntry.id).where(*pending(now())).limit(1)) is not None
            )


def parse_values(values: Sequence[str]) -> list[Right]:
    return [right for value in values if (right := Right.parse(value)) is not None]
