"""Valid, unique SIRETs for tests (Luhn key computed; La Poste's SIREN avoided)."""

from __future__ import annotations

import random

from stdnum.fr import siret as stdnum_siret

_random = random.Random()  # noqa: S311 - test data, not secrets


def luhn_complete(digits13: str) -> str:
    """Append the digit that makes the 14 digits pass the Luhn check."""
    for last in "0123456789":
        candidate = digits13 + last
        total = 0
        for index, char in enumerate(reversed(candidate)):
            value = int(char) * (2 if index % 2 else 1)
            total += value - 9 if value > 9 else value
        if total % 10 == 0:
            return candidate
    raise AssertionError("unreachable")


def new_siret() -> str:
    while True:
        siret = luhn_complete(f"{_random.randrange(10**12, 10**13):013d}")
        if not siret.startswith("356000000") and stdnum_siret.is_valid(siret):
            return siret
