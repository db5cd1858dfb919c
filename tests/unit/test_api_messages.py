"""Pydantic's validation errors, read by a person: in French, with their bounds."""

from __future__ import annotations

from bridge.api.errors import in_french


def test_known_errors_are_french_with_their_bounds() -> None:
    assert in_french({"type": "missing", "msg": "Field required"}) == "Champ obligatoire."
    assert (
        in_french({"type": "string_too_long", "ctx": {"max_length": 64}})
        == "Texte trop long (au plus 64 caractères)."
    )
    assert in_french({"type": "less_than_equal", "ctx": {"le": 100}}) == (
        "Nombre trop grand (au plus 100)."
    )


def test_our_own_validators_keep_their_french_sentence() -> None:
    error = {"type": "value_error", "msg": "Value error, Le SIRET doit compter 14 chiffres."}
    assert in_french(error) == "Le SIRET doit compter 14 chiffres."


def test_an_unknown_error_or_a_missing_bound_still_reads_french() -> None:
    assert in_french({"type": "url_parsing", "msg": "Input should be a valid URL"}) == (
        "Valeur invalide."
    )
    assert in_french({"type": "string_too_long"}) == "Texte trop long."
