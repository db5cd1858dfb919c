"""The realm export renders like Keycloak renders it, and requires nothing undeclared."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

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


# --- the console's texts (#21) -----------------------------------------------------------

THEME_MESSAGES = (
    REALM_FILE.parents[1]
    / "themes"
    / "demarches-dsfr"
    / "login"
    / "messages"
    / "messages_fr.properties"
)
MESSAGE_KEY = re.compile(r"\$\{([a-zA-Z][a-zA-Z0-9.-]*)\}")


def _profile_keys(realm: dict[str, Any]) -> set[str]:
    [component] = realm["components"]["org.keycloak.userprofile.UserProfileProvider"]
    return set(MESSAGE_KEY.findall(component["config"]["kc.user.profile.config"][0]))


def _theme_messages() -> dict[str, str]:
    found = {}
    for line in THEME_MESSAGES.read_text(encoding="utf-8").splitlines():
        key, sep, value = line.partition("=")
        if sep and not line.startswith("#"):
            found[key.strip()] = value.replace("''", "'")
    return found


def test_every_message_key_of_the_user_profile_has_french_and_english_realm_texts() -> None:
    realm = render_realm({})
    keycloak_own = {"username", "email", "firstName", "lastName"}  # the console translates them
    wanted = _profile_keys(realm) - keycloak_own
    assert {"civilite", "civiliteMadame", "cguVersion", "habilitationAide"} <= wanted
    for locale in ("fr", "en"):
        assert wanted <= set(realm["localizationTexts"][locale]), locale


def test_the_realm_texts_say_what_the_login_pages_said() -> None:
    """Realm texts override the theme's on the login pages too, as MessageFormat patterns
    (where « ' » quotes): the same sentences, with the typographic apostrophe."""
    realm = render_realm({})
    theme = _theme_messages()
    for locale, texts in realm["localizationTexts"].items():
        for key, text in texts.items():
            assert "'" not in text, (locale, key)
            if locale == "fr" and key in theme:
                assert text == theme[key].replace("'", "’"), key
