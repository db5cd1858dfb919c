"""The realm export as data: its placeholders, and its rendering for servers we did not start.

Keycloak resolves `${NAME}` and `${NAME:default}` from its environment when it imports a
realm at start. When the realm must be created through the admin API instead (a server
started elsewhere), `render_realm` resolves them the same way first.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from bridge.devstack.errors import StackError

REALM_FILE = (
    Path(__file__).resolve().parents[2] / "keycloak" / "realm-export" / "demarches-realm.json"
)
REALM_NAME = "demarches"
_PLACEHOLDER = re.compile(r"\$\{([A-Z0-9_]+)(?::([^}]*))?\}")


def keycloak_theme(theme: str) -> str:
    """The Keycloak theme (login and e-mail) that matches the portal's `BRIDGE_THEME`."""
    return f"demarches-{theme}"


def placeholders(path: Path = REALM_FILE) -> dict[str, str | None]:
    """Every placeholder of the file with its default (None when it has none)."""
    return {m.group(1): m.group(2) for m in _PLACEHOLDER.finditer(path.read_text())}


def render_realm(
    env: Mapping[str, str], path: Path = REALM_FILE, name: str | None = None
) -> dict[str, Any]:
    """The realm representation with placeholders resolved from `env` (then their defaults)."""

    def resolve(match: re.Match[str]) -> str:
        key, default = match.group(1), match.group(2)
        if key in env:
            return json.dumps(env[key])[1:-1]
        if default is None:
            raise StackError(f"La variable {key} est exigée par {path.name} et n'est pas définie.")
        return default

    realm: dict[str, Any] = json.loads(_PLACEHOLDER.sub(resolve, path.read_text()))
    if name is not None:
        realm["realm"] = name
    return realm
