"""The realm export renders like Keycloak renders it, and requires nothing undeclared."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bridge.devstack.errors import StackError
from bridge.devstack.realm import REALM_FILE, placeholders, render_realm


def test_every_placeholder_of_the_realm_has_a_development_default() -> None:
    assert all(default is not None for default in placeholders().values())


def test_rendering_uses_the_environment_then_the_defaults() -> None:
    realm = render_realm({"REALM_SMTP_PORT": "2525"}, name="demarches-tests")
    assert realm["realm"] == "demarches-tests"
    assert realm["smtpServer"]["port"] == "2525"
    portal = next(c for c in realm["clients"] if c["clientId"] == "portail")
    assert portal["redirectUris"] == ["http://127.0.0.1:8000/auth/callback"]


def test_a_value_with_quotes_stays_valid_json() -> None:
    realm = render_realm({"REALM_SMTP_FROM": 'a"b@exemple.fr'})
    assert realm["smtpServer"]["from"] == 'a"b@exemple.fr'


def test_a_placeholder_without_default_must_be_given(tmp_path: Path) -> None:
    realm_file = tmp_path / "realm.json"
    realm_file.write_text(json.dumps({"realm": "${REALM_NAME_REQUIRED}"}))
    with pytest.raises(StackError, match="REALM_NAME_REQUIRED est exigée"):
        render_realm({}, path=realm_file)


def test_the_realm_file_is_the_one_keycloak_imports() -> None:
    assert REALM_FILE.parent.name == "realm-export"
