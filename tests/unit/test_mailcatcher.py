"""The mail catcher keeps every message and gives tests its links."""

from __future__ import annotations

import smtplib
from collections.abc import Iterator
from email.message import EmailMessage

import pytest
from fastapi.testclient import TestClient

from bridge.devstack.mailcatcher import MailCatcher, web_app
from bridge.devstack.ports import free_port


@pytest.fixture
def catcher() -> Iterator[MailCatcher]:
    running = MailCatcher(free_port())
    running.start()
    yield running
    running.stop()


def _send(port: int, to: str, subject: str, text: str, html: str | None = None) -> None:
    message = EmailMessage()
    message["From"] = "ne-pas-repondre@mesdemarches.localhost"
    message["To"] = to
    message["Subject"] = subject
    message.set_content(text)
    if html:
        message.add_alternative(html, subtype="html")
    with smtplib.SMTP("127.0.0.1", port) as smtp:
        smtp.send_message(message)


def test_every_message_is_kept_with_its_links(catcher: MailCatcher) -> None:
    _send(
        catcher.port,
        "a@exemple.fr",
        "Activer mon compte",
        "Cliquez : https://portail.test/activer?cle=1&x=2",
        '<a href="https://portail.test/activer?cle=1&amp;x=2">Activer</a>',
    )
    _send(catcher.port, "b@exemple.fr", "Autre", "Rien")
    mail = catcher.store.wait_for("A@exemple.fr", timeout=5)
    assert mail.subject == "Activer mon compte"
    assert mail.links == ["https://portail.test/activer?cle=1&x=2"]
    assert len(catcher.store.all()) == 2


def test_waiting_for_a_message_that_never_comes_times_out(catcher: MailCatcher) -> None:
    with pytest.raises(TimeoutError, match=r"aucun message pour personne@exemple\.fr"):
        catcher.store.wait_for("personne@exemple.fr", timeout=0.2)


def test_the_web_page_lists_messages_in_french(catcher: MailCatcher) -> None:
    _send(catcher.port, "c@exemple.fr", "Invitation à rejoindre la démarche", "Bonjour")
    catcher.store.wait_for("c@exemple.fr", timeout=5)
    client = TestClient(web_app(catcher.store))
    page = client.get("/")
    assert "Invitation à rejoindre la démarche" in page.text
    assert client.get("/api/messages").json()[0]["to"] == ["c@exemple.fr"]
    assert client.get("/messages/1").status_code == 200
    assert client.get("/messages/99").status_code == 404
