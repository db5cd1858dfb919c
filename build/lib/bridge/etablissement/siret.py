"""SIRET validation wherever a SIRET enters, with the reason in French."""

from __future__ import annotations

from stdnum.exceptions import InvalidChecksum, InvalidFormat, InvalidLength, ValidationError
from stdnum.fr import siret as stdnum_siret

from bridge.errors import InvalidInputError


class InvalidSiretError(InvalidInputError):
    code = "siret-invalide"
    title = "SIRET invalide"


def parse_siret(value: str) -> str:
    """The 14 digits of a valid SIRET (spaces allowed in input), or `InvalidSiretError`.

    python-stdnum checks the Luhn key, and La Poste's own rule for SIREN 356000000.
    """
    raw = (value or "").strip()
    try:
        return str(stdnum_siret.validate(raw))
    except InvalidLength:
        reason = "il doit compter 14 chiffres"
    except InvalidFormat:
        reason = "il ne doit contenir que des chiffres"
    except InvalidChecksum:
        reason = "sa clé de contrôle est fausse, vérifiez chaque chiffre"
    except ValidationError:
        reason = "il n'est pas reconnu"
    shown = raw if len(raw) <= 20 else raw[:20] + "…"
    raise InvalidSiretError(f"Le SIRET « {shown} » n'est pas valide : {reason}.", field="siret")


def siren_of(siret: str) -> str:
    return siret[:9]
