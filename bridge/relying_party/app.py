"""The « Mon Activité Formation » démarche site: every page requires a logged-in person."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response

from bridge.api.auth.oidc import OidcLogin
from bridge.api.auth.sessions import ServerSideSessions
from bridge.api.errors import install_error_handlers
from bridge.api.security_headers import SecurityHeaders, security_headers
from bridge.api.templating import make_templates, mount_assets
from bridge.identity.web_sessions import WebSessions
from bridge.logging import configure_logging
from bridge.relying_party.rights import RightsClient, RightsUnavailableError
from bridge.settings import RelyingPartySettings

SERVICE_NAME = "Mon Activité Formation"


def create_app(settings: RelyingPartySettings | None = None) -> FastAPI:
    settings = settings or RelyingPartySettings()
    configure_logging(settings.log_level)
    app = FastAPI(title=SERVICE_NAME, docs_url=None, redoc_url=None, openapi_url=None)
    templates = make_templates(
        Path(__file__).parent / "templates", theme=settings.theme, service_name=SERVICE_NAME
    )
    login = OidcLogin(settings)
    internal = (settings.keycloak_internal_url or settings.keycloak_url).rstrip("/")
    rights = RightsClient(
        f"{internal}/realms/{settings.keycloak_realm}/protocol/openid-connect/token",
        settings.bridge_url,
        settings.client_id,
        settings.client_secret.get_secret_value(),
        pdp=settings.portal_url,  # the PDP's identifier: the bridge's public address
    )
    app.state.login = login
    app.add_middleware(
        ServerSideSessions,
        sessions=WebSessions(None, settings.session_lifetime_seconds),
        cookie=settings.session_cookie,
        https=settings.secure_cookies,
    )
    app.state.security_headers = security_headers(settings.keycloak_url, settings.secure_cookies)
    app.add_middleware(SecurityHeaders, headers=app.state.security_headers)
    install_error_handlers(app, templates)
    mount_assets(app, theme=settings.theme, dsfr_dist=settings.dsfr_dist)
    app.include_router(login.router())

    @app.get("/health/live", include_in_schema=False)
    def live() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/", include_in_schema=False)
    def home(request: Request) -> Response:
        user = login.current_user(request)
        if user is None:
            return RedirectResponse("/auth/login", status_code=303)
        try:
            held, total = rights.sirets(user.sub)
            unavailable = False
        except RightsUnavailableError:
            held, total, unavailable = [], 0, True
        return templates.TemplateResponse(
            request,
            "demarche.html",
            {
                "user": user,
                "portal_url": settings.portal_url,
                "droits": held,
                "total": total,
                "indisponible": unavailable,
            },
        )

    return app
