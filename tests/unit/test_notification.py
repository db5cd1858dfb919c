"""E-mails leave after the commit; a failure is reported, never raised past the change."""

from __future__ import annotations

import logging
import socket
import time

import pytest

from bridge.devstack.mailcatcher import MailCatcher
from bridge.devstack.ports import free_port
from bridge.notification import Email, Mailer

MAIL = Email(to=("tiers@exemple.fr",), subject="Invitation", text="Bonjour")


def test_a_message_reaches_the_smtp_server() -> None:
    catcher = MailCatcher(free_port())
    catcher.start()
    try:
        assert Mailer("127.0.0.1", catcher.port, "ne-pas-repondre@exemple.fr").send(MAIL)
        assert catcher.store.wait_for("tiers@exemple.fr", timeout=5).subject == "Invitation"
    finally:
        catcher.stop()


def test_an_unreachable_smtp_server_is_reported_and_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.ERROR):
        assert Mailer("127.0.0.1", free_port(), "ne-pas-repondre@exemple.fr").send(MAIL) is False
    assert "envoi-courriel-echoue" in caplog.text


def test_a_silent_server_cannot_keep_a_send_past_its_deadline() -> None:
    """smtplib's timeout (10 s) bounds each step; the deadline bounds the whole send."""
    listener = socket.create_server(("127.0.0.1", 0))  # accepts, never greets
    try:
        started = time.monotonic()
        mailer = Mailer("127.0.0.1", listener.getsockname()[1], "x@exemple.fr", 0.5)
        assert mailer.send(MAIL) is False
        assert time.monotonic() - started < 5
    finally:
        listener.close()
