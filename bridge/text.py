"""Text keys shared by the services: what a search or a unique label compares."""

from __future__ import annotations

import unicodedata


def folded(value: str) -> str:
    """Lowercase, without accents and with single spaces, so « élodie  » finds « Élodie »
    on every database and « Unité  Nord » and « unite nord » are the same unit."""
    return "".join(
        c
        for c in unicodedata.normalize("NFKD", " ".join(value.split()).casefold())
        if not unicodedata.combining(c)
    )
