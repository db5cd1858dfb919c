"""Establishments and activation codes: bulk import, letters, reissue, and activation.

Codes are random (12 characters from an unambiguous alphabet, about 60 bits), stored as a
keyed HMAC-SHA256 (the key, `BRIDGE_CODE_PEPPER`, is not in the database), used once, and
guessing is locked out: after 5 failures per SIRET or per person within 15 minutes.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from bridge.audit.service import Actor, record
from bridge.catalog import Catalog, Demarche
from bridge.db import now
from bridge.errors import ConflictError, InvalidInputError, NotFoundError, TooManyAttemptsError
from bridge.etablissement.models import ActivationCode, CodeAttempt, Etablissement, ImportJob
from bridge.etablissement.siret import InvalidSiretError, parse_siret, siren_of
from bridge.person.models import Person

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
# Wrong codes are counted per person (on every SIRET): 5 in 15 minutes and that account waits.
# A SIRET is never locked by one account, so nobody can keep its holder out; it is locked
# only when many distinct accounts fail on it (a distributed attack, docs/security.md).
MAX_FAILURES = 5
LOCKOUT_WINDOW = timedelta(minutes=15)
SIRET_LOCK_ACCOUNTS = 20
SIRET_LOCK_WINDOW = timedelta(hours=24)


class WrongCodeError(InvalidInputError):
    code = "code-activation-incorrect"
    title = "Code d'activation incorrect"
    keeps_changes = True  # the failed attempt is counted even though the request fails


class AlreadyManagedError(ConflictError):
    code = "siret-deja-gere"
    title = "Ce SIRET a déjà un gestionnaire"


class UnknownDemarcheError(NotFoundError):
    code = "demarche-inconnue"
    title = "Démarche inconnue"


def opened_by_code(catalog: Catalog, demarche_id: str) -> Demarche:
    """The démarche, refused when its first holder does not enter by activation code."""
    demarche = demarche_or_refuse(catalog, demarche_id)
    if demarche.entry != "activation-code":
        raise InvalidInputError(
            f"La démarche « {demarche.title} » ne s'ouvre pas par code d'activation."
        )
    return demarche


def lock_etablissement(session: Session, siret: str) -> None:
    """Serialise changes about one SIRET (its codes, its holders): a no-op write takes the
    row lock on PostgreSQL and the write lock on SQLite before anything is counted."""
    session.execute(
        update(Etablissement)
        .where(Etablissement.siret == siret)
        .values(siret=Etablissement.siret)
        .execution_options(synchronize_session=False)
    )


def lock_person(session: Session, subject: str) -> None:
    """Serialise one person's attempts (a no-op write: row lock on PostgreSQL, write lock on
    SQLite), so that 40 simultaneous guesses are counted before each one is evaluated."""
    session.execute(
        update(Person)
        .where(Person.subject == subject)
        .values(subject=Person.subject)
        .execution_options(synchronize_session=False)
    )


def demarche_or_refuse(catalog: Catalog, demarche_id: str) -> Demarche:
    demarche = catalog.demarche(demarche_id)
    if demarche is None:
        raise UnknownDemarcheError(f"La démarche « {demarche_id} » n'existe pas.", field="demarche")
    return demarche


def new_code() -> str:
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(12))
    return f"{raw[:4]}-{raw[4:8]}-{raw[8:]}"


def normalise_code(code: str) -> str:
    compact = "".join(ch for ch in code.upper() if ch.isalnum())
    return f"{compact[:4]}-{compact[4:8]}-{compact[8:]}" if len(compact) == 12 else compact


def hash_code(pepper: str, siret: str, demarche: str, code: str) -> str:
    message = f"{siret}:{demarche}:{normalise_code(code)}".encode()
    return hmac.new(pepper.encode(), message, hashlib.sha256).hexdigest()


@dataclass
class ImportReport:
    """What a CSV import did, line by line, and the letters to print (the only plaintext codes)."""

    created: int = 0
    updated: int = 0
    codes_issued: int = 0
    unchanged: int = 0
    rejected: list[tuple[int, str, str]] = field(default_factory=list)  # (line, raw, reason)
    letters: list[tuple[str, str, str]] = field(default_factory=list)  # (siret, name, code)


@dataclass(frozen=True)
class Lockouts:
    """The SIRET protected from every account, and the accounts locked out of trying."""

    siret_locked: bool
    accounts: list[str]


class EtablissementService:
    def __init__(
        self,
        session: Session,
        catalog: Catalog,
        pepper: str,
        code_validity: timedelta = timedelta(days=365),
    ) -> None:
        self.session = session
        self.catalog = catalog
        self.pepper = pepper
        self.code_validity = code_validity
        # Who holds a SIRET is the habilitations' knowledge, one layer up: they answer here.
        self.holders: Callable[[str, Demarche], bool] | None = None

    # --- establishments and codes (operator) ---------------------------------------------

    def ensure(self, siret: str, name: str) -> Etablissement:
        """The establishment, created with `name` when the store does not know it yet."""
        etablissement = self.session.get(Etablissement, siret)
        if etablissement is None:
            etablissement = Etablissement(siret=siret, siren=siren_of(siret), name=name)
            self.session.add(etablissement)
            self.session.flush()
        return etablissement

    def _add_code(self, siret: str, demarche: str, moment: datetime) -> str:
        """Store a new code's keyed digest; the plaintext is returned once, never stored."""
        code = new_code()
        self.session.add(
            ActivationCode(
                siret=siret,
                demarche=demarche,
                code_hash=hash_code(self.pepper, siret, demarche, code),
                created_at=moment,
                expires_at=moment + self.code_validity,
            )
        )
        return code

    def active_code(self, siret: str, demarche: str, moment: datetime) -> ActivationCode | None:
        return self.session.scalars(
            select(ActivationCode)
            .where(
                ActivationCode.siret == siret,
                ActivationCode.demarche == demarche,
                ActivationCode.used_at.is_(None),
                ActivationCode.revoked_at.is_(None),
                ActivationCode.expires_at > moment,
            )
            .limit(1)
        ).first()

    def issue_code(
        self, actor: Actor, siret: str, demarche_id: str, *, reissue: bool = False
    ) -> str:
        """A new code for the SIRET; `reissue` revokes a still-active one first."""
        demarche = opened_by_code(self.catalog, demarche_id)
        siret = parse_siret(siret)
        if self.session.get(Etablissement, siret) is None:
            raise NotFoundError(f"L'établissement {siret} n'est pas connu : importez-le d'abord.")
        lock_etablissement(self.session, siret)
        moment = now()
        current = self.active_code(siret, demarche.id, moment)
        if current is not None:
            if not reissue:
                raise ConflictError(f"Un code est déjà actif pour {siret} ; demandez sa réédition.")
            current.revoked_at = moment
        code = self._add_code(siret, demarche.id, moment)
        record(
            self.session,
            actor,
            "code-reedite" if current else "code-emis",
            siret=siret,
            demarche=demarche.id,
        )
        return code

    def import_rows(
        self,
        actor: Actor,
        rows: Iterable[tuple[int, dict[str, str]]],
        demarche_id: str,
        progress: Callable[[int], None] | None = None,
    ) -> ImportReport:
        """Import `siret;raison_sociale` rows; a code is issued where none is active (idempotent)."""
        demarche = opened_by_code(self.catalog, demarche_id)
        report = ImportReport()
        moment = now()
        seen: set[str] = set()
        for line, row in rows:
            try:
                self._import_row(demarche, line, row, moment, seen, report)
            finally:
                if progress:
                    progress(1)
        record(
            self.session,
            actor,
            "import-etablissements",
            demarche=demarche.id,
            codes=report.codes_issued,
            rejetees=len(report.rejected),
        )
        return report

    # --- imports in the background (the back-office's jobs) -----------------------------

    def start_import(
        self,
        actor: Actor,
        rows: list[tuple[int, dict[str, str]]],
        demarche_id: str,
        delimiter: str,
    ) -> ImportJob:
        """An import job for `rows`, done later in chunks (`import_chunk`); the same rules
        as `import_rows`, the démarche checked now."""
        demarche = opened_by_code(self.catalog, demarche_id)
        job = ImportJob(
            id=secrets.token_hex(16),
            actor=actor.subject,
            demarche=demarche.id,
            delimiter=delimiter,
            rows=[[line, row] for line, row in rows],
            total=len(rows),
            done=0,
            created=0,
            updated=0,
            unchanged=0,
            codes_issued=0,
            rejected=[],
            letters=[],
        )
        self.session.add(job)
        self.session.flush()
        return job

    def unfinished_imports(self) -> list[str]:
        return list(
            self.session.scalars(
                select(ImportJob.id)
                .where(ImportJob.finished_at.is_(None))
                .order_by(ImportJob.started_at)
            ).all()
        )

    def import_chunk(self, job_id: str, size: int) -> tuple[bool, list[tuple[str, str, str]]]:
        """Import the job's next `size` rows in the caller's transaction, which moves the
        job's `done` with them (a rolled-back chunk is done again, once); the letters of the
        codes issued, their only plaintext; whether the job is over. The last chunk ends the
        job and audits it."""
        job = self.session.get(ImportJob, job_id, with_for_update=True)
        if job is None or job.finished_at is not None:
            return True, []
        demarche = opened_by_code(self.catalog, job.demarche)
        moment = now()
        seen = _valid_sirets(job.rows[: job.done])
        report = ImportReport()
        for line, row in job.rows[job.done : job.done + size]:
            self._import_row(demarche, int(line), dict(row), moment, seen, report)
        job.done = min(job.total, job.done + size)
        job.created += report.created
        job.updated += report.updated
        job.unchanged += report.unchanged
        job.codes_issued += report.codes_issued
        job.rejected = [*job.rejected, *(list(r) for r in report.rejected)]
        job.letters = [*job.letters, *([siret, name] for siret, name, _ in report.letters)]
        if job.done >= job.total:
            job.finished_at = moment
            record(
                self.session,
                Actor(job.actor, operator=True),
                "import-etablissements",
                demarche=job.demarche,
                codes=job.codes_issued,
                rejetees=len(job.rejected),
            )
        return job.finished_at is not None, report.letters

    def _import_row(
        self,
        demarche: Demarche,
        line: int,
        row: dict[str, str],
        moment: datetime,
        seen: set[str],
        report: ImportReport,
    ) -> None:
        raw = ";".join(row.values())
        try:
            siret = parse_siret(row.get("siret", ""))
        except InvalidSiretError as exc:
            report.rejected.append((line, raw, exc.detail))
            return
        name = (row.get("raison_sociale") or "").strip()
        if not name:
            report.rejected.append((line, raw, "La raison sociale est vide."))
            return
        if siret in seen:
            report.rejected.append(
                (line, raw, f"Le SIRET {siret} figure déjà plus haut dans le fichier.")
            )
            return
        seen.add(siret)
        existing = self.session.get(Etablissement, siret)
        if existing is None:
            self.session.add(Etablissement(siret=siret, siren=siren_of(siret), name=name))
            report.created += 1
        elif existing.name != name:
            existing.name = name
            report.updated += 1
        if self.active_code(siret, demarche.id, moment) is None and not self._has_holder(
            siret, demarche
        ):
            code = self._add_code(siret, demarche.id, moment)
            report.codes_issued += 1
            report.letters.append((siret, name, code))
        elif existing is not None and existing.name == name:
            report.unchanged += 1

    def _has_holder(self, siret: str, demarche: Demarche) -> bool:
        """Whether the SIRET has a first holder already (then no code is issued): told by
        the habilitations, which know their holders (`HabilitationService` wires it)."""
        if self.holders is None:
            raise RuntimeError(
                "EtablissementService sans HabilitationService : titulaires inconnus"
            )
        return self.holders(siret, demarche)

    def check_lockout(self, siret: str, subject: str, moment: datetime) -> None:
        """Refuse before evaluating a code: this account failed too often, or this SIRET is
        under attack from many accounts. The caller holds the person's lock (`lock_person`)."""
        failures = self.session.scalars(
            select(CodeAttempt.at)
            .where(
                CodeAttempt.subject == subject,
                CodeAttempt.success.is_(False),
                CodeAttempt.at > moment - LOCKOUT_WINDOW,
            )
            .order_by(CodeAttempt.at)
        ).all()
        if len(failures) >= MAX_FAILURES:
            wait = failures[-MAX_FAILURES] + LOCKOUT_WINDOW - moment
            minutes = max(1, int(wait.total_seconds() // 60) + 1)
            raise TooManyAttemptsError(
                "Trop de codes incorrects ont été saisis depuis votre compte. Réessayez dans "
                f"{minutes} minute{'s' if minutes > 1 else ''}.",
                retry_after_seconds=int(wait.total_seconds()) + 1,
            )
        accounts = self.session.execute(
            select(CodeAttempt.subject, func.max(CodeAttempt.at))
            .where(
                CodeAttempt.siret == siret,
                CodeAttempt.success.is_(False),
                CodeAttempt.at > moment - SIRET_LOCK_WINDOW,
            )
            .group_by(CodeAttempt.subject)
        ).all()
        if len(accounts) >= SIRET_LOCK_ACCOUNTS:
            # Open again once fewer than the limit have failed within the window: when the
            # latest failure of the limit-th most recent account leaves it.
            latest = sorted((last for _, last in accounts), reverse=True)
            wait = latest[SIRET_LOCK_ACCOUNTS - 1] + SIRET_LOCK_WINDOW - moment
            hours = max(1, int(wait.total_seconds() // 3600) + 1)
            raise TooManyAttemptsError(
                f"Des codes incorrects ont été saisis pour le SIRET {siret} depuis de nombreux "
                f"comptes : il est protégé pendant {hours} heure{'s' if hours > 1 else ''}. "
                "Contactez le service gestionnaire de la démarche si vous détenez le bon code.",
                retry_after_seconds=int(wait.total_seconds()) + 1,
            )

    # --- the operator's back-office: codes issued and lockouts ---------------------------

    def codes(self, siret: str) -> list[ActivationCode]:
        """Every code issued to the SIRET, newest first (their digests only: never a code)."""
        return list(
            self.session.scalars(
                select(ActivationCode)
                .where(ActivationCode.siret == siret)
                .order_by(ActivationCode.created_at.desc(), ActivationCode.id.desc())
            )
        )

    def lockouts(self, siret: str, moment: datetime) -> Lockouts:
        """What stops codes being tried for this SIRET now: the SIRET's own protection (too
        many accounts failed on it), and the accounts that failed on it and are locked."""
        failed_accounts = self.session.scalars(
            select(CodeAttempt.subject)
            .where(
                CodeAttempt.siret == siret,
                CodeAttempt.success.is_(False),
                CodeAttempt.at > moment - SIRET_LOCK_WINDOW,
            )
            .distinct()
        ).all()
        locked = []
        for subject in sorted(failed_accounts):
            failures = self.session.scalar(
                select(func.count())
                .select_from(CodeAttempt)
                .where(
                    CodeAttempt.subject == subject,
                    CodeAttempt.success.is_(False),
                    CodeAttempt.at > moment - LOCKOUT_WINDOW,
                )
            )
            if (failures or 0) >= MAX_FAILURES:
                locked.append(subject)
        return Lockouts(len(failed_accounts) >= SIRET_LOCK_ACCOUNTS, locked)

    def unlock(self, actor: Actor, siret: str, subject: str | None = None) -> int:
        """Lift a lockout: the SIRET's (its failed tries of the last day are forgotten) or one
        account's (its failed tries of the window). The audit trail keeps every failed try."""
        siret = parse_siret(siret)
        if subject is not None:
            lock_person(self.session, subject)
        lock_etablissement(self.session, siret)
        moment = now()
        if subject is None:
            condition = (CodeAttempt.siret == siret) & (CodeAttempt.at > moment - SIRET_LOCK_WINDOW)
        else:
            condition = (CodeAttempt.subject == subject) & (
                CodeAttempt.at > moment - LOCKOUT_WINDOW
            )
        condition = condition & CodeAttempt.success.is_(False)
        # An account's lock counts its failures on every SIRET: each SIRET whose failures are
        # forgotten gets its own audit event, not only the one the operator was looking at.
        per_siret = self.session.execute(
            select(CodeAttempt.siret, func.count())
            .where(condition)
            .group_by(CodeAttempt.siret)
            .order_by(CodeAttempt.siret)
        ).all()
        self.session.execute(delete(CodeAttempt).where(condition))
        forgotten = sum(int(count) for _, count in per_siret)
        if not forgotten:
            raise NotFoundError("Il n'y a pas, ou plus, de blocage à lever.")
        for touched, count in per_siret:
            record(
                self.session,
                actor,
                "code-debloque",
                target=subject,
                siret=touched,
                essais_oublies=int(count),
            )
        return forgotten

    def consume_code(self, actor: Actor, demarche: Demarche, siret: str, code: str) -> None:
        """Check and use the code once; a wrong one is counted, a used one never works again."""
        # Concurrent guesses are counted one by one: per person, then per SIRET (that order
        # only, so two attempts never wait on each other crosswise).
        lock_person(self.session, actor.subject)
        lock_etablissement(self.session, siret)
        moment = now()
        self.check_lockout(siret, actor.subject, moment)
        expected = hash_code(self.pepper, siret, demarche.id, code)
        candidate = self.session.scalars(
            select(ActivationCode)
            .where(
                ActivationCode.siret == siret,
                ActivationCode.demarche == demarche.id,
                ActivationCode.code_hash == expected,
                ActivationCode.used_at.is_(None),
                ActivationCode.revoked_at.is_(None),
                ActivationCode.expires_at > moment,
            )
            .limit(1)
        ).first()
        if candidate is None:
            self.session.add(
                CodeAttempt(siret=siret, subject=actor.subject, at=moment, success=False)
            )
            record(self.session, actor, "code-incorrect", siret=siret, demarche=demarche.id)
            raise WrongCodeError(
                "Le code d'activation ne correspond pas à ce SIRET, ou il a déjà servi ou expiré. "
                "Vérifiez le courrier reçu.",
                field="code",
            )
        used = self.session.execute(
            update(ActivationCode)
            .where(ActivationCode.id == candidate.id, ActivationCode.used_at.is_(None))
            .values(used_at=moment, used_by=actor.subject)
        )
        if used.rowcount != 1:  # type: ignore[attr-defined]
            raise ConflictError("Ce code vient d'être utilisé par une autre personne.")
        self.session.add(CodeAttempt(siret=siret, subject=actor.subject, at=moment, success=True))


def read_csv(path: Path) -> list[tuple[int, dict[str, str]]]:
    """Rows of a `siret;raison_sociale` file (UTF-8, `;` or `,`), with their line numbers."""
    return parse_csv_text(path.read_text(encoding="utf-8-sig"))


def _valid_sirets(rows: Iterable[list[Any]]) -> set[str]:
    """The SIRETs an import took from these rows (its « seen » after them): a later line
    with one of them is a duplicate, even when a restart split the file between them."""
    found: set[str] = set()
    for _, row in rows:
        try:
            siret = parse_siret(row.get("siret", ""))
        except InvalidSiretError:
            continue
        if (row.get("raison_sociale") or "").strip():
            found.add(siret)
    return found


def csv_delimiter(text: str) -> str:
    """The import's separator, « ; » or « , », whichever its header line uses most."""
    lines = text.splitlines()
    header = lines[0] if lines else ""
    return ";" if header.count(";") >= header.count(",") else ","


def rejects_csv(rejected: Iterable[tuple[int, str, str]], delimiter: str) -> bytes:
    """The rejected lines and their reason as a CSV for a spreadsheet: French column names,
    the import's separator, UTF-8 with a BOM (so that Excel reads the accents right)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(["ligne", "contenu", "motif"])
    writer.writerows(rejected)
    return buffer.getvalue().encode("utf-8-sig")


def parse_csv_text(text: str) -> list[tuple[int, dict[str, str]]]:
    lines = text.splitlines()
    reader = csv.DictReader(lines, delimiter=csv_delimiter(text))
    names = {(f or "").strip() for f in reader.fieldnames or []}
    if not {"siret", "raison_sociale"} <= names:
        raise InvalidInputError(
            "Le fichier doit avoir les colonnes « siret » et « raison_sociale »."
        )
    # line_num is the physical line of the record, right even after blank lines.
    return [
        (reader.line_num, {k.strip(): (v or "").strip() for k, v in row.items() if k})
        for row in reader
    ]
