"""Portal pages of delegation to a tiers: the guide's form, recap and confirmation; the
invitation link; the tiers' list of clients with several invitations accepted at once.

Each step re-checks the whole form in the service (hidden fields are never trusted).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import Form, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response

from bridge.api.auth.oidc import SessionUser
from bridge.api.deps import ContextDep, TemplatesDep
from bridge.api.pages.common import (
    UserDep,
    act_and_tell,
    actor_of,
    current_user,
    flash,
    form_again,
    pages_router,
    render_page,
)
from bridge.api.routes.delegations import end_of
from bridge.bootstrap import AppContext
from bridge.delegation.service import DelegationDraft
from bridge.errors import BridgeError, InvalidInputError
from bridge.etablissement.service import demarche_or_refuse
from bridge.services import Services

_FIELDS = ("siret_tiers", "email", "role", "siret_habilitation", "fin")

router = pages_router()


async def _form_values(request: Request) -> dict[str, str]:
    form = await request.form()
    return {k: str(form.get(k, ""))[:254].strip() for k in _FIELDS}


def _parse_end(value: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInputError(
            "La fin d'habilitation n'est pas une date valide.", field="fin"
        ) from None


def _draft(
    work: Services, request: Request, user: SessionUser, demarche_id: str, values: dict[str, str]
) -> DelegationDraft:
    """The whole form checked by the service (hidden fields are not trusted)."""
    return work.delegations.prepare(
        actor_of(request, user),
        demarche_id,
        tiers_siret=values["siret_tiers"],
        tiers_email=values["email"],
        role=values["role"],
        delegator_siret=values["siret_habilitation"],
        valid_until=end_of(_parse_end(values["fin"])),
    )


def _back_to_users(context: AppContext, demarche: str) -> RedirectResponse:
    """The users screen of a démarche of the catalog (never a path built from raw input)."""
    if context.catalog.demarche(demarche) is None:
        return RedirectResponse("/", status_code=303)
    return RedirectResponse(f"/demarches/{demarche}/utilisateurs", status_code=303)


def _form_page(
    context: AppContext,
    templates: TemplatesDep,
    request: Request,
    user: SessionUser,
    demarche_id: str,
    values: dict[str, str],
    refusal: BridgeError | None = None,
) -> Response:
    """The delegation form, empty or shown again with the refusal next to its field."""
    demarche = demarche_or_refuse(context.catalog, demarche_id)
    with context.work() as work:
        sirets = sorted(work.habilitations.managed_sirets(user.sub, demarche))
    page: dict[str, Any] = {"demarche": demarche, "sirets": sirets}
    if refusal is not None:
        return form_again(
            templates, request, "delegation_form.html", user, refusal, values, "siret_tiers", **page
        )
    return render_page(
        templates, request, "delegation_form.html", user, valeurs=values, erreurs={}, **page
    )


@router.get("/demarches/{demarche_id}/delegations/nouvelle")
def new(
    request: Request,
    demarche_id: str,
    user: UserDep,
    context: ContextDep,
    templates: TemplatesDep,
) -> Response:
    return _form_page(context, templates, request, user, demarche_id, {})


async def _step(
    context: AppContext,
    templates: TemplatesDep,
    request: Request,
    demarche_id: str,
    user: SessionUser,
    etape: str,
) -> Response:
    """The recap, then the confirmation: the same checked draft, shown two ways."""
    values = await _form_values(request)

    def draft() -> DelegationDraft:
        with context.work() as work:
            return _draft(work, request, user, demarche_id, values)

    try:
        checked = await run_in_threadpool(draft)
    except BridgeError as exc:
        return _form_page(context, templates, request, user, demarche_id, values, exc)
    return render_page(
        templates,
        request,
        "delegation_recap.html",
        user,
        demarche=checked.demarche,
        draft=checked,
        valeurs=values,
        etape=etape,
    )


@router.post("/demarches/{demarche_id}/delegations/recapitulatif")
async def recap(
    request: Request,
    demarche_id: str,
    user: UserDep,
    context: ContextDep,
    templates: TemplatesDep,
) -> Response:
    return await _step(context, templates, request, demarche_id, user, "recapitulatif")


@router.post("/demarches/{demarche_id}/delegations/confirmation")
async def confirm(
    request: Request,
    demarche_id: str,
    user: UserDep,
    context: ContextDep,
    templates: TemplatesDep,
) -> Response:
    return await _step(context, templates, request, demarche_id, user, "confirmation")


@router.post("/demarches/{demarche_id}/delegations")
async def send(
    request: Request,
    demarche_id: str,
    user: UserDep,
    context: ContextDep,
    templates: TemplatesDep,
) -> Response:
    values = await _form_values(request)

    def invite() -> tuple[DelegationDraft, bool]:
        """Check the whole form again, then invite; the e-mail leaves after the commit."""
        with context.work() as work:
            draft = _draft(work, request, user, demarche_id, values)
            work.delegations.invite(actor_of(request, user), draft, context.settings.public_url)
        return draft, work.delivery.sent

    try:
        draft, sent = await run_in_threadpool(invite)
    except BridgeError as exc:
        return _form_page(context, templates, request, user, demarche_id, values, exc)
    if sent:
        flash(request, f"L'invitation est envoyée à {draft.tiers_email}.")
    else:
        flash(
            request,
            "La délégation est enregistrée mais le courriel d'invitation n'a pas pu "
            "partir : utilisez « Renvoyer l'invitation » dans un instant.",
            "error",
        )
    return RedirectResponse(f"/demarches/{demarche_id}/utilisateurs", status_code=303)


@router.post("/delegations/{delegation_id}/revocation")
def revoke(
    request: Request,
    delegation_id: int,
    user: UserDep,
    context: ContextDep,
    demarche: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    act_and_tell(
        context,
        request,
        "La délégation est révoquée.",
        lambda work: work.delegations.revoke(actor_of(request, user), delegation_id),
    )
    return _back_to_users(context, demarche)


@router.post("/delegations/{delegation_id}/modification")
def modify(
    request: Request,
    delegation_id: int,
    user: UserDep,
    context: ContextDep,
    demarche: Annotated[str, Form(max_length=64)] = "",
    role: Annotated[str, Form(max_length=64)] = "",
    fin: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    act_and_tell(
        context,
        request,
        "La délégation est modifiée.",
        lambda work: work.delegations.modify(
            actor_of(request, user), delegation_id, role=role, valid_until=end_of(_parse_end(fin))
        ),
    )
    return _back_to_users(context, demarche)


@router.post("/delegations/{delegation_id}/relance")
def resend(
    request: Request,
    delegation_id: int,
    user: UserDep,
    context: ContextDep,
    demarche: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    act_and_tell(
        context,
        request,
        "L'invitation est renvoyée.",
        lambda work: work.delegations.resend(
            actor_of(request, user), delegation_id, context.settings.public_url
        ),
    )
    return _back_to_users(context, demarche)


# --- the tiers' side -----------------------------------------------------------------------


@router.get("/invitations/{token}")
def invitation(
    request: Request, token: str, context: ContextDep, templates: TemplatesDep
) -> Response:
    with context.work() as work:
        delegation = work.delegations.by_token(token)
        etablissement_name = work.delegations.delegator_name(delegation)
    demarche = demarche_or_refuse(context.catalog, delegation.demarche)
    return render_page(
        templates,
        request,
        "invitation.html",
        current_user(request),
        delegation=delegation,
        demarche=demarche,
        nom=etablissement_name,
        token=token,
        suite=f"/invitations/{token}",
    )


@router.post("/invitations/{token}/acceptation")
def accept(request: Request, token: str, user: UserDep, context: ContextDep) -> Response:
    with context.work() as work:
        work.delegations.accept(actor_of(request, user), user.email, user.email_verified, token)
    flash(request, "La délégation est acceptée.")
    return RedirectResponse("/mes-clients", status_code=303)


@router.post("/invitations/{token}/refus")
def decline(request: Request, token: str, user: UserDep, context: ContextDep) -> Response:
    with context.work() as work:
        work.delegations.decline(actor_of(request, user), user.email, user.email_verified, token)
    flash(request, "L'invitation est refusée.")
    return RedirectResponse("/", status_code=303)


@router.get("/mes-clients")
def portfolio(
    request: Request,
    user: UserDep,
    context: ContextDep,
    templates: TemplatesDep,
    q: Annotated[str, Query(max_length=100)] = "",
    demarche: Annotated[str, Query(max_length=64)] = "",
    fin_avant: Annotated[str, Query(max_length=10)] = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    ends_before = None
    if fin_avant:
        try:
            ends_before = end_of(date.fromisoformat(fin_avant))
        except ValueError:
            fin_avant = ""
    catalog = context.catalog
    with context.work() as work:
        rows, total = work.delegations.portfolio(
            user.sub,
            query=q[:100],
            demarche=demarche or None,
            ends_before=ends_before,
            page=page,
        )
        pending = work.delegations.pending_for(user.email, user.email_verified)
    return render_page(
        templates,
        request,
        "mes_clients.html",
        user,
        lignes=rows,
        total=total,
        page=max(1, page),
        invitations=[(d, catalog.demarche(d.demarche)) for d in pending],
        filtres={"q": q, "demarche": demarche, "fin_avant": fin_avant},
        demarches=catalog.demarches,
    )


@router.post("/mes-clients/invitations")
async def accept_many(request: Request, user: UserDep, context: ContextDep) -> Response:
    form = await request.form()
    ids = [
        int(v)
        for v in map(str, form.getlist("invitation"))
        if v.isascii() and v.isdigit() and len(v) < 19
    ][:1000]
    if not ids:
        flash(request, "Aucune invitation sélectionnée.", "error")
        return RedirectResponse("/mes-clients", status_code=303)

    try:
        with context.work() as work:
            granted = work.delegations.accept_many(
                actor_of(request, user), user.email, user.email_verified, ids
            )
        flash(request, f"{len(granted)} invitation(s) acceptée(s).")
    except BridgeError as exc:
        flash(request, exc.detail, "error")
    return RedirectResponse("/mes-clients", status_code=303)
