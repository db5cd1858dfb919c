"""`python -m bridge`: the bridge's command line for operators.

python -m bridge db upgrade
    bring the database to the newest migration
python -m bridge operateur import FICHIER.csv --demarche D [--lettres L.csv] [--rejets R.csv]
    import establishments (`siret;raison_sociale`) and issue their activation codes
python -m bridge operateur code SIRET --demarche D [--reemettre]
    issue (or reissue) the activation code of one establishment
python -m bridge operateur organisation SIRET --type T --raison-sociale R --civilite C
                                         --nom N --prenom P --email E [--telephone] [--mobile]
    open the employer space to an organisation and appoint its main administrator
python -m bridge operateur designer|retirer PERSONNE
    make a person an operator (the store's designation, which the bridge believes, and the
    realm role) or end it
python -m bridge operateur sans-gestionnaire
    the SIRETs whose gestionnaire is gone (account deleted in Keycloak, right revoked or past
    its end) and that have none since (the way out: a new activation code for a new one)
python -m bridge operateur pseudonymiser
    replace the name, e-mail and phones of people deleted more than
    BRIDGE_DELETED_PERSON_RETENTION_DAYS ago (the hourly reconcile does it too)
python -m bridge courriels envoyer [--continu]
    send the e-mails the queue still holds (once, or forever as a worker process); the
    portal does it every BRIDGE_MAIL_INTERVAL_SECONDS
python -m bridge keycloak catalogue
    the deploy step: the catalog's clients, roles, groups and token scope in the realm, with
    the deploy administrator's account (the always-on bridge may not create clients)
python -m bridge keycloak appliquer [--diff] [--forcer]
    the deploy step: bring the live realm to the export in BRIDGE_REALM_EXPORT_DIR (by
    default keycloak/realm-export/; /realm-export in compose): only what the export names,
    and the service account's client roles (users, credentials and sessions untouched),
    deleting what an earlier run applied and the export no longer names; --diff prints the
    differences and changes nothing; a value changed by hand in Keycloak since the last
    apply is refused unless --forcer
python -m bridge delegations echeances
    mark the delegations past their end and e-mail both sides, BRIDGE_DELEGATION_WARNING_DAYS
    before the end too (once, e.g. from cron; the portal does it every
    BRIDGE_DELEGATION_JOB_INTERVAL_SECONDS)
python -m bridge sync appliquer [--continu]
    apply the outbox to Keycloak (once until empty, or forever as a worker process)
python -m bridge sync rapprocher [--reparer]
    compare the whole store with Keycloak, print the differences, repair on demand
python -m bridge sync console
    record the edits administrators made in the Keycloak console (admin events)
python -m bridge exploitation sauvegarde DOSSIER
    back up the store, then Keycloak's database (BRIDGE_KEYCLOAK_DATABASE_URL), into a new
    folder with a manifest (time, versions, Alembic revision, checksums)
python -m bridge exploitation restauration DOSSIER
    put both databases back as the backup holds them (Keycloak and the bridge stopped);
    refused when the manifest does not match (revision, missing file, checksum)

Settings come from the `BRIDGE_*` environment variables. Operator commands migrate the
database first, so a new SQLite file works at once. While the local platform runs
(`make run`), every command works on its store and its Keycloak, or refuses when
`BRIDGE_DATABASE_URL` names another store (`bridge/local_platform.py`).
"""

from __future__ import annotations

import argparse
import csv
import logging
import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import TextIO

from pydantic import ValidationError
from sqlalchemy.engine import make_url
from tqdm import tqdm

from bridge.audit.service import Actor
from bridge.backup import Timing, back_up, restore
from bridge.bootstrap import AppContext, bootstrapped, make_projector
from bridge.catalog import Catalog, CatalogError, Demarche, load_catalog
from bridge.db import migrate, now
from bridge.delegation.jobs import run_end_dates_once
from bridge.employeur.service import Details
from bridge.errors import BridgeError, ConflictError, InvalidInputError
from bridge.errors import SetupError as StackError
from bridge.etablissement.service import ImportReport, demarche_or_refuse, read_csv
from bridge.etablissement.siret import parse_siret
from bridge.habilitation.operators import designate, withdraw
from bridge.identity.tokens import OPERATOR_ROLE
from bridge.keycloak_admin import (
    KeycloakDirectory,
    KeycloakRejectedError,
    KeycloakRetriableError,
    RealmConfiguration,
)
from bridge.local_platform import running_platform, settings_for_running_platform
from bridge.logging import configure_logging
from bridge.notification import WAITING, MailRun
from bridge.realm.apply import apply as apply_realm_export
from bridge.realm.apply import load as load_realm
from bridge.realm.apply import plan as realm_plan
from bridge.settings import Settings
from bridge.sync.console import import_console_changes
from bridge.sync.loop import ProjectionLoop
from bridge.sync.reconcile import reconcile
from bridge.sync.worker import RunResult, install_catalog

log = logging.getLogger(__name__)

OPERATOR_CLI = Actor(subject="operateur-cli", display_name="Opérateur (ligne de commande)")
PROGRAM = "python -m bridge"


class OperatorInputError(InvalidInputError):
    """A file or option of the command line that cannot be used as given."""

    code = "ligne-de-commande"


# --- shared helpers ------------------------------------------------------------------------


def _shown_url(url: str) -> str:
    """The database address without its password, fit to print."""
    return make_url(url).render_as_string(hide_password=True)


@contextmanager
def _platform(settings: Settings, *, logs: bool = True) -> Iterator[AppContext]:
    """The bridge wired for one command, on the migrated database; closed afterwards.

    Commands that run the portal's jobs (projection, end dates, an account in Keycloak) log
    JSON lines like the portal (`logs`); the operator's file commands keep stderr for their
    own sentences.
    """
    migrate(settings.database_url)
    if logs:
        configure_logging(settings.log_level)
    with bootstrapped(settings) as context:
        yield context


def _code_demarche(catalog: Catalog, demarche_id: str) -> Demarche:
    """The démarche, refused unless it exists and opens with an activation code."""
    demarche = demarche_or_refuse(catalog, demarche_id)
    if demarche.entry != "activation-code":
        raise InvalidInputError(
            f"La démarche « {demarche.title} » ne s'ouvre pas par code d'activation : "
            "ses premiers titulaires sont désignés par l'opérateur."
        )
    return demarche


def _read_rows(source: Path) -> list[tuple[int, dict[str, str]]]:
    """The CSV's rows, with every unreadable file turned into a French sentence."""
    try:
        return read_csv(source)
    except FileNotFoundError as exc:
        raise OperatorInputError(f"Le fichier {source} n'existe pas.") from exc
    except UnicodeDecodeError as exc:
        raise OperatorInputError(
            f"Le fichier {source} n'est pas encodé en UTF-8 : enregistrez-le au format "
            "« CSV UTF-8 » puis recommencez."
        ) from exc
    except csv.Error as exc:
        raise OperatorInputError(
            f"Le fichier {source} n'est pas un CSV lisible : il doit avoir les colonnes "
            "« siret » et « raison_sociale », séparées par « ; »."
        ) from exc
    except OSError as exc:
        raise OperatorInputError(f"Le fichier {source} est illisible ({exc.strerror}).") from exc


# --- db upgrade ----------------------------------------------------------------------------


def upgrade_database(settings: Settings) -> int:
    migrate(settings.database_url)
    print(f"Base de données à jour : {_shown_url(settings.database_url)}")
    return 0


# --- operateur import ----------------------------------------------------------------------


def _refuse_unsafe_outputs(source: Path, letters: Path | None, rejects: Path | None) -> None:
    """Never overwrite letters, and never write a report over the input or the letters."""
    if letters is not None and (letters.exists() or letters.is_symlink()):
        raise ConflictError(
            f"Le fichier de lettres {letters} existe déjà : il n'est jamais écrasé, car ses codes "
            "n'existent nulle part ailleurs. Choisissez un autre nom de fichier ; rien n'a été importé."
        )
    if rejects is not None:
        for other in (source, letters):
            if other is not None and rejects.resolve() == other.resolve():
                raise OperatorInputError(
                    f"Le rapport des rejets ne peut pas être écrit dans {other} : "
                    "choisissez un autre nom de fichier."
                )


@contextmanager
def _letters_file(path: Path | None) -> Iterator[TextIO | None]:
    """Reserve the letters file (new, readable by its owner only) for the whole import.

    It is removed again if the import fails or issues no code, so a letters file on disk
    always holds codes that were committed.
    """
    if path is None:
        yield None
        return
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError as exc:
        raise ConflictError(
            f"Le fichier de lettres {path} existe déjà : il n'est jamais écrasé. "
            "Choisissez un autre nom de fichier ; rien n'a été importé."
        ) from exc
    except OSError as exc:
        raise OperatorInputError(
            f"Le fichier de lettres {path} ne peut pas être créé ({exc.strerror}) ; "
            "rien n'a été importé."
        ) from exc
    keep = False
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8", newline="") as handle:
            yield handle
            keep = handle.tell() > 0
    finally:
        if not keep:
            path.unlink(missing_ok=True)


def _write_letters(handle: TextIO, letters: list[tuple[str, str, str]]) -> None:
    writer = csv.writer(handle, delimiter=";")
    writer.writerow(["siret", "raison_sociale", "code_activation"])
    writer.writerows(letters)
    handle.flush()
    os.fsync(handle.fileno())


def _write_rejects(path: Path, rejected: list[tuple[int, str, str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter=";")
        writer.writerow(["ligne", "contenu", "motif"])
        writer.writerows(rejected)


def _print_rejects(rejected: list[tuple[int, str, str]]) -> None:
    for line, raw, reason in rejected:
        print(f"Ligne {line} rejetée : {reason} (contenu : « {raw} »)", file=sys.stderr)


def _print_summary(
    demarche: Demarche,
    lines: int,
    report: ImportReport,
    letters: Path | None,
    rejects: Path | None,
) -> None:
    print(
        f"Import terminé pour « {demarche.title} » ({lines} ligne{'s' if lines > 1 else ''} lue"
        f"{'s' if lines > 1 else ''}) :\n"
        f"  établissements créés      : {report.created}\n"
        f"  établissements mis à jour : {report.updated}\n"
        f"  codes émis                : {report.codes_issued}\n"
        f"  inchangés                 : {report.unchanged}\n"
        f"  lignes rejetées           : {len(report.rejected)}"
    )
    if report.letters and letters is not None:
        print(
            f"Lettres : {len(report.letters)} code{'s' if len(report.letters) > 1 else ''} "
            f"d'activation dans {letters} (lisible par vous seul). Ces codes ne sont enregistrés "
            "nulle part ailleurs : conservez ce fichier jusqu'à l'envoi des courriers, "
            "puis détruisez-le."
        )
    else:
        print("Aucun code émis : aucun fichier de lettres n'a été écrit.")
    if rejects is not None:
        print(f"Rapport des lignes rejetées : {rejects}")


def import_etablissements(
    settings: Settings,
    source: Path,
    demarche_id: str,
    letters: Path | None,
    rejects: Path | None,
) -> int:
    # Every input is checked before the database is touched.
    demarche = _code_demarche(load_catalog(settings.catalog_file), demarche_id)
    _refuse_unsafe_outputs(source, letters, rejects)
    rows = _read_rows(source)
    with (
        _letters_file(letters) as letters_handle,
        _platform(settings, logs=False) as context,
        tqdm(
            total=len(rows), desc="Import des établissements", unit="ligne", file=sys.stderr
        ) as bar,
        context.work() as work,
    ):

        def advance(lines: int) -> None:
            bar.update(lines)

        report = work.etablissements.import_rows(OPERATOR_CLI, rows, demarche.id, progress=advance)
        bar.update(len(rows) - bar.n)  # the service does not count rejected lines
        if report.letters:
            if letters_handle is None:
                raise OperatorInputError(
                    f"Cet import émettrait {report.codes_issued} code(s) d'activation, qui ne "
                    "sont enregistrés nulle part ailleurs : indiquez --lettres FICHIER.csv pour "
                    "les recevoir. Rien n'a été importé."
                )
            # Written before the commit: a failed write leaves no code that nobody knows.
            _write_letters(letters_handle, report.letters)
    if rejects is not None:
        try:
            _write_rejects(rejects, report.rejected)
        except OSError as exc:
            print(
                f"Le rapport des rejets n'a pas pu être écrit dans {rejects} ({exc.strerror}) ; "
                "l'import est bien enregistré. Lignes rejetées :",
                file=sys.stderr,
            )
            _print_rejects(report.rejected)
            rejects = None
    else:
        _print_rejects(report.rejected)
    _print_summary(demarche, len(rows), report, letters, rejects)
    return 0


# --- operateur code ------------------------------------------------------------------------


def issue_one_code(settings: Settings, siret: str, demarche_id: str, reissue: bool) -> int:
    demarche = _code_demarche(load_catalog(settings.catalog_file), demarche_id)
    siret = parse_siret(siret)
    with _platform(settings, logs=False) as context, context.work() as work:
        service = work.etablissements
        revoked = reissue and service.active_code(siret, demarche.id, now()) is not None
        try:
            code = service.issue_code(OPERATOR_CLI, siret, demarche.id, reissue=reissue)
        except ConflictError as exc:
            raise ConflictError(
                f"{exc.detail} Relancez avec --reemettre pour révoquer l'ancien code et en "
                "émettre un nouveau."
            ) from exc
    if revoked:
        print("L'ancien code est révoqué : il ne fonctionne plus.")
    print(f"Code d'activation pour le SIRET {siret} ({demarche.title}) : {code}")
    print(
        "Ce code n'est enregistré nulle part ailleurs et ne sera plus affiché : "
        "reportez-le maintenant sur le courrier."
    )
    return 0


# --- operateur organisation ----------------------------------------------------------------


def open_organisation(settings: Settings, args: argparse.Namespace) -> int:
    """An organisation of the employer space and its main administrator, in one unit of work:
    the account is created in Keycloak, its login id printed, its temporary password e-mailed.
    """
    operator = Actor(OPERATOR_CLI.subject, OPERATOR_CLI.display_name, operator=True)
    details = Details(
        args.civilite, args.nom, args.prenom, args.email, args.telephone, args.mobile, None, None
    )
    with _platform(settings) as context, context.work() as work:
        organisation = work.employeur.create_organisation(
            operator, args.siret, args.type, args.raison_sociale
        )
        login_id = work.employeur.appoint_principal(operator, organisation.siret, details).login_id
    print(f"Organisation {organisation.siret} ouverte ({args.type}).")
    print(f"Identifiant de l'administrateur principal : {login_id} (à lui transmettre).")
    print(
        "Son mot de passe temporaire lui a été envoyé par courriel."
        if work.delivery.sent
        else f"Le courriel de son mot de passe temporaire est {WAITING}."
    )
    return 0


def name_operator(settings: Settings, person: str, *, designated: bool) -> int:
    """Designate (or withdraw) an operator: the store's designation, which the bridge
    believes, and the realm role `operateur`, which puts it in the person's tokens."""
    with _platform(settings) as context:
        directory = context.directory()
        subject = directory.user_id_of(person)
        if subject is None:
            raise OperatorInputError(f"Aucun compte Keycloak ne correspond à « {person} ».")
        with context.work() as work:
            changed = (designate if designated else withdraw)(work.session, OPERATOR_CLI, subject)
        directory.set_realm_role(subject, OPERATOR_ROLE, held=designated)
    state = "désigné opérateur" if designated else "n'est plus opérateur"
    print(f"{person} ({subject}) {state}{'' if changed else ' (déjà le cas)'}.")
    return 0


def list_orphans(settings: Settings) -> int:
    """The SIRETs left without a gestionnaire (account deleted, right revoked or past its
    end), and how to name a new one."""
    with _platform(settings) as context, context.work() as work:
        orphans = work.accounts.orphans()
    if not orphans:
        print("Aucun SIRET sans gestionnaire.")
        return 0
    for orphan in orphans:
        print(
            f"{orphan.demarche} {orphan.siret} : sans gestionnaire depuis le {orphan.since} "
            f"({orphan.how} : {orphan.former_holder}) — nouveau code : "
            f"python -m bridge operateur code {orphan.siret} --demarche {orphan.demarche} "
            "--reemettre"
        )
    return 0


def pseudonymise(settings: Settings) -> int:
    """Pseudonymise the people deleted longer ago than the retention period, now."""
    retention = timedelta(days=settings.deleted_person_retention_days)
    with _platform(settings) as context, context.work() as work:
        count = work.accounts.pseudonymise_deleted(OPERATOR_CLI, retention)
    print(
        f"Personnes pseudonymisées : {count} (comptes supprimés depuis plus de "
        f"{settings.deleted_person_retention_days} jours)."
    )
    return 0


# --- parser and entry point ----------------------------------------------------------------


def _with_help(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser.add_argument("-h", "--help", action="help", help="afficher cette aide et quitter")
    return parser


def build_parser() -> argparse.ArgumentParser:
    parser = _with_help(
        argparse.ArgumentParser(
            prog=PROGRAM,
            description="Ligne de commande des opérateurs de la plateforme d'habilitations.",
            add_help=False,
        )
    )
    commands = parser.add_subparsers(dest="group", required=True, metavar="COMMANDE")

    db = _with_help(commands.add_parser("db", help="gérer la base de données", add_help=False))
    db_commands = db.add_subparsers(dest="command", required=True, metavar="ACTION")
    _with_help(
        db_commands.add_parser(
            "upgrade", help="mettre la base de données à jour (migrations)", add_help=False
        )
    )

    operator = _with_help(
        commands.add_parser(
            "operateur",
            help="établissements, codes d'activation, organisations, opérateurs, comptes",
            add_help=False,
        )
    )
    operator_commands = operator.add_subparsers(dest="command", required=True, metavar="ACTION")
    importing = _with_help(
        operator_commands.add_parser(
            "import",
            help="importer des établissements et émettre leurs codes d'activation",
            description=(
                "Importe un fichier CSV (colonnes siret;raison_sociale, UTF-8) en une seule "
                "transaction et émet un code pour chaque SIRET qui n'en a pas d'actif."
            ),
            add_help=False,
        )
    )
    importing.add_argument("file", type=Path, metavar="FICHIER.csv", help="fichier à importer")
    importing.add_argument(
        "--demarche", required=True, metavar="DEMARCHE", help="identifiant de la démarche"
    )
    importing.add_argument(
        "--lettres",
        type=Path,
        metavar="LETTRES.csv",
        help="fichier (nouveau) où écrire les codes émis, pour les courriers",
    )
    importing.add_argument(
        "--rejets",
        type=Path,
        metavar="REJETS.csv",
        help="fichier où écrire les lignes rejetées (sinon, elles sont affichées)",
    )
    code = _with_help(
        operator_commands.add_parser(
            "code",
            help="émettre le code d'activation d'un établissement",
            add_help=False,
        )
    )
    code.add_argument("siret", metavar="SIRET", help="SIRET de l'établissement (déjà importé)")
    code.add_argument(
        "--demarche", required=True, metavar="DEMARCHE", help="identifiant de la démarche"
    )
    code.add_argument(
        "--reemettre",
        action="store_true",
        help="révoquer le code encore actif et en émettre un nouveau",
    )
    opening = _with_help(
        operator_commands.add_parser(
            "organisation",
            help="ouvrir l'espace employeur à une organisation et désigner son administrateur",
            add_help=False,
        )
    )
    opening.add_argument("siret", metavar="SIRET", help="SIRET de l'organisation")
    opening.add_argument("--type", required=True, help="type d'organisation (catalogue)")
    opening.add_argument("--raison-sociale", required=True, dest="raison_sociale")
    opening.add_argument("--civilite", required=True, choices=["madame", "monsieur"])
    opening.add_argument("--nom", required=True, help="nom de l'administrateur principal")
    opening.add_argument("--prenom", required=True)
    opening.add_argument("--email", required=True)
    opening.add_argument("--telephone", default=None, help="téléphone fixe")
    opening.add_argument("--mobile", default=None, help="téléphone mobile")
    for verb, text in (
        ("designer", "faire d'une personne un opérateur de la plateforme (rôle et désignation)"),
        ("retirer", "retirer à une personne ses pouvoirs d'opérateur"),
    ):
        naming = _with_help(operator_commands.add_parser(verb, help=text, add_help=False))
        naming.add_argument(
            "personne", metavar="PERSONNE", help="identifiant Keycloak (sub) ou adresse e-mail"
        )
    _with_help(
        operator_commands.add_parser(
            "pseudonymiser",
            help="pseudonymiser les personnes supprimées depuis plus que la durée de conservation",
            add_help=False,
        )
    )
    _with_help(
        operator_commands.add_parser(
            "sans-gestionnaire",
            help="SIRET restés sans gestionnaire (compte supprimé, droit retiré ou échu)",
            add_help=False,
        )
    )
    delegations = _with_help(
        commands.add_parser("delegations", help="délégations à des tiers", add_help=False)
    )
    delegation_commands = delegations.add_subparsers(
        dest="command", required=True, metavar="ACTION"
    )
    _with_help(
        delegation_commands.add_parser(
            "echeances",
            help="marquer les délégations échues et prévenir celles qui finissent bientôt",
            add_help=False,
        )
    )
    keycloak = _with_help(
        commands.add_parser("keycloak", help="étape de déploiement dans Keycloak", add_help=False)
    )
    keycloak_commands = keycloak.add_subparsers(dest="command", required=True, metavar="ACTION")
    _with_help(
        keycloak_commands.add_parser(
            "catalogue",
            help="créer ou mettre à jour les clients, rôles et groupes du catalogue "
            "(compte administrateur : BRIDGE_KEYCLOAK_ADMIN_USER et _PASSWORD)",
            add_help=False,
        )
    )
    realm_apply = _with_help(
        keycloak_commands.add_parser(
            "appliquer",
            help="amener le domaine de Keycloak à ce que dit l'export du domaine "
            "(BRIDGE_REALM_EXPORT_DIR, par défaut keycloak/realm-export/ ; compte "
            "administrateur : BRIDGE_KEYCLOAK_ADMIN_USER et _PASSWORD)",
            add_help=False,
        )
    )
    realm_apply.add_argument(
        "--diff", action="store_true", help="afficher les différences sans rien changer"
    )
    realm_apply.add_argument(
        "--forcer",
        action="store_true",
        help="écraser aussi les valeurs modifiées à la main dans Keycloak",
    )
    sync = _with_help(commands.add_parser("sync", help="projection vers Keycloak", add_help=False))
    sync_commands = sync.add_subparsers(dest="command", required=True, metavar="ACTION")
    apply = _with_help(
        sync_commands.add_parser(
            "appliquer", help="appliquer les opérations en attente à Keycloak", add_help=False
        )
    )
    apply.add_argument(
        "--continu", action="store_true", help="ne pas s'arrêter : tourner comme un worker"
    )
    reconcile_parser = _with_help(
        sync_commands.add_parser(
            "rapprocher",
            help="comparer toute la base à Keycloak et afficher les écarts",
            add_help=False,
        )
    )
    reconcile_parser.add_argument(
        "--reparer", action="store_true", help="réparer les écarts trouvés (sinon : à blanc)"
    )
    _with_help(
        sync_commands.add_parser(
            "console",
            help="enregistrer les modifications faites dans la console Keycloak",
            add_help=False,
        )
    )
    operations = _with_help(
        commands.add_parser(
            "exploitation", help="sauvegarde et restauration des deux bases", add_help=False
        )
    )
    operations_commands = operations.add_subparsers(dest="command", required=True, metavar="ACTION")
    for verb, text in (
        ("sauvegarde", "sauvegarder la base du pont puis celle de Keycloak dans un dossier neuf"),
        ("restauration", "remettre les deux bases dans l'état d'une sauvegarde"),
    ):
        step = _with_help(operations_commands.add_parser(verb, help=text, add_help=False))
        step.add_argument("dossier", type=Path, help="dossier de la sauvegarde")
    mail = _with_help(commands.add_parser("courriels", help="file des courriels", add_help=False))
    mail_commands = mail.add_subparsers(dest="command", required=True, metavar="ACTION")
    send = _with_help(
        mail_commands.add_parser(
            "envoyer", help="envoyer les courriels en attente (une fois)", add_help=False
        )
    )
    send.add_argument(
        "--continu", action="store_true", help="ne pas s'arrêter : tourner comme un worker"
    )
    return parser


def send_mail(settings: Settings, *, forever: bool) -> int:
    """The e-mails' queue from the command line: once until nothing is due, or forever."""
    with _platform(settings) as context:
        if forever:
            context.mail_queue.run_every(
                max(settings.mail_interval_seconds, 1.0), threading.Event()
            )
            return 0
        total = MailRun()
        while True:
            run = context.mail_queue.run_once()
            total.sent, total.retried, total.failed = (
                total.sent + run.sent,
                total.retried + run.retried,
                total.failed + run.failed,
            )
            if run.sent == 0:
                break  # nothing due, or only retries whose time has not come
    print(
        f"Courriels envoyés : {total.sent} ; à réessayer : {total.retried} ; "
        f"abandonnés : {total.failed}."
    )
    return 0


def run_sync(settings: Settings, command: str, *, forever: bool, repair: bool) -> int:
    """The projection from the command line: worker, reconcile (dry run or repair), console."""
    with _platform(settings) as context:
        projector = make_projector(context)
        if command == "rapprocher":
            projector.load_catalog()
            report = reconcile(projector, repair=repair, progress=True, work=context.work)
            for line in report.lines():
                print(line)
            if report.drifts and not repair:
                print("À blanc : rien n'a été modifié. Relancez avec --reparer pour corriger.")
            return 1 if report.drifts and not repair else 0
        if command == "console":
            projector.load_catalog()
            result = import_console_changes(context.work, projector, settings.sync_client_id)
            print(
                f"Événements lus : {result.events} ; accordées : {len(result.granted)} ; "
                f"retirées : {len(result.removed)} ; refusées : {len(result.refused)}"
            )
            for line in result.refused:
                print(f"  refusée : {line}")
            return 0
        # The outbox only: the console and the reconcile have commands of their own.
        loop = ProjectionLoop(
            context.work, projector, settings.sync_client_id, settings.sync_interval_seconds
        )
        totals = RunResult()

        def report_step(step: RunResult) -> None:
            totals.applied_rows += step.applied_rows
            totals.failed_rows += step.failed_rows
            if step.persons:
                print(
                    f"Appliquées : {totals.applied_rows} ; refusées : {totals.failed_rows}",
                    flush=True,
                )

        loop.run(until_empty=not forever, on_step=report_step)
    print(
        f"Terminé. Opérations appliquées : {totals.applied_rows} ; "
        f"refusées par Keycloak : {totals.failed_rows}."
    )
    return 0


def _deploy_account(settings: Settings) -> tuple[str, str, str]:
    """Keycloak's address and the deploy step's administrator (never the running bridge's)."""
    if not settings.keycloak_admin_user or settings.keycloak_admin_password is None:
        raise StackError(
            "Indiquez le compte administrateur de Keycloak du déploiement : "
            "BRIDGE_KEYCLOAK_ADMIN_USER et BRIDGE_KEYCLOAK_ADMIN_PASSWORD."
        )
    return (
        (settings.keycloak_internal_url or settings.keycloak_url).rstrip("/"),
        settings.keycloak_admin_user,
        settings.keycloak_admin_password.get_secret_value(),
    )


def install_keycloak_catalog(settings: Settings) -> int:
    """The deploy step: the catalog's clients, roles, groups and token scope in the realm,
    with an administrator's rights that the always-on bridge does not hold."""
    url, user, password = _deploy_account(settings)
    deployer = KeycloakDirectory.with_admin_password(url, settings.keycloak_realm, user, password)
    catalog = load_catalog(settings.catalog_file)
    groups = install_catalog(deployer, catalog, settings.sync_token_habilitations_max)
    print(
        f"Catalogue installé dans Keycloak : {len(catalog.demarches)} démarche(s), "
        f"{len(groups)} groupe(s) de rôle."
    )
    return 0


def back_up_or_restore(settings: Settings, command: str, folder: Path) -> int:
    """Both databases saved to, or put back from, one folder (docs: README « Exploitation »)."""
    keycloak_url = (
        settings.keycloak_database_url.get_secret_value()
        if settings.keycloak_database_url
        else None
    )
    timing: Timing
    if command == "sauvegarde":
        timing = back_up(settings.database_url, keycloak_url, folder)
        print(
            f"Sauvegarde faite dans {folder} (révision {timing.manifest['revision_alembic']} "
            f"de la base du pont) : base du pont en {timing.store_seconds:.1f} s, base de "
            f"Keycloak en {timing.keycloak_seconds:.1f} s."
        )
        return 0
    timing = restore(settings.database_url, keycloak_url, folder, announce=print)
    print(
        f"Restauration faite depuis la sauvegarde du {timing.manifest['faite_le']} : base du "
        f"pont en {timing.store_seconds:.1f} s, base de Keycloak en "
        f"{timing.keycloak_seconds:.1f} s. Démarrez Keycloak, puis lancez « {PROGRAM} sync "
        "rapprocher » (0 écart attendu ; --reparer sinon) avant de démarrer le pont."
    )
    return 0


def apply_realm(settings: Settings, *, diff: bool, force: bool) -> int:
    """The deploy step that brings the live realm to the export in BRIDGE_REALM_EXPORT_DIR
    (or prints how it differs); hand edits stop it unless forced (`bridge/realm/apply.py`)."""
    url, user, password = _deploy_account(settings)
    realm = RealmConfiguration.with_admin_password(url, settings.keycloak_realm, user, password)
    if not realm.exists():
        raise StackError(
            f"Le domaine {settings.keycloak_realm} n'existe pas dans Keycloak ({url}) : il est "
            "créé par l'import au démarrage de Keycloak (--import-realm)."
        )
    managed = load_realm(settings.realm_export_dir, os.environ, settings.keycloak_realm)
    # The catalog's clients and roles belong to `keycloak catalogue`: never deleted here.
    catalog = load_catalog(settings.catalog_file)
    protected = frozenset(
        [f"client {d.id}" for d in catalog.demarches]
        + [f"client {d.id} › rôle {r.id}" for d in catalog.demarches for r in d.roles]
    )
    found = (
        realm_plan(realm, managed, protected)
        if diff
        else apply_realm_export(realm, managed, force=force, protected=protected)
    )
    name = settings.keycloak_realm
    if not found.differences:
        print(f"Rien à faire : le domaine {name} est conforme à {settings.realm_export_dir}.")
        if not diff and not found.record_current:
            print("Empreintes de la configuration appliquée enregistrées.")
        return 0
    for difference in found.differences:
        mark = " (modifié à la main)" if difference.hand_edit else ""
        print(f"  - {difference.sentence()}{mark}")
    count = len(found.differences)
    if diff:
        print(
            f"{count} différence(s) entre {settings.realm_export_dir} et le domaine {name} ; "
            "rien n'a été changé."
        )
        return 0
    if not found.recorded:
        print(
            f"Première application sur le domaine {name} : l'export l'emporte, "
            "les empreintes sont enregistrées."
        )
    print(f"{count} changement(s) appliqué(s) au domaine {name}.")
    return 0


def run_end_dates(settings: Settings) -> int:
    """The delegations' end-date job, once (for cron, or when the portal's schedule is off)."""
    with _platform(settings) as context:
        sent = run_end_dates_once(context.work, settings.delegation_warning_days)
    print(f"Échéances traitées : {sent} courriel(s) envoyé(s).")
    return 0


def _settings() -> Settings:
    """The environment's settings, on the running local platform's store if one runs."""
    platform = running_platform()
    settings = settings_for_running_platform(Settings(), platform)
    if platform is not None:
        print(
            f"Plateforme locale en marche : base {_shown_url(settings.database_url)}.",
            file=sys.stderr,
        )
    return settings


def _run(args: argparse.Namespace) -> int:
    settings = _settings()
    if args.group == "db":
        return upgrade_database(settings)
    if args.group == "delegations":
        return run_end_dates(settings)
    if args.group == "courriels":
        return send_mail(settings, forever=getattr(args, "continu", False))
    if args.group == "keycloak" and args.command == "appliquer":
        return apply_realm(settings, diff=args.diff, force=args.forcer)
    if args.group == "keycloak":
        return install_keycloak_catalog(settings)
    if args.group == "exploitation":
        return back_up_or_restore(settings, args.command, args.dossier)
    if args.group == "sync":
        return run_sync(
            settings,
            args.command,
            forever=getattr(args, "continu", False),
            repair=getattr(args, "reparer", False),
        )
    if args.command == "import":
        return import_etablissements(settings, args.file, args.demarche, args.lettres, args.rejets)
    if args.command == "organisation":
        return open_organisation(settings, args)
    if args.command in ("designer", "retirer"):
        return name_operator(settings, args.personne, designated=args.command == "designer")
    if args.command == "sans-gestionnaire":
        return list_orphans(settings)
    if args.command == "pseudonymiser":
        return pseudonymise(settings)
    return issue_one_code(settings, args.siret, args.demarche, args.reemettre)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return _run(args)
    except (BridgeError, CatalogError, StackError) as exc:
        print(f"Erreur : {exc}", file=sys.stderr)
        return 2
    except KeycloakRetriableError as exc:
        print(
            f"Erreur : Keycloak ne répond pas ({exc}). Vérifiez BRIDGE_KEYCLOAK_URL et "
            "relancez : rien n'est perdu, les opérations attendent dans la base.",
            file=sys.stderr,
        )
        return 3
    except KeycloakRejectedError as exc:
        print(f"Erreur : {exc}", file=sys.stderr)
        return 2
    except ValidationError as exc:
        reasons = "; ".join(str(error["msg"]) for error in exc.errors())
        print(f"Erreur : réglages invalides ({reasons}).", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("Interrompu.", file=sys.stderr)
        return 130
