"""The employer space's pure rules: the add form's fields and the generated secrets."""

from __future__ import annotations

import re

import pytest

from bridge.employeur.service import Details, checked_details, new_login_id, temporary_password
from bridge.errors import InvalidInputError


def details(**changes: str | None) -> Details:
    base: dict[str, str | None] = {
        "civility": "Madame",
        "last_name": " Durand ",
        "first_name": "Élodie",
        "email": " Elodie.Durand@Exemple.FR ",
        "landline": "+33 1 23 45 67 89",
        "mobile": None,
    }
    base.update(changes)
    return Details(**base)  # type: ignore[arg-type]


def test_fields_are_trimmed_and_phones_written_the_french_way() -> None:
    checked = checked_details(details(mobile="06.12.34.56.78"))
    assert checked.civility == "madame"
    assert (checked.last_name, checked.email) == ("Durand", "elodie.durand@exemple.fr")
    assert checked.landline == "01 23 45 67 89"
    assert checked.mobile == "06 12 34 56 78"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"landline": None}, "telephone_fixe"),
        ({"landline": "01 23"}, "telephone_fixe"),
        ({"landline": None, "mobile": "01 23 45 67 89"}, "telephone_mobile"),
        ({"email": "sans-arobase"}, "email"),
        ({"email": "élodie@exemple.fr"}, "email"),
        ({"civility": "Mx"}, "civilite"),
        ({"first_name": ""}, "prenom"),
    ],
)
def test_each_refusal_names_its_field(changes: dict[str, str | None], field: str) -> None:
    with pytest.raises(InvalidInputError) as refused:
        checked_details(details(**changes))
    assert refused.value.extra["field"] == field


def test_a_temporary_password_meets_the_realm_policy() -> None:
    for _ in range(200):
        password = temporary_password()
        assert len(password) == 16
        for kind in (r"[A-Z]", r"[a-z]", r"[0-9]", r"[^A-Za-z0-9]"):
            assert re.search(kind, password)


def test_a_login_id_is_not_the_email_and_says_nothing_of_the_person() -> None:
    assert re.fullmatch(r"g\d{8}", new_login_id())
    assert len({new_login_id() for _ in range(100)}) > 95
