"""Text keys shared by the services: what a search or a unique label compares."""

from __future__ import annotations

import unicodedata


def folded(value: str, *, single_spaces: bool = False) -> str:
    """Lowercase and without accents, so « elodie » finds « Élodie » on every database;
    `single_spaces` also trims and collapses the spaces (« Unité  Nord » is « unite nord »)."""
    if single_spaces:
        value = " ".join(value.split())
    return "".join(
        c for c in unicodedata.normalize("NFKD", value.casefold()) if not unicodedata.combining(c)
    )
