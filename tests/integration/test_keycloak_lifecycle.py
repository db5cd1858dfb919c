"""Keycloak's own start and stop: refusals come before anything starts, failures stop everything.

Also the local-stack command of the README, started and interrupted like a person would.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from bridge.devstack.errors import StackError
from bridge.devstack.keycloak_dist import ensure_distribution
from bridge.devstack.keycloak_server import KeycloakConfig, KeycloakServer
from bridge.devstack.ports import free_port
from bridge.devstack.stack import CACHE_DIR
from bridge.settings import REPO_ROOT

pytestmark = pytest.mark.keycloak


def _config(tmp_path: Path, **changes: object) -> KeycloakConfig:
    config = KeycloakConfig(
        home=ensure_distribution(CACHE_DIR, progress=False),
        data_dir=tmp_path / "kc",
        http_port=free_port(),
        management_port=free_port(),
    )
    for name, value in changes.items():
        setattr(config, name, value)
    return config


def _port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def test_a_taken_http_port_is_refused_before_java_starts(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        server = KeycloakServer(_config(tmp_path, http_port=port))
        with pytest.raises(StackError, match=f"Le port {port} .*DEVSTACK_KEYCLOAK_PORT"):
            server.start()
    assert not server.running
    assert not (tmp_path / "kc" / "keycloak.log").exists()


def test_a_keycloak_that_never_gets_ready_is_stopped_and_explained(tmp_path: Path) -> None:
    config = _config(tmp_path, ready_timeout=3.0)
    server = KeycloakServer(config)
    with pytest.raises(StackError, match="n'est pas prêt après 3 s : il a été arrêté"):
        server.start()
    assert not server.running
    assert _port_is_free(config.http_port)
    assert _port_is_free(config.management_port)


def test_a_keycloak_that_exits_at_start_shows_the_end_of_its_log(tmp_path: Path) -> None:
    config = _config(tmp_path, realm_env={"KC_FEATURES_DISABLED": "fonctionnalite-inconnue"})
    server = KeycloakServer(config)
    with pytest.raises(StackError, match="Keycloak s'est arrêté au démarrage"):
        server.start()
    assert not server.running


def test_the_local_stack_command_starts_everything_and_stops_cleanly_on_ctrl_c(
    tmp_path: Path,
) -> None:
    ports = {
        name: free_port()
        for name in (
            "KEYCLOAK_PORT",
            "KEYCLOAK_MANAGEMENT_PORT",
            "PORTAL_PORT",
            "RP_PORT",
            "SMTP_PORT",
            "MAIL_WEB_PORT",
        )
    }
    env = {
        **os.environ,
        **{f"DEVSTACK_{k}": str(v) for k, v in ports.items()},
        "DEVSTACK_STATE_DIR": str(tmp_path / "etat"),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "bridge.devstack", "run"],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert process.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line)
        if "Ctrl-C" in line:
            break
    output = "".join(lines)
    try:
        assert "Prête en" in output, output
        portal = f"http://127.0.0.1:{ports['PORTAL_PORT']}"
        assert portal in output
        assert httpx.get(f"{portal}/health/ready").json() == {"status": "ok"}
        password = re.search(r"camille\.martin@exemple\.fr / (\S+)", output)
        assert password, output
    finally:
        process.send_signal(signal.SIGINT)
        rest, _ = process.communicate(timeout=60)
    assert process.returncode == 0
    assert "Tout est arrêté." in rest
    assert all(_port_is_free(port) for port in ports.values())
