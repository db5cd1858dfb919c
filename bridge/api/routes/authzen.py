"""The OpenID AuthZEN Authorization API 1.0: the check API's questions in the standard's words.

A démarche, or the gateway in front of it, uses the bridge as its policy decision point
without code of its own: discovery, one evaluation, evaluations in batch (with the three
evaluation semantics) and the three searches, paginated by opaque tokens. The callers and
their confinement are the check API's: a démarche's client-credentials token, about its own
démarche only. The mapping (subject `user` = Keycloak `sub`, resource `siret` = the SIRET,
action = a catalog role or `agir`) is written down in docs/relying-parties.md.

Errors follow the standard's HTTPS binding: a status (400, 401, 403, 500…) and a message
string (`text/plain`, in French), not problem+json. A question the bridge cannot answer
inside a well-formed batch (an unknown action, a malformed SIRET) is a closed decision
(`false`) whose context carries the error, as the standard's examples do.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import logging
import re
from collections.abc import Callable, Coroutine, Mapping
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request, Security
from fastapi.exceptions import RequestValidationError
from fastapi.responses import PlainTextResponse, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from bridge.api.deps import DEMARCHE_TOKEN, ContextDep, Declared, demarche_client
from bridge.api.errors import in_french
from bridge.api.routes.verifications import MAX_QUESTIONS, LinkOut
from bridge.catalog import Demarche
from bridge.db import now
from bridge.errors import BridgeError
from bridge.verification.checks import Explanation, KeysetPage, Question

log = logging.getLogger(__name__)

SUBJECT_TYPE = "user"
RESOURCE_TYPES = ("siret", "etablissement")
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
# A PEP's clock may drift: `context.time` within this of now is read as « now ».
CLOCK_SKEW = timedelta(minutes=5)
SIRET = re.compile(r"[0-9]{14}")
REQUEST_ID = re.compile(r"[\x21-\x7e]{1,128}")
ENDPOINTS = {
    "access_evaluation_endpoint": "/access/v1/evaluation",
    "access_evaluations_endpoint": "/access/v1/evaluations",
    "search_subject_endpoint": "/access/v1/search/subject",
    "search_resource_endpoint": "/access/v1/search/resource",
    "search_action_endpoint": "/access/v1/search/action",
}


class AuthzenError(Exception):
    """A refusal of the whole request, answered as the standard's transport says."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def message_response(
    status: int, message: str, headers: Mapping[str, str] | None = None
) -> Response:
    return PlainTextResponse(message, status_code=status, headers=headers)


class AuthzenRoute(APIRoute):
    """Every refusal of these routes as a status and a message string; `X-Request-ID` echoed."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def answer(request: Request) -> Response:
            request_id = request.headers.get("x-request-id")
            if request_id is not None and not REQUEST_ID.fullmatch(request_id):
                return message_response(
                    400, "X-Request-ID : de 1 à 128 caractères visibles (ASCII), sans espace."
                )
            try:
                response = await handler(request)
            except RequestValidationError as exc:
                response = message_response(400, _invalid(exc))
            except AuthzenError as exc:
                response = message_response(exc.status, exc.message)
            except BridgeError as exc:
                challenge = getattr(exc, "challenge", None)  # a 401 says how to authenticate
                headers = {"WWW-Authenticate": challenge} if isinstance(challenge, str) else None
                response = message_response(exc.status, exc.detail, headers)
            except StarletteHTTPException as exc:
                response = message_response(exc.status_code, str(exc.detail), exc.headers)
            except Exception:
                log.exception("erreur inattendue", extra={"path": request.url.path})
                response = message_response(
                    500, "Erreur interne : elle a été consignée. Réessayez dans un instant."
                )
            if request_id is not None:
                response.headers["X-Request-ID"] = request_id
            return response

        return answer


def _invalid(exc: RequestValidationError) -> str:
    """One line per fault, each naming its place in the request, in French."""
    faults = [
        f"{'.'.join(str(p) for p in err.get('loc', ()) if p != 'body') or 'corps'} : "
        f"{in_french(err)}"
        for err in exc.errors()
    ]
    return "Requête invalide. " + " ".join(faults[:10])


_TEXT = {"text/plain": {"schema": {"type": "string"}}}
ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "Requête invalide (message en français)", "content": _TEXT},
    401: {
        "description": "Jeton absent ou refusé",
        "content": _TEXT,
        "headers": {
            "WWW-Authenticate": {
                "description": 'Bearer realm="demarches" (RFC 6750 §3)',
                "schema": {"type": "string"},
            }
        },
    },
    403: {
        "description": "Appelant qui n'est pas une démarche, ou autre démarche",
        "content": _TEXT,
    },
    500: {"description": "Erreur interne", "content": _TEXT},
    503: {"description": "Keycloak injoignable pour vérifier le jeton", "content": _TEXT},
}

router = APIRouter(
    route_class=AuthzenRoute, prefix="/access/v1", responses=ERRORS, tags=["AuthZEN (démarches)"]
)
discovery = APIRouter(route_class=AuthzenRoute, tags=["AuthZEN (démarches)"])


# --- the information model ---------------------------------------------------------------

Properties = dict[str, Any]


class Entity(BaseModel):
    """A subject or a resource: here a person (`user`, its Keycloak `sub`) or a SIRET."""

    type: str = Field(min_length=1, max_length=64)
    id: str = Field(min_length=1, max_length=256)
    properties: Properties | None = None


class SearchedEntity(BaseModel):
    """The entity a search looks for: its type only (an `id` is ignored, as the standard says)."""

    type: str = Field(min_length=1, max_length=64)
    id: str | None = Field(default=None, max_length=256)
    properties: Properties | None = None


class Action(BaseModel):
    name: str = Field(min_length=1, max_length=64)
    properties: Properties | None = None


class EvaluationIn(BaseModel):
    subject: Entity
    action: Action
    resource: Entity
    context: Properties | None = None


class EvaluationItem(BaseModel):
    subject: Entity | None = None
    action: Action | None = None
    resource: Entity | None = None
    context: Properties | None = None


class EvaluationsOptions(BaseModel):
    evaluations_semantic: Literal["execute_all", "deny_on_first_deny", "permit_on_first_permit"] = (
        "execute_all"
    )
    explication: bool = Field(
        default=False,
        description="Propre au portail : chaque décision porte sa chaîne (comme /evaluation).",
    )


class EvaluationsIn(EvaluationItem):
    evaluations: list[EvaluationItem] | None = Field(default=None, max_length=MAX_QUESTIONS)
    options: EvaluationsOptions | None = None


class DecisionOut(BaseModel):
    decision: bool
    context: Properties | None = None


class EvaluationsOut(BaseModel):
    """With an `evaluations` array, its decisions in order; without one, a single decision."""

    decision: bool | None = None
    context: Properties | None = None
    evaluations: list[DecisionOut] | None = None


class PageIn(BaseModel):
    token: str | None = Field(default=None, max_length=1024)
    limit: int | None = Field(default=None, ge=0, le=MAX_LIMIT)
    properties: Properties | None = None


class SubjectSearchIn(BaseModel):
    subject: SearchedEntity
    action: Action
    resource: Entity
    context: Properties | None = None
    page: PageIn | None = None


class ResourceSearchIn(BaseModel):
    subject: Entity
    action: Action
    resource: SearchedEntity
    context: Properties | None = None
    page: PageIn | None = None


class ActionSearchIn(BaseModel):
    subject: Entity
    resource: Entity
    context: Properties | None = None
    page: PageIn | None = None


class PageOut(BaseModel):
    next_token: str = Field(description="Vide quand il n'y a plus de résultats")
    count: int
    total: int


class EntityOut(BaseModel):
    type: str
    id: str
    properties: Properties | None = None


class ActionOut(BaseModel):
    name: str


class EntitySearchOut(BaseModel):
    page: PageOut  # first, as the standard recommends: a PEP can show progress from `count`
    results: list[EntityOut]


class ActionSearchOut(BaseModel):
    page: PageOut
    results: list[ActionOut]


class MetadataOut(BaseModel):
    policy_decision_point: str
    access_evaluation_endpoint: str
    access_evaluations_endpoint: str
    search_subject_endpoint: str
    search_resource_endpoint: str
    search_action_endpoint: str


# --- from the standard's words to the check API's questions -----------------------------


def _closed(status: int, message: str) -> DecisionOut:
    return DecisionOut(decision=False, context={"error": {"status": status, "message": message}})


def calling_demarche(
    request: Request, context: ContextDep, _: Annotated[Declared, Security(DEMARCHE_TOKEN)]
) -> Demarche:
    """The démarche whose own client calls; read before the body (401 comes before 400)."""
    demarche = context.catalog.demarche(demarche_client(request, context))
    if demarche is None:
        raise AuthzenError(403, "Ce client n'est pas une démarche du catalogue.")
    return demarche


CallerDep = Annotated[Demarche, Depends(calling_demarche)]


def _check_context(demarche: Demarche, found: Properties | None, at: datetime) -> str | None:
    """Refuse another démarche (403); the reason a decision is closed for a time not now."""
    found = found or {}
    named = found.get("demarche")
    if named is not None and named != demarche.id:
        raise AuthzenError(
            403, f"La démarche « {demarche.id} » ne peut interroger que ses propres habilitations."
        )
    asked = found.get("time")
    if asked is None:
        return None
    try:
        moment = datetime.fromisoformat(str(asked))
    except ValueError:
        return f"context.time « {asked} » n'est pas une date ISO 8601."
    if moment.tzinfo is None:
        return f"context.time « {asked} » doit porter son fuseau (par exemple +01:00 ou Z)."
    if abs(moment - at) > CLOCK_SKEW:
        return (
            "Le portail répond pour l'instant présent seulement "
            f"(context.time « {asked} » est à plus de 5 minutes de maintenant)."
        )
    return None


def _ask(demarche: Demarche, item: EvaluationIn, at: datetime) -> Question | DecisionOut:
    """The check API's question, or the closed decision saying why it cannot be asked."""
    if item.subject.type != SUBJECT_TYPE:
        return _closed(400, f"Sujet de type « {item.subject.type} » : seul « user ».")
    if item.resource.type not in RESOURCE_TYPES:
        return _closed(
            400, f"Ressource de type « {item.resource.type} » : « siret » ou « etablissement »."
        )
    if not SIRET.fullmatch(item.resource.id):
        return _closed(400, f"« {item.resource.id} » n'est pas un SIRET (14 chiffres).")
    if item.action.name not in demarche.actions:
        return _closed(
            404,
            f"Action « {item.action.name} » inconnue de la démarche « {demarche.id} » "
            f"(actions : {', '.join(demarche.actions)}).",
        )
    when = _check_context(demarche, item.context, at)
    if when is not None:
        return _closed(400, when)
    return Question(item.subject.id, item.action.name, item.resource.id)


def _explained(demarche: Demarche, found: Explanation, at: datetime) -> Properties:
    """The decision's context: the reason in the standard's shape, then the explain API's chain."""
    active = [link for link in found.links if link.active]
    if found.allowed:
        user = "Habilitation active."
        admin = " ".join(link.reason for link in active) or user
    elif found.links:
        user = f"Aucune habilitation active : {found.links[0].reason}"
        admin = " ".join(link.reason for link in found.links)
    else:
        user = "Aucune habilitation pour ce rôle sur cet établissement."
        admin = user
    return {
        "demarche": demarche.id,
        "lu_le": at.isoformat(),
        "reason_user": {"fr": user},
        "reason_admin": {"fr": admin},
        "chaine": [LinkOut.of(link).model_dump(mode="json") for link in found.links],
    }


def _merged(top: EvaluationsIn, item: EvaluationItem, index: int | None) -> EvaluationIn:
    """An evaluation with the top-level defaults it does not override."""
    subject = item.subject or top.subject
    action = item.action or top.action
    resource = item.resource or top.resource
    missing = [
        name
        for name, value in (("subject", subject), ("action", action), ("resource", resource))
        if value is None
    ]
    if missing or subject is None or action is None or resource is None:
        where = "" if index is None else f"evaluations.{index} : "
        raise AuthzenError(
            400,
            f"Requête invalide. {where}{', '.join(missing)} absent(s)"
            + ("." if index is None else ", ni dans l'évaluation ni au niveau supérieur."),
        )
    return EvaluationIn(
        subject=subject,
        action=action,
        resource=resource,
        context=item.context if item.context is not None else top.context,
    )


def _decide(
    demarche: Demarche, context: ContextDep, items: list[EvaluationIn], explain: bool
) -> list[DecisionOut]:
    """All decisions read at the same moment, in one query for the batch."""
    at = now()
    asked = [_ask(demarche, item, at) for item in items]
    questions = [a for a in asked if isinstance(a, Question)]
    with context.work() as work:
        answers = iter(work.verifications.check_many(demarche, questions, at) if questions else [])
        decisions = []
        for one in asked:
            if isinstance(one, DecisionOut):
                decisions.append(one)
                continue
            found = (
                _explained(demarche, work.verifications.explain(demarche, one), at)
                if explain
                else None
            )
            decisions.append(DecisionOut(decision=next(answers), context=found))
    log.debug(  # on the hot path: one line per call only when asked for (BRIDGE_LOG_LEVEL)
        "authzen-decisions",
        extra={
            "demarche": demarche.id,
            "questions": len(items),
            "autorisees": sum(d.decision for d in decisions),
        },
    )
    return decisions


def _short_circuit(decisions: list[DecisionOut], semantic: str) -> list[DecisionOut]:
    """The decisions up to the first that ends the batch under the semantic, included."""
    stop_on = {"deny_on_first_deny": False, "permit_on_first_permit": True}.get(semantic)
    if stop_on is None:
        return decisions
    for index, decision in enumerate(decisions):
        if decision.decision is stop_on:
            last = decision.model_copy(
                update={"context": {**(decision.context or {}), "reason": semantic}}
            )
            return [*decisions[:index], last]
    return decisions


# --- the endpoints ----------------------------------------------------------------------


@discovery.get(
    "/.well-known/authzen-configuration",
    summary="Métadonnées du point de décision AuthZEN (publiques)",
    response_model_exclude_none=True,
)
def metadata(context: ContextDep) -> MetadataOut:
    base = context.settings.public_url.rstrip("/")
    return MetadataOut(
        policy_decision_point=base, **{name: base + path for name, path in ENDPOINTS.items()}
    )


@router.post(
    "/evaluation",
    summary="Cette personne peut-elle faire cette action pour ce SIRET, maintenant ?",
    description="La décision porte, dans `context`, sa raison et la chaîne de l'API "
    "d'explication (provenance, accordée par, jusqu'au, par quelle délégation).",
    response_model_exclude_none=True,
)
def evaluation(body: EvaluationIn, demarche: CallerDep, context: ContextDep) -> DecisionOut:
    return _decide(demarche, context, [body], explain=True)[0]


@router.post(
    "/evaluations",
    summary="Plusieurs évaluations en un appel (valeurs par défaut, sémantiques du standard)",
    description=f"Jusqu'à {MAX_QUESTIONS} évaluations, toutes lues au même instant. Sans "
    "tableau `evaluations` (ou vide), répond comme /evaluation.",
    response_model_exclude_none=True,
)
def evaluations(body: EvaluationsIn, demarche: CallerDep, context: ContextDep) -> EvaluationsOut:
    options = body.options or EvaluationsOptions()
    if not body.evaluations:
        single = _merged(body, EvaluationItem(), None)
        found = _decide(demarche, context, [single], explain=True)[0]
        return EvaluationsOut(decision=found.decision, context=found.context)
    items = [_merged(body, item, i) for i, item in enumerate(body.evaluations)]
    decisions = _decide(demarche, context, items, explain=options.explication)
    return EvaluationsOut(evaluations=_short_circuit(decisions, options.evaluations_semantic))


# Pagination: an opaque token holding the last key sent, the page size, and a fingerprint of
# the question, so that a token is refused on any other search (the standard's SHOULD).


def _fingerprint(kind: str, demarche: Demarche, question: dict[str, Any]) -> str:
    text = json.dumps([kind, demarche.id, question], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def _read_page(page: PageIn | None, fingerprint: str) -> tuple[str | None, int]:
    """The key to start after and the page size, from the request's `page`."""
    if page is None or not page.token:
        limit = DEFAULT_LIMIT if page is None or page.limit is None else page.limit
        return None, limit
    try:
        raw = page.token + "=" * (-len(page.token) % 4)
        held = json.loads(base64.urlsafe_b64decode(raw.encode("ascii")))
        after, limit, mark = str(held["a"]), int(held["l"]), str(held["e"])
    except (ValueError, KeyError, TypeError, binascii.Error, UnicodeError):
        raise AuthzenError(400, "page.token : jeton de page illisible.") from None
    if mark != fingerprint:
        raise AuthzenError(
            400,
            "page.token : ce jeton appartient à une autre recherche ; gardez la même demande "
            "d'une page à l'autre.",
        )
    if page.limit is not None and page.limit != limit:
        raise AuthzenError(
            400, f"page.limit : {page.limit} au lieu de {limit} à la page précédente."
        )
    return after, limit


def _next_token(found: KeysetPage[Any], last: str | None, limit: int, fingerprint: str) -> str:
    if not found.more:
        return ""
    held = {"a": last if last is not None else "", "l": limit, "e": fingerprint}
    return base64.urlsafe_b64encode(json.dumps(held).encode()).decode().rstrip("=")


def _action_of(demarche: Demarche, action: Action) -> str:
    if action.name not in demarche.actions:
        raise AuthzenError(
            400,
            f"action.name : « {action.name} » inconnue de la démarche « {demarche.id} » "
            f"(actions : {', '.join(demarche.actions)}).",
        )
    return action.name


def _person_of(subject: Entity | SearchedEntity) -> None:
    if subject.type != SUBJECT_TYPE:
        raise AuthzenError(400, f"subject.type : « {subject.type} » ; seul « user » est connu.")


def _siret_of(resource: Entity | SearchedEntity) -> None:
    if resource.type not in RESOURCE_TYPES:
        raise AuthzenError(
            400, f"resource.type : « {resource.type} » ; « siret » ou « etablissement »."
        )
    if resource.id is not None and not SIRET.fullmatch(resource.id):
        raise AuthzenError(
            400, f"resource.id : « {resource.id} » n'est pas un SIRET (14 chiffres)."
        )


def _search_context(demarche: Demarche, found: Properties | None) -> None:
    when = _check_context(demarche, found, now())
    if when is not None:
        raise AuthzenError(400, when)


@router.post(
    "/search/subject",
    summary="Qui peut faire cette action pour ce SIRET ? (personnes de cette démarche)",
)
def search_subject(
    body: SubjectSearchIn, demarche: CallerDep, context: ContextDep
) -> EntitySearchOut:
    _person_of(body.subject)
    _siret_of(body.resource)
    action = _action_of(demarche, body.action)
    _search_context(demarche, body.context)
    mark = _fingerprint(
        "subject", demarche, body.model_dump(mode="json", exclude={"page": True, "subject": {"id"}})
    )
    after, limit = _read_page(body.page, mark)
    with context.work() as work:
        found = work.verifications.subjects_for(demarche, action, body.resource.id, after, limit)
    return EntitySearchOut(
        page=PageOut(
            next_token=_next_token(found, found.items[-1] if found.items else after, limit, mark),
            count=len(found.items),
            total=found.total,
        ),
        results=[EntityOut(type=SUBJECT_TYPE, id=subject) for subject in found.items],
    )


@router.post(
    "/search/resource",
    summary="Pour quels SIRET cette personne peut-elle faire cette action ?",
)
def search_resource(
    body: ResourceSearchIn, demarche: CallerDep, context: ContextDep
) -> EntitySearchOut:
    _person_of(body.subject)
    _siret_of(body.resource.model_copy(update={"id": None}))
    action = _action_of(demarche, body.action)
    _search_context(demarche, body.context)
    mark = _fingerprint(
        "resource",
        demarche,
        body.model_dump(mode="json", exclude={"page": True, "resource": {"id"}}),
    )
    after, limit = _read_page(body.page, mark)
    with context.work() as work:
        found = work.verifications.resources_for(demarche, body.subject.id, action, after, limit)
    last = found.items[-1][0] if found.items else after
    return EntitySearchOut(
        page=PageOut(
            next_token=_next_token(found, last, limit, mark),
            count=len(found.items),
            total=found.total,
        ),
        results=[
            EntityOut(type=body.resource.type, id=siret, properties={"raison_sociale": name})
            for siret, name in found.items
        ],
    )


@router.post(
    "/search/action",
    summary="Que peut faire cette personne pour ce SIRET ? (rôles, puis « agir »)",
)
def search_action(
    body: ActionSearchIn, demarche: CallerDep, context: ContextDep
) -> ActionSearchOut:
    _person_of(body.subject)
    _siret_of(body.resource)
    _search_context(demarche, body.context)
    mark = _fingerprint("action", demarche, body.model_dump(mode="json", exclude={"page"}))
    after, limit = _read_page(body.page, mark)
    with context.work() as work:
        allowed = work.verifications.actions_for(demarche, body.subject.id, body.resource.id)
    start = allowed.index(after) + 1 if after in allowed else 0
    shown = allowed[start : start + limit]
    found = KeysetPage(shown, len(allowed), start + len(shown) < len(allowed))
    return ActionSearchOut(
        page=PageOut(
            next_token=_next_token(found, shown[-1] if shown else after, limit, mark),
            count=len(shown),
            total=len(allowed),
        ),
        results=[ActionOut(name=name) for name in shown],
    )
