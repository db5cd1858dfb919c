"""The realm export on disk, with its `${NAME:default}` placeholders resolved.

Keycloak resolves `${NAME}` and `${NAME:default}` from its environment when it imports a
realm at start; the apply step resolves them the same way, from its own environment, so
the compose file and the local stack give both the same `REALM_*` values. Lower-case
`${name}` are message keys of the themes and stay as they are.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from bridge.errors import SetupError

REALM_EXPORT_DIR = Path(__file__).resolve().parents[2] / "keycloak" / "realm-export"
_PLACEHOLDER = re.compile(r"\$\{([A-Z0-9_]+)(?::([^}]*))?\}")


def realm_file(directory: Path) -> Path:
    """The one realm file of an export folder."""
    files = sorted(directory.glob("*.json")) if directory.is_dir() else []
    if len(files) != 1:
        raise SetupError(
            f"Le dossier {directory} doit contenir un seul fichier de domaine (*.json) : "
            f"{len(files)} trouvé(s)."
        )
    return files[0]


def placeholders(path: Path) -> dict[str, str | None]:
    """Every placeholder of the file with its default (None when it has none)."""
    return {m.group(1): m.group(2) for m in _PLACEHOLDER.finditer(path.read_text())}


def secrets_left_to_defaults(env: Mapping[str, str], path: Path) -> set[str]:
    """The clients whose secret would come from its placeholder's default (a public
    development value: `…-a-changer`) because `env` does not set the variable."""
    raw = json.loads(path.read_text())
    found = set()
    for client in raw.get("clients", []):
        match = _PLACEHOLDER.fullmatch(str(client.get("secret", "")))
        if match and match.group(2) is not None and match.group(1) not in env:
            found.add(str(client["clientId"]))
    return found


def render(env: Mapping[str, str], path: Path, name: str | None = None) -> dict[str, Any]:
    """The realm representation with placeholders resolved from `env` (then their defaults)."""

    def resolve(match: re.Match[str]) -> str:
        key, default = match.group(1), match.group(2)
        if key in env:
            return json.dumps(env[key])[1:-1]
        if default is None:
            raise SetupError(f"La variable {key} est exigée par {path.name} et n'est pas définie.")
        return default

    try:
        realm: dict[str, Any] = json.loads(_PLACEHOLDER.sub(resolve, path.read_text()))
    except json.JSONDecodeError as exc:
        raise SetupError(f"{path.name}, ligne {exc.lineno} : JSON invalide ({exc.msg}).") from exc
    if name is not None:
        realm["realm"] = name
    return realm
