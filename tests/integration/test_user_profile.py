"""The realm's declarative user profile and identity flows, read back from the real Keycloak:
the SIRET validator (our provider) agrees with python-stdnum, phones are French numbers, no
attribute is dropped, and the registration flow and CGU action are the ones we ship."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from keycloak import KeycloakAdmin
from keycloak.exceptions import KeycloakError
from stdnum.fr import siret as stdnum_siret

from tests.support.sirets import luhn_complete, new_siret
from tests.support.stack import PASSWORD, Person, Platform

pytestmark = pytest.mark.keycloak


@pytest.fixture(scope="module")
def admin(platform: Platform) -> KeycloakAdmin:
    return platform.admin()


def person(**attributes: str) -> dict[str, Any]:
    email = f"profil.{uuid.uuid4().hex[:10]}@exemple.fr"
    return {
        "username": email,
        "email": email,
        "firstName": "Jeanne",
        "lastName": "Roux",
        "enabled": True,
        "attributes": {name: [value] for name, value in attributes.items()},
    }


def create(admin: KeycloakAdmin, user: dict[str, Any]) -> str | None:
    """The new user's id, or None when Keycloak refused it (then nothing must exist)."""
    try:
        user_id: str = admin.create_user(user)
    except KeycloakError as exc:
        refused = exc
    else:
        return user_id
    assert refused.response_code == 400, refused
    assert admin.get_users({"email": user["email"], "exact": True}) == []
    return None


SIRETS = [
    "73282932000074",  # Luhn
    "73282932000075",  # Luhn broken
    "35600000000048",  # La Poste's head office: Luhn
    "35600000049837",  # La Poste establishment: digit sum multiple of 5
    "35600000049838",  # La Poste establishment: digit sum not a multiple of 5
    luhn_complete("1234567890123"),  # Luhn on 14 digits, SIREN 123456789 fails its own Luhn
    "7328293200007",  # 13 digits
    "7328293200007A",  # a letter
    "732 829 320 00074",  # spaces
]


@pytest.mark.parametrize("siret", SIRETS)
def test_the_siret_validator_in_keycloak_agrees_with_python_stdnum(
    admin: KeycloakAdmin, siret: str
) -> None:
    expected = siret.isdigit() and stdnum_siret.is_valid(siret)
    user_id = create(admin, person(siret=siret, civilite="madame", telephone="0123456789"))
    assert (user_id is not None) == expected, siret
    if user_id:
        admin.delete_user(user_id)


def test_a_bad_siret_is_refused_with_its_message_key(admin: KeycloakAdmin) -> None:
    with pytest.raises(KeycloakError) as refused:
        admin.create_user(person(siret="73282932000075"))
    assert b"siretCleInvalide" in refused.value.response_body  # type: ignore[operator]


@pytest.mark.parametrize(
    ("telephone", "accepted"),
    [
        ("01 23 45 67 89", True),
        ("0612345678", True),
        ("+33 6 12 34 56 78", True),
        ("+33612345678", True),
        ("09.87.65.43.21", True),
        ("12 34 56 78 90", False),
        ("01 23 45 67", False),
        ("téléphone", False),
    ],
)
def test_phone_numbers_are_french_numbers(
    admin: KeycloakAdmin, telephone: str, accepted: bool
) -> None:
    user_id = create(admin, person(telephone=telephone))
    assert (user_id is not None) == accepted, telephone
    if user_id:
        admin.delete_user(user_id)


def test_the_mobile_phone_must_be_a_mobile_number(admin: KeycloakAdmin) -> None:
    assert create(admin, person(telephoneMobile="01 23 45 67 89")) is None
    user_id = create(admin, person(telephoneMobile="07 12 34 56 78"))
    assert user_id is not None
    admin.delete_user(user_id)


def test_civilite_is_madame_or_monsieur(admin: KeycloakAdmin) -> None:
    assert create(admin, person(civilite="docteur")) is None


def test_every_professional_detail_is_kept(admin: KeycloakAdmin) -> None:
    siret = new_siret()
    details = {
        "civilite": "monsieur",
        "telephone": "01 23 45 67 89",
        "telephoneMobile": "06 12 34 56 78",
        "siret": siret,
        "cguVersion": "1",
        "cguAccepteeLe": "2026-11-22T08:00:00Z",
    }
    user_id = create(admin, person(**details))
    assert user_id is not None
    stored = admin.get_user(user_id)["attributes"]
    assert stored == {name: [value] for name, value in details.items()}
    admin.delete_user(user_id)


def test_registration_uses_our_flow_with_the_offline_captcha(
    admin: KeycloakAdmin, platform: Platform
) -> None:
    realm = admin.get_realm(platform.keycloak.realm)
    assert realm["registrationFlow"] == "inscription"
    executions = {
        e["providerId"]: e["requirement"]
        for e in admin.get_authentication_flow_executions("inscription")
        if "providerId" in e
    }
    assert executions["demarches-captcha"] == "REQUIRED"
    assert executions["registration-user-creation"] == "REQUIRED"
    # Production may switch to Keycloak's reCAPTCHA from the console: it is there, disabled.
    assert executions["registration-recaptcha-action"] == "DISABLED"


def test_the_cgu_action_is_on_after_the_password_change(admin: KeycloakAdmin) -> None:
    actions = {a["alias"]: a for a in admin.get_required_actions()}
    cgu = actions["demarches-cgu"]
    assert cgu["enabled"] is True
    assert cgu["priority"] > actions["UPDATE_PASSWORD"]["priority"]
    assert actions["UPDATE_EMAIL"]["enabled"] is True


def test_the_french_themes_are_installed_and_chosen(
    admin: KeycloakAdmin, platform: Platform
) -> None:
    realm = admin.get_realm(platform.keycloak.realm)
    assert realm["loginTheme"] == "demarches-dsfr"
    assert realm["emailTheme"] == "demarches-dsfr"
    info = admin.connection.raw_get("admin/serverinfo").json()
    login_themes = {t["name"] for t in info["themes"]["login"]}
    assert {"demarches-dsfr", "demarches-neutre"} <= login_themes


def test_the_neutral_theme_is_one_setting_away(admin: KeycloakAdmin, platform: Platform) -> None:
    def login_page() -> str:
        response = httpx.get(f"{platform.portal_url}/auth/login", follow_redirects=True)
        assert response.status_code == 200
        return response.text

    realm = platform.keycloak.realm
    dsfr = login_page()
    assert "dsfr.min.css" in dsfr
    assert "Connectez-vous au portail de services" in dsfr
    admin.update_realm(realm, {"loginTheme": "demarches-neutre"})
    try:
        neutre = login_page()
    finally:
        admin.update_realm(realm, {"loginTheme": "demarches-dsfr"})
    assert "dsfr.min.css" not in neutre
    assert "neutre.css" in neutre
    assert "Connectez-vous au portail de services" in neutre


def test_an_account_created_by_an_administrator_keeps_its_login_id_and_logs_in_with_both(
    admin: KeycloakAdmin, platform: Platform
) -> None:
    """Self-registrants log in with their e-mail; an employer's staff get a generated login
    id (second guide): the realm keeps the username given by the administrator."""
    login_id = f"e{uuid.uuid4().hex[:7]}"
    user = person(civilite="monsieur", telephone="0123456789", siret=new_siret(), cguVersion="1")
    user["username"] = login_id
    user["emailVerified"] = True
    user["credentials"] = [{"type": "password", "value": PASSWORD, "temporary": False}]
    user_id = admin.create_user(user)
    assert admin.get_user(user_id)["username"] == login_id
    for name in (login_id, user["email"]):
        found = Person(user_id, name, user["email"], "Jeanne", "Roux", PASSWORD)
        assert platform.token_for(found)
    admin.delete_user(user_id)
