"""Loopback port helpers: refuse a taken port with a clear sentence, pick free ones for tests."""

from __future__ import annotations

import socket

from bridge.devstack.errors import StackError

LOOPBACK = "127.0.0.1"


def ensure_port_free(port: int, what: str, env_var: str) -> None:
    """Fail with a clear sentence when `port` on loopback is already taken."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((LOOPBACK, port))
        except OSError as exc:
            raise StackError(
                f"Le port {port} ({what}) est déjà utilisé sur {LOOPBACK} : arrêtez le programme "
                f"qui l'occupe ou choisissez un autre port avec {env_var}."
            ) from exc


def free_port() -> int:
    """A port free on loopback right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        port: int = sock.getsockname()[1]
        return port
