"""A local SMTP catcher that keeps every message, for the local stack and the tests.

Keycloak's realm sends its e-mails here. Tests read messages from the in-process store
(`MailCatcher.store`) and follow the links they contain; people running the local stack
read them on a small French web page (`web_app`).
"""

from __future__ import annotations

import email
import email.policy
import html
import re
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from fastapi import FastAPI, HTTPException
from fastapi.responses import HTMLResponse

from bridge.devstack.errors import StackError
from bridge.devstack.ports import LOOPBACK, ensure_port_free

_LINK = re.compile(r"https?://[^\s\"'<>]+")


@dataclass(frozen=True)
class CaughtMail:
    """One received message, decoded."""

    id: int
    sender: str
    recipients: tuple[str, ...]
    subject: str
    text: str
    html: str
    received_at: datetime

    @property
    def links(self) -> list[str]:
        """Every http(s) link of the message, in order, HTML entities decoded, without repeats."""
        found = _LINK.findall(self.text) + _LINK.findall(html.unescape(self.html))
        return list(dict.fromkeys(found))

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "from": self.sender,
            "to": list(self.recipients),
            "subject": self.subject,
            "text": self.text,
            "html": self.html,
            "received_at": self.received_at.isoformat(),
            "links": self.links,
        }


@dataclass
class MailStore:
    """Thread-safe list of every message received since start."""

    _messages: list[CaughtMail] = field(default_factory=list)
    _lock: threading.Condition = field(default_factory=threading.Condition)

    def add(self, sender: str, recipients: list[str], raw: bytes) -> CaughtMail:
        parsed = email.message_from_bytes(raw, policy=email.policy.default)
        if not isinstance(parsed, EmailMessage):  # the default policy always builds one
            raise TypeError("message illisible")
        text_part = parsed.get_body(preferencelist=("plain",))
        html_part = parsed.get_body(preferencelist=("html",))
        with self._lock:
            mail = CaughtMail(
                id=len(self._messages) + 1,
                sender=sender,
                recipients=tuple(recipients),
                subject=str(parsed.get("subject", "")),
                text=text_part.get_content() if text_part is not None else "",
                html=html_part.get_content() if html_part is not None else "",
                received_at=datetime.now(UTC),
            )
            self._messages.append(mail)
            self._lock.notify_all()
        return mail

    def all(self) -> list[CaughtMail]:
        with self._lock:
            return list(self._messages)

    def get(self, mail_id: int) -> CaughtMail | None:
        with self._lock:
            return self._messages[mail_id - 1] if 0 < mail_id <= len(self._messages) else None

    def for_recipient(self, address: str) -> list[CaughtMail]:
        wanted = address.lower()
        return [m for m in self.all() if wanted in (r.lower() for r in m.recipients)]

    def wait_for(self, address: str, *, count: int = 1, timeout: float = 30.0) -> CaughtMail:
        """Block until `address` has received `count` messages; return the newest."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                mails = self.for_recipient(address)
                if len(mails) >= count:
                    return mails[-1]
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"aucun message pour {address} après {timeout:.0f} s")
                self._lock.wait(remaining)


class _Handler:
    def __init__(self, store: MailStore) -> None:
        self.store = store

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.store.add(envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content)
        return "250 Message accepted for delivery"


class MailCatcher:
    """The SMTP side: an aiosmtpd server on loopback, in its own thread."""

    def __init__(self, port: int, store: MailStore | None = None, host: str = LOOPBACK) -> None:
        self.port = port
        self.host = host
        self.store = store or MailStore()
        self._controller: Controller | None = None

    def start(self) -> None:
        if self.host == LOOPBACK:
            ensure_port_free(self.port, "serveur SMTP de test", "DEVSTACK_SMTP_PORT")
        self._controller = Controller(_Handler(self.store), hostname=self.host, port=self.port)
        try:
            self._controller.start()
        except Exception as exc:  # aiosmtpd raises several kinds on a failed start
            self._controller = None
            raise StackError(
                f"Le serveur SMTP de test ne démarre pas sur le port {self.port} ({exc}) : "
                "choisissez un autre port avec DEVSTACK_SMTP_PORT."
            ) from exc

    def stop(self) -> None:
        controller, self._controller = self._controller, None
        if controller is not None:
            controller.stop()


def web_app(store: MailStore) -> FastAPI:
    """A French page listing the caught messages, and the same as JSON for scripts."""
    app = FastAPI(title="Boîte de réception de développement", docs_url=None, redoc_url=None)

    @app.get("/api/messages")
    def list_messages() -> list[dict[str, Any]]:
        return [m.as_json() for m in reversed(store.all())]

    @app.get("/", response_class=HTMLResponse)
    def inbox() -> str:
        rows = "".join(
            f"<tr><td>{m.received_at:%d/%m/%Y %H:%M:%S}</td><td>{html.escape(', '.join(m.recipients))}"
            f"</td><td><a href='/messages/{m.id}'>{html.escape(m.subject) or '(sans objet)'}</a></td></tr>"
            for m in reversed(store.all())
        )
        body = rows or "<tr><td colspan='3'>Aucun message reçu pour l'instant.</td></tr>"
        return _page(
            "Boîte de réception de développement",
            "<table><thead><tr><th>Reçu le</th><th>Destinataires</th><th>Objet</th></tr></thead>"
            f"<tbody>{body}</tbody></table>",
        )

    @app.get("/messages/{mail_id}", response_class=HTMLResponse)
    def show(mail_id: int) -> str:
        mail = store.get(mail_id)
        if mail is None:
            raise HTTPException(404, "Message introuvable")
        links = "".join(
            f"<li><a href='{html.escape(u)}'>{html.escape(u)}</a></li>" for u in mail.links
        )
        return _page(
            html.escape(mail.subject),
            f"<p>De : {html.escape(mail.sender)}<br>À : {html.escape(', '.join(mail.recipients))}</p>"
            f"<h2>Liens</h2><ul>{links}</ul><h2>Texte</h2><pre>{html.escape(mail.text)}</pre>"
            "<p><a href='/'>Retour à la boîte de réception</a></p>",
        )

    return app


def _page(title: str, body: str) -> str:
    return (
        "<!doctype html><html lang='fr'><head><meta charset='utf-8'>"
        f"<title>{title}</title><style>body{{font-family:sans-serif;margin:2rem}}"
        "td,th{padding:.3rem .8rem;text-align:left}</style></head>"
        f"<body><h1>{title}</h1>{body}</body></html>"
    )
