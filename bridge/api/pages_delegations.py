"""Portal pages of delegation to a tiers: the guide's form, recap and confirmation; the
invitation link; the tiers' list of clients with several invitations accepted at once.

Each step re-checks the whole form in the service (hidden fields are never trusted).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from bridge.api.context import AppContext, Services
from bridge.api.csrf import require_csrf
from bridge.api.delegations import PARIS, end_of
from bridge.api.oidc import SessionUser
from bridge.api.pages import UserDep, act_and_tell, actor_of, flash, render_page
from bridge.errors import BridgeError
from bridge.etablissement.service import demarche_or_refuse

_FIELDS = ("siret_tiers", "email", "role", "siret_habilitation", "fin")


def delegation_pages(context: AppContext, templates: Jinja2Templates) -> APIRouter:
    router = APIRouter(include_in_schema=False, dependencies=[Depends(require_csrf)])
    catalog = context.catalog
    templates.env.globals["paris"] = PARIS

    def render(
        request: Request, name: str, user: SessionUser | None, status: int = 200, **values: Any
    ) -> Response:
        return render_page(templates, request, name, user, status, **values)

    async def form_values(request: Request) -> dict[str, str]:
        form = await request.form()
        return {k: str(form.get(k, ""))[:254].strip() for k in _FIELDS}

    def parse_end(value: str) -> date | None:
        if not value:
            return None
        try:
            return date.fromisoformat(value)
        except ValueError:
            from bridge.errors import InvalidInputError

            raise InvalidInputError(
                "La fin d'habilitation n'est pas une date valide.", field="fin"
            ) from None

    def draft_of(
        request: Request, user: SessionUser, demarche_id: str, values: dict[str, str]
    ) -> Any:
        with context.work() as work:
            return work.delegations.prepare(
                actor_of(request, user),
                demarche_id,
                tiers_siret=values["siret_tiers"],
                tiers_email=values["email"],
                role=values["role"],
                delegator_siret=values["siret_habilitation"],
                valid_until=end_of(parse_end(values["fin"])),
            )

    def back_to_users(demarche: str) -> RedirectResponse:
        """The users screen of a démarche of the catalog (never a path built from raw input)."""
        if catalog.demarche(demarche) is None:
            return RedirectResponse("/", status_code=303)
        return RedirectResponse(f"/demarches/{demarche}/utilisateurs", status_code=303)

    def form_page(
        request: Request,
        user: SessionUser,
        demarche_id: str,
        values: dict[str, str],
        errors: dict[str, str],
        status: int = 200,
    ) -> Response:
        demarche = demarche_or_refuse(catalog, demarche_id)
        with context.work() as work:
            sirets = sorted(work.habilitations.managed_sirets(user.sub, demarche))
        return render(
            request,
            "delegation_form.html",
            user,
            status=status,
            demarche=demarche,
            sirets=sirets,
            valeurs=values,
            erreurs=errors,
        )

    @router.get("/demarches/{demarche_id}/delegations/nouvelle")
    def new(request: Request, demarche_id: str, user: UserDep) -> Response:
        return form_page(request, user, demarche_id, {}, {})

    async def step(request: Request, demarche_id: str, user: SessionUser, etape: str) -> Response:
        """The recap, then the confirmation: the same checked draft, shown two ways."""
        values = await form_values(request)
        try:
            draft = await run_in_threadpool(draft_of, request, user, demarche_id, values)
        except BridgeError as exc:
            field = str(exc.extra.get("field", "siret_tiers"))
            return form_page(request, user, demarche_id, values, {field: exc.detail}, exc.status)
        return render(
            request,
            "delegation_recap.html",
            user,
            demarche=draft.demarche,
            draft=draft,
            valeurs=values,
            etape=etape,
        )

    @router.post("/demarches/{demarche_id}/delegations/recapitulatif")
    async def recap(request: Request, demarche_id: str, user: UserDep) -> Response:
        return await step(request, demarche_id, user, "recapitulatif")

    @router.post("/demarches/{demarche_id}/delegations/confirmation")
    async def confirm(request: Request, demarche_id: str, user: UserDep) -> Response:
        return await step(request, demarche_id, user, "confirmation")

    @router.post("/demarches/{demarche_id}/delegations")
    async def send(request: Request, demarche_id: str, user: UserDep) -> Response:
        values = await form_values(request)

        def invite() -> tuple[Any, Any]:
            """Check the whole form again (hidden fields are not trusted), then invite."""
            actor = actor_of(request, user)
            with context.work() as work:
                draft = work.delegations.prepare(
                    actor,
                    demarche_id,
                    tiers_siret=values["siret_tiers"],
                    tiers_email=values["email"],
                    role=values["role"],
                    delegator_siret=values["siret_habilitation"],
                    valid_until=end_of(parse_end(values["fin"])),
                )
                _, email = work.delegations.invite(actor, draft, context.settings.public_url)
            return draft, email

        try:
            draft, email = await run_in_threadpool(invite)
        except BridgeError as exc:
            field = str(exc.extra.get("field", "siret_tiers"))
            return form_page(request, user, demarche_id, values, {field: exc.detail}, exc.status)
        if await run_in_threadpool(context.send, email):
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
        demarche: Annotated[str, Form(max_length=64)] = "",
    ) -> Response:
        def revoke_it(work: Services) -> None:
            work.delegations.revoke(actor_of(request, user), delegation_id)

        act_and_tell(context, request, "La délégation est révoquée.", revoke_it)
        return back_to_users(demarche)

    @router.post("/delegations/{delegation_id}/modification")
    def modify(
        request: Request,
        delegation_id: int,
        user: UserDep,
        demarche: Annotated[str, Form(max_length=64)] = "",
        role: Annotated[str, Form(max_length=64)] = "",
        fin: Annotated[str, Form(max_length=10)] = "",
    ) -> Response:
        def modify_it(work: Services) -> None:
            work.delegations.modify(
                actor_of(request, user),
                delegation_id,
                role=role,
                valid_until=end_of(parse_end(fin)),
            )

        act_and_tell(context, request, "La délégation est modifiée.", modify_it)
        return back_to_users(demarche)

    @router.post("/delegations/{delegation_id}/relance")
    def resend(
        request: Request,
        delegation_id: int,
        user: UserDep,
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
        return back_to_users(demarche)

    # --- the tiers' side ---------------------------------------------------------------------

    @router.get("/invitations/{token}")
    def invitation(request: Request, token: str) -> Response:
        user = request.app.state.login.current_user(request)
        with context.work() as work:
            delegation = work.delegations.by_token(token)
            etablissement_name = work.delegations.delegator_name(delegation)
        demarche = demarche_or_refuse(catalog, delegation.demarche)
        return render(
            request,
            "invitation.html",
            user,
            delegation=delegation,
            demarche=demarche,
            nom=etablissement_name,
            token=token,
            suite=f"/invitations/{token}",
        )

    @router.post("/invitations/{token}/acceptation")
    def accept(request: Request, token: str, user: UserDep) -> Response:
        with context.work() as work:
            work.delegations.accept(actor_of(request, user), user.email, user.email_verified, token)
        flash(request, "La délégation est acceptée.")
        return RedirectResponse("/mes-clients", status_code=303)

    @router.post("/invitations/{token}/refus")
    def decline(request: Request, token: str, user: UserDep) -> Response:
        with context.work() as work:
            work.delegations.decline(
                actor_of(request, user), user.email, user.email_verified, token
            )
        flash(request, "L'invitation est refusée.")
        return RedirectResponse("/", status_code=303)

    @router.get("/mes-clients")
    def portfolio(
        request: Request,
        user: UserDep,
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
        with context.work() as work:
            rows, total = work.delegations.portfolio(
                user.sub,
                query=q[:100],
                demarche=demarche or None,
                ends_before=ends_before,
                page=page,
            )
            pending = work.delegations.pending_for(user.email, user.email_verified)
        return render(
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
    async def accept_many(request: Request, user: UserDep) -> Response:
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

    return router
