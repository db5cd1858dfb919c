"""The web layer's FastAPI dependencies, declared once as named aliases.

`ContextDep` is the process's `AppContext` (built by `bridge.bootstrap`, kept on the app);
`PrincipalDep` and `ActorDep` the verified caller of an API route; `TemplatesDep` the
portal's templates. Routes run their services inside `context.work()`: one transaction that
commits when the block succeeds (the e-mails leave after that), never half a change.

A dependency that does no I/O is `async def`: FastAPI runs a `def` one in its thread pool, a
hand-over that costs more than such work on the API's hot path (`docs/performance/`).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated

from fastapi import Depends, Path, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.templating import Jinja2Templates

from bridge.audit.service import Actor
from bridge.bootstrap import REMEMBERED_MAX, AppContext
from bridge.db import MAX_STORE_INT
from bridge.errors import ForbiddenError
from bridge.identity.tokens import MissingTokenError, Principal

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


def demarche_client(request: Request, context: AppContext) -> str:
    """The Keycloak client of the démarche calling with its own client-credentials token.

    Shared by the check API and the AuthZEN endpoints: a person's token, or a token for
    another audience, is refused (401 or 403).
    """
    token = bearer_token(
        request,
        "Un jeton de la démarche (Authorization: Bearer, identifiants du client) est requis.",
    )
    principal = context.verifier.verify(token, audience=context.settings.verification_audience)
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
    if principal.operator and not context.is_operator(principal.subject):
        principal = replace(principal, operator=False)  # the realm role alone is not believed
    return principal


PrincipalDep = Annotated[Principal, Depends(bearer_principal)]


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
