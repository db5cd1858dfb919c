"""`demarches-stack`: set up and run the local platform (no Docker needed).

demarches-stack fetch   download and check the Keycloak distribution into .cache/
demarches-stack run [--neuf] [--forcer]
                        start everything, print the addresses, stop cleanly on Ctrl-C;
                        the accounts and rights of the last run are kept (--neuf or
                        DEVSTACK_FRESH=1: start from empty), the realm export is applied
                        (--forcer: over what was changed by hand in the console)
demarches-stack mailcatcher [--host H]
                        only the mail catcher (SMTP + web page), e.g. in a container
"""

from __future__ import annotations

import argparse
import secrets
import signal
import sys
import threading
import time
from pathlib import Path

import uvicorn

from bridge.audit.service import Actor
from bridge.catalog import CatalogError
from bridge.devstack.errors import StackError
from bridge.devstack.keycloak_dist import KEYCLOAK_VERSION, ensure_distribution
from bridge.devstack.mailcatcher import MailCatcher, web_app
from bridge.devstack.stack import CACHE_DIR, LocalStack, StackPorts
from bridge.habilitation.operators import designate
from bridge.keycloak_admin import KeycloakDirectory, NewPerson
from bridge.local_platform import Announcement, announce, state_dir

DEMO_SIRET = "73282932000074"


def _demo_password(folder: Path) -> str:
    """The demonstration accounts' password, kept in the state folder with the accounts."""
    kept = folder / "mot-de-passe-demo"
    if kept.is_file():
        return kept.read_text().strip()
    # Meets the realm's password policy: length, upper, lower, digit, special character.
    password = f"Demo-{secrets.token_urlsafe(9)}-7a"
    kept.write_text(password)
    kept.chmod(0o600)
    return password


def demo_etablissement(stack: LocalStack) -> tuple[str, str]:
    """An establishment with a fresh activation code, to try « Ajouter une démarche »."""
    siret = DEMO_SIRET
    assert stack.context is not None  # noqa: S101 - set by a successful start
    actor = Actor("operateur-demo", "Opérateur (démonstration)", operator=True)
    with stack.context.work() as work:
        work.etablissements.ensure(siret, "Organisme de démonstration")
        code = work.etablissements.issue_code(actor, siret, "mon-activite-formation", reissue=True)
    return siret, code


def _realm_report(stack: LocalStack) -> str:
    changes = stack.realm_changes
    if changes is None or not changes.differences:
        return "Domaine demarches conforme à l'export (rien à appliquer)."
    lines = "\n".join(f"  - {d.sentence()}" for d in changes.differences)
    return f"Export du domaine appliqué ({len(changes.differences)} changement(s)) :\n{lines}"


def run(*, fresh: bool = False, force_realm: bool = False) -> int:
    folder = state_dir()
    stack = LocalStack(ports=StackPorts.from_env(), data_dir=folder, force_realm=force_realm)
    stack.fresh = stack.fresh or fresh
    # Ctrl-C even when started from a script that ignores SIGINT in background jobs; a Ctrl-C
    # during the start stops what was already started (LocalStack.start cleans up).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    started = time.monotonic()
    print(f"Démarrage de la plateforme locale (Keycloak {KEYCLOAK_VERSION})…", flush=True)
    stack.start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    marker: Announcement | None = None
    try:
        directory = KeycloakDirectory.with_admin_password(
            stack.keycloak_url, "demarches", stack.admin_user, stack.admin_password
        )
        password = _demo_password(folder)
        directory.ensure_person(
            NewPerson(
                "camille.martin@exemple.fr",
                "camille.martin@exemple.fr",
                "Camille",
                "Martin",
                civilite="madame",
                telephone="01 23 45 67 89",
                siret=DEMO_SIRET,
            ),
            password,
        )
        operator_id = directory.ensure_person(
            NewPerson(
                "operateur.demo@exemple.fr",
                "operateur.demo@exemple.fr",
                "Opérateur",
                "Démonstration",
                civilite="monsieur",
                telephone="01 23 45 67 89",
                siret=DEMO_SIRET,
            ),
            password,
        )
        directory.set_realm_role(operator_id, "operateur", held=True)
        assert stack.context is not None  # noqa: S101 - set by start()
        with stack.context.work() as work:  # the bridge believes designated operators only
            designate(work.session, Actor("devstack", "Plateforme locale"), operator_id)
        demo = demo_etablissement(stack)
        print(_realm_report(stack), flush=True)
        # From here `python -m bridge …` finds this store (bridge/local_platform.py), for as
        # long as this process holds the marker's lock.
        marker = announce(folder, stack.database_url, stack.keycloak_url)
        print(
            f"\nPrête en {time.monotonic() - started:.0f} s.\n"
            f"  Portail « Mes démarches »     {stack.portal_url}\n"
            f"  Démarche Mon Activité Formation {stack.relying_party_url}\n"
            f"  Keycloak (console : {stack.admin_user} / {stack.admin_password})  {stack.keycloak_url}/admin/\n"
            f"  Boîte de réception (SMTP {stack.ports.smtp})  {stack.mail_web_url}\n"
            f"  Compte de démonstration       camille.martin@exemple.fr / {password}\n"
            f"  Établissement de démonstration  SIRET {demo[0]}, code d'activation {demo[1]}\n"
            f"  Opérateur (espace employeur)  operateur.demo@exemple.fr / {password}, "
            f"{stack.portal_url}/operateur/organisations\n"
            "Ctrl-C pour tout arrêter.",
            flush=True,
        )
        while not stop.wait(0.5):
            if stack.keycloak is None or not stack.keycloak.running:
                print(
                    "Keycloak s'est arrêté de lui-même ; arrêt de la plateforme.", file=sys.stderr
                )
                return 1
    except KeyboardInterrupt:
        pass
    finally:
        # A second Ctrl-C must not interrupt the shutdown and leave Keycloak running.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        print("\nArrêt de la plateforme…", flush=True)
        if marker is not None:
            marker.withdraw()
        stack.stop()
        print("Tout est arrêté.", flush=True)
    return 0


def mailcatcher(host: str) -> int:
    """Run the SMTP catcher and its web page until interrupted (for docker-compose)."""
    ports = StackPorts.from_env()
    catcher = MailCatcher(ports.smtp, host=host)
    catcher.start()
    print(
        f"SMTP sur {host}:{ports.smtp}, boîte de réception sur {host}:{ports.mail_web}", flush=True
    )
    try:
        uvicorn.run(web_app(catcher.store), host=host, port=ports.mail_web, log_config=None)
    finally:
        catcher.stop()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="demarches-stack",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("command", choices=["fetch", "run", "mailcatcher"])
    parser.add_argument("--host", default="127.0.0.1", help="adresse d'écoute (mailcatcher)")
    parser.add_argument(
        "--neuf", action="store_true", help="repartir de zéro : ni compte ni droit (run)"
    )
    parser.add_argument(
        "--forcer",
        action="store_true",
        help="appliquer l'export du domaine même sur des modifications faites à la main (run)",
    )
    args = parser.parse_args(argv)
    try:
        if args.command == "fetch":
            home = ensure_distribution(CACHE_DIR)
            print(f"Keycloak {KEYCLOAK_VERSION} prêt dans {home}")
            return 0
        if args.command == "mailcatcher":
            return mailcatcher(args.host)
        return run(fresh=args.neuf, force_realm=args.forcer)
    except (StackError, CatalogError) as exc:
        print(f"Erreur : {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
