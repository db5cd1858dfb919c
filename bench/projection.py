"""Benchmark of the projection onto Keycloak: the product's workers vs a naive loop, and the delay.

    .venv/bin/python -m bench.projection [--tailles 10000,100000] [--workers 4]
                                         [--naif-max-secondes 300] [--flux-secondes 60]

Keycloak 26.7.3 on PostgreSQL 15 (a throw-away server), our realm and providers. For each
size N (habilitations, two per person, so N/2 people), two fresh realms get the same people
(partial import), and the same store holds the N habilitations:

1. the product: `--workers` processes `python -m bridge sync appliquer` drain the outbox
   (one pass per person: read, compare, write what differs);
2. naive: one sequential python-keycloak loop, per habilitation: read the user, append the
   value, write the user, add to the group. Stopped after `--naif-max-secondes` and then
   extrapolated (printed as such) so that a run stays within the hour.

Then the delay from a store change to its visibility in Keycloak (outbox row written →
applied), p50 / p95 / max, under a steady stream (`--flux-par-seconde` changes per second for
`--flux-secondes`) with two workers running. Figures are printed side by side, never asserted.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import select
from tqdm import tqdm

from bench.mapping_candidates import Admin
from bridge.bootstrap import session_factory
from bridge.catalog import load_catalog
from bridge.db import make_engine, migrate, now
from bridge.devstack.keycloak_dist import ensure_distribution
from bridge.devstack.keycloak_server import KeycloakConfig, KeycloakServer
from bridge.devstack.ports import free_port
from bridge.devstack.realm import render_realm
from bridge.devstack.stack import CACHE_DIR
from bridge.etablissement.models import Etablissement
from bridge.etablissement.siret import siren_of
from bridge.habilitation.models import GrantedHow, Habilitation
from bridge.keycloak_admin import KeycloakDirectory
from bridge.outbox import OutboxEntry
from bridge.person.models import Person
from bridge.settings import REPO_ROOT
from bridge.sync.worker import install_catalog
from tests.support.postgres import running_postgres
from tests.support.sirets import luhn_complete
from tests.support.stack import PROFESSIONAL_DETAILS

MAF = "mon-activite-formation"
CHUNK = 2000


@contextmanager
def keycloak(folder: Path) -> Iterator[str]:
    with running_postgres() as url:
        port = url.rsplit(":", 1)[1].split("/")[0]
        config = KeycloakConfig(
            home=ensure_distribution(CACHE_DIR),
            data_dir=folder / "keycloak",
            http_port=free_port(),
            management_port=free_port(),
            ready_timeout=600,
            database=(
                "--db=postgres",
                f"--db-url=jdbc:postgresql://127.0.0.1:{port}/postgres",
                "--db-username=postgres",
                "--db-password=postgres",
            ),
        )
        with KeycloakServer(config):
            yield config.base_url


def new_realm(admin: Admin, name: str, people: int) -> dict[str, str]:
    """A realm of ours with `people` people; username → id."""
    admin.call("POST", "", json=render_realm({}, name=name))
    users = [
        {
            "username": f"p{index}",
            "email": f"p{index}@mesure.test",
            "firstName": "Prénom",
            "lastName": f"Nom{index}",
            "enabled": True,
            "emailVerified": True,
            "attributes": PROFESSIONAL_DETAILS,
        }
        for index in range(people)
    ]
    for offset in tqdm(range(0, people, CHUNK), desc=f"{name} : personnes", unit="lot"):
        admin.call(
            "POST",
            f"/{name}/partialImport",
            json={"ifResourceExists": "FAIL", "users": users[offset : offset + CHUNK]},
        )
    ids: dict[str, str] = {}
    first = 0
    while True:
        page = admin.call(
            "GET",
            f"/{name}/users",
            params={"first": first, "max": 1000, "briefRepresentation": "true"},
        ).json()
        ids.update({u["username"]: u["id"] for u in page})
        if len(page) < 1000:
            return ids
        first += 1000


def store(folder: Path, name: str, ids: dict[str, str], per_person: int = 2) -> str:
    """A store whose people are the realm's, each with `per_person` habilitations."""
    url = f"sqlite:///{folder / f'{name}.db'}"
    migrate(url)
    sessions = session_factory(make_engine(url))
    sirets = [luhn_complete(f"{2_000_000_000_000 + i:013d}") for i in range(len(ids) * per_person)]
    with sessions() as session:
        session.add_all(Etablissement(siret=s, siren=siren_of(s), name="ÉTAB") for s in sirets)
        session.add_all(
            Person(subject=i, email=f"{u}@mesure.test", first_name="P", last_name=u)
            for u, i in ids.items()
        )
        session.flush()
        for index, subject in enumerate(ids.values()):
            session.add_all(
                Habilitation(
                    subject=subject,
                    demarche=MAF,
                    role="declarant",
                    siret=sirets[index * per_person + k],
                    granted_how=GrantedHow.OPERATOR,
                )
                for k in range(per_person)
            )
        session.commit()
    return url


def workers(
    base: str, realm: str, database_url: str, count: int, forever: bool = False
) -> list[subprocess.Popen[bytes]]:
    env = {
        "PATH": "/usr/bin:/bin",
        "BRIDGE_DATABASE_URL": database_url,
        "BRIDGE_KEYCLOAK_URL": base,
        "BRIDGE_KEYCLOAK_REALM": realm,
        "BRIDGE_SYNC_INTERVAL_SECONDS": "0.1",
        "BRIDGE_LOG_LEVEL": "WARNING",
    }
    command = [
        sys.executable,
        "-m",
        "bridge",
        "sync",
        "appliquer",
        *(["--continu"] if forever else []),
    ]
    return [
        subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=subprocess.DEVNULL)  # noqa: S603
        for _ in range(count)
    ]


def product(base: str, realm: str, database_url: str, count: int) -> float:
    start = time.perf_counter()
    running = workers(base, realm, database_url, count)
    for process in running:
        process.wait()
    return time.perf_counter() - start


def deploy_catalog(base: str, realm: str) -> None:
    """The deploy step on a bench realm, with the master administrator (admin/admin)."""
    deployer = KeycloakDirectory.with_admin_password(base, realm, "admin", "admin")
    install_catalog(deployer, load_catalog(), 20)


def naive(
    admin: Admin, realm: str, database_url: str, ids_by_subject: dict[str, str], budget: float
) -> tuple[float, int, int]:
    """Seconds spent, habilitations done, habilitations in all (the loop stops at `budget`)."""
    sessions = session_factory(make_engine(database_url))
    with sessions() as session:
        rows = list(
            session.execute(
                select(
                    Habilitation.subject,
                    Habilitation.demarche,
                    Habilitation.role,
                    Habilitation.siret,
                )
            )
        )
    # The same clients, roles and groups as the product's (the deploy step, not timed).
    deploy_catalog(admin.base, realm)
    group = admin.call("GET", f"/{realm}/group-by-path/demarches/{MAF}/declarant").json()["id"]
    start = time.perf_counter()
    done = 0
    for subject, demarche, role, siret in tqdm(rows, desc="boucle naïve", unit="hab."):
        user_id = ids_by_subject[subject]
        user: dict[str, Any] = admin.call("GET", f"/{realm}/users/{user_id}").json()
        attributes = user.setdefault("attributes", {})
        attributes.setdefault("habilitation", []).append(f"{demarche}:{role}:{siret}")
        admin.call("PUT", f"/{realm}/users/{user_id}", json=user)
        admin.call("PUT", f"/{realm}/users/{user_id}/groups/{group}")
        done += 1
        if time.perf_counter() - start > budget:
            break
    return time.perf_counter() - start, done, len(rows)


def delays(base: str, realm: str, database_url: str, per_second: int, seconds: int) -> list[float]:
    """Change → visible delays under a steady stream (two workers running)."""
    sessions = session_factory(make_engine(database_url))
    with sessions() as session:
        subjects = list(session.scalars(select(Person.subject).limit(per_second * seconds)))
        sirets = list(session.scalars(select(Etablissement.siret).limit(50)))
        first_new = (
            session.scalar(select(OutboxEntry.id).order_by(OutboxEntry.id.desc()).limit(1)) or 0
        ) + 1
    running = workers(base, realm, database_url, 2, forever=True)
    try:
        for second in tqdm(range(seconds), desc="flux de changements", unit="s"):
            tick = time.perf_counter()
            with sessions() as session:
                for k in range(per_second):
                    subject = subjects[(second * per_second + k) % len(subjects)]
                    session.add(
                        Habilitation(
                            subject=subject,
                            demarche="mes-collectes-formation",
                            role="declarant",
                            siret=sirets[k % len(sirets)],
                            granted_how=GrantedHow.OPERATOR,
                        )
                    )
                    session.commit()
            time.sleep(max(0.0, 1.0 - (time.perf_counter() - tick)))
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            with sessions() as session:
                left = session.scalar(
                    select(OutboxEntry.id)
                    .where(OutboxEntry.id >= first_new, OutboxEntry.applied_at.is_(None))
                    .limit(1)
                )
            if left is None:
                break
            time.sleep(0.5)
    finally:
        for process in running:
            process.terminate()
            process.wait()
    with sessions() as session:
        rows = session.execute(
            select(OutboxEntry.created_at, OutboxEntry.applied_at).where(
                OutboxEntry.id >= first_new
            )
        ).all()
    return [(applied - created).total_seconds() for created, applied in rows if applied is not None]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tailles", default="10000,100000")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--naif-max-secondes", type=float, default=300)
    parser.add_argument("--flux-par-seconde", type=int, default=20)
    parser.add_argument("--flux-secondes", type=int, default=60)
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.tailles.split(",")]
    lines: list[str] = []
    with (
        tempfile.TemporaryDirectory(prefix="bench-projection-") as tmp,
        keycloak(Path(tmp)) as base,
    ):
        folder = Path(tmp)
        admin = Admin(base)
        for number, size in enumerate(sizes):
            # Two rights per person at 10k; more per person above, as employers' staff and
            # tiers hold several (and so that importing the people stays within minutes).
            per_person = max(2, size // 20_000)
            people = size // per_person
            product_ids = new_realm(admin, f"produit-{size}", people)
            naive_ids = new_realm(admin, f"naif-{size}", people)
            database_url = store(folder, f"store-{size}", product_ids, per_person)
            deploy_catalog(base, f"produit-{size}")  # as `python -m bridge keycloak catalogue`
            seconds = product(base, f"produit-{size}", database_url, args.workers)
            line = (
                f"{size} habilitations ({people} personnes) : produit ({args.workers} workers) "
                f"{seconds:.0f} s ({size / seconds:.0f} hab./s)"
            )
            by_subject = {product_ids[u]: naive_ids[u] for u in product_ids}
            spent, done, total = naive(
                admin, f"naif-{size}", database_url, by_subject, args.naif_max_secondes
            )
            rate = done / spent
            if done == total:
                line += f" | naïf séquentiel {spent:.0f} s ({rate:.0f} hab./s)"
            else:
                line += (
                    f" | naïf séquentiel {total / rate:.0f} s extrapolé ({done} faites en "
                    f"{spent:.0f} s, {rate:.0f} hab./s)"
                )
            line += f" | rapport {total / rate / seconds:.1f}×"
            print(line, flush=True)
            lines.append(line)
            if number == 0:  # the delay, on the first size's realm, before the larger loads
                measured = delays(
                    base, f"produit-{size}", database_url, args.flux_par_seconde, args.flux_secondes
                )
                line = (
                    f"Délai changement → visible dans Keycloak, flux de {args.flux_par_seconde}/s "
                    f"pendant {args.flux_secondes} s, 2 workers : p50 "
                    f"{statistics.median(measured) * 1000:.0f} ms, p95 "
                    f"{percentile(measured, 0.95) * 1000:.0f} ms, max {max(measured) * 1000:.0f} ms "
                    f"({len(measured)} changements)"
                )
                print(line, flush=True)
                lines.append(line)
    print(
        "\nRésultats (Keycloak 26.7.3 sur PostgreSQL 15, cette machine, "
        + now().date().isoformat()
        + ") :"
    )
    for line in lines:
        print(" ", line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
