"""The operator's back-office in the portal: search an establishment, read its file (holders
per démarche, pending requests, codes issued, lockouts, audit trail), lift a code lockout,
issue a new code and print its letter; search a person, read their file (Keycloak account,
rights, delegations, requests, history), lift a brute-force lock; list the employer
organisations and the SIRETs left without a gestionnaire; import establishments from a CSV.

Thin: the operator check and the reads are `bridge.backoffice.service`, the changes the
establishments' (`EtablissementService.issue_code`, `unlock`). Every change is audited there.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Query
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.datastructures import UploadFile

from bridge.api.pages.common import PageDep, pages_router
from bridge.audit.labels import action_sentence
from bridge.audit.models import AuditEvent
from bridge.backoffice.service import OPERATOR_ONLY, PER_PAGE, Results
from bridge.catalog import Catalog
from bridge.errors import BridgeError, ForbiddenError, InvalidInputError
from bridge.etablissement.service import csv_delimiter, parse_csv_text

router = pages_router()


def _sentence(catalog: Catalog, event: AuditEvent) -> str:
    """An audit event in words, its roles by their label in its démarche."""
    demarche = event.demarche or ""
    return action_sentence(
        event.action, event.details, lambda role: catalog.role_label(demarche, role)
    )


def _require_operator(page: PageDep) -> None:
    """The operator, as `page_user` believes them: the session's flag re-read against the
    store's designation on every request (POSTs too), so an operator withdrawn by `operateur
    retirer` keeps a session but not the powers."""
    if not page.user.operator:
        raise ForbiddenError(OPERATOR_ONLY)


@router.get("/operateur")
def home(page: PageDep) -> Response:
    """« Back-office »: where each of the operator's tools is."""
    _require_operator(page)
    return page.render("backoffice_accueil.html")


@router.get("/operateur/etablissements")
def search(
    page: PageDep,
    q: Annotated[str, Query(max_length=200)] = "",
    numero: Annotated[int, Query(alias="page", ge=1, le=100_000)] = 1,
) -> Response:
    _require_operator(page)
    with page.context.work() as work:
        results = work.backoffice.search_etablissements(page.actor, q, numero)
    return page.render("backoffice_etablissements.html", recherche=q, resultats=results)


@router.get("/operateur/etablissements/{siret}")
def etablissement(
    page: PageDep,
    siret: str,
    numero: Annotated[int, Query(alias="page", ge=1, le=100_000)] = 1,
) -> Response:
    _require_operator(page)
    with page.context.work() as work:
        file = work.backoffice.etablissement_file(page.actor, siret, numero)
        code_demarches = [d for d in page.context.catalog.demarches if d.entry == "activation-code"]
    return page.render(
        "backoffice_etablissement.html",
        fiche=file,
        demarches_par_code=code_demarches,
        journal=[(event, _sentence(page.context.catalog, event)) for event in file.audit.rows],
    )


@router.post("/operateur/etablissements/{siret}/code")
async def issue_code(page: PageDep, siret: str) -> Response:
    """« Émettre un nouveau code »: the previous one is revoked; the letter is shown once."""
    _require_operator(page)
    form = await page.request.form()
    demarche_id = str(form.get("demarche", ""))[:64]

    def run() -> tuple[str, str, str, str]:
        with page.context.work() as work:
            found, code = work.backoffice.issue_code(page.actor, siret, demarche_id)
            demarche = page.context.catalog.demarche(demarche_id)
        title = demarche.title if demarche else demarche_id
        return found.siret, found.name, title, code

    try:
        number, name, title, code = await run_in_threadpool(run)
    except BridgeError as exc:
        page.flash(exc.detail, "error")
        return RedirectResponse(f"/operateur/etablissements/{siret}", status_code=303)
    # The letter is this response (sent `no-store`): the code is kept nowhere in clear, not
    # even in the session store, and it is the code this request made active.
    letter = {"siret": number, "raison_sociale": name, "demarche": title, "code": code}
    return page.render("backoffice_lettre.html", lettre=letter)


@router.get("/operateur/etablissements/{siret}/lettre")
def letter(page: PageDep, siret: str) -> Response:
    """A letter's address opened again (reload, bookmark): its code was shown once only."""
    _require_operator(page)
    page.flash(
        "Le courrier n'est plus disponible : le code n'est affiché qu'une fois. "
        "Émettez un nouveau code si le courrier a été perdu.",
        "error",
    )
    return RedirectResponse(f"/operateur/etablissements/{siret}", status_code=303)


@router.post("/operateur/etablissements/{siret}/deblocage")
async def unlock(page: PageDep, siret: str) -> Response:
    """« Débloquer »: the SIRET's protection, or one account's (form field `personne`)."""
    _require_operator(page)
    form = await page.request.form()
    subject = str(form.get("personne", ""))[:64] or None
    done = (
        "Le blocage de ce compte est levé : il peut saisir un code à nouveau."
        if subject
        else "La protection du SIRET est levée : les codes peuvent être saisis à nouveau."
    )
    await run_in_threadpool(
        page.act, done, lambda work: work.backoffice.unlock(page.actor, siret, subject)
    )
    return RedirectResponse(f"/operateur/etablissements/{siret}", status_code=303)


# --- people ----------------------------------------------------------------------------------


@router.get("/operateur/personnes")
def people(
    page: PageDep,
    q: Annotated[str, Query(max_length=200)] = "",
    numero: Annotated[int, Query(alias="page", ge=1, le=100_000)] = 1,
) -> Response:
    _require_operator(page)
    with page.context.work() as work:
        results = work.backoffice.search_people(page.actor, q, numero)
    return page.render("backoffice_personnes.html", recherche=q, resultats=results)


@router.get("/operateur/personnes/{subject}")
def person(
    page: PageDep,
    subject: str,
    numero: Annotated[int, Query(alias="page", ge=1, le=100_000)] = 1,
) -> Response:
    _require_operator(page)
    with page.context.work() as work:
        file = work.backoffice.person_file(page.actor, subject, numero)
    return page.render(
        "backoffice_personne.html",
        fiche=file,
        journal=[(event, _sentence(page.context.catalog, event)) for event in file.audit.rows],
    )


@router.post("/operateur/personnes/{subject}/deblocage")
async def unlock_account(page: PageDep, subject: str) -> Response:
    """« Débloquer » an account Keycloak locked after too many failed logins."""
    _require_operator(page)
    await run_in_threadpool(
        page.act,
        "Le compte est débloqué : la personne peut se connecter à nouveau.",
        lambda work: work.backoffice.unlock_account(page.actor, subject),
    )
    return RedirectResponse(f"/operateur/personnes/{subject}", status_code=303)


# --- employer organisations ------------------------------------------------------------------


@router.get("/operateur/employeurs")
def organisations(
    page: PageDep,
    q: Annotated[str, Query(max_length=200)] = "",
    type_id: Annotated[str, Query(alias="type", max_length=64)] = "",
    numero: Annotated[int, Query(alias="page", ge=1, le=100_000)] = 1,
) -> Response:
    _require_operator(page)
    with page.context.work() as work:
        results = work.backoffice.organisations(page.actor, q, type_id, numero)
    return page.render(
        "backoffice_employeurs.html",
        recherche=q,
        type_choisi=type_id,
        types=page.context.catalog.organisation_types,
        resultats=results,
    )


# --- SIRETs left without a gestionnaire ------------------------------------------------------


@router.get("/operateur/sans-gestionnaire")
def orphans(
    page: PageDep, numero: Annotated[int, Query(alias="page", ge=1, le=100_000)] = 1
) -> Response:
    """The SIRETs whose gestionnaire's account was deleted and that have none since; each
    links to its establishment, where « Émettre un nouveau code » appoints the next one."""
    _require_operator(page)
    with page.context.work() as work:
        work.backoffice.require_operator(page.actor)
        found = work.accounts.orphans()
    per_page = PER_PAGE
    shown = Results(
        found[(numero - 1) * per_page : numero * per_page], len(found), numero, per_page
    )
    return page.render("backoffice_sans_gestionnaire.html", resultats=shown)


# --- import of establishments from a CSV -----------------------------------------------------

_MAX_IMPORT_BYTES = 10 * 1024 * 1024


def _import_page(
    page: PageDep, demarche_id: str = "", refusal: BridgeError | None = None
) -> Response:
    return page.form(
        "backoffice_import.html",
        {"demarche": demarche_id},
        refusal,
        "fichier",
        demarches_par_code=[
            d for d in page.context.catalog.demarches if d.entry == "activation-code"
        ],
    )


@router.get("/operateur/import")
def import_form(page: PageDep) -> Response:
    _require_operator(page)
    return _import_page(page)


@router.post("/operateur/import")
async def import_file(page: PageDep) -> Response:
    """The command line's import from the page, same rules: an import job that the portal
    runs in the background (`bridge.backoffice.imports`); its page shows the progress."""
    _require_operator(page)
    async with page.request.form() as form:  # closes the uploaded file's spool
        demarche_id = str(form.get("demarche", ""))[:64]
        upload = form.get("fichier")
        content = None
        if isinstance(upload, UploadFile) and upload.filename:
            content = await upload.read(_MAX_IMPORT_BYTES + 1)
    try:
        if content is None:
            raise InvalidInputError("Choisissez le fichier CSV à importer.", field="fichier")
        if len(content) > _MAX_IMPORT_BYTES:
            raise InvalidInputError("Le fichier dépasse 10 Mo : découpez-le.", field="fichier")
        try:
            text = content.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise InvalidInputError(
                "Le fichier n'est pas encodé en UTF-8 : enregistrez-le au format « CSV UTF-8 ».",
                field="fichier",
            ) from exc
        rows = parse_csv_text(text)

        def run() -> str:
            with page.context.work() as work:
                return work.backoffice.start_import(
                    page.actor, rows, demarche_id, csv_delimiter(text)
                )

        job_id = await run_in_threadpool(run)
    except BridgeError as exc:
        return _import_page(page, demarche_id, exc)
    page.context.imports.wake.set()
    return RedirectResponse(f"/operateur/imports/{job_id}", status_code=303)


@router.get("/operateur/imports/{job_id}")
def import_job(page: PageDep, job_id: str) -> Response:
    """The import's progress while it runs (the page polls `etat`), then its report and,
    this once, its letters."""
    _require_operator(page)
    with page.context.work() as work:
        job = work.backoffice.import_job(page.actor, job_id)
    demarche = page.context.catalog.title_of(job.demarche)
    if job.finished_at is None:
        return page.render("backoffice_import_progression.html", import_=job, demarche=demarche)
    letters = page.context.imports.take_letters(job.id)
    return page.render(
        "backoffice_import_resultat.html",
        rapport=job,
        demarche=demarche,
        courriers=letters or [],
        courriers_deja_affiches=letters is None and bool(job.letters),
    )


@router.get("/operateur/imports/{job_id}/etat")
def import_state(page: PageDep, job_id: str) -> Response:
    """Where the import is, for its page's script: rows done, rows in all, finished."""
    _require_operator(page)
    with page.context.work() as work:
        job = work.backoffice.import_job(page.actor, job_id)
    return JSONResponse(
        {"traitees": job.done, "total": job.total, "termine": job.finished_at is not None}
    )


@router.get("/operateur/imports/{job_id}/rejets.csv")
def rejects_file(page: PageDep, job_id: str) -> Response:
    """The import's rejected lines with their reason, for a spreadsheet (audited)."""
    _require_operator(page)
    with page.context.work() as work:
        content = work.backoffice.rejects_file(page.actor, job_id)
    return Response(
        content,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="lignes-rejetees.csv"'},
    )
