"""The web process killed between the commit and the send, for real (#19): a real uvicorn
process of the portal makes an invitation while its SMTP server accepts the connection and
then says nothing (the send after the commit hangs); the process gets SIGKILL there. A new
sender, `python -m bridge courriels envoyer`, with the real mail catcher, sends the
invitation once its claim has lapsed: received exactly once."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bridge.bootstrap import bootstrapped
from bridge.db import migrate
from bridge.devstack.ports import LOOPBACK, free_port
from bridge.notification import QueuedEmail
from bridge.settings import REPO_ROOT, Settings
from tests.support.callers import MAF
from tests.support.seed import etablissement_with_code
from tests.support.sirets import new_siret
from tests.support.stack import Platform

pytestmark = pytest.mark.keycloak

SEND_DEADLINE_SECONDS = 3
LEASE_SECONDS = 6  # the shortest the settings allow (twice a send's deadline)


class SilentSmtp:
    """Accepts TCP connections and never answers: an SMTP client waits for the greeting."""

    def __init__(self) -> None:
        self.listener = socket.create_server((LOOPBACK, 0))
        self.port: int = self.listener.getsockname()[1]
        self.accepted: list[socket.socket] = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            self.accepted.append(connection)

    def close(self) -> None:
        self.listener.close()
        for connection in self.accepted:
            connection.close()


@pytest.fixture
def silent_smtp() -> Iterator[SilentSmtp]:
    server = SilentSmtp()
    yield server
    server.close()


def environment(platform: Platform, database_url: str, smtp_port: int) -> dict[str, str]:
    """A portal of the session's Keycloak on a store of its own (no other sender reads it)."""
    return {
        **os.environ,
        "PYTHONPATH": str(REPO_ROOT),
        "BRIDGE_DATABASE_URL": database_url,
        "BRIDGE_KEYCLOAK_URL": platform.keycloak.url,
        "BRIDGE_KEYCLOAK_REALM": platform.keycloak.realm,
        "BRIDGE_SMTP_PORT": str(smtp_port),
        "BRIDGE_MAIL_INTERVAL_SECONDS": "0",  # only the send right after the commit
        "BRIDGE_SYNC_INTERVAL_SECONDS": "0",
        "BRIDGE_MAIL_SEND_DEADLINE_SECONDS": str(SEND_DEADLINE_SECONDS),
        "BRIDGE_MAIL_CLAIM_LEASE_SECONDS": str(LEASE_SECONDS),
        "BRIDGE_LOG_LEVEL": "WARNING",
    }


def wait_for(check: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(f"pas atteint en {timeout:.0f} s : {what}")
        time.sleep(0.1)


def queued_to(sessions: sessionmaker[Session], email: str) -> list[QueuedEmail]:
    with sessions() as session:
        return list(session.scalars(select(QueuedEmail).where(QueuedEmail.recipient == email)))


def test_the_web_process_killed_between_commit_and_send_loses_no_mail(
    platform: Platform, silent_smtp: SilentSmtp, tmp_path: Path
) -> None:
    database_url = f"sqlite:///{tmp_path / 'pont.db'}"
    migrate(database_url)
    with bootstrapped(Settings(database_url=database_url)) as context:
        siret, code = etablissement_with_code(context)
        sessions = context.sessions
        _kill_and_resend(platform, silent_smtp, tmp_path, database_url, sessions, siret, code)


def _kill_and_resend(
    platform: Platform,
    silent_smtp: SilentSmtp,
    tmp_path: Path,
    database_url: str,
    sessions: sessionmaker[Session],
    siret: str,
    code: str,
) -> None:
    port = free_port()
    env = environment(platform, database_url, silent_smtp.port)
    with (tmp_path / "portail.log").open("ab") as log:
        web = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "bridge.api.app:create_app", "--factory",
             "--host", LOOPBACK, "--port", str(port)],
            cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        portal = f"http://{LOOPBACK}:{port}"
        wait_for(lambda: _live(portal), 60, "le portail répond")
        gestionnaire = platform.new_person()
        api = httpx.Client(
            base_url=f"{portal}/api/v1",
            headers={"Authorization": f"Bearer {platform.token_for(gestionnaire)}"},
            timeout=60,
        )
        with api:
            activated = api.post(
                f"/demarches/{MAF}/activation", json={"siret": siret, "code": code}
            )
            assert activated.status_code == 201, activated.text
            email = f"tiers.{new_siret()}@cabinet.example.fr"
            connections = len(silent_smtp.accepted)
            invitation = {
                "siret_tiers": new_siret(),
                "email": email,
                "role": "declarant",
                "siret_habilitation": siret,
            }
            # The request never gets its answer: the process dies while sending.
            threading.Thread(
                target=_ignore_errors, args=(api.post, f"/demarches/{MAF}/delegations", invitation),
                daemon=True,
            ).start()  # fmt: skip
            # The send after the commit has begun (the change is committed by then).
            wait_for(lambda: len(silent_smtp.accepted) > connections, 30, "l'envoi a commencé")
            web.send_signal(signal.SIGKILL)
            killed_at = time.monotonic()
            web.wait(timeout=10)
    finally:
        if web.poll() is None:
            web.kill()
            web.wait(timeout=10)
    assert platform.mail.for_recipient(email) == []

    # Another sender, once the dead process's claim has lapsed (it was taken before the
    # connection), with the real mail catcher.
    time.sleep(max(0.0, LEASE_SECONDS + 1 - (time.monotonic() - killed_at)))
    sender_env = environment(platform, database_url, platform.smtp_port)
    for _ in range(2):  # a second run finds nothing more to send
        sent = subprocess.run(
            [sys.executable, "-m", "bridge", "courriels", "envoyer"],
            cwd=REPO_ROOT, env=sender_env, capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert sent.returncode == 0, sent.stdout + sent.stderr
    received = platform.mail.wait_for(email, timeout=10)
    assert "/invitations/" in received.text
    time.sleep(0.5)
    assert len(platform.mail.for_recipient(email)) == 1
    [row] = queued_to(sessions, email)
    assert row.sent_at is not None
    assert row.attempts == 2  # the killed process's, then the new sender's


def _live(url: str) -> bool:
    try:
        return httpx.get(f"{url}/health/live", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _ignore_errors(post: object, path: str, body: object) -> None:
    with contextlib.suppress(httpx.HTTPError):
        post(path, json=body)  # type: ignore[operator]
