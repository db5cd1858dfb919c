"""Portal pages of the BPF: pick the SIRET to declare for (a tiers may have many clients),
fill the form section by section with errors next to each field, submit, print the receipt.

The same `BpfService` as the API: the right is read from the store on every request.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path, Query
from fastapi.responses import RedirectResponse, Response

from bridge.api.pages.common import PageDep, pages_router
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
    return int(text) if text.isascii() and text.isdigit() and len(text) < 19 else -1


@router.get(BASE)
def choose(
    page: PageDep,
    q: Annotated[str, Query(max_length=100)] = "",
    numero: Annotated[int, Query(ge=1, le=100_000, alias="page")] = 1,
) -> Response:
    """The SIRETs the person may declare for, searchable (SIRET or name), by pages."""
    demarche = bpf_demarche(page.context.catalog)
    with page.context.work() as work:
        found = work.verifications.sirets_for(
            demarche, page.user.sub, numero, PER_PAGE, acting_as=ROLE, search=q
        )
    return page.render(
        "bpf_choix.html",
        etablissements=found.items,
        total=found.total,
        page=numero,
        pages=max(1, -(-found.total // PER_PAGE)),
        q=q,
        exercice=now().year - 1,
    )


def _show(
    page: PageDep,
    siret: str,
    exercice: int,
    *,
    status: int = 200,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    version: int | None = None,
) -> Response:
    with page.context.work() as work:
        bpf, history = work.bpf.read_with_history(page.actor, siret, exercice)
        name = work.bpf.etablissement_name(siret)
    return page.render(
        "bpf_formulaire.html",
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
def form(page: PageDep, siret: SiretPath, exercice: YearPath) -> Response:
    return _show(page, siret, exercice)


@router.post(BASE + "/{siret}/{exercice}")
async def save(page: PageDep, siret: SiretPath, exercice: YearPath) -> Response:
    form = await page.request.form()
    values = {k: str(form.get(k, ""))[:300] for k in LINES if k in form}
    version = _version(form.get("version"))
    try:
        with page.context.work() as work:
            work.bpf.save(page.actor, siret, exercice, values, version)
    except BpfInvalidError as exc:
        errors = exc.extra["erreurs"]
        return _show(
            page, siret, exercice, status=422, values=values, errors=errors, version=version
        )
    except BridgeError as exc:
        page.flash(exc.detail, "error")
    else:
        page.flash("Le brouillon est enregistré.")
    return RedirectResponse(f"{BASE}/{siret}/{exercice}", status_code=303)


@router.post(BASE + "/{siret}/{exercice}/depot")
async def submit(page: PageDep, siret: SiretPath, exercice: YearPath) -> Response:
    form = await page.request.form()
    version = _version(form.get("version"))
    try:
        with page.context.work() as work:
            work.bpf.submit(page.actor, siret, exercice, version)
    except BpfInvalidError as exc:
        return _show(page, siret, exercice, status=422, errors=exc.extra["erreurs"])
    except BridgeError as exc:
        page.flash(exc.detail, "error")
        return RedirectResponse(f"{BASE}/{siret}/{exercice}", status_code=303)
    page.flash("Votre BPF est déposé.")
    return RedirectResponse(f"{BASE}/{siret}/{exercice}/recepisse", status_code=303)


@router.get(BASE + "/{siret}/{exercice}/recepisse")
def receipt(page: PageDep, siret: SiretPath, exercice: YearPath) -> Response:
    with page.context.work() as work:
        bpf = work.bpf.read(page.actor, siret, exercice)
        name = work.bpf.etablissement_name(siret)
    if bpf is None or bpf.receipt_number is None:
        page.flash("Ce BPF n'est pas encore déposé.", "error")
        return RedirectResponse(f"{BASE}/{siret}/{exercice}", status_code=303)
    return page.render("bpf_recepisse.html", bpf=bpf, nom=name, lignes=LINES)
