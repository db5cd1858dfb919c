"""Liveness and readiness probes for orchestrators and the local stack; the metrics, for
Prometheus only (a bearer token of their own: queue sizes and refusals are not public)."""

from __future__ import annotations

import hmac
from typing import Annotated

import httpx
from fastapi import APIRouter, Request, Security
from fastapi.responses import JSONResponse, PlainTextResponse
from sqlalchemy.orm import Session, sessionmaker

from bridge.api import check_metrics
from bridge.api.deps import METRICS_TOKEN, Declared, bearer_token
from bridge.api.errors import API_PROBLEMS, problem
from bridge.identity.tokens import InvalidTokenError
from bridge.sync.metrics import render


def health_router(discovery_url: str, http: httpx.AsyncClient) -> APIRouter:
    router = APIRouter(prefix="/health", tags=["santé"])

    @router.get("/live", summary="Le processus répond")
    async def live() -> dict[str, str]:
        return {"status": "ok"}

    @router.get(
        "/ready",
        summary="Prêt à servir : Keycloak répond",
        response_model=None,
        responses={503: API_PROBLEMS[503]},
    )
    async def ready() -> JSONResponse | dict[str, str]:
        try:
            response = await http.get(discovery_url, timeout=3)
        except httpx.HTTPError as exc:
            return problem(
                503,
                "keycloak-indisponible",
                "Pas prêt",
                f"Keycloak ne répond pas ({exc.__class__.__name__}).",
            )
        if response.status_code != 200:
            return problem(
                503,
                "keycloak-indisponible",
                "Pas prêt",
                f"Keycloak répond {response.status_code} à la découverte OIDC.",
            )
        return {"status": "ok"}

    return router


def metrics_router(sessions: sessionmaker[Session], token: str) -> APIRouter:
    router = APIRouter(tags=["santé"])
    expected = token.encode()

    @router.get(
        "/metrics",
        summary="Mesures du pont : projection, courriels, API de vérification (format texte Prometheus)",
        description="Réservé à Prometheus : `Authorization: Bearer` avec BRIDGE_METRICS_TOKEN.",
        response_class=PlainTextResponse,
        responses={401: API_PROBLEMS[401]},
    )
    def metrics(
        request: Request, _: Annotated[Declared, Security(METRICS_TOKEN)]
    ) -> PlainTextResponse:
        sent = bearer_token(request, "Le jeton des mesures (Authorization: Bearer) est requis.")
        if not hmac.compare_digest(sent.encode(), expected):
            raise InvalidTokenError("Ce jeton ne donne pas accès aux mesures.")
        with sessions() as session:
            body = render(session) + check_metrics.render()
        return PlainTextResponse(body, media_type="text/plain; version=0.0.4; charset=utf-8")

    return router
