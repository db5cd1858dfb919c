"""E-mails the bridge sends (to gestionnaires, requesters), after the change is committed."""

from __future__ import annotations

import logging
import smtplib
from dataclasses import dataclass
from email.message import EmailMessage

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
