"""The bridge's FastAPI application: portal pages, OIDC login, health, OpenAPI."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from starlette.middleware.sessions import SessionMiddleware

from bridge.api.bpf import router as bpf_api
from bridge.api.context import AppContext
from bridge.api.delegations import router as delegations_api
from bridge.api.employeur import router as employeur_api
from bridge.api.ended_sessions import EndedSessions
from bridge.api.errors import install_error_handlers
from bridge.api.habilitations import router as habilitations_api
from bridge.api.health import health_router, metrics_router
from bridge.api.oidc import OidcLogin, SessionUser
from bridge.api.pages import LoginRequiredError, pages_router
from bridge.api.pages_bpf import bpf_pages
from bridge.api.pages_delegations import delegation_pages
from bridge.api.pages_employeur import employeur_pages
from bridge.api.portal import portal_router
from bridge.api.templating import make_templates, mount_assets
from bridge.api.tokens import TokenVerifier
from bridge.api.verifications import router as verifications_api
from bridge.catalog import load_catalog
from bridge.db import make_engine, make_session_factory
from bridge.delegation.jobs import end_dates_every
from bridge.logging import configure_logging
from bridge.notification import Mailer
from bridge.person.service import remember_person
from bridge.settings import Settings
from bridge.sync.jobs import make_projector, sync_forever

SERVICE_NAME = "Mes démarches emploi et formation professionnelle"


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app from validated settings (read from `BRIDGE_*` when not given)."""
    settings = settings or Settings()
    configure_logging(settings.log_level)
    http = httpx.AsyncClient()
    engine = make_engine(settings.database_url)
    sessions = make_session_factory(engine)
    # Shared by pages and API, and through the store by every replica of the bridge.
    ended = EndedSessions(sessions)
    internal = (settings.keycloak_internal_url or settings.keycloak_url).rstrip("/")
    context = AppContext(
        settings=settings,
        catalog=load_catalog(settings.catalog_file),
        sessions=sessions,
        mailer=Mailer(settings.smtp_host, settings.smtp_port, settings.smtp_from),
        verifier=TokenVerifier(
            issuer=settings.issuer,
            jwks_url=f"{internal}/realms/{settings.keycloak_realm}/protocol/openid-connect/certs",
            audience=settings.api_audience,
            refetch_interval=settings.jwks_refetch_seconds,
            ended=ended,
        ),
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        job = None
        if settings.delegation_job_interval_seconds > 0:
            job = asyncio.create_task(
                end_dates_every(context, settings.delegation_job_interval_seconds)
            )
        sync = None
        if settings.sync_interval_seconds > 0:
            sync = asyncio.create_task(sync_forever(context, make_projector(context)))
        yield
        for task in (job, sync):
            if task is not None:
                task.cancel()
        await http.aclose()
        engine.dispose()

    app = FastAPI(
        title="Bridge des habilitations",
        description="Portail « Mes démarches » et API des habilitations par SIRET.",
        version="0.1.0",
        lifespan=lifespan,
    )
    templates = make_templates(theme=settings.theme, service_name=SERVICE_NAME)
    login = OidcLogin(settings, ended)
    app.state.settings = settings
    app.state.login = login
    app.state.context = context

    def on_login(user: SessionUser, token: dict[str, object]) -> SessionUser:
        """Keep the person's contact details in the store; read the operator role."""
        with context.work() as work:
            remember_person(work.session, user.sub, user.email, user.given_name, user.family_name)
        access_token = token.get("access_token")
        if isinstance(access_token, str):
            user = user.model_copy(
                update={"operator": context.verifier.verify(access_token).operator}
            )
        return user

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
    app.include_router(metrics_router(context.sessions))
    app.include_router(login.router(on_login=on_login))
    app.include_router(habilitations_api)
    app.include_router(delegations_api)
    app.include_router(employeur_api)
    app.include_router(verifications_api)
    app.include_router(bpf_api)
    app.include_router(pages_router(context, login, templates))
    app.include_router(delegation_pages(context, templates))
    app.include_router(employeur_pages(context, templates))
    app.include_router(bpf_pages(context, templates))
    app.include_router(portal_router(settings, login, templates))

    @app.exception_handler(LoginRequiredError)
    async def _login_required(request: Request, exc: LoginRequiredError) -> Response:
        return RedirectResponse("/auth/login", status_code=303)

    return app
