"""What every portal page shares: the logged-in person, flash messages, rendering, and the
two shapes of an action (tell the outcome and redirect; or show the form again).

A refused action re-renders its form with the French reason next to the field and the
person's inputs kept (`form_again`); a successful one redirects (no double submission on
reload).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from fastapi.templating import Jinja2Templates

from bridge.api.auth.csrf import require_csrf
from bridge.api.auth.oidc import OidcLogin, SessionUser
from bridge.api.deps import client_ip
from bridge.audit.service import Actor
from bridge.bootstrap import AppContext
from bridge.errors import BridgeError
from bridge.services import Services

_FLASH = "flash"


def pages_router() -> APIRouter:
    """A router of HTML pages: out of the OpenAPI document, every unsafe request CSRF-checked."""
    return APIRouter(include_in_schema=False, dependencies=[Depends(require_csrf)])


class LoginRequiredError(Exception):
    """Raised by `page_user` when nobody is logged in: the handler redirects to the login."""


def login_of(request: Request) -> OidcLogin:
    login: OidcLogin = request.app.state.login
    return login


def current_user(request: Request) -> SessionUser | None:
    """The logged-in person, if any (pages open to everyone)."""
    return login_of(request).current_user(request)


def page_user(request: Request) -> SessionUser:
    """The logged-in person of a page; nobody logged in sends the browser to the login."""
    user = current_user(request)
    if user is None:
        raise LoginRequiredError
    return user


UserDep = Annotated[SessionUser, Depends(page_user)]


def actor_of(request: Request, user: SessionUser) -> Actor:
    """The logged-in person as the services' actor (with the address the request came from)."""
    return Actor(user.sub, user.display_name, client_ip(request), user.operator)


def flash(request: Request, message: str, kind: str = "success") -> None:
    """A message shown once on the next page (after a redirect)."""
    request.session[_FLASH] = {"message": message, "kind": kind}


def render_page(
    templates: Jinja2Templates,
    request: Request,
    name: str,
    user: SessionUser | None,
    status: int = 200,
    **values: Any,
) -> Response:
    """A portal page, with the pending flash message."""
    values.setdefault("flash", request.session.pop(_FLASH, None))
    return templates.TemplateResponse(request, name, {"user": user, **values}, status_code=status)


def form_again(
    templates: Jinja2Templates,
    request: Request,
    name: str,
    user: SessionUser,
    refusal: BridgeError,
    values: dict[str, str],
    default_field: str,
    *,
    forced_field: str | None = None,
    **page: Any,
) -> Response:
    """The form shown again after a refusal: the French reason next to its field (the
    service names it, else `default_field`; `forced_field` when the page knows better), the
    person's inputs kept, the refusal's status."""
    field = forced_field or str(refusal.extra.get("field", default_field))
    return render_page(
        templates,
        request,
        name,
        user,
        refusal.status,
        valeurs=values,
        erreurs={field: refusal.detail},
        **page,
    )


def act_and_tell(
    context: AppContext, request: Request, done: str, action: Callable[[Services], object]
) -> bool:
    """Run one change in its unit of work and tell the person the outcome (the refusal's
    French reason, or `done`); True when it was kept. Its e-mails leave after the commit."""
    try:
        with context.work() as work:
            action(work)
    except BridgeError as exc:
        flash(request, exc.detail, "error")
        return False
    flash(request, done)
    return True
