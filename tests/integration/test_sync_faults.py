"""Faults during the projection: Keycloak killed, a worker killed, while 2,000 changes flow.

A Keycloak of this module's own (the local distribution, its H2 file kept across the
restart) and a store of its own; the workers are real processes
(`python -m bridge sync appliquer --continu`), killed with SIGKILL. After each fault the
projection converges: every outbox row applied exactly once, none failed, no drift found by
the reconcile, no value twice on a person.
"""

from __future__ import annotations

import os
import random
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from keycloak import KeycloakAdmin, KeycloakOpenIDConnection
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from bridge.bootstrap import session_factory
from bridge.catalog import load_catalog
from bridge.db import make_engine, migrate, now
from bridge.devstack.keycloak_dist import ensure_distribution
from bridge.devstack.keycloak_server import KeycloakConfig, KeycloakServer
from bridge.devstack.ports import free_port
from bridge.devstack.realm import REALM_NAME
from bridge.devstack.stack import CACHE_DIR
from bridge.etablissement.models import Etablissement
from bridge.etablissement.siret import siren_of
from bridge.habilitation.models import GrantedHow, Habilitation
from bridge.keycloak_admin import KeycloakDirectory
from bridge.outbox import OutboxEntry
from bridge.person.models import Person
from bridge.settings import REPO_ROOT
from bridge.sync.reconcile import reconcile
from bridge.sync.worker import Projector, install_catalog
from tests.support.postgres import running_postgres
from tests.support.sirets import new_siret
from tests.support.stack import PROFESSIONAL_DETAILS

PEOPLE = 500
GRANTS_PER_PERSON = 3  # 1,500 grants, then 500 revocations: 2,000 changes
DEMARCHES = ("mon-activite-formation", "mes-collectes-formation", "mon-suivi-controle")


@dataclass
class Faulty:
    server: KeycloakServer
    config: KeycloakConfig
    database_url: str
    folder: Path

    def admin(self) -> KeycloakAdmin:
        return KeycloakAdmin(
            connection=KeycloakOpenIDConnection(
                server_url=self.config.base_url,
                username=self.config.admin_user,
                password=self.config.admin_password,
                realm_name=REALM_NAME,
                user_realm_name="master",
                client_id="admin-cli",
            )
        )

    def projector(self) -> Projector:
        directory = KeycloakDirectory.with_service_account(
            self.config.base_url, REALM_NAME, "bridge", "dev-bridge-secret-a-changer"
        )
        sessions = store(self.database_url)
        return Projector(sessions, directory, load_catalog(), "test")

    def worker(self, name: str) -> subprocess.Popen[bytes]:
        env = {
            **os.environ,
            "BRIDGE_DATABASE_URL": self.database_url,
            "BRIDGE_KEYCLOAK_URL": self.config.base_url,
            "BRIDGE_KEYCLOAK_REALM": REALM_NAME,
            "BRIDGE_SYNC_INTERVAL_SECONDS": "0.2",
            "BRIDGE_SYNC_CLAIM_LEASE_SECONDS": "3",
            "BRIDGE_LOG_LEVEL": "WARNING",
        }
        with (self.folder / f"{name}.log").open("ab") as log:
            return subprocess.Popen(
                [sys.executable, "-m", "bridge", "sync", "appliquer", "--continu"],
                cwd=REPO_ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )


_STORES: dict[str, tuple[Engine, sessionmaker[Session]]] = {}


def store(database_url: str) -> sessionmaker[Session]:
    """One engine per store of this module (polls, threads and projectors share it),
    disposed when the module's Keycloak stops."""
    if database_url not in _STORES:
        engine = make_engine(database_url)
        _STORES[database_url] = (engine, session_factory(engine))
    return _STORES[database_url][1]


@pytest.fixture(scope="module")
def faulty(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Faulty]:
    folder = tmp_path_factory.mktemp("pannes")
    # On PostgreSQL, as in production: H2's file database may lose the last acknowledged
    # writes when its process is killed, which would test H2 rather than the projection.
    with running_postgres() as url:
        port = url.rsplit(":", 1)[1].split("/")[0]
        config = KeycloakConfig(
            home=ensure_distribution(CACHE_DIR),
            data_dir=folder / "keycloak",
            http_port=free_port(),
            management_port=free_port(),
            admin_password=secrets.token_urlsafe(16),
            database=(
                "--db=postgres",
                f"--db-url=jdbc:postgresql://127.0.0.1:{port}/postgres",
                "--db-username=postgres",
                "--db-password=postgres",
            ),
        )
        server = KeycloakServer(config)
        server.start()
        try:
            install_catalog(  # the deploy step: the workers' service account only reads it
                KeycloakDirectory.with_admin_password(
                    config.base_url, REALM_NAME, config.admin_user, config.admin_password
                ),
                load_catalog(),
                20,
            )
            yield Faulty(server, config, "", folder)
        finally:
            server.stop()
            for engine, _ in _STORES.values():
                engine.dispose()
            _STORES.clear()


def population(faulty: Faulty, name: str) -> tuple[str, list[str], list[str]]:
    """A fresh store with PEOPLE persons (accounts created in Keycloak) and establishments."""
    database_url = f"sqlite:///{faulty.folder / f'{name}.db'}"
    migrate(database_url)
    admin = faulty.admin()
    subjects = [
        admin.create_user(
            {
                "username": f"{name}-{index}",
                "email": f"{name}-{index}@exemple.fr",
                "firstName": "Personne",
                "lastName": f"N{index}",
                "enabled": True,
                "emailVerified": True,
                "attributes": PROFESSIONAL_DETAILS,
            }
        )
        for index in range(PEOPLE)
    ]
    sirets = [new_siret() for _ in range(GRANTS_PER_PERSON * 4)]
    sessions = store(database_url)
    with sessions() as session:
        session.add_all(Etablissement(siret=s, siren=siren_of(s), name="ÉTAB") for s in sirets)
        session.add_all(
            Person(subject=s, email=f"{s}@exemple.fr", first_name="P", last_name="N")
            for s in subjects
        )
        session.commit()
    return database_url, subjects, sirets


def write_changes(database_url: str, subjects: list[str], sirets: list[str]) -> threading.Thread:
    """2,000 changes in transactions of 50, as a steady stream (a thread)."""

    def run() -> None:
        rng = random.Random(7)  # noqa: S311 - test data
        sessions = store(database_url)
        granted: list[int] = []
        pairs = [(s, d, siret) for s in subjects for d, siret in _rights(rng, sirets)]
        for offset in range(0, len(pairs), 50):
            with sessions() as session:
                batch = [
                    Habilitation(
                        subject=s,
                        demarche=d,
                        role="declarant",
                        siret=siret,
                        granted_how=GrantedHow.OPERATOR,
                    )
                    for s, d, siret in pairs[offset : offset + 50]
                ]
                session.add_all(batch)
                session.commit()
                granted.extend(h.id for h in batch)
            time.sleep(0.05)
        to_revoke = granted[::GRANTS_PER_PERSON]  # one right per person
        for offset in range(0, len(to_revoke), 50):
            with sessions() as session:
                for habilitation_id in to_revoke[offset : offset + 50]:
                    habilitation = session.get(Habilitation, habilitation_id)
                    assert habilitation is not None
                    habilitation.revoked_at = now()
                session.commit()
            time.sleep(0.05)

    thread = threading.Thread(target=run, name="changements")
    thread.start()
    return thread


def _rights(rng: random.Random, sirets: list[str]) -> list[tuple[str, str]]:
    chosen = rng.sample(sirets, GRANTS_PER_PERSON)
    return [(DEMARCHES[i % len(DEMARCHES)], siret) for i, siret in enumerate(chosen)]


def counts(database_url: str) -> tuple[int, int, int, int]:
    """(rows, applied, failed, retried) of the outbox."""
    sessions = store(database_url)
    with sessions() as session:
        total = session.scalar(select(func.count()).select_from(OutboxEntry)) or 0
        applied = session.scalar(
            select(func.count()).select_from(OutboxEntry).where(OutboxEntry.applied_at.is_not(None))
        )
        failed = session.scalar(
            select(func.count()).select_from(OutboxEntry).where(OutboxEntry.failed_at.is_not(None))
        )
        retried = session.scalar(
            select(func.count())
            .select_from(OutboxEntry)
            .where(OutboxEntry.error.like("Keycloak injoignable%"))
        )
        return total, applied or 0, failed or 0, retried or 0


def applied_by(database_url: str, worker: subprocess.Popen[bytes]) -> int:
    """Rows applied by that worker process (its id holds its pid)."""
    sessions = store(database_url)
    with sessions() as session:
        return (
            session.scalar(
                select(func.count())
                .select_from(OutboxEntry)
                .where(OutboxEntry.applied_by.like(f"%:{worker.pid}:%"))
            )
            or 0
        )


def wait_for(check: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(f"pas atteint en {timeout:.0f} s : {what}")
        time.sleep(0.5)


def assert_converged(faulty: Faulty, database_url: str, subjects: list[str]) -> None:
    sessions = store(database_url)
    with sessions() as session:
        applied_counts = set(session.scalars(select(OutboxEntry.applied_count).distinct()))
        total = session.scalar(select(func.count()).select_from(OutboxEntry))
    assert total == PEOPLE * GRANTS_PER_PERSON + PEOPLE  # nothing lost: one row per change
    assert applied_counts == {1}  # every row applied, none twice
    assert counts(database_url)[2] == 0  # none failed
    faulty.database_url = database_url
    projector = faulty.projector()
    projector.load_catalog()
    report = reconcile(projector)  # the realm also holds the other test's people: keep ours
    ours = set(subjects)
    assert report.persons >= PEOPLE
    assert [d for d in report.drifts if d.subject in ours] == []
    assert report.unreachable == []
    admin = faulty.admin()
    for subject in random.Random(3).sample(subjects, 25):  # noqa: S311
        values = admin.get_user(subject)["attributes"].get("habilitation", [])
        assert len(values) == len(set(values)) == GRANTS_PER_PERSON - 1


def stop(*workers: subprocess.Popen[bytes]) -> None:
    for worker in workers:
        if worker.poll() is None:
            worker.send_signal(signal.SIGTERM)
            try:
                worker.wait(timeout=10)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait()


def test_keycloak_killed_during_two_thousand_changes_then_restarted_converges(
    faulty: Faulty,
) -> None:
    database_url, subjects, sirets = population(faulty, "kc")
    faulty.database_url = database_url
    worker = faulty.worker("kc-worker")
    try:
        writer = write_changes(database_url, subjects, sirets)
        wait_for(lambda: counts(database_url)[1] >= 300, 180, "300 changements appliqués")
        started = time.monotonic()
        faulty.server.kill()
        applied_at_kill = counts(database_url)[1]
        wait_for(
            lambda: counts(database_url)[3] > 0, 60, "le worker constate l'absence de Keycloak"
        )
        waiting = counts(database_url)[3]
        writer.join(timeout=120)
        faulty.server.start()
        wait_for(
            lambda: (c := counts(database_url))[0] == c[1] == 2000,
            300,
            "convergence après redémarrage",
        )
        total, applied, failed, _ = counts(database_url)
        print(
            f"Keycloak tué après {applied_at_kill} changements appliqués ; {waiting} en attente "
            f"de Keycloak ; convergence {time.monotonic() - started:.0f} s après l'arrêt ; "
            f"{applied}/{total} appliqués, {failed} refusés"
        )
    finally:
        stop(worker)
    assert_converged(faulty, database_url, subjects)


def test_a_worker_killed_during_two_thousand_changes_loses_nothing_and_applies_nothing_twice(
    faulty: Faulty,
) -> None:
    database_url, subjects, sirets = population(faulty, "worker")
    faulty.database_url = database_url
    first, second = faulty.worker("worker-1"), faulty.worker("worker-2")
    third = None
    try:
        writer = write_changes(database_url, subjects, sirets)
        wait_for(lambda: counts(database_url)[1] >= 300, 180, "300 changements appliqués")
        # Kill a worker that is really at work: both have applied rows by then.
        wait_for(
            lambda: applied_by(database_url, first) >= 50 and applied_by(database_url, second),
            120,
            f"les deux workers appliquent (journal : {faulty.folder / 'worker-1.log'})",
        )
        assert first.poll() is None, (faulty.folder / "worker-1.log").read_text()
        first.kill()  # SIGKILL: its claims stay until their lease ends
        first.wait()
        applied_at_kill = counts(database_url)[1]
        writer.join(timeout=120)
        third = faulty.worker("worker-3")
        wait_for(lambda: (c := counts(database_url))[0] == c[1] == 2000, 300, "convergence")
        sessions = store(database_url)
        with sessions() as session:
            by_worker = dict(
                session.execute(
                    select(OutboxEntry.applied_by, func.count()).group_by(OutboxEntry.applied_by)
                ).all()
            )
        print(
            f"Worker tué après {applied_at_kill} changements appliqués ; répartition : {by_worker}"
        )
        assert len(by_worker) >= 2  # the work was shared, then taken over
    finally:
        stop(*(w for w in (first, second, third) if w is not None))
    assert_converged(faulty, database_url, subjects)
