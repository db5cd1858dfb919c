"""The local stack refuses a taken port before starting anything."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from bridge.devstack.errors import StackError
from bridge.devstack.ports import free_port
from bridge.devstack.stack import LocalStack, StackPorts


def test_a_taken_portal_port_is_refused_before_anything_starts(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        ports = StackPorts(
            keycloak=free_port(),
            keycloak_management=free_port(),
            portal=port,
            relying_party=free_port(),
            smtp=free_port(),
            mail_web=free_port(),
        )
        stack = LocalStack(ports=ports, data_dir=tmp_path / "etat")
        with pytest.raises(StackError, match=f"Le port {port} \\(portail\\).*DEVSTACK_PORTAL_PORT"):
            stack.start(progress=False)
    assert stack.keycloak is None
    assert not (tmp_path / "etat").exists()
    with socket.socket() as smtp:  # the mail catcher was never started
        assert smtp.connect_ex(("127.0.0.1", ports.smtp)) != 0


def test_ports_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEVSTACK_PORTAL_PORT", "18000")
    assert StackPorts.from_env().portal == 18000
    monkeypatch.setenv("DEVSTACK_PORTAL_PORT", "huit-mille")
    with pytest.raises(StackError, match="DEVSTACK_PORTAL_PORT doit être un numéro de port"):
        StackPorts.from_env()
