"""Benchmark of what démarches ask server to server: the check API and the AuthZEN endpoints.

    .venv/bin/python -m bench.verifications [--habilitations 1000000] [--duree 15] [--lot 500]
        [--bases tous|sqlite|postgresql] [--workers N] [--profil DOSSIER --prefixe apres]
        [--tiers 50 --delegations 2000] [--magasin [--tours 30]]

Starts Keycloak on loopback, then for each store, SQLite then PostgreSQL 15 (a loopback
server from Debian's binaries), in the same run: loads `--habilitations` habilitations (as
`bench.habilitations` does), starts the bridge as the image runs it (`bench.deployed`),
takes a démarche's client-credentials token, checks every answer of every route against the
generator's ground truth, then runs wrk (POST bodies by a Lua script, 1 thread,
`--connexions`) on each route one after the other:

1. the check API, one question;
2. AuthZEN `/access/v1/evaluation`, one question (its decision carries the explained chain);
3. AuthZEN `/access/v1/evaluations` with one evaluation (a decision alone);
4. the check API, a batch of 100 questions, then of `--lot`;
5. AuthZEN `/access/v1/evaluations`, the same `--lot` questions;
6. the check API, a batch of `--lot` questions about tiers: `--tiers` people (third parties
   acting by delegation) holding `--delegations` delegated rights each on MAF, loaded on top
   of the rest, half the questions on a SIRET they hold, half on one they do not.

Prints calls and questions per second and latency (p50, p99) side by side. With `--magasin`,
no Keycloak, no bridge, no wrk: the same two batches of `--lot` (ordinary people, tiers) are
answered by `check_many` in this process, `--tours` times each on each store, and their
times printed side by side (about two minutes at `--habilitations 100000`). Speed is
measured here, never asserted in tests.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Engine, insert, text
from sqlalchemy.orm import sessionmaker

from bench.authorization import WrkResult, flame_name, run_wrk, slug, stores, with_cpu
from bench.deployed import cpu_seconds, deployed_bridge, dockerfile_workers, profiled
from bench.habilitations import DECLARANT, build_checks, load_plan, make_plan, siret_of
from bridge.catalog import load_catalog
from bridge.db import Base, make_engine, migrate
from bridge.habilitation.models import GrantedHow
from bridge.models import import_models
from bridge.verification.checks import Question, check_many
from tests.support.callers import client_token
from tests.support.postgres import running_postgres
from tests.support.stack import running_platform

MAF = "mon-activite-formation"
MIDDLE_BATCH = 100  # the check API is also measured with batches of this size


@dataclass(frozen=True)
class Route:
    label: str
    path: str
    body: dict[str, Any]
    questions: int
    expected: list[bool]  # the generator's true answers, in order


Asked = list[tuple[str, str, str, bool]]  # (subject, role, SIRET, true answer)


def questions_of(
    habilitations: int, batch: int, seed: int, url: str, tiers: int = 0, delegations: int = 0
) -> tuple[Asked, Asked]:
    """Load the store; `batch` questions on Mon Activité Formation with their true answers,
    then (when `tiers`) `batch` questions about tiers holding `delegations` rights each."""
    import_models()
    engine = make_engine(url)
    etablissements = max(habilitations // 10, 1000)
    plan = make_plan(etablissements, habilitations, 12 * batch, seed)
    load_plan(engine, plan, random.Random(seed + 1), 5000)
    about_tiers = load_tiers(engine, etablissements, tiers, delegations, batch, seed + 3)
    if engine.dialect.name == "postgresql":  # as autovacuum does after such a load
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("ANALYZE"))
    engine.dispose()
    checks = [c for c in build_checks(plan, random.Random(seed + 2)) if c.demarche == MAF]
    if len(checks) < batch:
        raise SystemExit(
            f"Seulement {len(checks)} questions sur {MAF} : augmentez --habilitations."
        )
    ordinary = [
        (plan.subjects[c.person], c.role, siret_of(c.siret_index), c.expected)
        for c in checks[:batch]
    ]
    return ordinary, about_tiers


def load_tiers(
    engine: Engine, etablissements: int, tiers: int, delegations: int, batch: int, seed: int
) -> Asked:
    """`tiers` people holding `delegations` active delegated declarant rights each on MAF
    (distinct SIRETs per person); `batch` questions about them, every other one « oui »."""
    if not tiers:
        return []
    if delegations > etablissements:
        raise SystemExit(
            f"--delegations {delegations} > {etablissements} établissements : "
            "augmentez --habilitations."
        )
    rng = random.Random(seed)
    moment = datetime.now(UTC)
    subjects = [str(uuid.UUID(int=rng.getrandbits(128), version=4)) for _ in range(tiers)]
    held = {s: rng.sample(range(etablissements), delegations) for s in subjects}
    tables = Base.metadata.tables
    with engine.begin() as connection:
        connection.execute(
            insert(tables["person"]),
            [
                {"subject": s, "email": f"tiers-{i}@bench.invalid", "last_name": f"Tiers {i}"}
                for i, s in enumerate(subjects)
            ],
        )
        rows = [
            {
                "subject": s,
                "demarche": MAF,
                "role": DECLARANT,
                "siret": siret_of(i),
                "granted_how": str(GrantedHow.DELEGATION),
                "granted_at": moment - timedelta(days=30),
                "valid_until": moment + timedelta(days=365),
                "on_behalf_of_siret": siret_of(rng.randrange(etablissements)),
            }
            for s, sirets in held.items()
            for i in sirets
        ]
        for start in range(0, len(rows), 5000):
            connection.execute(insert(tables["habilitation"]), rows[start : start + 5000])
    asked: Asked = []
    for number in range(batch):
        subject = rng.choice(subjects)
        if number % 2 == 0:
            asked.append((subject, DECLARANT, siret_of(rng.choice(held[subject])), True))
        else:
            mine = set(held[subject])
            other = rng.randrange(etablissements)
            while other in mine:
                other = rng.randrange(etablissements)
            asked.append((subject, DECLARANT, siret_of(other), False))
    return asked


def routes(questions: Asked, about_tiers: Asked) -> list[Route]:
    first = next(q for q in questions if q[3])  # a question whose answer is yes

    def check_api(asked: Asked) -> dict[str, Any]:
        return {"questions": [{"sujet": s, "role": r, "siret": t} for s, r, t, _ in asked]}

    def evaluation(subject: str, role: str, siret: str) -> dict[str, Any]:
        return {
            "subject": {"type": "user", "id": subject},
            "action": {"name": role},
            "resource": {"type": "siret", "id": siret},
        }

    batch = {"evaluations": [evaluation(s, r, t) for s, r, t, _ in questions]}
    return [
        Route(
            "API de vérification, 1 question",
            f"/api/v1/verifications/{MAF}",
            check_api([first]),
            1,
            [True],
        ),
        Route(
            "AuthZEN /evaluation (avec la chaîne)",
            "/access/v1/evaluation",
            evaluation(*first[:3]),
            1,
            [True],
        ),
        Route(
            "AuthZEN /evaluations, 1 évaluation",
            "/access/v1/evaluations",
            {"evaluations": [evaluation(*first[:3])]},
            1,
            [True],
        ),
        *(
            Route(
                f"API de vérification, lot de {size}",
                f"/api/v1/verifications/{MAF}",
                check_api(questions[:size]),
                size,
                [q[3] for q in questions[:size]],
            )
            for size in sorted({min(MIDDLE_BATCH, len(questions)), len(questions)})
        ),
        Route(
            f"AuthZEN /evaluations, lot de {len(questions)}",
            "/access/v1/evaluations",
            batch,
            len(questions),
            [q[3] for q in questions],
        ),
        *(
            [
                Route(
                    f"API de vérification, lot de {len(about_tiers)} (tiers)",
                    f"/api/v1/verifications/{MAF}",
                    check_api(about_tiers),
                    len(about_tiers),
                    [q[3] for q in about_tiers],
                )
            ]
            if about_tiers
            else []
        ),
    ]


def answers(route: Route, body: dict[str, Any]) -> list[bool]:
    """The yes/no answers of a response, whatever the route's shape."""
    if "reponses" in body:
        return [bool(a["autorise"]) for a in body["reponses"]]
    if "evaluations" in body:
        return [bool(e["decision"]) for e in body["evaluations"]]
    return [bool(body["decision"])]


def lua_script(folder: Path, route: Route, token: str) -> Path:
    script = folder / f"{abs(hash(route.label))}.lua"
    script.write_text(
        'wrk.method = "POST"\n'
        f"wrk.body = {json.dumps(json.dumps(route.body))}\n"
        'wrk.headers["Content-Type"] = "application/json"\n'
        f'wrk.headers["Authorization"] = "Bearer {token}"\n',
        encoding="utf-8",
    )
    return script


def in_process(args: argparse.Namespace) -> int:
    """`--magasin`: both batches answered by `check_many` on each store, times side by side."""
    started = time.monotonic()
    catalog = load_catalog()
    demarche = catalog.demarche(MAF)
    assert demarche is not None
    lines: list[tuple[str, str, list[float]]] = []
    with tempfile.TemporaryDirectory(prefix="bench-verifications-") as tmp:
        for store, url in in_process_stores(Path(tmp), args.bases):
            print(f"{store} : chargement de {args.habilitations} habilitations…", flush=True)
            asked, about_tiers = questions_of(
                args.habilitations, args.lot, args.seed, url, args.tiers, args.delegations
            )
            engine = make_engine(url)
            sessions = sessionmaker(engine)
            cases = [(f"lot de {len(asked)}, personnes", asked)]
            if about_tiers:
                cases.append((f"lot de {len(about_tiers)}, tiers", about_tiers))
            for label, case in cases:
                questions = [Question(s, r, t) for s, r, t, _ in case]
                times: list[float] = []
                for _ in range(args.tours + 1):  # the first one warms the caches, not counted
                    with sessions() as session:
                        start = time.perf_counter()
                        got = check_many(session, catalog, demarche, questions)
                        times.append((time.perf_counter() - start) * 1000)
                    if got != [q[3] for q in case]:
                        raise SystemExit(f"{store}, {label} : réponses différentes de la vérité")
                lines.append((store, label, sorted(times[1:])))
            engine.dispose()
    print()
    print(
        f"check_many dans le processus : {args.habilitations:_} habilitations ; {args.tiers} "
        f"tiers à {args.delegations:_} délégations ; {args.tours} lots par cas ; 0 réponse "
        "fausse".replace("_", " ").replace("check many", "check_many")
    )
    print(f"{'base':<11} {'cas':<28} {'médiane':>10} {'p90':>10} {'min':>10}")
    for store, label, times in lines:
        print(
            f"{store:<11} {label:<28} {statistics.median(times):>8.1f}ms "
            f"{times[int(len(times) * 0.9) - 1]:>8.1f}ms {times[0]:>8.1f}ms"
        )
    print(f"Durée totale : {time.monotonic() - started:.0f} s")
    return 0


def in_process_stores(folder: Path, only: str) -> Iterator[tuple[str, str]]:
    """A migrated SQLite file, then a migrated loopback PostgreSQL 15, as `--bases` says."""
    if only in ("tous", "sqlite"):
        url = f"sqlite:///{folder / 'magasin.db'}"
        migrate(url)
        yield "SQLite", url
    if only in ("tous", "postgresql"):
        with running_postgres() as url:
            migrate(url)
            yield "PostgreSQL", url


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--habilitations", type=int, default=1_000_000)
    parser.add_argument("--duree", type=int, default=15, help="secondes de charge par route")
    parser.add_argument("--connexions", type=int, default=8)
    parser.add_argument("--lot", type=int, default=500, help="questions par appel groupé")
    parser.add_argument("--seed", type=int, default=20261206)
    parser.add_argument("--bases", choices=("tous", "sqlite", "postgresql"), default="tous")
    parser.add_argument("--tiers", type=int, default=50, help="tiers interrogés (0 : aucun)")
    parser.add_argument("--delegations", type=int, default=2000, help="délégations par tiers")
    parser.add_argument(
        "--magasin",
        action="store_true",
        help="sans Keycloak ni bridge : check_many mesuré dans ce processus",
    )
    parser.add_argument("--tours", type=int, default=30, help="lots mesurés par cas (--magasin)")
    parser.add_argument(
        "--profil", type=Path, help="dossier des flammes py-spy (une par route et par base)"
    )
    parser.add_argument("--prefixe", default="", help="début du nom des flammes (avant, apres)")
    parser.add_argument(
        "--workers", type=int, help="workers uvicorn du bridge (par défaut : ceux de l'image)"
    )
    args = parser.parse_args(argv)
    if args.magasin:
        return in_process(args)
    if shutil.which("wrk") is None:
        print("wrk est absent : « sudo apt-get install wrk » (ou « make bench »).", file=sys.stderr)
        return 2
    started = time.monotonic()
    results: list[tuple[str, Route, WrkResult]] = []
    with tempfile.TemporaryDirectory(prefix="bench-verifications-") as tmp:
        print("Démarrage de la plateforme (Keycloak)…", flush=True)
        with running_platform(Path(tmp)) as platform, stores(platform, args.bases) as each:
            for store, settings in each:
                print(f"{store} : chargement de {args.habilitations} habilitations…", flush=True)
                asked, about_tiers = questions_of(
                    args.habilitations,
                    args.lot,
                    args.seed,
                    settings.database_url,
                    args.tiers,
                    args.delegations,
                )
                expected = [q[3] for q in asked]
                with deployed_bridge(
                    settings, Path(tmp) / slug(store), workers=args.workers
                ) as bridge:
                    print(f"{store} : bridge « {bridge.command} »", flush=True)
                    token = client_token(platform, MAF)
                    for route in routes(asked, about_tiers):  # as the ground truth says
                        response = httpx.post(
                            bridge.url + route.path,
                            json=route.body,
                            headers={"Authorization": f"Bearer {token}"},
                            timeout=60,
                        )
                        if response.status_code != 200:
                            raise SystemExit(
                                f"{store}, {route.label} : {response.status_code} "
                                f"{response.text[:300]}"
                            )
                        if answers(route, response.json()) != route.expected:
                            raise SystemExit(
                                f"{store}, {route.label} : réponses différentes de la vérité "
                                "du générateur"
                            )
                    for route in routes(asked, about_tiers):
                        print(
                            f"{store} : wrk {args.duree} s, {args.connexions} connexions : "
                            f"{route.label}…",
                            flush=True,
                        )
                        token = client_token(platform, MAF)  # fresh: never expires mid-run
                        script = lua_script(Path(tmp), route, token)
                        svg = None
                        if args.profil is not None:
                            svg = args.profil / flame_name(args.prefixe, store, route.label)
                        cpu = cpu_seconds(bridge.pid)
                        with profiled(bridge, svg, args.duree):
                            result = run_wrk(
                                route.label,
                                bridge.url + route.path,
                                None,
                                args.duree,
                                args.connexions,
                                script=script,
                            )
                        result = with_cpu(result, cpu_seconds(bridge.pid) - cpu)
                        results.append((store, route, result))
    print()
    print(
        f"Store : {args.habilitations:_} habilitations ; {args.lot} questions, "
        f"{sum(expected)} oui, 0 réponse fausse sur chaque base ; {args.tiers} tiers à "
        f"{args.delegations} délégations ; bridge : "
        f"{bridge.workers} worker(s) uvicorn (l'image : {dockerfile_workers()}), journaux d'accès JSON".replace(
            "_", " "
        )
    )
    print(
        f"{'base':<11} {'route':<42} {'appels/s':>9} {'questions/s':>12} {'p50':>10} "
        f"{'p99':>10} {'CPU/appel':>10} {'erreurs':>8}"
    )
    for store, route, r in results:
        print(
            f"{store:<11} {route.label:<42} {r.requests_per_second:>9.1f} "
            f"{r.requests_per_second * route.questions:>12.0f} {r.p50_ms:>8.2f}ms "
            f"{r.p99_ms:>8.2f}ms {r.cpu_ms:>8.2f}ms {r.errors:>8}"
        )
    print(
        "Objectifs : API de vérification ≥ 3 000 appels/s à 1 question ; lot de 500 : p99 ≤ 20 ms."
    )
    print(f"Durée totale : {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
