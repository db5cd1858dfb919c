"""Portal pages of the BPF: pick the SIRET to declare for (a tiers may have many clients),
fill the form section by section with errors next to each field, submit, print the receipt.

The same `BpfService` as the API: the right is read from the store on every request.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from bridge.api.context import AppContext
from bridge.api.csrf import require_csrf
from bridge.api.oidc import SessionUser
from bridge.api.pages import UserDep, actor_of, flash, render_page
from bridge.bpf.cerfa import LINES, SECTIONS
from bridge.bpf.service import DEMARCHE, ROLE, BpfInvalidError, BpfService
from bridge.catalog import CatalogError
from bridge.db import now
from bridge.errors import BridgeError
from bridge.etablissement.models import Etablissement
from bridge.habilitation.checks import sirets_for

BASE = f"/demarches/{DEMARCHE}/bpf"
PER_PAGE = 20
SiretPath = Annotated[str, Path(pattern=r"^[0-9]{14}$")]
YearPath = Annotated[int, Path(ge=1900, le=2100)]


def _version(raw: object) -> int:
    """The version the form was read at; anything else can only be refused as stale."""
    text = str(raw or "0")
    return int(text) if text.isdigit() else -1


def bpf_pages(context: AppContext, templates: Jinja2Templates) -> APIRouter:
    router = APIRouter(include_in_schema=False, dependencies=[Depends(require_csrf)])
    catalog = context.catalog
    demarche = catalog.demarche(DEMARCHE)
    if demarche is None:
        raise CatalogError(f"Le catalogue n'a pas la démarche « {DEMARCHE} » du BPF.")

    def render(
        request: Request, name: str, user: SessionUser, status: int = 200, **values: Any
    ) -> Response:
        return render_page(templates, request, name, user, status, **values)

    @router.get(BASE)
    def choose(
        request: Request,
        user: UserDep,
        q: Annotated[str, Query(max_length=100)] = "",
        page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    ) -> Response:
        """The SIRETs the person may declare for, searchable (SIRET or name), by pages."""
        with context.work() as work:
            found = sirets_for(
                work.session, demarche, user.sub, page, PER_PAGE, acting_as=ROLE, search=q
            )
        return render(
            request,
            "bpf_choix.html",
            user,
            etablissements=found.items,
            total=found.total,
            page=page,
            pages=max(1, -(-found.total // PER_PAGE)),
            q=q,
            exercice=now().year - 1,
        )

    def show(
        request: Request,
        user: UserDep,
        siret: str,
        exercice: int,
        *,
        status: int = 200,
        values: dict[str, Any] | None = None,
        errors: dict[str, str] | None = None,
        version: int | None = None,
    ) -> Response:
        with context.work() as work:
            bpf, history = BpfService(work.session, catalog).read_with_history(
                actor_of(request, user), siret, exercice
            )
            etablissement = work.session.get(Etablissement, siret)
        return render(
            request,
            "bpf_formulaire.html",
            user,
            status,
            siret=siret,
            nom=etablissement.name if etablissement else "",
            exercice=exercice,
            bpf=bpf,
            sections=SECTIONS,
            valeurs=values if values is not None else (bpf.content if bpf else {}),
            erreurs=errors or {},
            version=version if version is not None else (bpf.version if bpf else 0),
            historique=history,
            base=BASE,
        )

    @router.get(BASE + "/{siret}/{exercice}")
    def form(request: Request, user: UserDep, siret: SiretPath, exercice: YearPath) -> Response:
        return show(request, user, siret, exercice)

    @router.post(BASE + "/{siret}/{exercice}")
    async def save(
        request: Request, user: UserDep, siret: SiretPath, exercice: YearPath
    ) -> Response:
        form = await request.form()
        values = {k: str(form.get(k, ""))[:300] for k in LINES if k in form}
        version = _version(form.get("version"))
        try:
            with context.work() as work:
                BpfService(work.session, catalog).save(
                    actor_of(request, user), siret, exercice, values, version
                )
        except BpfInvalidError as exc:
            return show(
                request,
                user,
                siret,
                exercice,
                status=422,
                values=values,
                errors=exc.extra["erreurs"],
                version=version,
            )
        except BridgeError as exc:
            flash(request, exc.detail, "error")
        else:
            flash(request, "Le brouillon est enregistré.")
        return RedirectResponse(f"{BASE}/{siret}/{exercice}", status_code=303)

    @router.post(BASE + "/{siret}/{exercice}/depot")
    async def submit(
        request: Request, user: UserDep, siret: SiretPath, exercice: YearPath
    ) -> Response:
        form = await request.form()
        version = _version(form.get("version"))
        try:
            with context.work() as work:
                BpfService(work.session, catalog).submit(
                    actor_of(request, user), siret, exercice, version
                )
        except BpfInvalidError as exc:
            return show(request, user, siret, exercice, status=422, errors=exc.extra["erreurs"])
        except BridgeError as exc:
            flash(request, exc.detail, "error")
            return RedirectResponse(f"{BASE}/{siret}/{exercice}", status_code=303)
        flash(request, "Votre BPF est déposé.")
        return RedirectResponse(f"{BASE}/{siret}/{exercice}/recepisse", status_code=303)

    @router.get(BASE + "/{siret}/{exercice}/recepisse")
    def receipt(request: Request, user: UserDep, siret: SiretPath, exercice: YearPath) -> Response:
        with context.work() as work:
            bpf = BpfService(work.session, catalog).read(actor_of(request, user), siret, exercice)
            etablissement = work.session.get(Etablissement, siret)
        if bpf is None or bpf.receipt_number is None:
            flash(request, "Ce BPF n'est pas encore déposé.", "error")
            return RedirectResponse(f"{BASE}/{siret}/{exercice}", status_code=303)
        return render(
            request,
            "bpf_recepisse.html",
            user,
            bpf=bpf,
            nom=etablissement.name if etablissement else "",
            lignes=LINES,
        )

    return router
