"""The bridge's FastAPI application: portal pages, OIDC login, JSON API, health, OpenAPI.

The app only adapts HTTP: `bridge.bootstrap` wires the store, catalog, mailer, token
verifier and Keycloak directory; the lifespan starts the projection's loop and the
delegations' end-date job, and closes the store when the app stops.
"""

from __future__ import annotations

import asyncio
import gc
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response

from bridge.api.auth.oidc import OidcLogin, SessionUser
from bridge.api.auth.sessions import ServerSideSessions
from bridge.api.body_limit import BodyLimit
from bridge.api.check_metrics import CheckApiCounter
from bridge.api.errors import Problem, install_error_handlers
from bridge.api.health import health_router, metrics_router
from bridge.api.pages import accessibility as accessibility_pages
from bridge.api.pages import backoffice as backoffice_pages
from bridge.api.pages import bpf as bpf_pages
from bridge.api.pages import delegations as delegation_pages
from bridge.api.pages import employeur as employeur_pages
from bridge.api.pages import habilitations as habilitation_pages
from bridge.api.pages import portal as portal_pages
from bridge.api.pages.common import LoginRequiredError
from bridge.api.proxies import ForwardedFor, TrustedProxies
from bridge.api.routes import authzen, bpf, delegations, employeur, habilitations, verifications
from bridge.api.security_headers import SecurityHeaders, security_headers
from bridge.api.templating import make_templates, mount_assets
from bridge.api.throttle import Throttle
from bridge.bootstrap import AppContext, bootstrap, make_projector
from bridge.delegation.jobs import end_dates_every
from bridge.delegation.service import PARIS
from bridge.identity.web_sessions import WebSessions
from bridge.logging import configure_logging
from bridge.settings import Settings
from bridge.sync.loop import ProjectionLoop

SERVICE_NAME = "Mes démarches emploi et formation professionnelle"


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app from validated settings (read from `BRIDGE_*` when not given)."""
    settings = settings or Settings()
    configure_logging(settings.log_level)
    context = bootstrap(settings)
    try:
        return _app(settings, context)
    except BaseException:
        context.close()  # a refused start leaves no connection open
        raise


def _app(settings: Settings, context: AppContext) -> FastAPI:
    bpf_pages.bpf_demarche(context.catalog)  # a catalog without the BPF stops the start

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # The background loops run in threads and end at `stop`; the store is closed only
        # once they have, so no connection goes back to a disposed pool.
        stop = threading.Event()
        loops = []
        if settings.delegation_job_interval_seconds > 0:
            loops.append(
                asyncio.to_thread(
                    end_dates_every,
                    context.work,
                    settings.delegation_warning_days,
                    settings.delegation_job_interval_seconds,
                    stop,
                )
            )
        if settings.mail_interval_seconds > 0:
            loops.append(
                asyncio.to_thread(
                    context.mail_queue.run_every, settings.mail_interval_seconds, stop
                )
            )
        if settings.import_interval_seconds > 0:
            loops.append(
                asyncio.to_thread(context.imports.run, settings.import_interval_seconds, stop)
            )
        if settings.sync_interval_seconds > 0:
            projection = ProjectionLoop(
                context.work,
                make_projector(context),
                settings.sync_client_id,
                settings.sync_interval_seconds,
                settings.sync_console_interval_seconds,
                settings.sync_reconcile_interval_seconds,
                timedelta(days=settings.deleted_person_retention_days),
            )
            loops.append(asyncio.to_thread(projection.run, stop))
        running = [asyncio.create_task(loop) for loop in loops]
        # What the start built (modules, routes, templates, metadata) lives as long as the
        # process: out of the collector's reach, a full collection no longer walks it
        # (those walks were the check API's slowest answers, `docs/performance/`).
        gc.collect()  # the start's own garbage first: frozen, it would never be freed
        gc.freeze()
        yield
        stop.set()
        context.imports.wake.set()
        await asyncio.gather(*running)
        await http.aclose()
        context.close()

    app = FastAPI(
        title="Bridge des habilitations",
        description="Portail « Mes démarches » et API des habilitations par SIRET.",
        version="0.1.0",
        lifespan=lifespan,
        # Swagger UI and ReDoc need inline scripts and a CDN that the content security policy
        # refuses: the document itself stays at /openapi.json for any viewer.
        docs_url=None,
        redoc_url=None,
    )
    templates = make_templates(theme=settings.theme, service_name=SERVICE_NAME)
    templates.env.globals.update(
        demarche_title=context.catalog.title_of,
        role_label=context.catalog.role_label,
        habilitation_line=habilitation_pages.habilitation_line,
        history_line=habilitation_pages.history_line,
        paris=PARIS,
        personal_data_path=portal_pages.PERSONAL_DATA_PATH,
        assistance=settings.assistance,
    )
    login = OidcLogin(settings, context.ended, recheck=_recheck(context))
    app.state.settings = settings
    app.state.login = login
    app.state.context = context
    app.state.templates = templates
    app.state.new_link_throttle = Throttle(settings.activation_link_asks_per_hour, 3600)

    app.add_middleware(
        ServerSideSessions,
        sessions=WebSessions(context.sessions, settings.session_lifetime_seconds),
        cookie=settings.session_cookie,
        https=settings.secure_cookies,
    )
    app.state.security_headers = security_headers(settings.keycloak_url, settings.secure_cookies)
    app.add_middleware(SecurityHeaders, headers=app.state.security_headers)
    app.add_middleware(CheckApiCounter)  # outside sessions and headers: what the caller got
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes)
    proxies = TrustedProxies(settings.trusted_proxies.split(","))
    if proxies:
        app.add_middleware(ForwardedFor, proxies=proxies)
    install_error_handlers(app, templates)
    _declare_problem_schema(app)
    mount_assets(app, theme=settings.theme, dsfr_dist=settings.dsfr_dist)
    http = httpx.AsyncClient()  # made last: nothing below can fail and leave it open
    # The hot APIs first: FastAPI tries the routes in order, and reaching the BPF read after
    # the 60 routes before it cost more than its authorization (`docs/performance/`).
    for api in (bpf, verifications, authzen, habilitations, delegations, employeur):
        app.include_router(api.router)
    app.include_router(health_router(settings.discovery_url, http))
    app.include_router(metrics_router(context.sessions, settings.metrics_token.get_secret_value()))
    app.include_router(login.router(on_login=_on_login(context)))
    app.include_router(authzen.discovery)
    for pages in (
        habilitation_pages,
        delegation_pages,
        employeur_pages,
        bpf_pages,
        backoffice_pages,
        portal_pages,
        accessibility_pages,
    ):
        app.include_router(pages.router)

    @app.exception_handler(LoginRequiredError)
    async def _login_required(request: Request, exc: LoginRequiredError) -> Response:
        return RedirectResponse("/auth/login", status_code=303)

    return app


def _declare_problem_schema(app: FastAPI) -> None:
    """The `Problem` schema the routes' refusals point to (`API_PROBLEMS`)."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        schema = generate()
        schemas = schema.setdefault("components", {}).setdefault("schemas", {})
        schemas.setdefault("Problem", Problem.model_json_schema())
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def _recheck(context: AppContext) -> Callable[[SessionUser, dict[str, Any]], SessionUser]:
    def recheck(user: SessionUser, tokens: dict[str, Any]) -> SessionUser:
        """The operator role as Keycloak's fresh access token says it now."""
        access_token = tokens.get("access_token")
        if not isinstance(access_token, str):
            return user
        operator = context.verifier.verify(access_token).operator
        operator = operator and context.is_operator(user.sub)
        return user.model_copy(update={"operator": operator})

    return recheck


def _on_login(context: AppContext) -> Callable[[SessionUser, dict[str, object]], SessionUser]:
    def on_login(user: SessionUser, token: dict[str, object]) -> SessionUser:
        """Keep the person's contact details in the store; read the operator role."""
        with context.work() as work:
            work.persons.remember(
                user.sub,
                user.email,
                user.given_name,
                user.family_name,
                civility=user.civilite or None,  # what the users screen shows its gestionnaires
                phone=user.phone_number or user.telephone_mobile or None,
            )
        access_token = token.get("access_token")
        if isinstance(access_token, str):
            operator = context.verifier.verify(access_token).operator
            user = user.model_copy(update={"operator": operator and context.is_operator(user.sub)})
        return user

    return on_login
