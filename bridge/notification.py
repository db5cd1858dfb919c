"""E-mails the bridge sends (to gestionnaires, requesters, tiers), never lost.

A service `notify`s an e-mail on its unit of work: the e-mail is written to the store's
queue (`mail_queue`) in the same transaction as the change that causes it, so it exists if
and only if the change was kept. Right after the commit the web process tries to send it
(`MailQueue.send_now`, so people get their mail at once); whatever did not leave then (SMTP
away, process killed between commit and send) is sent by the queue's loop, with retries and
a growing pause, in order per recipient (one row per recipient: an e-mail never overtakes an
older one to the same address), and marked failed after `MAX_ATTEMPTS` (an alert says so).
A row is claimed with a lease before it is sent, so two processes do not send it both; the
delivery is at least once (a process killed after the mail server accepted and before the
row says so sends it again once the lease ends). A send has a total deadline
(`Mailer.deadline_seconds`) and the lease is at least twice that deadline, so that a send still
under way never loses its claim to another process (which would send the e-mail again). Once
sent, the body (temporary passwords, invitation links) is erased from the store.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import smtplib
import socket
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Index, String, Text, and_, exists, select, text, update
from sqlalchemy.orm import Mapped, Session, aliased, mapped_column, sessionmaker

from bridge.db import Base, UtcDateTime, now, raise_event, raised_events

log = logging.getLogger(__name__)
T = TypeVar("T")

MAX_ATTEMPTS = 12  # about 1 h 40 of retries (10 s, 20 s, 40 s… at most 15 min apart)
FIRST_PAUSE = timedelta(seconds=10)
LONGEST_PAUSE = timedelta(minutes=15)
# What pages say of an e-mail that did not leave at once (the queue sends it later).
WAITING = "en attente d'envoi : il partira dès que le service de messagerie répondra"
# A claimed row is another process's again after this (a process killed while sending): at
# least twice a send's total deadline (Mailer), so that a live send never loses its claim.
LEASE = timedelta(minutes=2)
# smtplib's timeout bounds each socket operation (connect, EHLO, MAIL, RCPT, DATA…), not a
# whole send: a slow but alive server could keep one going for minutes. A send is also cut
# (its socket shut) when its total deadline is reached, name resolution included.
SMTP_TIMEOUT_SECONDS = 10
SEND_DEADLINE_SECONDS = 30.0


@dataclass(frozen=True)
class Email:
    to: tuple[str, ...]
    subject: str
    text: str


class Mailer:
    """Plain SMTP; a failure is logged with the message's subject, never hidden. One send
    ends within `deadline_seconds` whatever the server does (then it is a failed attempt)."""

    def __init__(
        self,
        host: str,
        port: int,
        sender: str,
        deadline_seconds: float = SEND_DEADLINE_SECONDS,
    ) -> None:
        self.host = host
        self.port = port
        self.sender = sender
        self.deadline_seconds = deadline_seconds

    def send(self, email: Email) -> bool:
        if not email.to:
            return True
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = ", ".join(email.to)
        message["Subject"] = email.subject
        message.set_content(email.text)
        deadline = time.monotonic() + self.deadline_seconds
        try:
            local_name, addresses = _within(
                deadline,
                lambda: (
                    _local_name(),
                    socket.getaddrinfo(self.host, self.port, type=socket.SOCK_STREAM),
                ),
            )
            smtp = _BoundedSmtp(deadline, addresses, local_name)
            try:
                smtp.connect(self.host, self.port)
                smtp.send_message(message)
            except BaseException:
                smtp.close()
                raise
        except (OSError, smtplib.SMTPException):
            log.exception("envoi-courriel-echoue", extra={"subject": email.subject, "to": email.to})
            return False
        # The server accepted the message: a QUIT that fails or comes late changes nothing.
        with contextlib.suppress(OSError, smtplib.SMTPException):
            smtp.quit()
        smtp.close()
        return True


_local_name = functools.cache(socket.getfqdn)  # the name given in EHLO (smtplib's default)


def _remaining(deadline: float) -> float:
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise TimeoutError("délai total de l'envoi du courriel dépassé")
    return remaining


def _within(deadline: float, resolve: Callable[[], T]) -> T:
    """`resolve` (name look-ups, which no socket timeout bounds) given until `deadline`: run
    in a thread left behind if it takes longer."""
    outcome: list[T | OSError] = []

    def run() -> None:
        try:
            outcome.append(resolve())
        except OSError as error:
            outcome.append(error)

    thread = threading.Thread(target=run, daemon=True, name="courriel-resolution")
    thread.start()
    thread.join(_remaining(deadline))
    if not outcome:
        raise TimeoutError("résolution du nom du serveur de messagerie trop longue")
    if isinstance(outcome[0], OSError):
        raise outcome[0]
    return outcome[0]


_Address = tuple[socket.AddressFamily, socket.SocketKind, int, str, Any]


class _BoundedSmtp(smtplib.SMTP):
    """smtplib's client whose connection is shut at `deadline`, whatever step it is in."""

    def __init__(self, deadline: float, addresses: Sequence[_Address], local_name: str) -> None:
        self.deadline = deadline
        self.addresses = addresses
        self.cut: threading.Timer | None = None
        super().__init__(local_hostname=local_name, timeout=SMTP_TIMEOUT_SECONDS)

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        error: OSError = OSError(f"aucune adresse pour {host}")
        for family, kind, proto, _, address in self.addresses:
            sock = socket.socket(family, kind, proto)
            try:
                sock.settimeout(min(timeout, _remaining(self.deadline)))
                sock.connect(address)
                self.cut = threading.Timer(_remaining(self.deadline), _shut, (sock,))
            except OSError as failure:
                sock.close()
                error = failure
                continue
            self.cut.daemon = True
            self.cut.start()
            return sock
        raise error

    def close(self) -> None:
        if self.cut is not None:
            self.cut.cancel()
        super().close()


def _shut(sock: socket.socket) -> None:
    """Wakes the send blocked on `sock` (it then fails) once its deadline is reached."""
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


class QueuedEmail(Base):
    """One e-mail of the queue, to one recipient (the order key)."""

    __tablename__ = "mail_queue"
    __table_args__ = (
        Index(
            "ix_mail_queue_due",
            "next_attempt_at",
            "id",
            sqlite_where=text("sent_at IS NULL AND failed_at IS NULL"),
            postgresql_where=text("sent_at IS NULL AND failed_at IS NULL"),
        ),
        Index("ix_mail_queue_recipient", "recipient", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    recipient: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=now)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime, default=now)
    claimed_until: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    attempts: Mapped[int] = mapped_column(default=0)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    failed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)

    @property
    def email(self) -> Email:
        return Email((self.recipient,), self.subject, self.body)


@dataclass(frozen=True)
class Queued:
    """An e-mail a unit of work wrote to the queue: tried right after its commit."""

    row_id: int
    email: Email


SILENT = "sans_courriel"  # a unit of work that puts the store in a known state (tests, bench)


def notify(session: Session, email: Email) -> None:
    """Queue `email` in the unit of work of `session`, one row per recipient: kept with the
    change, or not at all (nothing is queued in a unit of work marked `SILENT`)."""
    if not email.to or session.info.get(SILENT):
        return
    for recipient in email.to:
        row = QueuedEmail(recipient=recipient, subject=email.subject, body=email.text)
        session.add(row)
        session.flush()
        raise_event(session, Queued(row.id, Email((recipient,), email.subject, email.text)))


def pending_emails(session: Session) -> list[Email]:
    """The e-mails raised on `session` and not yet handed on, one per recipient (tests)."""
    return [e.email for e in raised_events(session) if isinstance(e, Queued)]


@dataclass
class MailRun:
    sent: int = 0
    retried: int = 0
    failed: int = 0


class MailQueue:
    """Sends the queue's due e-mails; any number of processes may run one."""

    def __init__(
        self, sessions: sessionmaker[Session], mailer: Mailer, lease: timedelta = LEASE
    ) -> None:
        if lease.total_seconds() < 2 * mailer.deadline_seconds:
            raise ValueError(
                f"bail des courriels ({lease.total_seconds():g} s) trop court : au moins deux "
                f"fois le délai total d'un envoi ({mailer.deadline_seconds:g} s)"
            )
        self.sessions = sessions
        self.mailer = mailer
        self.lease = lease

    def send_now(self, row_ids: list[int]) -> bool:
        """Right after a commit: send these rows if they are free to go; True if all left.
        Never raises: the change is kept whatever happens here (the loop sends later)."""
        run = MailRun()
        for row_id in row_ids:
            try:
                self._attempt(row_id, now(), run)
            except Exception:
                log.exception("courriel-envoi-differe", extra={"courriel": row_id})
        return run.sent == len(row_ids)

    def run_once(self, limit: int = 100, moment: datetime | None = None) -> MailRun:
        """Send up to `limit` due e-mails (each the oldest waiting for its recipient)."""
        moment = moment or now()
        older = aliased(QueuedEmail)
        with self.sessions() as session:
            due = list(
                session.scalars(
                    select(QueuedEmail.id)
                    .where(*_due(QueuedEmail, moment), _first_for_its_recipient(QueuedEmail, older))
                    .order_by(QueuedEmail.next_attempt_at, QueuedEmail.id)
                    .limit(limit)
                )
            )
        run = MailRun()
        for row_id in due:
            self._attempt(row_id, moment, run)
        return run

    def _attempt(self, row_id: int, moment: datetime, run: MailRun) -> None:
        """Claim in one short transaction, send outside any, say the outcome in another: no
        row lock nor connection is held while the SMTP server takes its time."""
        older = aliased(QueuedEmail)
        with self.sessions() as session:
            claim = session.execute(
                update(QueuedEmail)
                .where(
                    QueuedEmail.id == row_id,
                    *_due(QueuedEmail, moment),
                    _first_for_its_recipient(QueuedEmail, older),
                )
                .values(claimed_until=now() + self.lease, attempts=QueuedEmail.attempts + 1)
                .execution_options(synchronize_session=False)
            )
            if claim.rowcount != 1:  # type: ignore[attr-defined]
                return  # sent, claimed by another process, not due, or behind an older one
            row = session.get(QueuedEmail, row_id)
            if row is None:  # deleted meanwhile (never done by the bridge)
                return
            email, attempts, lease = row.email, row.attempts, row.claimed_until
            session.commit()
        try:
            sent = self.mailer.send(email)
        except Exception:  # a message SMTP refuses to build is a failed attempt too
            log.exception("envoi-courriel-echoue", extra={"courriel": row_id})
            sent = False
        outcome: dict[str, object] = {"claimed_until": None}
        if sent:
            outcome.update(sent_at=now(), body="")  # no password or link kept once sent
            run.sent += 1
        elif attempts >= MAX_ATTEMPTS:
            outcome.update(failed_at=now())
            run.failed += 1
            log.error("courriel-abandonne", extra={"courriel": row_id, "essais": attempts})
        else:
            pause = min(LONGEST_PAUSE, FIRST_PAUSE * 2 ** (attempts - 1))
            outcome.update(next_attempt_at=now() + pause)
            run.retried += 1
        # Only while the claim is still ours (a send that outlasted its lease: the row may
        # be another process's now, whose outcome stands).
        with self.sessions() as session:
            session.execute(
                update(QueuedEmail)
                .where(QueuedEmail.id == row_id, QueuedEmail.claimed_until == lease)
                .values(**outcome)
                .execution_options(synchronize_session=False)
            )
            session.commit()

    def run_every(self, seconds: float, stop: threading.Event) -> None:
        """The queue's loop (the portal's lifespan): a failed turn is logged and tried again."""
        while not stop.wait(seconds):
            try:
                while self.run_once().sent == 100 and not stop.is_set():  # more are waiting
                    pass
            except Exception:
                log.exception("courriels-echec")


def _due(row: type[QueuedEmail], moment: datetime) -> tuple[ColumnElement[bool], ...]:
    return (
        row.sent_at.is_(None),
        row.failed_at.is_(None),
        row.next_attempt_at <= moment,
        (row.claimed_until.is_(None)) | (row.claimed_until < now()),
    )


def _first_for_its_recipient(
    row: type[QueuedEmail], older: type[QueuedEmail]
) -> ColumnElement[bool]:
    """No older e-mail to the same recipient is still to be sent."""
    return ~exists().where(
        and_(
            older.recipient == row.recipient,
            older.id < row.id,
            older.sent_at.is_(None),
            older.failed_at.is_(None),
        )
    )
