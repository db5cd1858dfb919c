"""Liveness and readiness probes for orchestrators and the local stack."""

from __future__ import annotations

import httpx
from fastapi import APIRouter
from fastapi.responses import JSONResponse, PlainTextResponse
from sqlalchemy.orm import Session, sessionmaker

from bridge.api.errors import problem
from bridge.sync.metrics import render


def health_router(discovery_url: str, http: httpx.AsyncClient) -> APIRouter:
    router = APIRouter(prefix="/health", tags=["santé"])

    @router.get("/live", summary="Le processus répond")
    async def live() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/ready", summary="Prêt à servir : Keycloak répond", response_model=None)
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


def metrics_router(sessions: sessionmaker[Session]) -> APIRouter:
    router = APIRouter(tags=["santé"])

    @router.get(
        "/metrics",
        summary="Mesures de la projection vers Keycloak (format texte Prometheus)",
        response_class=PlainTextResponse,
    )
    def metrics() -> PlainTextResponse:
        with sessions() as session:
            body = render(session)
        return PlainTextResponse(body, media_type="text/plain; version=0.0.4; charset=utf-8")

    return router
