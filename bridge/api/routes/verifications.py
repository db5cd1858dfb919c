"""The check and explain API of relying parties: a démarche asks about its own habilitations.

Callers are démarches, not people: a token of the démarche's Keycloak client obtained with
its client credentials (audience `bridge-verifications`). A démarche sees only its own
démarche; a person's token, or another démarche's, is refused.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response, Security
from pydantic import BaseModel, Field, TypeAdapter

from bridge.api.deps import DEMARCHE_TOKEN, ContextDep, Declared, demarche_client
from bridge.api.errors import API_PROBLEMS
from bridge.catalog import Demarche
from bridge.db import now
from bridge.errors import ForbiddenError, NotFoundError
from bridge.habilitation.schemas import HabilitationOut
from bridge.habilitation.service import known_role
from bridge.verification.checks import Link, Question

router = APIRouter(
    responses=API_PROBLEMS, prefix="/api/v1/verifications", tags=["vérifications (démarches)"]
)
MAX_QUESTIONS = 500
SIRET_PATTERN = r"^[0-9]{14}$"
SUBJECT_PATTERN = r"^[^\x00-\x1f\x7f]+$"  # printable: PostgreSQL refuses NUL in text


async def calling_demarche(
    request: Request,
    context: ContextDep,
    demarche: Annotated[str, Path(max_length=64, description="Identifiant de la démarche")],
    _: Annotated[Declared, Security(DEMARCHE_TOKEN)],
) -> Demarche:
    """The démarche of the path, when the caller is that démarche's own client (no trip to
    the thread pool for a token seen before: the check API's hot path)."""
    client = await demarche_client(request, context)
    if client != demarche:
        raise ForbiddenError(
            f"La démarche « {client} » ne peut interroger que ses propres habilitations."
        )
    found = context.catalog.demarche(demarche)
    if found is None:
        raise NotFoundError(f"La démarche « {demarche} » n'est pas au catalogue.")
    return found


DemarcheDep = Annotated[Demarche, Depends(calling_demarche)]


class QuestionIn(BaseModel):
    sujet: str = Field(
        min_length=1,
        max_length=64,
        pattern=SUBJECT_PATTERN,
        description="Identifiant (sub) de la personne",
    )
    role: str = Field(min_length=1, max_length=64)
    siret: str = Field(pattern=SIRET_PATTERN)


class QuestionsIn(BaseModel):
    questions: list[QuestionIn] = Field(min_length=1, max_length=MAX_QUESTIONS)


class AnswerOut(QuestionIn):
    autorise: bool


class AnswersOut(BaseModel):
    reponses: list[AnswerOut]
    lu_le: datetime = Field(description="Instant auquel toutes les réponses ont été lues")


class DelegationOut(BaseModel):
    id: int
    siret_delegant: str
    siret_tiers: str
    invitee_par: str
    statut: str
    jusqu_au: datetime | None


class LinkOut(BaseModel):
    habilitation: HabilitationOut
    active: bool
    motif: str
    delegation: DelegationOut | None

    @classmethod
    def of(cls, link: Link) -> LinkOut:
        """One link of the chain as the explain API and AuthZEN's decision context give it."""
        delegation = link.delegation
        return cls(
            habilitation=HabilitationOut.of(link.habilitation),
            active=link.active,
            motif=link.reason,
            delegation=None
            if delegation is None
            else DelegationOut(
                id=delegation.id,
                siret_delegant=delegation.delegator_siret,
                siret_tiers=delegation.tiers_siret,
                invitee_par=delegation.invited_by_name,
                statut=str(delegation.status),
                jusqu_au=delegation.valid_until,
            ),
        )


_INSTANT = TypeAdapter(datetime)  # `lu_le` written as the models write a datetime


class ExplanationOut(AnswerOut):
    chaine: list[LinkOut]


class SiretOut(BaseModel):
    siret: str
    roles: list[str]


class SiretsOut(BaseModel):
    elements: list[SiretOut]
    total: int
    page: int
    par_page: int


@router.post(
    "/{demarche}",
    summary="Ces personnes peuvent-elles agir avec ce rôle pour ce SIRET, maintenant ?",
    description=f"Jusqu'à {MAX_QUESTIONS} questions par appel, toutes lues au même instant.",
    response_model=AnswersOut,
)
def check(body: QuestionsIn, demarche: DemarcheDep, context: ContextDep) -> Response:
    for question in body.questions:
        known_role(demarche, question.role)
    moment = now()
    questions = [Question(q.sujet, q.role, q.siret) for q in body.questions]
    # One statement for the whole batch, read without a transaction.
    answers = context.read(lambda work: work.verifications.check_many(demarche, questions, moment))
    # The questions were validated on the way in: the answers (`AnswersOut`) are written as
    # they are, not built and validated again as 500 models (4 times slower; see
    # `docs/performance/`).
    content = {
        "reponses": [
            {"sujet": q.sujet, "role": q.role, "siret": q.siret, "autorise": a}
            for q, a in zip(body.questions, answers, strict=True)
        ],
        "lu_le": _INSTANT.dump_python(moment, mode="json"),
    }
    return Response(
        json.dumps(content, ensure_ascii=False, separators=(",", ":")),
        media_type="application/json",
    )


@router.get(
    "/{demarche}/explication",
    summary="Pourquoi cette personne peut-elle (ou non) agir ?",
    description="La chaîne : comment le droit a été accordé, par qui, quand, jusqu'à quand, "
    "par quelle délégation ; les droits retirés ou échus sont donnés avec leur motif.",
)
def explanation(
    demarche: DemarcheDep,
    context: ContextDep,
    sujet: Annotated[str, Query(min_length=1, max_length=64, pattern=SUBJECT_PATTERN)],
    role: Annotated[str, Query(min_length=1, max_length=64)],
    siret: Annotated[str, Query(pattern=SIRET_PATTERN)],
) -> ExplanationOut:
    known_role(demarche, role)
    with context.work() as work:
        found = work.verifications.explain(demarche, Question(sujet, role, siret))
        chain = [LinkOut.of(link) for link in found.links]
    return ExplanationOut(sujet=sujet, role=role, siret=siret, autorise=found.allowed, chaine=chain)


@router.get(
    "/{demarche}/personnes/{sujet}/sirets",
    summary="Pour quels SIRET cette personne peut-elle agir dans la démarche ?",
)
def sirets(
    demarche: DemarcheDep,
    context: ContextDep,
    sujet: Annotated[str, Path(min_length=1, max_length=64, pattern=SUBJECT_PATTERN)],
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    par_page: Annotated[int, Query(ge=1, le=500)] = 100,
) -> SiretsOut:
    with context.work() as work:
        found = work.verifications.sirets_for(demarche, sujet, page, par_page)
    return SiretsOut(
        elements=[SiretOut(siret=s.siret, roles=s.roles) for s in found.items],
        total=found.total,
        page=found.page,
        par_page=found.per_page,
    )
