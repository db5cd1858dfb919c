"""The web layer's FastAPI dependencies, declared once as named aliases.

`ContextDep` is the process's `AppContext` (built by `bridge.bootstrap`, kept on the app);
`PrincipalDep` and `ActorDep` the verified caller of an API route; `TemplatesDep` the
portal's templates. Routes run their services inside `context.work()`: one transaction that
commits when the block succeeds (the e-mails leave after that), never half a change.

A dependency that does no I/O is `async def`: FastAPI runs a `def` one in its thread pool, a
hand-over that costs more than such work on the API's hot path (`docs/performance/`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Annotated, TypeVar

from fastapi import Depends, Path, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool

from bridge.audit.service import Actor
from bridge.bootstrap import REMEMBERED_MAX, AppContext
from bridge.db import MAX_STORE_INT
from bridge.errors import ForbiddenError
from bridge.identity.tokens import MissingTokenError, Principal
from bridge.services import Services

T = TypeVar("T")

# A store id in a path: a positive integer the store can hold (422 otherwise, never a 500).
StoreId = Annotated[int, Path(ge=1, le=MAX_STORE_INT)]


async def app_context(request: Request) -> AppContext:
    context: AppContext = request.app.state.context
    return context


ContextDep = Annotated[AppContext, Depends(app_context)]


async def app_templates(request: Request) -> Jinja2Templates:
    templates: Jinja2Templates = request.app.state.templates
    return templates


TemplatesDep = Annotated[Jinja2Templates, Depends(app_templates)]


def client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


def bearer_token(
    request: Request, missing: str = "Un jeton d'accès (Authorization: Bearer) est requis."
) -> str:
    """The token of `Authorization: Bearer …` (401 problem+json saying `missing` otherwise)."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise MissingTokenError(missing)
    return token.strip()


# The bearer schemes the OpenAPI document declares. They only describe: `bearer_token` reads
# the header itself so that a missing token gets its French problem and its challenge.
PERSON_TOKEN = HTTPBearer(
    scheme_name="jetonPersonne",
    bearerFormat="JWT",
    description="Jeton d'accès Keycloak d'une personne (audience bridge-api).",
    auto_error=False,
)
DEMARCHE_TOKEN = HTTPBearer(
    scheme_name="jetonDemarche",
    bearerFormat="JWT",
    description="Jeton d'une démarche obtenu avec ses identifiants de client "
    "(client_credentials, audience bridge-verifications).",
    auto_error=False,
)
METRICS_TOKEN = HTTPBearer(
    scheme_name="jetonMesures",
    description="Jeton des mesures (BRIDGE_METRICS_TOKEN), pour Prometheus.",
    auto_error=False,
)
Declared = HTTPAuthorizationCredentials | None


async def demarche_client(request: Request, context: AppContext) -> str:
    """The Keycloak client of the démarche calling with its own client-credentials token.

    Shared by the check API and the AuthZEN endpoints: a person's token, or a token for
    another audience, is refused (401 or 403). A token seen before is judged from memory on
    the event loop (`TokenVerifier.remembered`); a new one in a thread (keys may be fetched).
    """
    token = bearer_token(
        request,
        "Un jeton de la démarche (Authorization: Bearer, identifiants du client) est requis.",
    )
    audience = context.settings.verification_audience
    principal = context.verifier.remembered(token, audience)
    if principal is None:
        principal = await run_in_threadpool(context.verifier.verify, token, audience)
    client = principal.claims.get("azp")
    # Keycloak puts `client_id` in client-credentials tokens only: a person's token has none.
    if not isinstance(client, str) or principal.claims.get("client_id") != client:
        raise ForbiddenError("Cette API est réservée aux démarches (identifiants du client).")
    return client


def bearer_principal(
    request: Request, context: ContextDep, _: Annotated[Declared, Security(PERSON_TOKEN)]
) -> Principal:
    """The verified caller of an API route (401 problem+json otherwise)."""
    # Its token lives on for minutes after a logout or a disabling: both refused.
    principal = context.api_principal(bearer_token(request))
    _remember(context, principal)
    return _believed(context, principal)


PrincipalDep = Annotated[Principal, Depends(bearer_principal)]


def _believed(context: AppContext, principal: Principal) -> Principal:
    """A caller whose session and account were checked, its operator role believed only if
    the store designates it."""
    if principal.operator and not context.is_operator(principal.subject):
        principal = replace(principal, operator=False)  # the realm role alone is not believed
    return principal


class CheckedReads:
    """A person's API read whose caller check runs with the read: one trip to the thread
    pool and one connection, where `ActorDep` then a `def` route take two of each.

    The token is verified before (the dependency, so that a bad token is a 401 before any
    validation error, as with `ActorDep`); the ended session and the account's state are
    read on the read's own connection, and only then is the route's work given an actor:
    there is no way to reach the store through this object without the check. Being read
    with the route's work, an ended session or a disabled account comes after the path's
    validation: with a malformed path it gets the 422 (`ActorDep` gives the 401 or 403).
    """

    def __init__(self, context: AppContext, principal: Principal, ip: str | None) -> None:
        self._context = context
        self._principal = principal
        self._ip = ip

    async def run(self, read: Callable[[Services, Actor], T]) -> T:
        """`read(work, actor)` in the thread pool, after the caller's check (401, 403)."""
        return await run_in_threadpool(self._checked_then, read)

    def _checked_then(self, read: Callable[[Services, Actor], T]) -> T:
        context, checked = self._context, False

        def checked_read(work: Services) -> T:
            nonlocal checked
            checked = False  # a second run (a dropped connection) checks again
            principal = self._principal
            context.refuse_ended_or_disabled(
                principal.subject, principal.claims.get("sid"), work.session.connection()
            )
            checked = True
            principal = _believed(context, principal)
            actor = Actor(principal.subject, principal.display_name, self._ip, principal.operator)
            return read(work, actor)

        try:
            return context.read(checked_read)
        finally:
            if checked:  # the details of a checked caller, written once the read is done
                _remember(context, self._principal)  # (no read connection held meanwhile)


async def checked_reads(
    request: Request, context: ContextDep, _: Annotated[Declared, Security(PERSON_TOKEN)]
) -> CheckedReads:
    """The hot reads' caller (`CheckedReads`): a token seen before is verified from memory,
    on the event loop; a new one in a thread (its keys may have to be fetched)."""
    token = bearer_token(request)
    principal = context.remembered_api_token(token)
    if principal is None:
        principal = await run_in_threadpool(context.api_token, token)
    return CheckedReads(context, principal, client_ip(request))


ReadsDep = Annotated[CheckedReads, Depends(checked_reads)]


def _remember(context: AppContext, principal: Principal) -> None:
    """Keep the person's copy current from the token, writing only what changed, never an
    empty name, and the e-mail only once Keycloak has verified it.

    The same details seen moments ago need no visit to the store (the hot path): a bounded
    memory of the last ones remembered is kept per process.
    """
    claims = principal.claims
    given = str(claims.get("given_name") or "")
    family = str(claims.get("family_name") or "")
    email = principal.email.strip().lower() if claims.get("email_verified") else ""
    seen = (principal.subject, email, given, family)
    if seen in context.remembered:
        return
    with context.work() as work:
        work.persons.refresh(principal.subject, email, given, family, principal.email)
    if len(context.remembered) >= REMEMBERED_MAX:
        context.remembered.clear()
    context.remembered.add(seen)  # only once the store has it


async def api_actor(request: Request, principal: PrincipalDep) -> Actor:
    return Actor(principal.subject, principal.display_name, client_ip(request), principal.operator)


ActorDep = Annotated[Actor, Depends(api_actor)]
