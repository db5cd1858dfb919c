"""Benchmark of backup and restore (RTO): both databases at the benches' sizes.

    .venv/bin/python -m bench.backup [--habilitations 1000000] [--etablissements 100000]
                                     [--comptes 20000]

The bridge's store is loaded as `bench.habilitations` loads it (établissements, people,
habilitations; 1,000,000 habilitations and 250,000 people by default) twice, in a SQLite file
and in a PostgreSQL 15 database; Keycloak 26.7.3 runs on the same PostgreSQL server with our
realm and providers and `--comptes` accounts imported at its start (each with its
professional attributes and one habilitation value, no password: hashing passwords at import
is Keycloak's time, not the backup's). Then, with `python -m bridge exploitation`'s own
functions: a backup with Keycloak running, Keycloak stopped, a restore; the seconds of each
database are printed side by side with the files' sizes. Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

from bench.habilitations import load_plan, make_plan, siret_of
from bridge.backup import Timing, back_up, restore
from bridge.db import make_engine, migrate
from bridge.devstack.keycloak_server import REALM_EXPORT_DIR
from bridge.models import import_models
from tests.support.keycloak import keycloak_on_postgres
from tests.support.postgres import running_postgres
from tests.support.stack import PROFESSIONAL_DETAILS

MAF = "mon-activite-formation"
CHUNK = 2000


def say(message: str = "") -> None:
    print(message, flush=True)


def realm_with_accounts(folder: Path, accounts: int) -> Path:
    """Our realm export and `accounts` people as import files (Keycloak's own import)."""
    folder.mkdir(parents=True, exist_ok=True)
    for realm_file in REALM_EXPORT_DIR.glob("*.json"):
        (folder / realm_file.name).write_bytes(realm_file.read_bytes())
    for number, offset in enumerate(range(0, accounts, CHUNK)):
        users: list[dict[str, Any]] = [
            {
                "username": f"personne{index}@mesure.test",
                "email": f"personne{index}@mesure.test",
                "firstName": "Prénom",
                "lastName": f"Nom{index}",
                "enabled": True,
                "emailVerified": True,
                "attributes": {
                    **PROFESSIONAL_DETAILS,
                    "habilitation": [f"{MAF}:gestionnaire:{siret_of(index)}"],
                },
            }
            for index in range(offset, min(offset + CHUNK, accounts))
        ]
        (folder / f"demarches-users-{number}.json").write_text(
            json.dumps({"realm": "demarches", "users": users})
        )
    return folder


def database(server: str, name: str) -> str:
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return server.rsplit("/", 1)[0] + f"/{name}"


def store(url: str, args: argparse.Namespace) -> None:
    migrate(url)
    engine = make_engine(url)
    try:
        plan = make_plan(args.etablissements, args.habilitations, 0, args.seed)
        load_plan(engine, plan, random.Random(args.seed + 1), 10_000)
        if engine.dialect.name == "sqlite":
            with engine.connect() as connection:
                connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        engine.dispose()


def count_accounts(url: str) -> int:
    """The accounts Keycloak's database holds (every realm's users: the import is checked)."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return int(connection.execute(text("SELECT count(*) FROM user_entity")).scalar_one())
    finally:
        engine.dispose()


def megabytes(timing: Timing, part: str) -> str:
    return f"{timing.manifest[part]['octets'] / 1e6:.1f} Mo"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.backup",
        description="Mesure la sauvegarde et la restauration des deux bases (RTO).",
    )
    parser.add_argument("--etablissements", type=int, default=100_000)
    parser.add_argument("--habilitations", type=int, default=1_000_000)
    parser.add_argument("--comptes", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=20_261_122)
    args = parser.parse_args(argv)
    import_models()
    started = time.monotonic()
    with (
        tempfile.TemporaryDirectory(prefix="bench-sauvegarde-") as work,
        running_postgres() as server,
    ):
        folder = Path(work)
        keycloak_url = database(server, "keycloak")
        stores = {
            "SQLite": f"sqlite:///{folder / 'pont.db'}",
            "PostgreSQL": database(server, "pont"),
        }
        for label, url in stores.items():
            say(f"Base du pont {label} : chargement de {args.habilitations} habilitations…")
            store(url, args)
        keycloak = keycloak_on_postgres(folder, keycloak_url)
        keycloak.config.realm_dir = realm_with_accounts(folder / "royaume", args.comptes)
        say(f"Keycloak : démarrage et import de {args.comptes} comptes…")
        backups: dict[str, Timing] = {}
        restores: dict[str, Timing] = {}
        with keycloak:
            for label, url in stores.items():
                backups[label] = back_up(url, keycloak_url, folder / f"sauvegarde-{label}")
        accounts = count_accounts(keycloak_url)
        for label, url in stores.items():  # Keycloak stopped, as a restore requires
            restores[label] = restore(url, keycloak_url, folder / f"sauvegarde-{label}")

    say()
    say(
        f"Sauvegarde et restauration ({args.habilitations} habilitations, "
        f"{args.etablissements} établissements ; Keycloak 26.7.3 sur PostgreSQL 15 avec "
        f"{args.comptes} comptes ; {time.monotonic() - started:.0f} s en tout) :"
    )
    say(f"Comptes dans la base de Keycloak (tous royaumes) : {accounts}")
    say("| base | fichier | sauvegarde | restauration |")
    say("|---|---|---|---|")
    for label in stores:
        made, back = backups[label], restores[label]
        say(
            f"| pont, {label} | {megabytes(made, 'pont')} | {made.store_seconds:.1f} s "
            f"| {back.store_seconds:.1f} s |"
        )
    made, back = backups["PostgreSQL"], restores["PostgreSQL"]
    say(
        f"| Keycloak, PostgreSQL ({args.comptes} comptes) | {megabytes(made, 'keycloak')} "
        f"| {made.keycloak_seconds:.1f} s | {back.keycloak_seconds:.1f} s |"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
