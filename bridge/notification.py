"""E-mails the bridge sends (to gestionnaires, requesters, tiers): services `notify` them on
their unit of work, which hands them on only after its commit (`bridge.bootstrap`)."""

from __future__ import annotations

import logging
import smtplib
from dataclasses import dataclass
from email.message import EmailMessage

from sqlalchemy.orm import Session

from bridge.db import raise_event, raised_events

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Email:
    to: tuple[str, ...]
    subject: str
    text: str


class Mailer:
    """Plain SMTP; a failure is logged with the message's subject, never hidden."""

    def __init__(self, host: str, port: int, sender: str) -> None:
        self.host = host
        self.port = port
        self.sender = sender

    def send(self, email: Email) -> bool:
        if not email.to:
            return True
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = ", ".join(email.to)
        message["Subject"] = email.subject
        message.set_content(email.text)
        try:
            with smtplib.SMTP(self.host, self.port, timeout=10) as smtp:
                smtp.send_message(message)
        except (OSError, smtplib.SMTPException):
            log.exception("envoi-courriel-echoue", extra={"subject": email.subject, "to": email.to})
            return False
        return True


def notify(session: Session, email: Email) -> None:
    """Send `email` once the unit of work of `session` commits (never if it rolls back)."""
    raise_event(session, email)


def pending_emails(session: Session) -> list[Email]:
    """The e-mails raised on `session` and not yet handed on (for tests and jobs)."""
    return [e for e in raised_events(session) if isinstance(e, Email)]
