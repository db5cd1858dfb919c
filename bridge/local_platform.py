"""The running local platform (`make run`), as other entry points find it.

`demarches-stack run` keeps its store in its state folder (`.cache/stack/`), not at the
command line's default address (`.cache/bridge.db`). While it runs it leaves a marker in that
folder — its process id, its store and its Keycloak — so that `python -m bridge …` works on
the store the platform reads, or refuses, instead of writing where nobody looks.

The marker decides where every command writes and where it sends its Keycloak secrets
(`BRIDGE_KEYCLOAK_ADMIN_PASSWORD` for the deploy steps `keycloak catalogue|appliquer`, the
service account's `BRIDGE_SYNC_CLIENT_SECRET` for the others), so it is not taken on trust:
the platform holds an advisory lock (`flock`) on it for as long as it runs — the kernel drops
the lock when the process dies, even by SIGKILL, so a free lock means a stale marker,
whatever became of its process id — and a marker is only believed when it is the current
user's, mode 0600, and names a SQLite store inside the state folder and a Keycloak on the
loopback.
"""

from __future__ import annotations

import fcntl
import json
import os
import stat
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO
from urllib.parse import urlsplit

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from bridge.errors import SetupError
from bridge.settings import REPO_ROOT, Settings

MARKER_NAME = "plateforme.json"
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})


def state_dir() -> Path:
    """Where `demarches-stack run` keeps its state (the same variables it reads)."""
    explicit = os.environ.get("DEVSTACK_STATE_DIR")
    if explicit:
        return Path(explicit).resolve()
    cache = os.environ.get("DEVSTACK_CACHE_DIR") or REPO_ROOT / ".cache"
    return (Path(cache) / "stack").resolve()


@dataclass(frozen=True)
class RunningPlatform:
    """What a running local platform uses: its process, its store, its Keycloak."""

    pid: int
    database_url: str
    keycloak_url: str


class Announcement:
    """This process's marker and the lock on it that says the platform runs.

    Keep it for the platform's whole life: closing it (or the process ending) frees the lock.
    """

    def __init__(self, path: Path, handle: IO[str]) -> None:
        self.path = path
        self._handle = handle

    def withdraw(self) -> None:
        """Remove the marker (if it is still this one), then free the lock."""
        if self._handle.closed:
            return
        try:
            if os.stat(self.path).st_ino == os.fstat(self._handle.fileno()).st_ino:
                self.path.unlink()
        except FileNotFoundError:
            pass
        finally:
            self._handle.close()


def announce(folder: Path, database_url: str, keycloak_url: str) -> Announcement:
    """Leave the marker of this process's platform, locked until `Announcement.withdraw`.

    Written to a private temporary file (0600), locked, then renamed over the marker: a
    reader never sees a half-written marker, nor one whose lock is not yet held.
    """
    descriptor, temporary = tempfile.mkstemp(dir=folder, prefix=".plateforme-", suffix=".json")
    handle = os.fdopen(descriptor, "w", encoding="utf-8")
    try:
        os.fchmod(descriptor, 0o600)
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        json.dump(
            {"pid": os.getpid(), "base_de_donnees": database_url, "keycloak": keycloak_url},
            handle,
            ensure_ascii=False,
        )
        handle.flush()
        os.fsync(descriptor)
        marker = folder / MARKER_NAME
        os.replace(temporary, marker)
    except BaseException:
        handle.close()
        Path(temporary).unlink(missing_ok=True)
        raise
    return Announcement(marker, handle)


def _refused(marker: Path, reason: str) -> SetupError:
    return SetupError(
        f"Marqueur de plateforme locale refusé : {marker} {reason}. Il n'a pas été laissé par "
        "« make run » sous votre compte : aucune commande ne l'utilisera ; vérifiez-le, puis "
        "supprimez-le."
    )


def _locked(descriptor: int) -> bool:
    """Whether another open file (the running platform's) holds the lock on the marker."""
    try:
        fcntl.flock(descriptor, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    fcntl.flock(descriptor, fcntl.LOCK_UN)
    return False


def _checked_store(marker: Path, folder: Path, url: str) -> str:
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise _refused(marker, "désigne une base illisible") from None
    if (
        parsed.get_backend_name() != "sqlite"
        or parsed.host
        or parsed.username
        or parsed.query
        or not parsed.database
        or parsed.database == ":memory:"
        or not Path(parsed.database).resolve().is_relative_to(folder)
    ):
        raise _refused(
            marker, f"désigne la base {_shown(url)}, qui n'est pas un fichier SQLite de {folder}"
        )
    return url


def _checked_keycloak(marker: Path, url: str) -> str:
    try:
        parsed = urlsplit(url)
        parsed.port  # noqa: B018 - raises on a port that is not a number
    except ValueError:
        raise _refused(marker, "désigne un Keycloak illisible") from None
    if (
        parsed.scheme not in ("http", "https")
        or parsed.hostname not in LOOPBACK_HOSTS
        or parsed.username is not None
        or parsed.password is not None
    ):
        raise _refused(
            marker,
            f"désigne le Keycloak {url!r}, qui n'est pas sur cette machine "
            "(127.0.0.1, ::1 ou localhost)",
        )
    return url


def running_platform(folder: Path | None = None) -> RunningPlatform | None:
    """The platform whose marker is in the state folder and which still holds its lock.

    A marker whose lock is free was left by a platform that no longer runs (killed, out of
    memory): it is ignored, saying so on stderr. A marker that is not the current user's
    private file, or names a store or a Keycloak the local platform never uses, is refused.
    """
    folder = (folder or state_dir()).resolve()
    marker = folder / MARKER_NAME
    try:
        descriptor = os.open(marker, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise _refused(marker, f"ne peut être ouvert ({exc.strerror})") from None
    with os.fdopen(descriptor, encoding="utf-8") as handle:
        found = os.fstat(descriptor)
        if not stat.S_ISREG(found.st_mode):
            raise _refused(marker, "n'est pas un fichier ordinaire")
        if found.st_uid != os.getuid():
            raise _refused(marker, f"appartient à un autre utilisateur (uid {found.st_uid})")
        if stat.S_IMODE(found.st_mode) != 0o600:
            raise _refused(marker, f"a les droits {stat.S_IMODE(found.st_mode):o} au lieu de 600")
        if not _locked(descriptor):
            print(
                f"Marqueur de plateforme locale périmé ignoré : {marker} (la plateforme qui "
                "l'a laissé ne tourne plus).",
                file=sys.stderr,
            )
            return None
        try:
            data = json.loads(handle.read())
            pid, database_url, keycloak_url = (
                data["pid"],
                data["base_de_donnees"],
                data["keycloak"],
            )
        except (ValueError, KeyError, TypeError):
            raise _refused(marker, "est illisible") from None
    if not (
        isinstance(pid, int) and isinstance(database_url, str) and isinstance(keycloak_url, str)
    ):
        raise _refused(marker, "est illisible")
    return RunningPlatform(
        pid, _checked_store(marker, folder, database_url), _checked_keycloak(marker, keycloak_url)
    )


def _same_store(one: str, other: str) -> bool:
    first, second = make_url(one), make_url(other)
    if first.get_backend_name() == "sqlite" and second.get_backend_name() == "sqlite":
        return (
            bool(first.database and second.database)
            and Path(str(first.database)).resolve() == Path(str(second.database)).resolve()
        )
    return first.render_as_string(hide_password=False) == second.render_as_string(
        hide_password=False
    )


def _shown(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def settings_for_running_platform(settings: Settings, platform: RunningPlatform | None) -> Settings:
    """The settings of a command run beside the local platform: its store and its Keycloak.

    `platform` is `running_platform()`, looked up once by the caller. Without a running
    platform the settings are kept. With one, the default store becomes
    the platform's; a store chosen by `BRIDGE_DATABASE_URL` that is not the platform's is
    refused, naming both, since whatever the command writes there the platform never reads.
    """
    if platform is None or _same_store(settings.database_url, platform.database_url):
        return settings
    if "database_url" in settings.model_fields_set:
        raise SetupError(
            f"La plateforme locale (make run) tourne avec la base {_shown(platform.database_url)}"
            f", mais BRIDGE_DATABASE_URL désigne la base {_shown(settings.database_url)} : "
            "ce que cette commande y écrirait, la plateforme ne le lirait jamais. Retirez "
            "BRIDGE_DATABASE_URL pour travailler sur la base de la plateforme, ou arrêtez-la."
        )
    keycloak = (
        {}
        if "keycloak_url" in settings.model_fields_set
        else {"keycloak_url": platform.keycloak_url}
    )
    return settings.model_copy(update={"database_url": platform.database_url, **keycloak})
