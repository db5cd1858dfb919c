"""Portal pages of the BPF: pick the SIRET to declare for (a tiers may have many clients),
fill the form section by section with errors next to each field, submit, print the receipt.

The same `BpfService` as the API: the right is read from the store on every request.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path, Query, Request
from fastapi.responses import RedirectResponse, Response

from bridge.api.auth.oidc import SessionUser
from bridge.api.deps import ContextDep, TemplatesDep
from bridge.api.pages.common import UserDep, actor_of, flash, pages_router, render_page
from bridge.bootstrap import AppContext
from bridge.bpf.cerfa import LINES, SECTIONS
from bridge.bpf.service import DEMARCHE, ROLE, BpfInvalidError
from bridge.catalog import Catalog, CatalogError, Demarche
from bridge.db import now
from bridge.errors import BridgeError

BASE = f"/demarches/{DEMARCHE}/bpf"
PER_PAGE = 20
SiretPath = Annotated[str, Path(pattern=r"^[0-9]{14}$")]
YearPath = Annotated[int, Path(ge=1900, le=2100)]

router = pages_router()


def bpf_demarche(catalog: Catalog) -> Demarche:
    """The BPF's démarche; a catalog without it cannot serve these pages (checked at start)."""
    demarche = catalog.demarche(DEMARCHE)
    if demarche is None:
        raise CatalogError(f"Le catalogue n'a pas la démarche « {DEMARCHE} » du BPF.")
    return demarche


def _version(raw: object) -> int:
    """The version the form was read at; anything else can only be refused as stale."""
    text = str(raw or "0")
    return int(text) if text.isdigit() else -1


@router.get(BASE)
def choose(
    request: Request,
    user: UserDep,
    context: ContextDep,
    templates: TemplatesDep,
    q: Annotated[str, Query(max_length=100)] = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    """The SIRETs the person may declare for, searchable (SIRET or name), by pages."""
    demarche = bpf_demarche(context.catalog)
    with context.work() as work:
        found = work.verifications.sirets_for(
            demarche, user.sub, page, PER_PAGE, acting_as=ROLE, search=q
        )
    return render_page(
        templates,
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


def _show(
    context: AppContext,
    templates: TemplatesDep,
    request: Request,
    user: SessionUser,
    siret: str,
    exercice: int,
    *,
    status: int = 200,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    version: int | None = None,
) -> Response:
    with context.work() as work:
        bpf, history = work.bpf.read_with_history(actor_of(request, user), siret, exercice)
        name = work.bpf.etablissement_name(siret)
    return render_page(
        templates,
        request,
        "bpf_formulaire.html",
        user,
        status,
        siret=siret,
        nom=name,
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
def form(
    request: Request,
    user: UserDep,
    context: ContextDep,
    templates: TemplatesDep,
    siret: SiretPath,
    exercice: YearPath,
) -> Response:
    return _show(context, templates, request, user, siret, exercice)


@router.post(BASE + "/{siret}/{exercice}")
async def save(
    request: Request,
    user: UserDep,
    context: ContextDep,
    templates: TemplatesDep,
    siret: SiretPath,
    exercice: YearPath,
) -> Response:
    form = await request.form()
    values = {k: str(form.get(k, ""))[:300] for k in LINES if k in form}
    version = _version(form.get("version"))
    try:
        with context.work() as work:
            work.bpf.save(actor_of(request, user), siret, exercice, values, version)
    except BpfInvalidError as exc:
        return _show(
            context,
            templates,
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
    request: Request,
    user: UserDep,
    context: ContextDep,
    templates: TemplatesDep,
    siret: SiretPath,
    exercice: YearPath,
) -> Response:
    form = await request.form()
    version = _version(form.get("version"))
    try:
        with context.work() as work:
            work.bpf.submit(actor_of(request, user), siret, exercice, version)
    except BpfInvalidError as exc:
        return _show(
            context,
            templates,
            request,
            user,
            siret,
            exercice,
            status=422,
            errors=exc.extra["erreurs"],
        )
    except BridgeError as exc:
        flash(request, exc.detail, "error")
        return RedirectResponse(f"{BASE}/{siret}/{exercice}", status_code=303)
    flash(request, "Votre BPF est déposé.")
    return RedirectResponse(f"{BASE}/{siret}/{exercice}/recepisse", status_code=303)


@router.get(BASE + "/{siret}/{exercice}/recepisse")
def receipt(
    request: Request,
    user: UserDep,
    context: ContextDep,
    templates: TemplatesDep,
    siret: SiretPath,
    exercice: YearPath,
) -> Response:
    with context.work() as work:
        bpf = work.bpf.read(actor_of(request, user), siret, exercice)
        name = work.bpf.etablissement_name(siret)
    if bpf is None or bpf.receipt_number is None:
        flash(request, "Ce BPF n'est pas encore déposé.", "error")
        return RedirectResponse(f"{BASE}/{siret}/{exercice}", status_code=303)
    return render_page(
        templates, request, "bpf_recepisse.html", user, bpf=bpf, nom=name, lignes=LINES
    )
