"""What every portal page shares: the logged-in person, flash messages, rendering, and the
two shapes of an action (tell the outcome and redirect; or show the form again).

A route of a page takes one argument, `PageDep` (logged in) or `VisitDep` (anyone), which
carries the request, the app's context and templates, and the person. A refused action
re-renders its form with the French reason next to the field and the person's inputs kept
(`Page.form`); a successful one redirects (no double submission on reload).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from fastapi.templating import Jinja2Templates

from bridge.accounts import DISABLED_ACCOUNT
from bridge.api.auth.csrf import require_csrf
from bridge.api.auth.oidc import OidcLogin, SessionUser
from bridge.api.deps import ContextDep, TemplatesDep, client_ip
from bridge.audit.service import Actor
from bridge.bootstrap import AppContext
from bridge.errors import BridgeError, ForbiddenError
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
    context: AppContext = request.app.state.context
    if context.is_disabled(user.sub):
        raise ForbiddenError(DISABLED_ACCOUNT)
    return believed(context, user)


def believed(context: AppContext, user: SessionUser) -> SessionUser:
    """The session's person as the store sees them now: an operator withdrawn since the login
    (`operateur retirer` ends no session) is no operator from the next request on, on every
    page — the back-office's, the employer pages', and the header's « Back-office » link."""
    if user.operator and not context.is_operator(user.sub):
        return user.model_copy(update={"operator": False})
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


@dataclass(frozen=True)
class Visit:
    """A page request, logged in or not: what every route of a page needs, in one argument."""

    request: Request
    context: AppContext
    templates: Jinja2Templates
    user: SessionUser | None

    def render(self, name: str, status: int = 200, **values: Any) -> Response:
        return render_page(self.templates, self.request, name, self.user, status, **values)

    def flash(self, message: str, kind: str = "success") -> None:
        flash(self.request, message, kind)


@dataclass(frozen=True)
class Page:
    """A page request of a logged-in person: the person, as the services' actor too."""

    request: Request
    context: AppContext
    templates: Jinja2Templates
    user: SessionUser

    @property
    def actor(self) -> Actor:
        return actor_of(self.request, self.user)

    def render(self, name: str, status: int = 200, **values: Any) -> Response:
        return render_page(self.templates, self.request, name, self.user, status, **values)

    def flash(self, message: str, kind: str = "success") -> None:
        flash(self.request, message, kind)

    def form(
        self,
        name: str,
        values: dict[str, str],
        refusal: BridgeError | None = None,
        default_field: str = "",
        *,
        forced_field: str | None = None,
        **page: Any,
    ) -> Response:
        """A form: empty, or shown again after a refusal with the French reason next to its
        field (the service names it, else `default_field`; `forced_field` when the page
        knows better), the person's inputs kept, and the refusal's status."""
        if refusal is None:
            return self.render(name, valeurs=values, erreurs={}, **page)
        field = forced_field or str(refusal.extra.get("field", default_field))
        errors = {field: refusal.detail}
        listed = refusal.extra.get("erreurs")
        if isinstance(listed, list) and forced_field is None:  # every refusal of the form
            errors = {str(e["champ"]): str(e["message"]) for e in listed}
        return self.render(name, refusal.status, valeurs=values, erreurs=errors, **page)

    def act(self, done: str, action: Callable[[Services], object]) -> bool:
        """Run one change in its unit of work and tell the person the outcome (the
        refusal's French reason, or `done`); True when it was kept. Its e-mails leave
        after the commit."""
        try:
            with self.context.work() as work:
                action(work)
        except BridgeError as exc:
            self.flash(exc.detail, "error")
            return False
        self.flash(done)
        return True


def visit_of(request: Request, context: ContextDep, templates: TemplatesDep) -> Visit:
    user = current_user(request)
    return Visit(request, context, templates, believed(context, user) if user else None)


def page_of(request: Request, context: ContextDep, templates: TemplatesDep, user: UserDep) -> Page:
    return Page(request, context, templates, user)


VisitDep = Annotated[Visit, Depends(visit_of)]
PageDep = Annotated[Page, Depends(page_of)]
