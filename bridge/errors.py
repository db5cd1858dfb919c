"""The base of every refusal the bridge explains; domain packages subclass it.

Each class carries its HTTP status, a stable code and a French title; the web layer maps
them once (problem+json on the API, a French page on the portal).
"""

from __future__ import annotations

from typing import Any


class BridgeError(Exception):
    """A refusal with a reason, never a 500."""

    status = 400
    code = "requete-invalide"
    title = "Requête invalide"
    # True when the refusal itself must be kept (a failed activation attempt is counted).
    keeps_changes = False

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


class NotFoundError(BridgeError):
    status = 404
    code = "introuvable"
    title = "Introuvable"


class ForbiddenError(BridgeError):
    status = 403
    code = "action-interdite"
    title = "Action interdite"


class ConflictError(BridgeError):
    status = 409
    code = "conflit"
    title = "Action impossible en l'état"


class InvalidInputError(BridgeError):
    status = 422
    code = "donnees-invalides"
    title = "Données invalides"


class TooManyAttemptsError(BridgeError):
    status = 429
    code = "trop-de-tentatives"
    title = "Trop de tentatives"


class SetupError(Exception):
    """A setup or start failure (a missing file, Java, a busy port): the message is the French
    sentence shown to the person, saying what is wrong and how to fix it."""
