"""Benchmark: one tiers (an accounting firm) holding N delegations.

Builds the state through the real services (activation codes, invitations, batch
acceptance) on a fresh store, then measures the tiers' portfolio page and its
right-to-act check on its clients' SIRETs. Prints figures; asserts nothing about speed.

    python -m bench.delegations [--delegations 1000] [--database-url URL]
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from tqdm import tqdm

from bridge.audit.service import Actor
from bridge.bootstrap import session_factory
from bridge.catalog import load_catalog
from bridge.db import make_engine, migrate, now, unit_of_work
from bridge.delegation.service import DelegationService
from bridge.etablissement.models import Etablissement
from bridge.etablissement.service import EtablissementService
from bridge.habilitation.service import HabilitationService, may_act
from bridge.person.service import remember_person
from tests.support.sirets import new_siret

CATALOG = load_catalog()
MAF = "mon-activite-formation"
OPERATOR = Actor("operateur", "Opérateur", operator=True)


def _percentiles(samples_ns: list[int]) -> str:
    ordered = sorted(samples_ns)
    p50 = ordered[len(ordered) // 2] / 1e6
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] / 1e6
    mean = statistics.fmean(ordered) / 1e6
    return f"n={len(ordered)}  p50={p50:.3f} ms  p99={p99:.3f} ms  moyenne={mean:.3f} ms"


def _timed(calls: int, action: Callable[[int], object]) -> list[int]:
    samples = []
    for index in range(calls):
        started = time.perf_counter_ns()
        action(index)
        samples.append(time.perf_counter_ns() - started)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--delegations", type=int, default=1000)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    workdir = tempfile.TemporaryDirectory(prefix="bench-delegations-")
    url = args.database_url or f"sqlite:///{Path(workdir.name) / 'bench.db'}"
    started = time.perf_counter()
    migrate(url)
    engine = make_engine(url)
    sessions = session_factory(engine)

    def services(
        session: object,
    ) -> tuple[EtablissementService, HabilitationService, DelegationService]:
        etablissements = EtablissementService(session, CATALOG, "poivre")  # type: ignore[arg-type]
        habilitations = HabilitationService(session, CATALOG, etablissements)  # type: ignore[arg-type]
        return etablissements, habilitations, DelegationService(session, CATALOG, habilitations)  # type: ignore[arg-type]

    tiers = Actor("cabinet-comptable", "Cabinet comptable")
    email = "cabinet@fournisseur.fr"
    with unit_of_work(sessions) as session:
        remember_person(session, tiers.subject, email, "Cabinet", "Comptable")
    sirets: list[str] = []
    for index in tqdm(range(args.delegations), desc="Clients et invitations", unit="client"):
        siret, gestionnaire = new_siret(), Actor(f"gestionnaire-{index}", f"Gestionnaire {index}")
        with unit_of_work(sessions) as session:
            etablissements, habilitations, delegations = services(session)
            session.add(Etablissement(siret=siret, siren=siret[:9], name=f"Organisme {index:04d}"))
            remember_person(session, gestionnaire.subject, f"g{index}@exemple.fr", "G", str(index))
            session.flush()
            code = etablissements.issue_code(OPERATOR, siret, MAF)
            habilitations.activate(gestionnaire, MAF, siret, code)
            draft = delegations.prepare(
                gestionnaire,
                MAF,
                tiers_siret="73282932000074",
                tiers_email=email,
                role="declarant",
                delegator_siret=siret,
                valid_until=now() + timedelta(days=30 + index % 300),
            )
            delegations.invite(gestionnaire, draft, "https://portail.test")
        sirets.append(siret)
    build = time.perf_counter() - started

    with unit_of_work(sessions) as session:
        pending = [d.id for d in services(session)[2].pending_for(email, True)]
    accept_started = time.perf_counter()
    with unit_of_work(sessions) as session:
        services(session)[2].accept_many(tiers, email, True, pending)
    accept_seconds = time.perf_counter() - accept_started

    rng = random.Random(20261122)
    with sessions() as session:
        delegations = services(session)[2]
        for _ in range(20):
            delegations.portfolio(tiers.subject)
        page = _timed(
            200, lambda _: delegations.portfolio(tiers.subject, page=1 + rng.randrange(20))
        )
        search = _timed(
            200, lambda i: delegations.portfolio(tiers.subject, query=f"Organisme {i % 1000:04d}")
        )
        _, total = delegations.portfolio(tiers.subject)
        checks = _timed(
            2000,
            lambda _: may_act(
                session, CATALOG, tiers.subject, MAF, "declarant", rng.choice(sirets)
            ),
        )
        wrong = sum(
            not may_act(session, CATALOG, tiers.subject, MAF, "declarant", s) for s in sirets
        )
    engine.dispose()
    workdir.cleanup()
    print("=" * 78)
    print(f"Bench des délégations — un tiers, {args.delegations} délégations ({url.split(':')[0]})")
    print("=" * 78)
    print(
        "Commande              : python -m bench.delegations "
        + " ".join(f"--{k.replace('_', '-')} {v}" for k, v in vars(args).items() if v is not None)
    )
    print(
        f"Construction          : {build:.1f} s (codes, activations, invitations par les services)"
    )
    print(f"Acceptation groupée   : {len(pending)} invitations en {accept_seconds:.2f} s")
    print(f"Portefeuille (total)  : {total} établissements")
    print(f"Page du portefeuille  : {_percentiles(page)}")
    print(f"Recherche portefeuille: {_percentiles(search)}")
    print(f"Droit d'agir (may_act): {_percentiles(checks)}")
    print(f"Refus inattendus      : {wrong} sur {len(sirets)}")


if __name__ == "__main__":
    main()
