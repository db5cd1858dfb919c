"""The realm export as data: its placeholders, and its rendering for servers we did not start.

Keycloak resolves `${NAME}` and `${NAME:default}` from its environment when it imports a
realm at start. When the realm must be created through the admin API instead (a server
started elsewhere), `render_realm` resolves them the same way first (`bridge/realm/export.py`,
which the realm step uses too).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from bridge.realm import export
from bridge.realm.export import REALM_EXPORT_DIR

REALM_FILE = REALM_EXPORT_DIR / "demarches-realm.json"
REALM_NAME = "demarches"


def keycloak_theme(theme: str) -> str:
    """The Keycloak theme (login and e-mail) that matches the portal's `BRIDGE_THEME`."""
    return f"demarches-{theme}"


def placeholders(path: Path = REALM_FILE) -> dict[str, str | None]:
    """Every placeholder of the file with its default (None when it has none)."""
    return export.placeholders(path)


def render_realm(
    env: Mapping[str, str], path: Path = REALM_FILE, name: str | None = None
) -> dict[str, Any]:
    """The realm representation with placeholders resolved from `env` (then their defaults)."""
    return export.render(env, path, name)
