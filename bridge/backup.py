"""Backup and restore of both databases, the bridge's store and Keycloak's, as one set.

A backup folder holds one file per database and a manifest (`manifeste.json`: when, the
bridge's version, the store's Alembic revision, Keycloak's schema version, each file's
SHA-256). The honest method for each engine: PostgreSQL with `pg_dump --format=custom` (a
consistent snapshot of a live database) and `pg_restore --clean --single-transaction` (the
whole database or nothing); a SQLite store with SQLite's online backup API. Keycloak must
run on PostgreSQL: the H2 file of the local platform is a development database.

The folder and its files are readable by their owner only (0700, 0600): Keycloak's dump holds
the realm's private keys, the clients' secrets and the password hashes, the store personal
data and the e-mails not sent yet. Passwords reach the PostgreSQL tools through a temporary
password file (0600), never their command line nor their environment.

The store is dumped first, Keycloak second. The store is the source of truth and Keycloak
its projection plus the accounts: what changes between the two dumps is either an account
Keycloak has and the store does not know yet (harmless: the store copies people at their
next login), or a right Keycloak shows and the store does not (or the reverse), which the
reconcile repairs from the store. Taken while nobody writes, the two match exactly.

Restore checks everything before it writes anything: the manifest, every file and its
checksum, the Alembic revision this code expects, the database engines, that each target is
reachable, is a database of its kind (or empty), is not the other one, that the role may
replace it, that pg_restore reads each archive, and that nobody (Keycloak, a bridge replica)
is connected to a PostgreSQL database about to be replaced. That last check is not a lock:
a process connecting between the check and the restore is not stopped (the operator stops
Keycloak and the bridge first; `ALLOW_CONNECTIONS false` would also shut pg_restore out).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sqlalchemy import Connection, create_engine, inspect, make_url, text
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
STORE_MARKER = "alembic_version"
KEYCLOAK_MARKER = "migration_model"

# The libpq settings a URL's query may carry, and the environment variable that gives each
# to the PostgreSQL tools (so that nothing of the URL but the database name is on argv).
LIBPQ_QUERY = {
    "sslmode": "PGSSLMODE",
    "sslrootcert": "PGSSLROOTCERT",
    "sslcert": "PGSSLCERT",
    "sslkey": "PGSSLKEY",
    "sslcrl": "PGSSLCRL",
    "connect_timeout": "PGCONNECT_TIMEOUT",
    "application_name": "PGAPPNAME",
    "target_session_attrs": "PGTARGETSESSIONATTRS",
    "host": "PGHOST",
    "port": "PGPORT",
}
# What the tools keep of this process's environment: where programs and ~/.postgresql are,
# the language.
INHERITED = ("PATH", "HOME", "LANG", "LC_ALL", "LC_MESSAGES", "TZ")


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
    unknown = sorted(set(parsed.query) - set(LIBPQ_QUERY))
    if unknown:
        raise BackupError(
            f"L'adresse de la base {what} porte des paramètres que les outils de PostgreSQL ne "
            f"reçoivent pas ({', '.join(unknown)}) : retirez-les (seuls "
            f"{', '.join(sorted(LIBPQ_QUERY))} sont transmis)."
        )
    return parsed


def _shown(url: str | URL) -> str:
    """An address as the operator may read it: the password hidden."""
    return make_url(url).render_as_string(hide_password=True)


def _passfile_field(value: str) -> str:
    return value.replace("\\", "\\\\").replace(":", "\\:")


@contextlib.contextmanager
def _libpq(url: URL) -> Iterator[dict[str, str]]:
    """The environment pg_dump and pg_restore get: the address in PG* variables, the password
    in a temporary 0600 password file removed afterwards (never on the command line, where
    `ps` shows it, nor in the environment, which /proc shows), nothing else of ours."""
    env = {name: os.environ[name] for name in INHERITED if name in os.environ}
    env.setdefault("PATH", os.defpath)
    if url.host:
        env["PGHOST"] = url.host
    if url.port:
        env["PGPORT"] = str(url.port)
    if url.username:
        env["PGUSER"] = url.username
    if url.database:
        env["PGDATABASE"] = url.database
    for key, value in url.query.items():
        env[LIBPQ_QUERY[key]] = value if isinstance(value, str) else value[-1]
    handle, name = tempfile.mkstemp(prefix="pgpass-")  # created 0600
    try:
        password = "" if url.password is None else str(url.password)
        os.write(handle, f"*:*:*:*:{_passfile_field(password)}\n".encode())
        os.close(handle)
        env["PGPASSFILE"] = name
        yield env
    finally:
        Path(name).unlink(missing_ok=True)


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


def _run(command: list[str], url: URL, what: str) -> None:
    with _libpq(url) as env:
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


@contextlib.contextmanager
def _connected(url: URL, what: str) -> Iterator[Connection]:
    engine = create_engine(url.set(drivername="postgresql+psycopg"))
    try:
        with engine.connect() as connection:
            yield connection
    except SQLAlchemyError as exc:
        raise BackupError(
            f"La base {what} ({_shown(url)}) ne répond pas ({exc.__class__.__name__}) : "
            "vérifiez son adresse et que le serveur PostgreSQL tourne."
        ) from exc
    finally:
        engine.dispose()


def _keycloak_schema_version(connection: Connection) -> str | None:
    """The Keycloak version that last migrated this database (its `migration_model` table)."""
    if connection.execute(text("SELECT to_regclass('migration_model')")).scalar() is None:
        return None
    found = connection.execute(
        text("SELECT version FROM migration_model ORDER BY update_time DESC LIMIT 1")
    ).scalar()
    return str(found) if found is not None else None


def _others_connected(connection: Connection) -> int:
    """How many other clients use this database (Keycloak, a replica, a console), the
    server's own background workers (autovacuum…) not counted."""
    return int(
        connection.execute(
            text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
            )
        ).scalar_one()
    )


def _foreign_objects(connection: Connection) -> int:
    """How many tables, views and sequences this role could not drop (`--clean`) because
    neither it nor a role it belongs to owns them (0 for a superuser)."""
    return int(
        connection.execute(
            text(
                "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') "
                "AND n.nspname NOT LIKE 'pg_toast%' AND c.relkind IN ('r','p','v','m','S','f') "
                "AND NOT pg_has_role(current_user, c.relowner, 'USAGE')"
            )
        ).scalar_one()
    )


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
    if sqlite_path is None:
        _postgres(store_url, "du pont")
    store_engine = create_engine(store_url)
    try:
        revision = current_revision(store_engine)
    finally:
        store_engine.dispose()
    if revision is None:
        raise BackupError("La base du pont est vide (aucune migration) : rien à sauvegarder.")
    with _connected(keycloak, "de Keycloak") as connection:
        keycloak_version = _keycloak_schema_version(connection)
    if keycloak_version is None:
        raise BackupError(
            f"La base « {_shown(keycloak)} » n'est pas celle de Keycloak (pas de table "
            f"{KEYCLOAK_MARKER}) : vérifiez BRIDGE_KEYCLOAK_DATABASE_URL."
        )
    created = not folder.exists()
    old_umask = os.umask(0o077)  # every file and folder below readable by its owner only
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        folder.chmod(0o700)
        return _write_backup(store_url, keycloak, folder, revision, keycloak_version)
    except BaseException:
        if folder.is_dir():  # no half backup left to be mistaken for one
            for path in folder.iterdir():
                path.unlink()
            if created:
                folder.rmdir()
        raise
    finally:
        os.umask(old_umask)


def _write_backup(
    store_url: str, keycloak: URL, folder: Path, revision: str, keycloak_version: str
) -> Timing:
    started = time.monotonic()
    sqlite_path = _sqlite_path(store_url)
    if sqlite_path is not None:
        store_file = folder / STORE_SQLITE
        source = sqlite3.connect(sqlite_path)
        target = sqlite3.connect(store_file)
        try:
            source.backup(target)  # a consistent copy, even while the bridge writes
            # The copy inherits the store's WAL mode, which would write -wal/-shm beside it
            # in the backup folder whenever it is opened: one self-contained file instead.
            target.execute("PRAGMA journal_mode=DELETE")
        finally:
            target.close()
            source.close()
        store_engine_name = "sqlite"
    else:
        store_file = folder / STORE_DUMP
        _run(
            [_tool("pg_dump"), "--format=custom", "--no-owner", "--no-privileges",
             f"--file={store_file}"],
            _postgres(store_url, "du pont"),
            "La sauvegarde de la base du pont (pg_dump)",
        )  # fmt: skip
        store_engine_name = "postgresql"
    store_seconds = time.monotonic() - started

    started = time.monotonic()
    keycloak_file = folder / KEYCLOAK_DUMP
    _run(
        [_tool("pg_dump"), "--format=custom", "--no-owner", "--no-privileges",
         f"--file={keycloak_file}"],
        keycloak,
        "La sauvegarde de la base de Keycloak (pg_dump)",
    )  # fmt: skip
    keycloak_seconds = time.monotonic() - started

    for path in (store_file, keycloak_file):
        path.chmod(0o600)
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
            "version": keycloak_version,
            "fichier": keycloak_file.name,
            "octets": keycloak_file.stat().st_size,
            "sha256": _sha256(keycloak_file),
        },
    }
    manifest_path = folder / MANIFEST
    manifest_path.write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n")
    manifest_path.chmod(0o600)
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
    allowed = [
        {STORE_SQLITE: "sqlite", STORE_DUMP: "postgresql"},
        {KEYCLOAK_DUMP: "postgresql"},
    ]
    for part, names in zip(parts, allowed, strict=True):
        name = part.get("fichier")
        if name not in names or part.get("moteur") != names[name]:
            raise BackupError(
                f"Le manifeste {path} nomme un fichier inattendu ({name!r} pour "
                f"{part.get('moteur')!r}) : une sauvegarde ne contient que "
                f"{', '.join([STORE_SQLITE, STORE_DUMP, KEYCLOAK_DUMP])}."
            )
        file = folder / name
        if not file.is_file():
            raise BackupError(f"La sauvegarde est incomplète : le fichier {file} manque.")
        if _sha256(file) != part["sha256"]:
            raise BackupError(
                f"Le fichier {file} ne correspond pas au manifeste (empreinte SHA-256 "
                "différente) : il a été modifié ou abîmé depuis la sauvegarde ; ne le "
                "restaurez pas."
            )
    return manifest


def _sqlite_readonly(path: Path) -> sqlite3.Connection:
    """A backup's SQLite file opened without writing anything beside it (no -wal, -shm)."""
    return sqlite3.connect(f"file:{quote(str(path.resolve()))}?immutable=1", uri=True)


def _sqlite_tables(path: Path) -> set[str]:
    connection = sqlite3.connect(f"file:{quote(str(path.resolve()))}?mode=ro", uri=True)
    try:
        rows = connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        return {str(row[0]) for row in rows}
    except sqlite3.Error as exc:
        raise BackupError(
            f"La base du pont {path} n'est pas une base SQLite lisible ({exc}) : vérifiez "
            "BRIDGE_DATABASE_URL."
        ) from exc
    finally:
        connection.close()


def _check_kind(tables: set[str], marker: str, what: str, shown: str, variable: str) -> bool:
    """Refuse a target that holds tables but not its kind's marker; True when it is empty."""
    if tables and marker not in tables:
        raise BackupError(
            f"La base {shown} n'est pas la base {what} (elle a des tables mais pas {marker}) : "
            f"vérifiez {variable} ; rien n'a été modifié."
        )
    return not tables


def _check_postgres_target(
    url: URL, what: str, marker: str, variable: str, stop_first: str
) -> tuple[bool, str | None]:
    """Every check of a PostgreSQL target before anything is written; (empty?, Keycloak
    version) back."""
    with _connected(url, what) as connection:
        if others := _others_connected(connection):
            raise BackupError(
                f"{others} connexion(s) sont ouvertes sur la base {what} : {stop_first} avant "
                "la restauration."
            )
        tables = set(inspect(connection).get_table_names())
        empty = _check_kind(tables, marker, what, f"« {_shown(url)} »", variable)
        foreign = _foreign_objects(connection)
        may_create = connection.execute(
            text("SELECT has_schema_privilege('public', 'CREATE')")
        ).scalar()
        live_version = _keycloak_schema_version(connection)
    if foreign or not may_create:
        raise BackupError(
            f"Le rôle {url.username} ne peut pas remplacer la base {what} "
            f"({foreign} objet(s) appartiennent à un autre rôle"
            f"{'' if may_create else ', pas de droit CREATE sur le schéma public'}) : "
            "restaurez avec le rôle propriétaire de la base ; rien n'a été modifié."
        )
    return empty, live_version


def _check_archive(pg_restore: str, file: Path, url: URL, what: str) -> None:
    """pg_restore reads the archive (an older pg_restore than the pg_dump refuses it)."""
    _run(
        [pg_restore, "--list", f"--file={os.devnull}", str(file)],
        url,
        f"La lecture de la sauvegarde {what} ({file.name}, pg_restore --list)",
    )


def _same_database(one: URL, other: URL) -> bool:
    return (one.host or "localhost", one.port or 5432, one.database) == (
        other.host or "localhost",
        other.port or 5432,
        other.database,
    )


def restore(
    store_url: str,
    keycloak_url: str | None,
    folder: Path,
    announce: Callable[[str], None] = lambda _: None,
) -> Timing:
    """Replace both databases by the backup in `folder`, once every check has passed.

    Keycloak and the bridge must be stopped: a restored database under a running Keycloak
    would be hidden by its caches, and a replica would keep writing the old state.
    `announce` receives the two targets (passwords hidden) before anything is written.
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
    store_postgres = None if sqlite_path is not None else _postgres(store_url, "du pont")
    if store_postgres is not None and _same_database(store_postgres, keycloak):
        raise BackupError(
            f"BRIDGE_DATABASE_URL et BRIDGE_KEYCLOAK_DATABASE_URL désignent la même base "
            f"(« {_shown(keycloak)} ») : chaque base a la sienne ; rien n'a été modifié."
        )
    pg_restore = _tool("pg_restore")

    if sqlite_path is not None:
        if not sqlite_path.is_file():
            raise BackupError(
                f"La base du pont {sqlite_path} n'existe pas : vérifiez BRIDGE_DATABASE_URL "
                "(le pont lit cette base). Pour restaurer dans une nouvelle base, créez "
                f"d'abord le fichier vide (« touch {sqlite_path} »)."
            )
        _check_kind(
            _sqlite_tables(sqlite_path), STORE_MARKER, "du pont", str(sqlite_path),
            "BRIDGE_DATABASE_URL",
        )  # fmt: skip
    elif store_postgres is not None:
        _check_postgres_target(
            store_postgres, "du pont", STORE_MARKER, "BRIDGE_DATABASE_URL",
            "arrêtez le pont (portail, workers)",
        )  # fmt: skip
        _check_archive(pg_restore, folder / store["fichier"], store_postgres, "du pont")
    keycloak_empty, live_version = _check_postgres_target(
        keycloak, "de Keycloak", KEYCLOAK_MARKER, "BRIDGE_KEYCLOAK_DATABASE_URL",
        "arrêtez Keycloak (ses caches cacheraient la base restaurée)",
    )  # fmt: skip
    saved_version = manifest["keycloak"].get("version")
    if not keycloak_empty and (saved_version is None or live_version != saved_version):
        raise BackupError(
            f"La sauvegarde vient de Keycloak {saved_version or '(version inconnue)'} et la "
            f"base actuelle a été migrée par Keycloak {live_version or '(version inconnue)'} : "
            "restaurez dans une base vide (Keycloak migrera la sauvegarde à son démarrage), "
            "jamais par-dessus une autre version."
        )
    _check_archive(pg_restore, folder / manifest["keycloak"]["fichier"], keycloak, "de Keycloak")

    announce(
        f"Restauration de {folder} dans la base du pont « "
        f"{sqlite_path if sqlite_path is not None else _shown(store_url)} » et dans la base "
        f"de Keycloak « {_shown(keycloak)} »."
    )
    started = time.monotonic()
    if sqlite_path is not None:
        source = _sqlite_readonly(folder / store["fichier"])
        target = sqlite3.connect(sqlite_path)
        try:
            source.backup(target)  # page by page into the store, under its write lock
        finally:
            target.close()
            source.close()
    elif store_postgres is not None:
        _run(
            [pg_restore, "--clean", "--if-exists", "--no-owner", "--no-privileges",
             "--single-transaction", "--exit-on-error", f"--dbname={store_postgres.database}",
             str(folder / store["fichier"])],
            store_postgres,
            "La restauration de la base du pont (pg_restore)",
        )  # fmt: skip
    store_seconds = time.monotonic() - started

    started = time.monotonic()
    try:
        _run(
            [pg_restore, "--clean", "--if-exists", "--no-owner", "--no-privileges",
             "--single-transaction", "--exit-on-error", f"--dbname={keycloak.database}",
             str(folder / manifest["keycloak"]["fichier"])],
            keycloak,
            "La restauration de la base de Keycloak (pg_restore)",
        )  # fmt: skip
    except BackupError as exc:
        raise BackupError(
            f"{exc} La base du pont a été restaurée, celle de Keycloak ne l'a pas été (elle est "
            "restée telle quelle, en une seule transaction) : corrigez la cause puis relancez "
            "la même restauration, ce qui est sans danger (elle remplace de nouveau les deux "
            "bases). Ne démarrez ni Keycloak ni le pont avant."
        ) from exc
    keycloak_seconds = time.monotonic() - started
    return Timing(folder, manifest, store_seconds, keycloak_seconds)
