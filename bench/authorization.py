"""Benchmark of the authorization path: the protected BPF read endpoint under load (wrk).

    .venv/bin/python -m bench.authorization [--habilitations 1000000] [--duree 15]
        [--bases tous|sqlite|postgresql] [--workers N] [--profil DOSSIER --prefixe apres]

Starts Keycloak on loopback, then for each store, SQLite then PostgreSQL 15 (a loopback
server from Debian's binaries), in the same run: loads `--habilitations` habilitations (as
`bench.habilitations` does), saves one BPF, starts the bridge as the image runs it
(`bench.deployed`: the Dockerfile's uvicorn command and workers, access logs in JSON, in its
own process) and runs wrk (a load generator in its own process, Debian's `wrk`) against
three routes that return the same BPF, one after the other:

1. the product's route, `GET /api/v1/demarches/mon-activite-formation/bpf/{siret}/{année}`:
   the token verified locally (cached realm keys), the right read from the store;
2. the same read with no authorization at all (a bench-only route: the floor);
3. the same, but the token checked by Keycloak's token introspection on every request
   (a bench-only route: what a bridge without local verification would pay).

Prints requests per second and latency (p50, p99) side by side, and the ratios #24 sets as
goals. `--profil` writes a py-spy flame graph of the bridge for each route. Speed is
measured here, never asserted in tests.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Annotated

import httpx
from fastapi import FastAPI, Header, HTTPException, Response
from sqlalchemy import bindparam, select
from starlette.concurrency import run_in_threadpool

from bench.deployed import (
    bench_settings,
    cpu_seconds,
    deployed_bridge,
    dockerfile_workers,
    profiled,
)
from bench.habilitations import load_plan, make_plan
from bridge.api.app import create_app
from bridge.api.routes.bpf import BpfOut
from bridge.audit.service import Actor
from bridge.bootstrap import bootstrapped
from bridge.bpf.models import Bpf
from bridge.db import make_engine, migrate, now
from bridge.models import import_models
from bridge.person.service import remember_person
from bridge.settings import Settings
from tests.support.bpf import complete_bpf
from tests.support.postgres import running_postgres
from tests.support.seed import etablissement_with_code
from tests.support.stack import Person, Platform, running_platform

MAF = "mon-activite-formation"
FACTORY = "bench.authorization:deployed_app"
REALM_URL = "BENCH_REALM_URL"
INTROSPECTION_SECRET = "BENCH_INTROSPECTION_SECRET"  # noqa: S105 - a variable name


@dataclass(frozen=True)
class WrkResult:
    label: str
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    errors: int
    seconds: int
    cpu_ms: float = float("nan")  # the bridge's CPU time per request (`bench.deployed`)


def _ms(value: str, unit: str) -> float:
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def run_wrk(
    label: str,
    url: str,
    token: str | None,
    seconds: int,
    connections: int,
    *,
    script: Path | None = None,
) -> WrkResult:
    """wrk on `url` (GET, or what the Lua `script` sets: method, body, headers)."""
    # A generous timeout: a slow answer is measured, not dropped (wrk's 2 s default dropped
    # every batch of 500 on a loaded machine, and printed no latency at all).
    command = [
        "wrk",
        "-t1",
        f"-c{connections}",
        f"-d{seconds}s",
        "--timeout",
        "30s",
        "--latency",
        url,
    ]
    if token is not None:
        command[1:1] = ["-H", f"Authorization: Bearer {token}"]
    if script is not None:
        command[1:1] = ["-s", str(script)]
    # A fixed program and our own arguments (loopback URL, our token).
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout  # noqa: S603
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    p50 = re.search(r"\s50%\s+([\d.]+)(us|ms|s)", output)
    p99 = re.search(r"\s99%\s+([\d.]+)(us|ms|s)", output)
    errors = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    return WrkResult(
        label,
        rps,
        _ms(*p50.groups()) if p50 else float("nan"),
        _ms(*p99.groups()) if p99 else float("nan"),
        int(errors.group(1)) if errors else 0,
        seconds,
    )


def with_cpu(result: WrkResult, cpu: float) -> WrkResult:
    """The result with the bridge's CPU milliseconds per request answered."""
    answered = result.requests_per_second * result.seconds
    return replace(result, cpu_ms=1000 * cpu / answered if answered else float("nan"))


def introspection_client(platform: Platform) -> str:
    """Keycloak lets a client introspect only tokens it is an audience of: a confidential
    client named like the API's audience (`bridge-api`), as a resource server would have."""
    admin = platform.admin()
    internal_id = admin.create_client(
        {
            "clientId": "bridge-api",
            "enabled": True,
            "publicClient": False,
            "standardFlowEnabled": False,
            "directAccessGrantsEnabled": False,
        },
        skip_exists=True,
    )
    secret: str = admin.get_client_secrets(internal_id)["value"]
    return secret


# The floor's read: the product's statement (`BpfService.read`) less the right, built once.
FLOOR_READ = select(Bpf.__table__).where(
    Bpf.siret == bindparam("siret"), Bpf.exercice == bindparam("year")
)


def comparison_routes(app: FastAPI, realm_url: str, introspection_secret: str) -> FastAPI:
    """The bridge app plus the two comparison routes; bench only, never in the product."""
    context = app.state.context
    http = httpx.Client(timeout=10)

    # Shaped as the product's route (`bridge.api.routes.bpf.read`): `async`, its work in one
    # trip to the thread pool, the answer written once; the three differ by their authorization.
    @app.get("/bench/sans-autorisation/{siret}/{exercice}")
    async def no_authorization(siret: str, exercice: int) -> Response:
        def found() -> str:
            with context.reads() as work:  # as the product reads it, less the right
                row = (
                    work.session.connection()
                    .execute(FLOOR_READ, {"siret": siret, "year": exercice})
                    .first()
                )
                if row is None:
                    raise HTTPException(404)
                return BpfOut.of(Bpf(**row._mapping)).model_dump_json()

        return Response(await run_in_threadpool(found), media_type="application/json")

    @app.get("/bench/introspection/{siret}/{exercice}")
    async def introspected(
        siret: str, exercice: int, authorization: Annotated[str, Header()] = ""
    ) -> Response:
        def found() -> str:
            token = authorization.removeprefix("Bearer ").strip()
            answer = http.post(
                f"{realm_url}/protocol/openid-connect/token/introspect",
                data={"token": token},
                auth=("bridge-api", introspection_secret),
            ).json()
            audience = answer.get("aud") or []
            if not answer.get("active") or "bridge-api" not in (
                audience if isinstance(audience, list) else [audience]
            ):
                raise HTTPException(401, detail=f"introspection : {answer}")
            with context.reads() as work:
                actor = Actor(answer["sub"], answer.get("name", ""))
                bpf = work.bpf.read(actor, siret, exercice)
                if bpf is None:
                    raise HTTPException(404)
                return BpfOut.of(bpf).model_dump_json()

        return Response(await run_in_threadpool(found), media_type="application/json")

    # Matched first, as the product's API routes are (`bridge.api.app`): routing costs the same.
    routes = app.router.routes
    routes[:0] = [routes.pop(), routes.pop()]
    return app


def deployed_app() -> FastAPI:
    """uvicorn's factory in the bridge's process: the product app and the comparison routes."""
    return comparison_routes(
        create_app(bench_settings()), os.environ[REALM_URL], os.environ[INTROSPECTION_SECRET]
    )


def fill_store(url: str, habilitations: int, seed: int) -> None:
    import_models()
    engine = make_engine(url)
    plan = make_plan(max(habilitations // 10, 1000), habilitations, 10, seed)
    load_plan(engine, plan, random.Random(seed + 1), 5000)
    engine.dispose()


def saved_bpf(settings: Settings, person: Person) -> tuple[str, int]:
    """One SIRET of the person (by its code) and the BPF saved for last year."""
    actor = Actor(person.id, person.display_name)
    with bootstrapped(settings) as context:
        siret, code = etablissement_with_code(context)
        year = now().year - 1
        with context.work() as work:
            remember_person(work.session, person.id, person.email, "Banc", "Essai")
            work.habilitations.activate(actor, MAF, siret, code)
        with context.work() as work:
            work.bpf.save(actor, siret, year, complete_bpf(), 0)
    return siret, year


@contextmanager
def stores(platform: Platform, only: str) -> Iterator[Iterator[tuple[str, Settings]]]:
    """The stores to measure, one after the other: the platform's SQLite file, then a
    loopback PostgreSQL 15 (Debian's binaries, as the tests start it) migrated here."""

    def each() -> Iterator[tuple[str, Settings]]:
        if only in ("tous", "sqlite"):
            yield "SQLite", platform.portal_settings
        if only in ("tous", "postgresql"):
            with running_postgres() as url:
                migrate(url)
                yield (
                    "PostgreSQL",
                    platform.portal_settings.model_copy(update={"database_url": url}),
                )

    yield each()


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


# The flame graphs' names (`--profil`), as docs/performance/ keeps them.
FLAMES = {
    "jeton vérifié localement + droit lu (produit)": "produit",
    "sans autorisation (plancher)": "plancher",
    "introspection Keycloak à chaque requête": "introspection",
    "API de vérification, 1 question": "verification-1",
}


def flame_name(prefix: str, store: str, label: str) -> str:
    short = FLAMES.get(label) or slug(
        label.replace("API de vérification, lot de", "verification-lot")
    )
    return "-".join(p for p in (prefix, slug(store), short) if p) + ".svg"


def print_table(title: str, results: list[tuple[str, WrkResult]]) -> None:
    print(title)
    print(
        f"{'base':<11} {'route':<50} {'req/s':>9} {'p50':>9} {'p99':>9} {'CPU/req':>9} "
        f"{'erreurs':>8}"
    )
    for store, r in results:
        print(
            f"{store:<11} {r.label:<50} {r.requests_per_second:>9.0f} {r.p50_ms:>7.2f}ms "
            f"{r.p99_ms:>7.2f}ms {r.cpu_ms:>7.2f}ms {r.errors:>8}"
        )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--habilitations", type=int, default=1_000_000)
    parser.add_argument("--duree", type=int, default=15, help="secondes de charge par route")
    parser.add_argument("--connexions", type=int, default=8)
    parser.add_argument("--seed", type=int, default=20261122)
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
    results: list[tuple[str, WrkResult]] = []
    with tempfile.TemporaryDirectory(prefix="bench-autorisation-") as tmp:
        print("Démarrage de la plateforme (Keycloak)…", flush=True)
        with running_platform(Path(tmp)) as platform, stores(platform, args.bases) as each:
            person = platform.new_person("Banc", "Essai")
            secret = introspection_client(platform)
            for store, settings in each:
                print(f"{store} : chargement de {args.habilitations} habilitations…", flush=True)
                fill_store(settings.database_url, args.habilitations, args.seed)
                siret, year = saved_bpf(settings, person)
                env = {
                    REALM_URL: f"{platform.keycloak.url}/realms/{platform.keycloak.realm}",
                    INTROSPECTION_SECRET: secret,
                }
                with deployed_bridge(
                    settings,
                    Path(tmp) / slug(store),
                    factory=FACTORY,
                    env=env,
                    workers=args.workers,
                ) as bridge:
                    print(f"{store} : bridge « {bridge.command} »", flush=True)
                    base = bridge.url
                    token = platform.token_for(person)
                    routes = [
                        (
                            "jeton vérifié localement + droit lu (produit)",
                            f"{base}/api/v1/demarches/{MAF}/bpf/{siret}/{year}",
                            token,
                        ),
                        (
                            "sans autorisation (plancher)",
                            f"{base}/bench/sans-autorisation/{siret}/{year}",
                            None,
                        ),
                        (
                            "introspection Keycloak à chaque requête",
                            f"{base}/bench/introspection/{siret}/{year}",
                            token,
                        ),
                    ]
                    for label, url, bearer in routes:  # each answers 200 before being loaded
                        headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
                        answer = httpx.get(url, headers=headers, timeout=10)
                        if answer.status_code != 200:
                            raise SystemExit(
                                f"{label} : réponse {answer.status_code} au lieu de 200 : "
                                f"{answer.text}"
                            )
                    for label, url, bearer in routes:
                        print(
                            f"{store} : wrk {args.duree} s, {args.connexions} connexions : "
                            f"{label}…",
                            flush=True,
                        )
                        svg = None
                        if args.profil is not None:
                            svg = args.profil / flame_name(args.prefixe, store, label)
                        cpu = cpu_seconds(bridge.pid)
                        with profiled(bridge, svg, args.duree):
                            result = run_wrk(label, url, bearer, args.duree, args.connexions)
                        results.append((store, with_cpu(result, cpu_seconds(bridge.pid) - cpu)))
    print()
    print(
        f"Store : {args.habilitations:_} habilitations ; bridge : "
        f"{bridge.workers} worker(s) uvicorn (l'image : {dockerfile_workers()}), journaux d'accès JSON".replace(
            "_", " "
        )
    )
    print_table("", results)
    print()
    for store in dict.fromkeys(s for s, _ in results):
        product, floor, introspection = (r for s, r in results if s == store)
        print(
            f"{store} : débit du produit "
            f"{product.requests_per_second / floor.requests_per_second:.2f} × "
            f"le plancher sans autorisation (objectif ≥ 0.85), "
            f"{product.requests_per_second / introspection.requests_per_second:.2f} × "
            "l'introspection à chaque requête (objectif ≥ 5)."
        )
    print(f"Durée totale : {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
