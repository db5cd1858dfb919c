"""The bilan pédagogique et financier (Cerfa n° 10443) as data: its sections, lines and rules.

One description serves the page (field labels, order), the API (field names) and the checks
(kinds, totals, agreements), so the three cannot drift apart. Keys are the API's field names.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Literal

Kind = Literal["texte", "montant", "nombre", "heures", "pourcentage"]
Value = str | int | Decimal

MAX_AMOUNT = Decimal("999999999999.99")
MAX_COUNT = 999_999_999
MAX_TEXT = 200


@dataclass(frozen=True)
class Line:
    key: str
    label: str
    kind: Kind
    required: bool = False  # at submission; numbers left empty count as 0


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    lines: tuple[Line, ...]


@dataclass(frozen=True)
class SumRule:
    """`total` must equal the sum of `parts`."""

    total: str
    parts: tuple[str, ...]


@dataclass(frozen=True)
class AtMost:
    """The "dont" lines: `part` (or the sum of parts) cannot exceed `whole`."""

    parts: tuple[str, ...]
    whole: str


@dataclass(frozen=True)
class Agreement:
    """Two totals of different sections that must be equal."""

    key: str
    other: str


def _trainees(prefix: str, label: str) -> tuple[Line, Line]:
    return (
        Line(f"{prefix}_stagiaires", f"{label} — nombre de stagiaires", "nombre"),
        Line(f"{prefix}_heures", f"{label} — nombre d'heures-stagiaires", "heures"),
    )


SECTIONS: tuple[Section, ...] = (
    Section(
        "A",
        "Identification de l'organisme de formation",
        (
            Line("denomination", "Dénomination", "texte", required=True),
            Line("nda", "Numéro de déclaration d'activité (11 chiffres)", "texte", required=True),
        ),
    ),
    Section(
        "C",
        "Bilan financier hors taxes : origine des produits de l'organisme (en euros)",
        (
            Line("c1", "Entreprises, pour la formation de leurs salariés", "montant"),
            Line("c2a", "Organismes gestionnaires des fonds — contrats d'apprentissage", "montant"),
            Line("c2b", "… contrats de professionnalisation", "montant"),
            Line("c2c", "… promotion ou reconversion par alternance", "montant"),
            Line("c2d", "… projets de transition professionnelle", "montant"),
            Line("c2e", "… compte personnel de formation", "montant"),
            Line("c2f", "… dispositifs pour les personnes en recherche d'emploi", "montant"),
            Line("c2g", "… dispositifs pour les travailleurs non salariés", "montant"),
            Line("c2h", "… plan de développement des compétences ou autres", "montant"),
            Line("c2_total", "Total des organismes gestionnaires des fonds", "montant"),
            Line("c3a", "Pouvoirs publics — instances européennes", "montant"),
            Line("c3b", "… État", "montant"),
            Line("c3c", "… conseils régionaux", "montant"),
            Line("c3d", "… France Travail", "montant"),
            Line("c3e", "… autres ressources publiques", "montant"),
            Line("c3_total", "Total des pouvoirs publics", "montant"),
            Line("c4", "Personnes à titre individuel et à leurs frais", "montant"),
            Line("c5", "Autres organismes de formation (sous-traitance)", "montant"),
            Line("c6", "Autres produits au titre de la formation professionnelle", "montant"),
            Line("c_total", "Total des produits au titre de la formation", "montant"),
            Line(
                "c_part_ca",
                "Part du chiffre d'affaires global réalisée au titre de la formation (%)",
                "pourcentage",
            ),
        ),
    ),
    Section(
        "D",
        "Bilan financier hors taxes : charges de l'organisme (en euros)",
        (
            Line("d_total", "Total des charges liées à l'activité de formation", "montant"),
            Line("d_salaires", "dont salaires des formateurs", "montant"),
            Line("d_achats", "dont achats de prestations de formation et honoraires", "montant"),
        ),
    ),
    Section(
        "E",
        "Personnes dispensant des heures de formation",
        (
            Line("e1_personnes", "Personnes de votre organisme — nombre", "nombre"),
            Line("e1_heures", "Personnes de votre organisme — heures de formation", "heures"),
            Line("e2_personnes", "Personnes extérieures (sous-traitance) — nombre", "nombre"),
            Line("e2_heures", "Personnes extérieures — heures de formation", "heures"),
        ),
    ),
    Section(
        "F1",
        "Bilan pédagogique : stagiaires par type",
        (
            *_trainees("f1a", "Salariés d'employeurs privés hors apprentis"),
            *_trainees("f1b", "Apprentis"),
            *_trainees("f1c", "Personnes en recherche d'emploi"),
            *_trainees("f1d", "Particuliers à leurs propres frais"),
            *_trainees("f1e", "Autres stagiaires"),
            *_trainees("f1_total", "Total"),
            *_trainees("f1_distance", "dont formation en tout ou partie à distance"),
        ),
    ),
    Section(
        "F2",
        "Bilan pédagogique : activité sous-traitée de l'organisme",
        (*_trainees("f2", "Formations confiées à votre organisme par un autre organisme"),),
    ),
    Section(
        "F3",
        "Bilan pédagogique : objectif général des prestations",
        (
            *_trainees("f3a", "Diplômes ou titres enregistrés au RNCP"),
            *_trainees("f3b", "Certificats de qualification professionnelle non enregistrés"),
            *_trainees("f3c", "Certifications du répertoire spécifique"),
            *_trainees("f3d", "Autres formations professionnelles"),
            *_trainees("f3e", "Bilans de compétences"),
            *_trainees("f3f", "Accompagnement à la validation des acquis de l'expérience"),
            *_trainees("f3_total", "Total"),
        ),
    ),
    Section(
        "F4",
        "Bilan pédagogique : spécialités de formation (les cinq principales)",
        (
            *(
                line
                for n in range(1, 6)
                for line in (
                    Line(f"f4_{n}_specialite", f"Spécialité {n} (code et intitulé)", "texte"),
                    *_trainees(f"f4_{n}", f"Spécialité {n}"),
                )
            ),
            *_trainees("f4_autres", "Autres spécialités"),
            *_trainees("f4_total", "Total"),
        ),
    ),
    Section(
        "G",
        "Formations confiées par votre organisme à un autre organisme",
        (*_trainees("g", "Stagiaires confiés à un autre organisme"),),
    ),
    Section(
        "H",
        "Personne ayant la qualité de dirigeant",
        (
            Line("h_nom", "Nom", "texte", required=True),
            Line("h_prenom", "Prénom", "texte", required=True),
            Line("h_qualite", "Qualité", "texte", required=True),
        ),
    ),
)

LINES: dict[str, Line] = {line.key: line for s in SECTIONS for line in s.lines}


def _sum_of_trainees(total: str, parts: list[str]) -> tuple[SumRule, SumRule]:
    return (
        SumRule(f"{total}_stagiaires", tuple(f"{p}_stagiaires" for p in parts)),
        SumRule(f"{total}_heures", tuple(f"{p}_heures" for p in parts)),
    )


SUMS: tuple[SumRule, ...] = (
    SumRule("c2_total", tuple(f"c2{x}" for x in "abcdefgh")),
    SumRule("c3_total", tuple(f"c3{x}" for x in "abcde")),
    SumRule("c_total", ("c1", "c2_total", "c3_total", "c4", "c5", "c6")),
    *_sum_of_trainees("f1_total", [f"f1{x}" for x in "abcde"]),
    *_sum_of_trainees("f3_total", [f"f3{x}" for x in "abcdef"]),
    *_sum_of_trainees("f4_total", [*(f"f4_{n}" for n in range(1, 6)), "f4_autres"]),
)
AT_MOST: tuple[AtMost, ...] = (
    AtMost(("d_salaires", "d_achats"), "d_total"),
    AtMost(("f1_distance_stagiaires",), "f1_total_stagiaires"),
    AtMost(("f1_distance_heures",), "f1_total_heures"),
    AtMost(("f2_stagiaires",), "f1_total_stagiaires"),
    AtMost(("f2_heures",), "f1_total_heures"),
)
AGREEMENTS: tuple[Agreement, ...] = (
    Agreement("f3_total_stagiaires", "f1_total_stagiaires"),
    Agreement("f3_total_heures", "f1_total_heures"),
    Agreement("f4_total_stagiaires", "f1_total_stagiaires"),
    Agreement("f4_total_heures", "f1_total_heures"),
)


def _clean(line: Line, raw: object) -> tuple[Value | None, str | None]:
    """The value in its kind, or the French reason it is refused."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None, None
    if line.kind == "texte":
        if not isinstance(raw, str):
            return None, "Saisissez un texte."
        text = raw.strip()
        if len(text) > MAX_TEXT:
            return None, f"{MAX_TEXT} caractères au plus."
        if line.key == "nda" and not (text.isdigit() and len(text) == 11):
            return None, "Le numéro de déclaration d'activité comporte 11 chiffres."
        return text, None
    if isinstance(raw, bool) or not isinstance(raw, int | float | str | Decimal):
        return None, "Saisissez un nombre."
    text = str(raw).strip().replace("\u202f", "").replace(" ", "").replace(",", ".")
    try:
        number = Decimal(text)
    except InvalidOperation:
        return None, "Saisissez un nombre."
    if not number.is_finite():
        return None, "Saisissez un nombre."
    if number < 0:
        return None, "Le montant ne peut pas être négatif." if line.kind == "montant" else (
            "Le nombre ne peut pas être négatif."
        )
    if line.kind == "montant":
        if number != number.quantize(Decimal("0.01")):
            return None, "Deux décimales au plus (les centimes)."
        if number > MAX_AMOUNT:
            return None, "Montant trop grand."
        return number.quantize(Decimal("0.01")), None
    if line.kind == "pourcentage":
        if number > 100 or number != number.quantize(Decimal("0.1")):
            return None, "Un pourcentage entre 0 et 100, une décimale au plus."
        return number.quantize(Decimal("0.1")), None
    if number != number.to_integral_value():
        return None, (
            "Un nombre entier d'heures." if line.kind == "heures" else "Un nombre entier."
        )
    if number > MAX_COUNT:
        return None, "Nombre trop grand."
    return int(number), None


def _number(values: Mapping[str, Value], key: str) -> Decimal:
    value = values.get(key)
    return Decimal(value) if isinstance(value, int | Decimal) else Decimal(0)


def _label(key: str) -> str:
    return LINES[key].label


def check(raw: Mapping[str, object], *, complete: bool) -> tuple[dict[str, Value], dict[str, str]]:
    """Clean values and the errors by field. A draft (`complete=False`) is checked field by
    field and on the totals it fills; a submission also needs every required line and every
    total and agreement, empty numbers counting as 0."""
    values: dict[str, Value] = {}
    errors: dict[str, str] = {}
    for key, given in raw.items():
        line = LINES.get(key)
        if line is None:
            errors[key] = "Ce champ n'existe pas dans le formulaire."
            continue
        value, error = _clean(line, given)
        if error is not None:
            errors[key] = error
        elif value is not None:
            values[key] = value
    if complete:
        for line in LINES.values():
            if line.required and line.key not in values and line.key not in errors:
                errors[line.key] = "Ce champ est obligatoire."

    def judged(*keys: str) -> bool:
        return not any(k in errors for k in keys) and (complete or all(k in values for k in keys))

    for rule in SUMS:
        if not judged(rule.total) or any(p in errors for p in rule.parts):
            continue
        expected = sum((_number(values, p) for p in rule.parts), Decimal(0))
        if _number(values, rule.total) != expected:
            errors[rule.total] = (
                f"Le total doit être égal à la somme de ses lignes ({_show(expected)})."
            )
    for at_most in AT_MOST:
        if not judged(at_most.whole, *at_most.parts):
            continue
        if sum((_number(values, p) for p in at_most.parts), Decimal(0)) > _number(
            values, at_most.whole
        ):
            errors[at_most.parts[0]] = (
                f"Ne peut pas dépasser « {_label(at_most.whole)} » "
                f"({_show(_number(values, at_most.whole))})."
            )
    for agreement in AGREEMENTS:
        if not judged(agreement.key, agreement.other):
            continue
        if _number(values, agreement.key) != _number(values, agreement.other):
            errors.setdefault(
                agreement.key,
                f"Doit être égal à « {_label(agreement.other)} » "
                f"({_show(_number(values, agreement.other))}).",
            )
    return values, errors


def _show(number: Decimal) -> str:
    return f"{number:,}".replace(",", "\u202f").replace(".", ",")


def as_json(values: Mapping[str, Value]) -> dict[str, str | int]:
    """Stored and returned form: amounts as strings (exact), counts as integers."""
    return {k: str(v) if isinstance(v, Decimal) else v for k, v in values.items()}
