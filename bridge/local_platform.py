"""The running local platform (`make run`), as other entry points find it.

`demarches-stack run` keeps its store in its state folder (`.cache/stack/`), not at the
command line's default address (`.cache/bridge.db`). While it runs it leaves a marker in that
folder — its process id, its store and its Keycloak — so that `python -m bridge …` works on
the store the platform reads, or refuses, instead of writing where nobody looks.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

from bridge.errors import SetupError
from bridge.settings import REPO_ROOT, Settings

MARKER_NAME = "plateforme.json"


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


def announce(folder: Path, database_url: str, keycloak_url: str) -> Path:
    """Leave the marker of this process's platform; removed by `withdraw` at its stop."""
    marker = folder / MARKER_NAME
    marker.write_text(
        json.dumps(
            {"pid": os.getpid(), "base_de_donnees": database_url, "keycloak": keycloak_url},
            ensure_ascii=False,
        ),
        encoding="utf-8",
    )
    return marker


def withdraw(folder: Path) -> None:
    (folder / MARKER_NAME).unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process: it exists
    return True


def running_platform(folder: Path | None = None) -> RunningPlatform | None:
    """The platform whose marker is in the state folder and whose process still runs.

    A marker left by a platform that was killed (its process is gone) is ignored.
    """
    marker = (folder or state_dir()) / MARKER_NAME
    try:
        data = json.loads(marker.read_text(encoding="utf-8"))
        found = RunningPlatform(
            int(data["pid"]), str(data["base_de_donnees"]), str(data["keycloak"])
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return found if _alive(found.pid) else None


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


def settings_for_running_platform(settings: Settings) -> Settings:
    """The settings of a command run beside the local platform: its store and its Keycloak.

    Without a running platform the settings are kept. With one, the default store becomes
    the platform's; a store chosen by `BRIDGE_DATABASE_URL` that is not the platform's is
    refused, naming both, since whatever the command writes there the platform never reads.
    """
    platform = running_platform()
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
