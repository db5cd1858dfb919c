"""Benchmark of what démarches ask server to server: the check API and the AuthZEN endpoints.

    .venv/bin/python -m bench.verifications [--habilitations 1000000] [--duree 15] [--lot 500]
        [--bases tous|sqlite|postgresql] [--workers N] [--profil DOSSIER --prefixe apres]

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
5. AuthZEN `/access/v1/evaluations`, the same `--lot` questions.

Prints calls and questions per second and latency (p50, p99) side by side. Speed is
measured here, never asserted in tests.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from bench.authorization import WrkResult, flame_name, run_wrk, slug, stores, with_cpu
from bench.deployed import cpu_seconds, deployed_bridge, dockerfile_workers, profiled
from bench.habilitations import build_checks, load_plan, make_plan, siret_of
from bridge.db import make_engine
from bridge.models import import_models
from tests.support.callers import client_token
from tests.support.stack import running_platform

MAF = "mon-activite-formation"
MIDDLE_BATCH = 100  # the check API is also measured with batches of this size


@dataclass(frozen=True)
class Route:
    label: str
    path: str
    body: dict[str, Any]
    questions: int


def questions_of(
    habilitations: int, batch: int, seed: int, url: str
) -> list[tuple[str, str, str, bool]]:
    """Load the store; `batch` questions on Mon Activité Formation with their true answers."""
    import_models()
    engine = make_engine(url)
    plan = make_plan(max(habilitations // 10, 1000), habilitations, 12 * batch, seed)
    load_plan(engine, plan, random.Random(seed + 1), 5000)
    engine.dispose()
    checks = [c for c in build_checks(plan, random.Random(seed + 2)) if c.demarche == MAF]
    if len(checks) < batch:
        raise SystemExit(
            f"Seulement {len(checks)} questions sur {MAF} : augmentez --habilitations."
        )
    return [
        (plan.subjects[c.person], c.role, siret_of(c.siret_index), c.expected)
        for c in checks[:batch]
    ]


def routes(questions: list[tuple[str, str, str, bool]]) -> list[Route]:
    first = next(q for q in questions if q[3])  # a question whose answer is yes

    def check_api(asked: list[tuple[str, str, str, bool]]) -> dict[str, Any]:
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
            "API de vérification, 1 question", f"/api/v1/verifications/{MAF}", check_api([first]), 1
        ),
        Route(
            "AuthZEN /evaluation (avec la chaîne)",
            "/access/v1/evaluation",
            evaluation(*first[:3]),
            1,
        ),
        Route(
            "AuthZEN /evaluations, 1 évaluation",
            "/access/v1/evaluations",
            {"evaluations": [evaluation(*first[:3])]},
            1,
        ),
        *(
            Route(
                f"API de vérification, lot de {size}",
                f"/api/v1/verifications/{MAF}",
                check_api(questions[:size]),
                size,
            )
            for size in sorted({min(MIDDLE_BATCH, len(questions)), len(questions)})
        ),
        Route(
            f"AuthZEN /evaluations, lot de {len(questions)}",
            "/access/v1/evaluations",
            batch,
            len(questions),
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


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--habilitations", type=int, default=1_000_000)
    parser.add_argument("--duree", type=int, default=15, help="secondes de charge par route")
    parser.add_argument("--connexions", type=int, default=8)
    parser.add_argument("--lot", type=int, default=500, help="questions par appel groupé")
    parser.add_argument("--seed", type=int, default=20261206)
    parser.add_argument("--bases", choices=("tous", "sqlite", "postgresql"), default="tous")
    parser.add_argument(
        "--profil", type=Path, help="dossier des flammes py-spy (une par route et par base)"
    )
    parser.add_argument("--prefixe", default="", help="début du nom des flammes (avant, apres)")
    parser.add_argument(
        "--workers", type=int, help="workers uvicorn du bridge (par défaut : ceux de l'image)"
    )
    args = parser.parse_args(argv)
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
                asked = questions_of(args.habilitations, args.lot, args.seed, settings.database_url)
                expected = [q[3] for q in asked]
                with deployed_bridge(
                    settings, Path(tmp) / slug(store), workers=args.workers
                ) as bridge:
                    print(f"{store} : bridge « {bridge.command} »", flush=True)
                    token = client_token(platform, MAF)
                    for route in routes(asked):  # every route answers as the ground truth says
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
                        want = expected[: route.questions] if route.questions > 1 else [True]
                        if answers(route, response.json()) != want:
                            raise SystemExit(
                                f"{store}, {route.label} : réponses différentes de la vérité "
                                "du générateur"
                            )
                    for route in routes(asked):
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
        f"{sum(expected)} oui, 0 réponse fausse sur chaque base ; bridge : "
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
