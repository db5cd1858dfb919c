"""The BPF's rules (Cerfa n° 10443) without a database: kinds, signs, totals, agreements."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bridge.bpf.cerfa import LINES, SECTIONS, SUMS, check
from tests.support.bpf import complete_bpf


def test_a_complete_consistent_bpf_has_no_error() -> None:
    values, errors = check(complete_bpf(), complete=True)
    assert errors == {}
    assert values["c1"] == Decimal("12000.50")
    assert values["f1_total_heures"] == 2000


def test_every_total_names_lines_of_the_form() -> None:
    for rule in SUMS:
        assert rule.total in LINES
        assert all(part in LINES for part in rule.parts)
    assert [s.key for s in SECTIONS] == ["A", "C", "D", "E", "F1", "F2", "F3", "F4", "G", "H"]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("c1", "-1", "Le montant ne peut pas être négatif."),
        ("c1", "12.345", "Deux décimales au plus (les centimes)."),
        ("c1", "douze", "Saisissez un nombre."),
        ("f1a_heures", "10.5", "Un nombre entier d'heures."),
        ("e1_personnes", -2, "Le nombre ne peut pas être négatif."),
        ("c_part_ca", "120", "Un pourcentage entre 0 et 100, une décimale au plus."),
        ("nda", "1234", "Le numéro de déclaration d'activité comporte 11 chiffres."),
        ("inconnu", "1", "Ce champ n'existe pas dans le formulaire."),
        ("c1", True, "Saisissez un nombre."),
        ("c1", "NaN", "Saisissez un nombre."),
    ],
)
def test_a_bad_value_is_refused_with_its_reason(field: str, value: object, message: str) -> None:
    _, errors = check({**complete_bpf(), field: value}, complete=False)
    assert errors[field] == message


def test_a_total_that_does_not_add_up_names_the_expected_sum() -> None:
    _, errors = check({**complete_bpf(), "c2_total": "37000"}, complete=True)
    assert (
        errors["c2_total"] == "Le total doit être égal à la somme de ses lignes (38\u202f000,00)."
    )


def test_trainees_and_hours_must_agree_across_sections() -> None:
    bpf = {**complete_bpf(), "f3d_stagiaires": 31, "f3_total_stagiaires": 51}
    _, errors = check(bpf, complete=True)
    assert errors == {
        "f3_total_stagiaires": "Doit être égal à « Total — nombre de stagiaires » (50)."
    }


def test_a_dont_line_cannot_exceed_its_whole() -> None:
    _, errors = check({**complete_bpf(), "d_salaires": "39000"}, complete=True)
    assert "d_salaires" in errors


def test_a_draft_may_be_incomplete_but_a_submission_may_not() -> None:
    assert check({"c1": "100"}, complete=False)[1] == {}
    _, errors = check({"c1": "100"}, complete=True)
    assert errors["denomination"] == "Ce champ est obligatoire."
    assert errors["c_total"].startswith("Le total doit être égal")


def test_french_number_formats_are_read() -> None:
    values, errors = check({"c1": "12 000,50"}, complete=False)
    assert errors == {}
    assert values["c1"] == Decimal("12000.50")
