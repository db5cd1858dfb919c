"""A port already in use is refused with a sentence naming the port and the variable to change."""

from __future__ import annotations

import socket

import pytest

from bridge.devstack.errors import StackError
from bridge.devstack.mailcatcher import MailCatcher
from bridge.devstack.ports import ensure_port_free, free_port


def test_a_taken_port_is_named_with_the_variable_that_moves_it() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(StackError, match=f"Le port {port} .* DEVSTACK_SMTP_PORT"):
            ensure_port_free(port, "SMTP", "DEVSTACK_SMTP_PORT")


def test_the_mail_catcher_refuses_a_taken_port_and_starts_on_a_free_one() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with pytest.raises(StackError, match="déjà utilisé"):
            MailCatcher(taken.getsockname()[1]).start()
    catcher = MailCatcher(free_port())
    catcher.start()
    catcher.stop()
