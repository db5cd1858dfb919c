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
import hmac
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
from pydantic import AfterValidator, BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from bridge.api.deps import DEMARCHE_TOKEN, ContextDep, Declared, demarche_client
from bridge.api.errors import in_french
from bridge.api.routes.verifications import MAX_QUESTIONS, LinkOut
from bridge.catalog import Demarche
from bridge.db import now
from bridge.errors import BridgeError
from bridge.services import Services
from bridge.verification.checks import Explanation, KeysetPage, Question

log = logging.getLogger(__name__)

SUBJECT_TYPE = "user"
RESOURCE_TYPES = ("siret", "etablissement")
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
# A PEP's clock may drift: `context.time` within this of now is read as « now ».
CLOCK_SKEW = timedelta(minutes=5)
SIRET = re.compile(r"[0-9]{14}")
MAX_BODY_BYTES = 1 << 20  # 500 evaluations with their properties fit well within 1 MiB
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
            try:
                size = request.headers.get("content-length", "0")
                if not size.isdigit() or int(size) > MAX_BODY_BYTES:
                    raise AuthzenError(
                        413, f"Corps de requête trop grand (au plus {MAX_BODY_BYTES} octets)."
                    )
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
                log.exception("erreur-inattendue", extra={"path": request.url.path})
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
    413: {"description": "Corps de requête de plus de 1 Mio", "content": _TEXT},
    500: {"description": "Erreur interne", "content": _TEXT},
    503: {"description": "Keycloak injoignable pour vérifier le jeton", "content": _TEXT},
}

router = APIRouter(
    route_class=AuthzenRoute, prefix="/access/v1", responses=ERRORS, tags=["AuthZEN (démarches)"]
)
discovery = APIRouter(route_class=AuthzenRoute, tags=["AuthZEN (démarches)"])


# --- the information model ---------------------------------------------------------------

MAX_DEPTH = 8
MAX_MEMBERS = 200


def _bounded(value: dict[str, Any]) -> dict[str, Any]:
    """PEP-supplied objects (`properties`, `context`) are kept, but bounded: at most
    `MAX_DEPTH` levels and `MAX_MEMBERS` members in all (the standard's JSON considerations)."""
    members = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        current, depth = stack.pop()
        children = (
            list(current.values())
            if isinstance(current, dict)
            else current
            if isinstance(current, list)
            else None
        )
        if children is None:
            continue
        if depth > MAX_DEPTH:
            raise ValueError(f"au plus {MAX_DEPTH} niveaux d'imbrication")
        members += len(children)
        if members > MAX_MEMBERS:
            raise ValueError(f"au plus {MAX_MEMBERS} membres")
        stack.extend((child, depth + 1) for child in children)
    return value


Properties = Annotated[dict[str, Any], AfterValidator(_bounded)]
# An identifier: printable text (no control character: PostgreSQL refuses NUL in text).
Identifier = Annotated[str, Field(min_length=1, max_length=256, pattern=r"^[^\x00-\x1f\x7f]+$")]


class Entity(BaseModel):
    """A subject or a resource: here a person (`user`, its Keycloak `sub`) or a SIRET."""

    type: str = Field(min_length=1, max_length=64)
    id: Identifier
    properties: Properties | None = None


class SearchedEntity(BaseModel):
    """The entity a search looks for: its type only (an `id` is ignored, as the standard says)."""

    type: str = Field(min_length=1, max_length=64)
    id: Any = Field(default=None, description="Ignoré (la norme le demande)", exclude=True)
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


async def calling_demarche(
    request: Request, context: ContextDep, _: Annotated[Declared, Security(DEMARCHE_TOKEN)]
) -> Demarche:
    """The démarche whose own client calls; checked before the body is validated (a well-formed
    JSON body with missing members gets 401 without a token, not 400)."""
    demarche = context.catalog.demarche(await demarche_client(request, context))
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
    """All decisions read at the same moment: in one query for the batch, or each with its
    explanation (which carries the decision: nothing is read twice)."""
    at = now()
    asked = [_ask(demarche, item, at) for item in items]
    questions = [a for a in asked if isinstance(a, Question)]

    def decide(work: Services) -> list[DecisionOut]:
        answers = iter(
            []
            if explain or not questions
            else work.verifications.check_many(demarche, questions, at)
        )
        decisions = []
        for one in asked:
            if isinstance(one, DecisionOut):
                decisions.append(one)
            elif explain:  # the decision and its reasons read at the same instant
                found = work.verifications.explain(demarche, one, at)
                decisions.append(
                    DecisionOut(decision=found.allowed, context=_explained(demarche, found, at))
                )
            else:
                decisions.append(DecisionOut(decision=next(answers)))
        return decisions

    if explain:
        with context.work() as work:
            decisions = decide(work)
    else:  # a batch without explanations is one statement: read without a transaction
        decisions = context.read(decide)
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


# Pagination: an opaque token holding the last key sent and the page size, sealed by an HMAC
# over them and the question (a key derived from the platform's secret pepper, the same on
# every replica): a token is refused on any other search, and cannot be forged or altered.


def _page_key(context: ContextDep) -> bytes:
    pepper = context.settings.code_pepper.get_secret_value().encode()
    return hmac.new(pepper, b"authzen-page-token", hashlib.sha256).digest()


def _question_text(kind: str, demarche: Demarche, question: dict[str, Any]) -> str:
    return json.dumps([kind, demarche.id, question], sort_keys=True, ensure_ascii=False)


def _seal(key: bytes, question: str, payload: str) -> str:
    mac = hmac.new(key, f"{question}\n{payload}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac[:18]).decode()


def _read_page(page: PageIn | None, key: bytes, question: str) -> tuple[str | None, int]:
    """The key to start after and the page size, from the request's `page`."""
    if page is None or not page.token:
        limit = DEFAULT_LIMIT if page is None or page.limit is None else page.limit
        return None, limit
    body, _, seal = page.token.partition(".")
    try:
        payload = base64.urlsafe_b64decode((body + "=" * (-len(body) % 4)).encode("ascii"))
        text = payload.decode()
    except (ValueError, binascii.Error, UnicodeError):
        raise AuthzenError(400, "page.token : jeton de page illisible.") from None
    if not hmac.compare_digest(seal, _seal(key, question, text)):
        raise AuthzenError(
            400,
            "page.token : ce jeton n'appartient pas à cette recherche (ou a été modifié) ; "
            "gardez la même demande d'une page à l'autre.",
        )
    held = json.loads(text)  # sealed by us: well-formed
    after, limit = str(held["a"]), int(held["l"])
    if page.limit is not None and page.limit != limit:
        raise AuthzenError(
            400, f"page.limit : {page.limit} au lieu de {limit} à la page précédente."
        )
    return after, limit


def _next_token(
    found: KeysetPage[Any], last: str | None, limit: int, key: bytes, question: str
) -> str:
    """The next page's token; empty at the end, and for `limit: 0` (a count, no page)."""
    if not found.more or limit == 0:
        return ""
    text = json.dumps({"a": last or "", "l": limit})
    body = base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")
    return f"{body}.{_seal(key, question, text)}"


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


def _paged(
    kind: str, demarche: Demarche, context: ContextDep, body: BaseModel
) -> tuple[bytes, str, str | None, int]:
    """The sealing key, the question's text (the searched entity's ignored id is excluded by
    its model), and where the page starts and how long it is."""
    question = _question_text(kind, demarche, body.model_dump(mode="json", exclude={"page"}))
    key = _page_key(context)
    page: PageIn | None = getattr(body, "page", None)
    after, limit = _read_page(page, key, question)
    return key, question, after, limit


@router.post(
    "/search/subject",
    summary="Qui peut faire cette action pour ce SIRET ? (personnes de cette démarche)",
    response_model_exclude_none=True,
)
def search_subject(
    body: SubjectSearchIn, demarche: CallerDep, context: ContextDep
) -> EntitySearchOut:
    _person_of(body.subject)
    _siret_of(body.resource)
    action = _action_of(demarche, body.action)
    _search_context(demarche, body.context)
    key, question, after, limit = _paged("subject", demarche, context, body)
    with context.work() as work:
        found = work.verifications.subjects_for(demarche, action, body.resource.id, after, limit)
    last = found.items[-1] if found.items else after
    return EntitySearchOut(
        page=PageOut(
            next_token=_next_token(found, last, limit, key, question),
            count=len(found.items),
            total=found.total,
        ),
        results=[EntityOut(type=SUBJECT_TYPE, id=subject) for subject in found.items],
    )


@router.post(
    "/search/resource",
    summary="Pour quels SIRET cette personne peut-elle faire cette action ?",
    response_model_exclude_none=True,
)
def search_resource(
    body: ResourceSearchIn, demarche: CallerDep, context: ContextDep
) -> EntitySearchOut:
    _person_of(body.subject)
    _siret_of(body.resource.model_copy(update={"id": None}))
    action = _action_of(demarche, body.action)
    _search_context(demarche, body.context)
    key, question, after, limit = _paged("resource", demarche, context, body)
    with context.work() as work:
        found = work.verifications.resources_for(demarche, body.subject.id, action, after, limit)
    last = found.items[-1][0] if found.items else after
    return EntitySearchOut(
        page=PageOut(
            next_token=_next_token(found, last, limit, key, question),
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
    response_model_exclude_none=True,
)
def search_action(
    body: ActionSearchIn, demarche: CallerDep, context: ContextDep
) -> ActionSearchOut:
    _person_of(body.subject)
    _siret_of(body.resource)
    _search_context(demarche, body.context)
    key, question, after, limit = _paged("action", demarche, context, body)
    with context.work() as work:
        allowed = work.verifications.actions_for(demarche, body.subject.id, body.resource.id)
    # Ordered by the catalog: a page starts after the last action sent, even if that one was
    # withdrawn meanwhile.
    order = demarche.actions
    start = order.index(after) + 1 if after in order else 0
    remaining = [a for a in allowed if order.index(a) >= start]
    shown = remaining[:limit]
    found = KeysetPage(shown, len(allowed), len(remaining) > len(shown))
    return ActionSearchOut(
        page=PageOut(
            next_token=_next_token(found, shown[-1] if shown else after, limit, key, question),
            count=len(shown),
            total=len(allowed),
        ),
        results=[ActionOut(name=name) for name in shown],
    )
