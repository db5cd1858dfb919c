"""Portal pages of delegation to a tiers: the guide's form, recap and confirmation; the
invitation link; the tiers' list of clients with several invitations accepted at once.

Each step re-checks the whole form in the service (hidden fields are never trusted).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import Form, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response

from bridge.api.deps import StoreId
from bridge.api.pages.common import PageDep, VisitDep, pages_router
from bridge.api.routes.delegations import end_of
from bridge.delegation.service import DelegationDraft
from bridge.errors import BridgeError, InvalidInputError
from bridge.etablissement.service import demarche_or_refuse
from bridge.notification import WAITING
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
    work: Services, page: PageDep, demarche_id: str, values: dict[str, str]
) -> DelegationDraft:
    """The whole form checked by the service (hidden fields are not trusted)."""
    return work.delegations.prepare(
        page.actor,
        demarche_id,
        tiers_siret=values["siret_tiers"],
        tiers_email=values["email"],
        role=values["role"],
        delegator_siret=values["siret_habilitation"],
        valid_until=end_of(_parse_end(values["fin"])),
    )


def _form_page(
    page: PageDep, demarche_id: str, values: dict[str, str], refusal: BridgeError | None = None
) -> Response:
    """The delegation form, empty or shown again with the refusal next to its field."""
    demarche = demarche_or_refuse(page.context.catalog, demarche_id)
    with page.context.work() as work:
        sirets = sorted(work.habilitations.managed_sirets(page.user.sub, demarche))
    return page.form(
        "delegation_form.html", values, refusal, "siret_tiers", demarche=demarche, sirets=sirets
    )


def _back_to_users(page: PageDep, demarche: str) -> RedirectResponse:
    """The users screen of a démarche of the catalog (the form's field is never trusted to
    build a path)."""
    if page.context.catalog.demarche(demarche) is None:
        return RedirectResponse("/", status_code=303)
    return RedirectResponse(f"/demarches/{demarche}/utilisateurs", status_code=303)


@router.get("/demarches/{demarche_id}/delegations/nouvelle")
def new(page: PageDep, demarche_id: str) -> Response:
    return _form_page(page, demarche_id, {})


async def _step(page: PageDep, demarche_id: str, etape: str) -> Response:
    """The recap, then the confirmation: the same checked draft, shown two ways."""
    values = await _form_values(page.request)

    def draft() -> DelegationDraft:
        with page.context.work() as work:
            return _draft(work, page, demarche_id, values)

    try:
        checked = await run_in_threadpool(draft)
    except BridgeError as exc:
        return _form_page(page, demarche_id, values, exc)
    return page.render(
        "delegation_recap.html",
        demarche=checked.demarche,
        draft=checked,
        valeurs=values,
        etape=etape,
    )


@router.post("/demarches/{demarche_id}/delegations/recapitulatif")
async def recap(page: PageDep, demarche_id: str) -> Response:
    return await _step(page, demarche_id, "recapitulatif")


@router.post("/demarches/{demarche_id}/delegations/confirmation")
async def confirm(page: PageDep, demarche_id: str) -> Response:
    return await _step(page, demarche_id, "confirmation")


@router.post("/demarches/{demarche_id}/delegations")
async def send(page: PageDep, demarche_id: str) -> Response:
    values = await _form_values(page.request)

    def invite() -> tuple[DelegationDraft, bool]:
        """Check the whole form again, then invite; the e-mail leaves after the commit."""
        with page.context.work() as work:
            draft = _draft(work, page, demarche_id, values)
            work.delegations.invite(page.actor, draft, page.context.settings.public_url)
        return draft, work.delivery.sent

    try:
        draft, sent = await run_in_threadpool(invite)
    except BridgeError as exc:
        return _form_page(page, demarche_id, values, exc)
    if sent:
        page.flash(f"L'invitation est envoyée à {draft.tiers_email}.")
    else:
        page.flash(
            f"La délégation est enregistrée ; le courriel d'invitation est {WAITING}.",
            "info",
        )
    return RedirectResponse(f"/demarches/{demarche_id}/utilisateurs", status_code=303)


@router.post("/delegations/{delegation_id}/revocation")
def revoke(
    page: PageDep, delegation_id: StoreId, demarche: Annotated[str, Form(max_length=64)] = ""
) -> Response:
    page.act(
        "La délégation est révoquée.",
        lambda work: work.delegations.revoke(page.actor, delegation_id),
    )
    return _back_to_users(page, demarche)


@router.post("/delegations/{delegation_id}/modification")
def modify(
    page: PageDep,
    delegation_id: StoreId,
    demarche: Annotated[str, Form(max_length=64)] = "",
    role: Annotated[str, Form(max_length=64)] = "",
    fin: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    page.act(
        "La délégation est modifiée.",
        lambda work: work.delegations.modify(
            page.actor, delegation_id, role=role, valid_until=end_of(_parse_end(fin))
        ),
    )
    return _back_to_users(page, demarche)


@router.post("/delegations/{delegation_id}/relance")
def resend(
    page: PageDep, delegation_id: StoreId, demarche: Annotated[str, Form(max_length=64)] = ""
) -> Response:
    page.act(
        "L'invitation est renvoyée.",
        lambda work: work.delegations.resend(
            page.actor, delegation_id, page.context.settings.public_url
        ),
    )
    return _back_to_users(page, demarche)


# --- the tiers' side -----------------------------------------------------------------------


@router.get("/invitations/{token}")
def invitation(visit: VisitDep, token: str) -> Response:
    with visit.context.work() as work:
        delegation = work.delegations.by_token(token)
        etablissement_name = work.delegations.delegator_name(delegation)
    demarche = demarche_or_refuse(visit.context.catalog, delegation.demarche)
    return visit.render(
        "invitation.html",
        delegation=delegation,
        demarche=demarche,
        nom=etablissement_name,
        token=token,
        suite=f"/invitations/{token}",
    )


@router.post("/invitations/{token}/acceptation")
def accept(page: PageDep, token: str) -> Response:
    user = page.user
    with page.context.work() as work:
        work.delegations.accept(page.actor, user.email, user.email_verified, token)
    page.flash("La délégation est acceptée.")
    return RedirectResponse("/mes-clients", status_code=303)


@router.post("/invitations/{token}/refus")
def decline(page: PageDep, token: str) -> Response:
    user = page.user
    with page.context.work() as work:
        work.delegations.decline(page.actor, user.email, user.email_verified, token)
    page.flash("L'invitation est refusée.")
    return RedirectResponse("/", status_code=303)


@router.get("/mes-clients")
def portfolio(
    page: PageDep,
    q: Annotated[str, Query(max_length=100)] = "",
    demarche: Annotated[str, Query(max_length=64)] = "",
    fin_avant: Annotated[str, Query(max_length=10)] = "",
    numero: Annotated[int, Query(ge=1, le=100_000, alias="page")] = 1,
) -> Response:
    ends_before = None
    if fin_avant:
        try:
            ends_before = end_of(date.fromisoformat(fin_avant))
        except ValueError:
            fin_avant = ""
    user, catalog = page.user, page.context.catalog
    with page.context.work() as work:
        rows, total = work.delegations.portfolio(
            user.sub,
            query=q[:100],
            demarche=demarche or None,
            ends_before=ends_before,
            page=numero,
        )
        pending = work.delegations.pending_for(user.email, user.email_verified)
    return page.render(
        "mes_clients.html",
        lignes=rows,
        total=total,
        page=max(1, numero),
        invitations=[(d, catalog.demarche(d.demarche)) for d in pending],
        filtres={"q": q, "demarche": demarche, "fin_avant": fin_avant},
        demarches=catalog.demarches,
    )


@router.post("/mes-clients/invitations")
async def accept_many(page: PageDep) -> Response:
    form = await page.request.form()
    ids = [
        int(v)
        for v in map(str, form.getlist("invitation"))
        if v.isascii() and v.isdigit() and len(v) < 19
    ][:1000]
    if not ids:
        page.flash("Aucune invitation sélectionnée.", "error")
        return RedirectResponse("/mes-clients", status_code=303)
    user = page.user
    try:
        with page.context.work() as work:
            granted = work.delegations.accept_many(page.actor, user.email, user.email_verified, ids)
        page.flash(f"{len(granted)} invitation(s) acceptée(s).")
    except BridgeError as exc:
        page.flash(exc.detail, "error")
    return RedirectResponse("/mes-clients", status_code=303)
