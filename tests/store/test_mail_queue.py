"""The e-mails' queue (bridge/notification.py) on SQLite and PostgreSQL, with a real SMTP
catcher that the tests stop and start again: nothing lost, nothing sent twice, in order per
recipient (#19, « mail that is never lost »)."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bridge.db import now, unit_of_work
from bridge.devstack.mailcatcher import MailCatcher, MailStore
from bridge.devstack.ports import free_port
from bridge.notification import (
    MAX_ATTEMPTS,
    SILENT,
    Email,
    Mailer,
    MailQueue,
    Queued,
    QueuedEmail,
    notify,
)


@pytest.fixture
def catcher() -> Iterator[MailCatcher]:
    server = MailCatcher(free_port(), MailStore())
    server.start()
    yield server
    server.stop()


def queue_of(sessions: sessionmaker[Session], catcher: MailCatcher) -> MailQueue:
    return MailQueue(sessions, Mailer("127.0.0.1", catcher.port, "pont@test.example"))


def committed(sessions: sessionmaker[Session], *emails: Email) -> list[int]:
    """E-mails written by a unit of work that commits, none sent (the web process died)."""
    events: list[object] = []
    with unit_of_work(sessions, events.extend) as session:
        for email in emails:
            notify(session, email)
    return [e.row_id for e in events if isinstance(e, Queued)]


def mail(to: str, subject: str) -> Email:
    return Email((to,), subject, f"Corps de « {subject} ».")


def run_until_sent(queue: MailQueue, rounds: int = 20) -> None:
    """The queue's loop, with the clock moved past each pause instead of waiting for it."""
    moment = now()
    for _ in range(rounds):
        queue.run_once(moment=moment)
        moment += timedelta(minutes=16)


def test_a_mail_written_with_a_rolled_back_change_never_exists(
    sessions: sessionmaker[Session],
) -> None:
    def failing_change() -> None:
        with unit_of_work(sessions) as session:
            notify(session, mail("a@example.fr", "Jamais"))
            raise RuntimeError("la modification échoue")

    with pytest.raises(RuntimeError):
        failing_change()
    with sessions() as session:
        assert session.scalars(select(QueuedEmail)).all() == []


def test_a_process_killed_between_commit_and_send_still_gets_its_mail_out(
    sessions: sessionmaker[Session], catcher: MailCatcher
) -> None:
    committed(sessions, mail("tiers@example.fr", "Invitation"))
    queue_of(sessions, catcher).run_once()
    [caught] = catcher.store.for_recipient("tiers@example.fr")
    assert caught.subject == "Invitation"


def test_the_smtp_server_away_during_200_invitations_then_back_gives_each_exactly_once(
    sessions: sessionmaker[Session], catcher: MailCatcher
) -> None:
    queue = queue_of(sessions, catcher)
    catcher.stop()
    ids = committed(
        sessions, *(mail(f"tiers{i}@example.fr", f"Invitation {i}") for i in range(200))
    )
    assert not queue.send_now(ids)  # « en attente d'envoi »
    assert queue.run_once(limit=500).sent == 0
    catcher.start()
    run_until_sent(queue)
    received = [m.subject for m in catcher.store.all()]
    assert sorted(received) == sorted(f"Invitation {i}" for i in range(200))
    with sessions() as session:
        rows = session.scalars(select(QueuedEmail)).all()
    assert all(r.sent_at is not None and r.failed_at is None for r in rows)
    assert {r.attempts for r in rows} == {2}  # refused once (server away), then sent


def test_two_processes_sending_at_once_never_send_a_mail_twice(
    sessions: sessionmaker[Session], catcher: MailCatcher
) -> None:
    committed(sessions, *(mail(f"p{i}@example.fr", f"Objet {i}") for i in range(60)))
    queues = [queue_of(sessions, catcher) for _ in range(2)]
    threads = [threading.Thread(target=q.run_once) for q in queues]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    subjects = [m.subject for m in catcher.store.all()]
    assert len(subjects) == 60
    assert len(set(subjects)) == 60


def test_a_mail_never_overtakes_an_older_one_to_the_same_recipient(
    sessions: sessionmaker[Session], catcher: MailCatcher
) -> None:
    queue = queue_of(sessions, catcher)
    catcher.stop()
    [first] = committed(sessions, mail("gestionnaire@example.fr", "1. Demande d'accès"))
    assert not queue.send_now([first])  # will be tried again later
    catcher.start()
    [second] = committed(sessions, mail("gestionnaire@example.fr", "2. Demande retirée"))
    assert not queue.send_now([second])  # behind the first: not sent before it
    assert catcher.store.all() == []
    run_until_sent(queue)
    assert [m.subject for m in catcher.store.all()] == [
        "1. Demande d'accès",
        "2. Demande retirée",
    ]


def test_a_mail_is_given_up_after_its_last_attempt_and_counted(
    sessions: sessionmaker[Session], catcher: MailCatcher
) -> None:
    queue = queue_of(sessions, catcher)
    catcher.stop()
    committed(sessions, mail("perdu@example.fr", "Jamais remis"))
    run_until_sent(queue, rounds=MAX_ATTEMPTS + 3)
    with sessions() as session:
        [row] = session.scalars(select(QueuedEmail)).all()
    assert row.attempts == MAX_ATTEMPTS
    assert row.failed_at is not None
    assert row.sent_at is None


class BrokenMailer(Mailer):
    """A message the mail library refuses to build (not an SMTP error)."""

    def send(self, email: Email) -> bool:
        raise ValueError("en-tête invalide")


def test_a_message_that_cannot_be_built_is_a_failed_attempt_not_a_stuck_row(
    sessions: sessionmaker[Session], catcher: MailCatcher
) -> None:
    [row_id] = committed(sessions, mail("bloque@example.fr", "Objet"))
    broken = MailQueue(sessions, BrokenMailer("127.0.0.1", catcher.port, "pont@test.example"))
    assert not broken.send_now([row_id])  # no exception reaches the change's request
    with sessions() as session:
        row = session.get(QueuedEmail, row_id)
        assert row is not None
        assert (row.attempts, row.claimed_until, row.sent_at) == (1, None, None)
    run_until_sent(queue_of(sessions, catcher))
    assert [m.subject for m in catcher.store.all()] == ["Objet"]


def test_a_sent_mail_keeps_no_body_and_each_recipient_has_a_row_of_its_own(
    sessions: sessionmaker[Session], catcher: MailCatcher
) -> None:
    ids = committed(
        sessions, Email(("a@example.fr", "b@example.fr"), "Mot de passe", "Secret-2026!")
    )
    assert len(ids) == 2
    assert queue_of(sessions, catcher).send_now(ids)
    with sessions() as session:
        rows = session.scalars(select(QueuedEmail).order_by(QueuedEmail.id)).all()
    assert [(r.recipient, r.body) for r in rows] == [("a@example.fr", ""), ("b@example.fr", "")]
    assert [m.recipients for m in catcher.store.all()] == [("a@example.fr",), ("b@example.fr",)]


def test_a_silent_unit_of_work_queues_nothing(sessions: sessionmaker[Session]) -> None:
    with unit_of_work(sessions) as session:
        session.info[SILENT] = True
        notify(session, mail("personne@example.fr", "Rien"))
    with sessions() as session:
        assert session.scalars(select(QueuedEmail)).all() == []


class SlowSmtp:
    """A real SMTP server on 127.0.0.1, alive but slow: it waits `delay` seconds before each
    reply (smtplib's timeout bounds each socket operation, not a whole send). It counts the
    messages it accepted (the end of DATA answered)."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.delivered: list[bytes] = []
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(connection,), daemon=True).start()

    def _reply(self, connection: socket.socket, line: bytes) -> None:
        time.sleep(self.delay)
        connection.sendall(line + b"\r\n")

    def _serve(self, connection: socket.socket) -> None:
        with connection, contextlib.suppress(OSError), connection.makefile("rb") as lines:
            self._reply(connection, b"220 lent.example ESMTP")
            data: list[bytes] | None = None
            for line in lines:
                if data is not None:
                    if line.rstrip(b"\r\n") == b".":
                        self._reply(connection, b"250 accepte")
                        self.delivered.append(b"".join(data))
                        data = None
                    else:
                        data.append(line)
                    continue
                verb = line[:4].upper()
                if verb == b"DATA":
                    data = []
                    self._reply(connection, b"354 suite")
                elif verb == b"QUIT":
                    self._reply(connection, b"221 au revoir")
                    return
                else:
                    self._reply(connection, b"250 ok")

    def close(self) -> None:
        self.listener.close()


def test_a_send_slower_than_its_deadline_is_a_failed_attempt_never_a_second_send(
    sessions: sessionmaker[Session],
) -> None:
    """A slow but alive server: each reply comes 1 s late (a whole send would take 7 s). The
    send's total deadline (1.5 s) ends it before its claim (4 s) lapses, so a second sender
    never takes the row while the first is still sending; the overrun is retried later."""
    server = SlowSmtp(delay=1.0)
    try:
        [row_id] = committed(sessions, mail("invite@example.fr", "Invitation"))
        queues = [
            MailQueue(
                sessions,
                Mailer("127.0.0.1", server.port, "pont@test.example", deadline_seconds=1.5),
                lease=timedelta(seconds=4),
            )
            for _ in range(2)
        ]
        first = threading.Thread(target=queues[0].send_now, args=([row_id],))
        first.start()
        time.sleep(4.5)  # the first sender's claim has lapsed by now
        second = queues[1].run_once()
        first.join(timeout=15)
        assert not first.is_alive()
        assert second.sent == 0
        assert server.delivered == []
        with sessions() as session:
            row = session.get(QueuedEmail, row_id)
            assert row is not None
            assert (row.attempts, row.claimed_until, row.sent_at) == (1, None, None)
            assert row.next_attempt_at > now()  # retried after the pause
        server.delay = 0.0
        run_until_sent(queues[1])
        assert len(server.delivered) == 1
        with sessions() as session:
            row = session.get(QueuedEmail, row_id)
            assert row is not None
            assert row.attempts == 2
            assert row.sent_at is not None
    finally:
        server.close()
