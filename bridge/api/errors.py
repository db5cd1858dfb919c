"""Domain errors carry their status and French message; one place renders them.

API paths (`/api/...`) answer RFC 9457 `application/problem+json`; pages answer a French
error page. A business refusal is a 4xx with a reason, never a 500.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from bridge.errors import BridgeError

log = logging.getLogger(__name__)


class CsrfError(BridgeError):
    status = 403
    code = "jeton-csrf-invalide"
    title = "Formulaire expiré"


class LoginError(BridgeError):
    status = 400
    code = "connexion-echouee"
    title = "La connexion a échoué"


class KeycloakUnavailableError(BridgeError):
    status = 503
    code = "keycloak-indisponible"
    title = "Service d'authentification indisponible"


class Problem(BaseModel):
    """An RFC 9457 problem document, as every API refusal is answered."""

    model_config = ConfigDict(extra="allow", json_schema_extra={"additionalProperties": True})

    type: str = Field(description="urn:demarches:probleme:{code}")
    title: str
    status: int
    code: str = Field(description="Code stable du refus (français)")
    detail: str = Field(description="Ce qui est refusé et comment faire, en français")


def _problem_response(description: str, **headers: str) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": description,
        "content": {
            "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
        },
    }
    if headers:
        response["headers"] = {
            name: {"description": text, "schema": {"type": "string"}}
            for name, text in headers.items()
        }
    return response


# Every answer an API route may give besides its success, for the OpenAPI document: clients
# and conformance tools (schemathesis in `make test`) read the refusals there.
API_PROBLEMS: dict[int | str, dict[str, Any]] = {
    400: _problem_response("Requête invalide"),
    401: _problem_response(
        "Jeton absent ou refusé",
        **{"WWW-Authenticate": 'Bearer realm="demarches" (RFC 6750 §3)'},
    ),
    403: _problem_response("Action interdite à cet appelant"),
    404: _problem_response("Introuvable (ou hors de votre périmètre : même réponse)"),
    405: _problem_response("Méthode non acceptée", Allow="Méthodes acceptées"),
    409: _problem_response("Action impossible en l'état"),
    413: _problem_response("Contenu trop volumineux"),
    422: _problem_response("Données invalides"),
    429: _problem_response("Trop de tentatives", **{"Retry-After": "Secondes à attendre"}),
    503: _problem_response("Keycloak ou le stockage ne répond pas"),
}

_STATUS_TITLES = {
    404: "Page introuvable",
    405: "Méthode non autorisée",
    401: "Connexion requise",
    403: "Accès refusé",
}


def problem(
    status: int,
    code: str,
    title: str,
    detail: str,
    headers: Mapping[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    """An RFC 9457 problem document."""
    body = {
        "type": f"urn:demarches:probleme:{code}",
        "title": title,
        "status": status,
        "code": code,
    }
    body["detail"] = detail
    body.update(extra)
    return JSONResponse(
        body, status_code=status, media_type="application/problem+json", headers=headers
    )


# Pydantic's error types, in French (the person reads them); the rest keep a generic sentence.
_FRENCH = {
    "missing": "Champ obligatoire.",
    "string_type": "Texte attendu.",
    "string_too_short": "Texte trop court (au moins {min_length} caractère(s)).",
    "string_too_long": "Texte trop long (au plus {max_length} caractères).",
    "string_pattern_mismatch": "Format invalide.",
    "int_type": "Nombre entier attendu.",
    "int_parsing": "Nombre entier attendu.",
    "int_from_float": "Nombre entier attendu.",
    "float_parsing": "Nombre attendu.",
    "bool_parsing": "Valeur « true » ou « false » attendue.",
    "bool_type": "Valeur « true » ou « false » attendue.",
    "greater_than": "Nombre trop petit (plus de {gt} attendu).",
    "greater_than_equal": "Nombre trop petit (au moins {ge}).",
    "less_than": "Nombre trop grand (moins de {lt} attendu).",
    "less_than_equal": "Nombre trop grand (au plus {le}).",
    "date_parsing": "Date attendue (AAAA-MM-JJ).",
    "date_from_datetime_parsing": "Date attendue (AAAA-MM-JJ).",
    "date_type": "Date attendue (AAAA-MM-JJ).",
    "datetime_parsing": "Date et heure attendues (ISO 8601).",
    "list_type": "Liste attendue.",
    "dict_type": "Objet JSON attendu.",
    "model_attributes_type": "Objet JSON attendu.",
    "too_short": "Liste trop courte (au moins {min_length} élément(s)).",
    "too_long": "Liste trop longue (au plus {max_length} éléments).",
    "literal_error": "Valeur non admise (attendu : {expected}).",
    "enum": "Valeur non admise (attendu : {expected}).",
    "json_invalid": "JSON invalide.",
    "extra_forbidden": "Champ inconnu.",
}


def in_french(error: Mapping[str, Any]) -> str:
    """A validation error's message for a person: French, with its bound when it has one."""
    kind = str(error.get("type", ""))
    if kind == "value_error":  # our own validators already speak French
        return str(error.get("msg", "")).removeprefix("Value error, ")
    template = _FRENCH.get(kind)
    if template is None:
        return "Valeur invalide."
    try:
        return template.format(**(error.get("ctx") or {}))
    except (KeyError, IndexError):
        return template.split(" (")[0].rstrip(".") + "."


@dataclass(frozen=True)
class _Shown:
    """Who the header names on an error page."""

    display_name: str


def _logged_in(request: Request) -> _Shown | None:
    """The person of the session, as the header shows them: an error page must not offer
    « Se connecter » to someone logged in (read as is, without asking Keycloak again)."""
    session = request.scope.get("session")
    user = session.get("user") if isinstance(session, dict) else None
    if not isinstance(user, dict):
        return None
    name = f"{user.get('given_name', '')} {user.get('family_name', '')}".strip()
    return _Shown(name or str(user.get("email", "")))


def install_error_handlers(app: FastAPI, templates: Jinja2Templates) -> None:
    """Map every error to problem+json on `/api/` and to a French page elsewhere."""

    def render(
        request: Request,
        status: int,
        code: str,
        title: str,
        detail: str,
        headers: Mapping[str, str] | None = None,
        **extra: Any,
    ) -> Response:
        if request.url.path.startswith("/api/") or request.url.path == "/metrics":
            return problem(status, code, title, detail, headers, **extra)
        if request.url.path.startswith("/access/"):  # AuthZEN's transport: a message string
            echoed = dict(headers or {})
            if "x-request-id" in request.headers:
                echoed["X-Request-ID"] = request.headers["x-request-id"]
            return PlainTextResponse(detail, status_code=status, headers=echoed)
        return templates.TemplateResponse(
            request,
            "error.html",
            {"title": title, "detail": detail, "user": _logged_in(request)},
            status_code=status,
            headers=headers,
        )

    @app.exception_handler(BridgeError)
    async def _bridge_error(request: Request, exc: BridgeError) -> Response:
        headers = {}
        challenge = getattr(exc, "challenge", None)  # a 401 says how to authenticate
        if isinstance(challenge, str):
            headers["WWW-Authenticate"] = challenge
        if isinstance(exc.extra.get("retry_after_seconds"), int):  # a 429 says when to retry
            headers["Retry-After"] = str(exc.extra["retry_after_seconds"])
        return render(request, exc.status, exc.code, exc.title, exc.detail, headers, **exc.extra)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        title = _STATUS_TITLES.get(exc.status_code, "Erreur")
        detail = (
            exc.detail
            if isinstance(exc.detail, str) and exc.status_code != 404
            else (
                "L'adresse demandée n'existe pas sur ce portail."
                if exc.status_code == 404
                else title
            )
        )
        # Starlette's headers are kept: a 405 says which methods the address accepts (Allow).
        return render(
            request, exc.status_code, f"http-{exc.status_code}", title, detail, exc.headers
        )

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> Response:
        errors = [
            {"champ": ".".join(str(p) for p in err.get("loc", ())), "message": in_french(err)}
            for err in exc.errors()
        ]
        return render(
            request,
            422,
            "donnees-invalides",
            "Données invalides",
            "Certaines données envoyées sont invalides.",
            erreurs=errors,
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        log.exception("erreur-inattendue", extra={"path": request.url.path})
        # Sent by Starlette's outermost middleware, past ours: the security headers here.
        headers = dict(getattr(request.app.state, "security_headers", {}))
        headers["Cache-Control"] = "no-store"
        return render(
            request,
            500,
            "erreur-interne",
            "Erreur interne",
            "Une erreur inattendue est survenue ; elle a été consignée. Réessayez dans un instant.",
            headers,
        )
