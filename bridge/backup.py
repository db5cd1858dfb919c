"""Backup and restore of both databases, the bridge's store and Keycloak's, as one set.

A backup folder holds one file per database and a manifest (`manifeste.json`: when, the
bridge's version, the store's Alembic revision, Keycloak's schema version, each file's
SHA-256). The honest method for each engine: PostgreSQL with `pg_dump --format=custom` (a
consistent snapshot of a live database) and `pg_restore --clean --single-transaction` (the
whole database or nothing); a SQLite store with SQLite's online backup API. Keycloak must
run on PostgreSQL: the H2 file of the local platform is a development database.

The store is dumped first, Keycloak second. The store is the source of truth and Keycloak
its projection plus the accounts: what changes between the two dumps is either an account
Keycloak has and the store does not know yet (harmless: the store copies people at their
next login), or a right Keycloak shows and the store does not (or the reverse), which the
reconcile repairs from the store. Taken while nobody writes, the two match exactly.

Restore checks everything before it writes anything: the manifest, every file and its
checksum, the Alembic revision this code expects, the database engines, and that nobody
(Keycloak, a bridge replica) is connected to a PostgreSQL database about to be replaced.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, make_url, text
from sqlalchemy.engine import URL
from sqlalchemy.exc import SQLAlchemyError

from bridge.db import current_revision, head_revision
from bridge.errors import SetupError

MANIFEST = "manifeste.json"
FORMAT = 1
STORE_SQLITE = "pont.sqlite"
STORE_DUMP = "pont.dump"
KEYCLOAK_DUMP = "keycloak.dump"
POSTGRES_BIN = Path("/usr/lib/postgresql/15/bin")


class BackupError(SetupError):
    """A backup or a restore that cannot be done as asked: the French sentence says why."""


@dataclass(frozen=True)
class Timing:
    """What one backup or restore did, for the operator and the bench."""

    folder: Path
    manifest: dict[str, Any]
    store_seconds: float
    keycloak_seconds: float


# --- the databases' addresses ----------------------------------------------------------------


def _postgres(url: str, what: str) -> URL:
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql":
        raise BackupError(
            f"La base {what} doit être une base PostgreSQL (postgresql://…) : "
            f"« {parsed.render_as_string(hide_password=True)} » n'en est pas une."
        )
    return parsed


def _libpq(url: URL) -> tuple[str, dict[str, str]]:
    """The address pg_dump and pg_restore read, and the environment that carries the password
    (never on the command line, where `ps` would show it)."""
    plain = url.set(drivername="postgresql", password=None)
    env = {**os.environ}
    if url.password is not None:
        env["PGPASSWORD"] = str(url.password)
    return plain.render_as_string(hide_password=False), env


def _sqlite_path(url: str) -> Path | None:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return None
    if not parsed.database or parsed.database == ":memory:":
        raise BackupError("La base du pont est une base SQLite en mémoire : rien à sauvegarder.")
    return Path(parsed.database)


def _tool(name: str) -> str:
    found = shutil.which(name) or (
        str(POSTGRES_BIN / name) if (POSTGRES_BIN / name).is_file() else None
    )
    if found is None:
        raise BackupError(
            f"L'outil {name} de PostgreSQL est introuvable : installez le paquet "
            "postgresql-client-15 (ou postgresql-15), de la même version que le serveur."
        )
    return found


def _run(command: list[str], env: dict[str, str], what: str) -> None:
    # The PostgreSQL tools, found by _tool, with arguments this module builds.
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    if result.returncode != 0:
        reason = (result.stderr or result.stdout).strip().splitlines()
        raise BackupError(f"{what} a échoué : {reason[-1] if reason else result.returncode}.")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _keycloak_schema_version(url: URL) -> str | None:
    """The Keycloak version that last migrated this database (its `migration_model` table)."""
    engine = create_engine(url.set(drivername="postgresql+psycopg"))
    try:
        with engine.connect() as connection:
            exists = connection.execute(text("SELECT to_regclass('migration_model')")).scalar()
            if exists is None:
                return None
            found = connection.execute(
                text("SELECT version FROM migration_model ORDER BY update_time DESC LIMIT 1")
            ).scalar()
            return str(found) if found is not None else None
    except SQLAlchemyError as exc:
        raise BackupError(
            f"La base de Keycloak ne répond pas ({exc.__class__.__name__}) : vérifiez "
            "BRIDGE_KEYCLOAK_DATABASE_URL."
        ) from exc
    finally:
        engine.dispose()


def _others_connected(url: URL) -> int:
    """How many other sessions use this database (Keycloak, a replica, a console)."""
    engine = create_engine(url.set(drivername="postgresql+psycopg"))
    try:
        with engine.connect() as connection:
            return int(
                connection.execute(
                    text(
                        "SELECT count(*) FROM pg_stat_activity "
                        "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                    )
                ).scalar_one()
            )
    except SQLAlchemyError as exc:
        raise BackupError(
            f"La base {url.database} ne répond pas ({exc.__class__.__name__}) : vérifiez son "
            "adresse et que le serveur PostgreSQL tourne."
        ) from exc
    finally:
        engine.dispose()


def _bridge_version() -> str:
    try:
        return version("demarches-bridge")
    except PackageNotFoundError:
        return "inconnue"


# --- backup ----------------------------------------------------------------------------------


def back_up(store_url: str, keycloak_url: str | None, folder: Path) -> Timing:
    """Dump the store, then Keycloak's database, into `folder` (new or empty) with a manifest."""
    if not keycloak_url:
        raise BackupError(
            "Indiquez la base de Keycloak : BRIDGE_KEYCLOAK_DATABASE_URL=postgresql://… "
            "(la plateforme locale « make run » garde Keycloak dans un fichier H2 de "
            "développement, que cette commande ne sauvegarde pas)."
        )
    keycloak = _postgres(keycloak_url, "de Keycloak")
    if folder.exists() and any(folder.iterdir()):
        raise BackupError(
            f"Le dossier {folder} n'est pas vide : choisissez un nouveau dossier pour chaque "
            "sauvegarde (aucune sauvegarde n'est jamais écrasée)."
        )
    sqlite_path = _sqlite_path(store_url)
    if sqlite_path is not None and not sqlite_path.is_file():
        raise BackupError(
            f"La base du pont {sqlite_path} n'existe pas : vérifiez BRIDGE_DATABASE_URL."
        )
    store_engine = create_engine(store_url)
    try:
        revision = current_revision(store_engine)
    finally:
        store_engine.dispose()
    if revision is None:
        raise BackupError("La base du pont est vide (aucune migration) : rien à sauvegarder.")
    folder.mkdir(parents=True, exist_ok=True)
    try:
        return _write_backup(store_url, keycloak, folder, revision)
    except BaseException:
        for path in folder.iterdir():  # no half backup left to be mistaken for one
            path.unlink()
        raise


def _write_backup(store_url: str, keycloak: URL, folder: Path, revision: str) -> Timing:
    started = time.monotonic()
    sqlite_path = _sqlite_path(store_url)
    if sqlite_path is not None:
        store_file = folder / STORE_SQLITE
        source = sqlite3.connect(sqlite_path)
        target = sqlite3.connect(store_file)
        try:
            source.backup(target)  # a consistent copy, even while the bridge writes
        finally:
            target.close()
            source.close()
        store_engine_name = "sqlite"
    else:
        store_file = folder / STORE_DUMP
        address, env = _libpq(_postgres(store_url, "du pont"))
        _run(
            [_tool("pg_dump"), "--format=custom", "--no-owner", "--no-privileges",
             f"--file={store_file}", address],
            env,
            "La sauvegarde de la base du pont (pg_dump)",
        )  # fmt: skip
        store_engine_name = "postgresql"
    store_seconds = time.monotonic() - started

    started = time.monotonic()
    keycloak_file = folder / KEYCLOAK_DUMP
    address, env = _libpq(keycloak)
    _run(
        [_tool("pg_dump"), "--format=custom", "--no-owner", "--no-privileges",
         f"--file={keycloak_file}", address],
        env,
        "La sauvegarde de la base de Keycloak (pg_dump)",
    )  # fmt: skip
    keycloak_seconds = time.monotonic() - started

    manifest: dict[str, Any] = {
        "format": FORMAT,
        "faite_le": datetime.now(UTC).isoformat(timespec="seconds"),
        "version_pont": _bridge_version(),
        "revision_alembic": revision,
        "pont": {
            "moteur": store_engine_name,
            "fichier": store_file.name,
            "octets": store_file.stat().st_size,
            "sha256": _sha256(store_file),
        },
        "keycloak": {
            "moteur": "postgresql",
            "version": _keycloak_schema_version(keycloak),
            "fichier": keycloak_file.name,
            "octets": keycloak_file.stat().st_size,
            "sha256": _sha256(keycloak_file),
        },
    }
    (folder / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n")
    return Timing(folder, manifest, store_seconds, keycloak_seconds)


# --- restore ---------------------------------------------------------------------------------


def read_manifest(folder: Path) -> dict[str, Any]:
    """The manifest of a backup, every file present with its checksum, or a French refusal."""
    path = folder / MANIFEST
    if not path.is_file():
        raise BackupError(
            f"Le dossier {folder} ne contient pas de {MANIFEST} : ce n'est pas une sauvegarde."
        )
    try:
        manifest: dict[str, Any] = json.loads(path.read_text())
        parts = [manifest["pont"], manifest["keycloak"]]
        if not isinstance(manifest["revision_alembic"], str):
            raise TypeError("revision_alembic")
    except (ValueError, KeyError, TypeError) as exc:
        raise BackupError(f"Le manifeste {path} est illisible ou incomplet.") from exc
    if manifest.get("format") != FORMAT:
        raise BackupError(
            f"Le manifeste {path} est au format {manifest.get('format')} ; cette version du "
            f"pont lit le format {FORMAT}."
        )
    for part in parts:
        file = folder / str(part["fichier"])
        if not file.is_file():
            raise BackupError(f"La sauvegarde est incomplète : le fichier {file} manque.")
        if _sha256(file) != part["sha256"]:
            raise BackupError(
                f"Le fichier {file} ne correspond pas au manifeste (empreinte SHA-256 "
                "différente) : il a été modifié ou abîmé depuis la sauvegarde ; ne le "
                "restaurez pas."
            )
    return manifest


def restore(store_url: str, keycloak_url: str | None, folder: Path) -> Timing:
    """Replace both databases by the backup in `folder`, once every check has passed.

    Keycloak and the bridge must be stopped: a restored database under a running Keycloak
    would be hidden by its caches, and a replica would keep writing the old state.
    """
    manifest = read_manifest(folder)
    expected = head_revision()
    if manifest["revision_alembic"] != expected:
        raise BackupError(
            f"La sauvegarde est à la révision {manifest['revision_alembic']} de la base du pont "
            f"et ce pont attend la révision {expected} : restaurez-la avec la version du pont "
            f"qui l'a faite ({manifest.get('version_pont')}), puis mettez le pont à jour "
            "(« python -m bridge db upgrade »)."
        )
    if not keycloak_url:
        raise BackupError(
            "Indiquez la base de Keycloak à restaurer : BRIDGE_KEYCLOAK_DATABASE_URL=postgresql://…"
        )
    keycloak = _postgres(keycloak_url, "de Keycloak")
    store = manifest["pont"]
    sqlite_path = _sqlite_path(store_url)
    if (sqlite_path is not None) != (store["moteur"] == "sqlite"):
        raise BackupError(
            f"La sauvegarde de la base du pont est une base {store['moteur']}, la base à "
            f"restaurer ne l'est pas ({make_url(store_url).get_backend_name()}) : restaurez "
            "sur le même moteur."
        )
    if sqlite_path is None and (others := _others_connected(_postgres(store_url, "du pont"))):
        raise BackupError(
            f"{others} connexion(s) sont ouvertes sur la base du pont : arrêtez le pont "
            "(portail, workers) avant la restauration."
        )
    if others := _others_connected(keycloak):
        raise BackupError(
            f"{others} connexion(s) sont ouvertes sur la base de Keycloak : arrêtez Keycloak "
            "avant la restauration (ses caches cacheraient la base restaurée)."
        )
    live_version = _keycloak_schema_version(keycloak)
    saved_version = manifest["keycloak"].get("version")
    if live_version is not None and saved_version is not None and live_version != saved_version:
        raise BackupError(
            f"La sauvegarde vient de Keycloak {saved_version} et la base actuelle a été "
            f"migrée par Keycloak {live_version} : restaurez dans une base vide (Keycloak "
            "migrera la sauvegarde à son démarrage), jamais par-dessus une autre version."
        )
    pg_restore = _tool("pg_restore")

    started = time.monotonic()
    if sqlite_path is not None:
        source = sqlite3.connect(folder / store["fichier"])
        target = sqlite3.connect(sqlite_path)
        try:
            source.backup(target)  # page by page into the store, under its write lock
        finally:
            target.close()
            source.close()
    else:
        address, env = _libpq(_postgres(store_url, "du pont"))
        _run(
            [pg_restore, "--clean", "--if-exists", "--no-owner", "--no-privileges",
             "--single-transaction", "--exit-on-error", f"--dbname={address}",
             str(folder / store["fichier"])],
            env,
            "La restauration de la base du pont (pg_restore)",
        )  # fmt: skip
    store_seconds = time.monotonic() - started

    started = time.monotonic()
    address, env = _libpq(keycloak)
    _run(
        [pg_restore, "--clean", "--if-exists", "--no-owner", "--no-privileges",
         "--single-transaction", "--exit-on-error", f"--dbname={address}",
         str(folder / manifest["keycloak"]["fichier"])],
        env,
        "La restauration de la base de Keycloak (pg_restore)",
    )  # fmt: skip
    keycloak_seconds = time.monotonic() - started
    return Timing(folder, manifest, store_seconds, keycloak_seconds)
