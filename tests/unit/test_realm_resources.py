"""The realm step's view of the export, without Keycloak: the fields it owns, how a
difference reads, and a realm folder that is not one."""

from __future__ import annotations

from pathlib import Path

import pytest

from bridge.errors import SetupError
from bridge.realm.apply import Difference, fingerprint, load, record_print
from bridge.realm.export import REALM_EXPORT_DIR, realm_file
from bridge.realm.resources import Flow, Resource, from_ref, normalized

SECRETS = {
    "REALM_PORTAL_CLIENT_SECRET": "secret-du-portail-en-production-0123456789",
    "REALM_MAF_CLIENT_SECRET": "secret-de-maf-en-production-0123456789",
    "REALM_BRIDGE_CLIENT_SECRET": "secret-du-pont-en-production-0123456789",
}


def _managed(env: dict[str, str] | None = None) -> list[Resource]:
    return load(REALM_EXPORT_DIR, SECRETS if env is None else env, "demarches")


def test_a_flow_owns_its_sub_flows_executions_in_order_with_their_settings() -> None:
    inscription = next(
        r for r in _managed() if isinstance(r, Flow) and r.where == "flux inscription"
    )
    fields = inscription.wanted()
    assert fields[("flux inscription", "exécutions")][:3] == [
        "sous-flux inscription formulaire",
        "  demarches-courriel-identifiant",
        "  registration-user-creation",
    ]
    captcha = "flux inscription formulaire › exécution demarches-captcha"
    assert fields[(captcha, "requirement")] == "REQUIRED"
    assert fields[(captcha, "config.difficulte")] == "22"


def test_what_the_export_does_not_name_is_not_owned() -> None:
    owned = {key for resource in _managed() for key in resource.wanted()}
    wheres = {where for where, _ in owned}
    assert not any(name == "users" for _, name in owned)
    assert not any(where.startswith("utilisateur") for where in wheres)
    service_account = "compte de service du client bridge › rôles de realm-management"
    assert {where for where in wheres if "compte de service" in where} == {service_account}
    assert (service_account, "rôle view-events") in owned  # its client roles, nothing else
    assert ("domaine", "passwordPolicy") in owned
    assert ("client portail", "redirectUris") in owned
    assert ("client portail", "secret") in owned
    assert ("client bridge", "secret") in owned


def test_a_client_secret_left_to_its_development_default_is_never_owned() -> None:
    """Without REALM_BRIDGE_CLIENT_SECRET, the public `dev-bridge-secret-a-changer` would
    replace a live realm's secret: the field is left out, the live secret stays."""
    env = {k: v for k, v in SECRETS.items() if k != "REALM_BRIDGE_CLIENT_SECRET"}
    owned = {key: value for resource in _managed(env) for key, value in resource.wanted().items()}
    assert ("client bridge", "secret") not in owned
    assert owned[("client portail", "secret")] == SECRETS["REALM_PORTAL_CLIENT_SECRET"]
    assert not any("a-changer" in str(value) for value in owned.values())


def test_localization_texts_are_their_own_resource_not_a_realm_setting() -> None:
    owned = {key: value for resource in _managed() for key, value in resource.wanted().items()}
    assert ("domaine", "localizationTexts") not in owned
    assert owned[("textes de la langue fr", "civilite")] == "Civilité"


def test_set_like_lists_are_compared_whatever_their_order() -> None:
    assert normalized("supportedLocales", ["fr", "en"]) == normalized(
        "supportedLocales", ["en", "fr"]
    )
    assert normalized("eventsListeners", ["b", "a"]) == ["a", "b"]


def test_a_secret_is_never_printed() -> None:
    secret = Difference("client bridge", "secret", "vrai-secret-en-place", "dev-secret-a-changer")
    assert secret.sentence() == "client bridge : secret (masqué) → (masqué)"
    smtp = Difference("domaine", "smtpServer.password", "mot-de-passe", "autre", hand_edit=True)
    assert smtp.sentence() == "domaine : smtpServer.password (masqué) → (masqué)"
    assert "mot-de-passe" not in smtp.sentence()


def test_a_difference_says_what_and_where() -> None:
    difference = Difference(
        "flux reinitialisation › exécution reset-otp", "requirement", "REQUIRED", "DISABLED"
    )
    assert difference.sentence() == (
        "flux reinitialisation › exécution reset-otp : requirement REQUIRED → DISABLED"
    )


def test_a_removal_says_what_leaves_the_realm() -> None:
    whole = Difference("client portail › mappeur profil-siret", "", {}, None, removed=True)
    assert whole.sentence() == "suppression : client portail › mappeur profil-siret"
    field = Difference("profil utilisateur", "attribut siret", {}, None, removed=True)
    assert field.sentence() == "suppression : profil utilisateur : attribut siret"


def test_objects_that_an_apply_may_delete_are_found_again_from_the_record() -> None:
    for resource in _managed():
        ref = resource.ref()
        if ref is not None:
            again = from_ref(resource.where, ref)
            assert again is not None, resource.where
            assert again.ref() == ref, resource.where


def test_equal_values_have_equal_fingerprints_whatever_the_key_order() -> None:
    assert fingerprint({"a": 1, "b": [2]}) == fingerprint({"b": [2], "a": 1})
    assert fingerprint("length(12)") != fingerprint("length(8)")


def test_a_folder_without_one_realm_file_is_refused_in_a_sentence(tmp_path: Path) -> None:
    with pytest.raises(SetupError, match="doit contenir un seul fichier de domaine"):
        load(tmp_path, {}, "demarches")
    assert realm_file(REALM_EXPORT_DIR).name == "demarches-realm.json"


def test_a_secret_is_recorded_as_a_salted_digest_and_still_tells_a_change() -> None:
    key = ("client bridge", "secret")
    salt, other_salt = "a" * 32, "b" * 32
    recorded = record_print(key, "le-secret", salt)
    assert fingerprint("le-secret") not in recorded  # no plain hash to test guesses against
    assert recorded != record_print(key, "le-secret", other_salt)
    assert recorded == record_print(key, "le-secret", salt)
    assert recorded != record_print(key, "un-autre-secret", salt)
    assert record_print(("domaine", "passwordPolicy"), "x", salt) == fingerprint("x")
