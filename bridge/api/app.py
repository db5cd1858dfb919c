"""The bridge's FastAPI application: portal pages, OIDC login, health, OpenAPI."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI
from starlette.middleware.sessions import SessionMiddleware

from bridge.api.errors import install_error_handlers
from bridge.api.health import health_router
from bridge.api.oidc import OidcLogin
from bridge.api.portal import portal_router
from bridge.api.templating import make_templates, mount_assets
from bridge.logging import configure_logging
from bridge.settings import Settings

SERVICE_NAME = "Mes démarches emploi et formation professionnelle"


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app from validated settings (read from `BRIDGE_*` when not given)."""
    settings = settings or Settings()
    configure_logging(settings.log_level)
    http = httpx.AsyncClient()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        await http.aclose()

    app = FastAPI(
        title="Bridge des habilitations",
        description="Portail « Mes démarches » et API des habilitations par SIRET.",
        version="0.1.0",
        lifespan=lifespan,
    )
    templates = make_templates(theme=settings.theme, service_name=SERVICE_NAME)
    login = OidcLogin(settings)
    app.state.settings = settings
    app.state.login = login
    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.session_secret.get_secret_value(),
        session_cookie=settings.session_cookie,
        same_site="lax",
        https_only=settings.secure_cookies,
        max_age=36_000,
    )
    install_error_handlers(app, templates)
    mount_assets(app, theme=settings.theme, dsfr_dist=settings.dsfr_dist)
    app.include_router(health_router(settings.discovery_url, http))
    app.include_router(login.router())
    app.include_router(portal_router(settings, login, templates))
    return app
