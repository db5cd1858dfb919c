"""Logs are one JSON object per line, with the fields given in `extra=`."""

from __future__ import annotations

import json
import logging

from bridge.logging import JsonFormatter


def test_a_record_becomes_one_json_line_with_its_extra_fields() -> None:
    record = logging.LogRecord("bridge", logging.INFO, __file__, 1, "connexion de %s", ("x",), None)
    record.sub = "1234"
    line = JsonFormatter().format(record)
    entry = json.loads(line)
    assert entry["message"] == "connexion de x"
    assert entry["level"] == "INFO"
    assert entry["sub"] == "1234"
    assert "\n" not in line


def test_invitation_tokens_never_reach_the_logs() -> None:
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/1.1" %d',
        ("127.0.0.1:5000", "GET", "/invitations/AbCdEf0123456789-_xyz", 200),
        None,
    )
    line = JsonFormatter().format(record)
    assert "AbCdEf0123456789" not in line
    assert "/invitations/[masqué]" in line
