"""Find a Java runtime that Keycloak 26 accepts, or say clearly how to get one."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

from bridge.devstack.errors import StackError

MINIMUM_JAVA = 17

_INSTALL_HINT = (
    "installez un JDK 17 ou 21 (par exemple « apt-get install openjdk-17-jre-headless ») "
    "ou indiquez son dossier dans JAVA_HOME."
)


def find_java(env: dict[str, str] | None = None) -> Path:
    """Return the java executable (JAVA_HOME first, then PATH), checked to be recent enough."""
    env = dict(os.environ if env is None else env)
    candidate: str | None = None
    java_home = env.get("JAVA_HOME")
    if java_home:
        path = Path(java_home) / "bin" / "java"
        if not path.is_file():
            raise StackError(
                f"JAVA_HOME désigne {java_home}, où il n'y a pas de bin/java : " + _INSTALL_HINT
            )
        candidate = str(path)
    else:
        candidate = shutil.which("java", path=env.get("PATH", ""))
    if candidate is None:
        raise StackError("Java est introuvable : " + _INSTALL_HINT)
    major = java_major_version(Path(candidate))
    if major < MINIMUM_JAVA:
        raise StackError(f"Java {major} est trop ancien pour Keycloak 26 : " + _INSTALL_HINT)
    return Path(candidate)


def java_major_version(java: Path) -> int:
    """Read the major version from `java -version` (printed on stderr)."""
    try:
        result = subprocess.run(
            [str(java), "-version"], capture_output=True, text=True, timeout=30, check=False
        )
    except OSError as exc:
        raise StackError(f"Java ({java}) ne démarre pas ({exc}) : " + _INSTALL_HINT) from exc
    match = re.search(r'version "(\d+)(?:\.(\d+))?', result.stderr + result.stdout)
    if not match:
        raise StackError(f"La version de Java ({java}) est illisible : " + _INSTALL_HINT)
    major = int(match.group(1))
    return int(match.group(2) or 0) if major == 1 else major
