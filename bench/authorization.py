"""Benchmark of the authorization path: the protected BPF read endpoint under load (wrk).

    .venv/bin/python -m bench.authorization [--habilitations 1000000] [--duree 15]

Starts the real platform on loopback (Keycloak, the bridge), loads the store with
`--habilitations` habilitations (as `bench.habilitations` does), saves one BPF, then runs
wrk (a load generator in its own process, Debian's `wrk`) against three routes that return
the same BPF, one after the other, in the same run:

1. the product's route, `GET /api/v1/demarches/mon-activite-formation/bpf/{siret}/{année}`:
   the token verified locally (cached realm keys), the right read from the store;
2. the same read with no authorization at all (a bench-only route: the floor);
3. the same, but the token checked by Keycloak's token introspection on every request
   (a bench-only route: what a bridge without local verification would pay).

Prints requests per second and latency (p50, p99) side by side, and the ratios. Speed is
measured here, never asserted in tests.
"""

from __future__ import annotations

import argparse
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import httpx
from fastapi import FastAPI, Header, HTTPException
from sqlalchemy import select

from bench.habilitations import load_plan, make_plan
from bridge.api.app import create_app
from bridge.api.routes.bpf import BpfOut
from bridge.audit.service import Actor
from bridge.bpf.models import Bpf
from bridge.db import make_engine, now
from bridge.devstack.ports import LOOPBACK, free_port
from bridge.devstack.servers import UvicornThread
from bridge.models import import_models
from bridge.person.service import remember_person
from tests.support.bpf import complete_bpf
from tests.support.seed import etablissement_with_code
from tests.support.stack import Platform, running_platform

MAF = "mon-activite-formation"


@dataclass(frozen=True)
class WrkResult:
    label: str
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    errors: int


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
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", url]
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
    )


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


def bench_app(platform: Platform, introspection_secret: str) -> FastAPI:
    """The bridge app with the two comparison routes; bench only, never in the product."""
    app = create_app(platform.portal_settings)
    context = app.state.context
    realm_url = f"{platform.keycloak.url}/realms/{platform.keycloak.realm}"
    http = httpx.Client(timeout=10)

    @app.get("/bench/sans-autorisation/{siret}/{exercice}")
    def no_authorization(siret: str, exercice: int) -> BpfOut:
        with context.work() as work:
            found = work.session.scalar(
                select(Bpf).where(Bpf.siret == siret, Bpf.exercice == exercice)
            )
            if found is None:
                raise HTTPException(404)
            return BpfOut.of(found)

    @app.get("/bench/introspection/{siret}/{exercice}")
    def introspected(
        siret: str, exercice: int, authorization: Annotated[str, Header()] = ""
    ) -> BpfOut:
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
        with context.work() as work:
            found = work.bpf.read(Actor(answer["sub"], answer.get("name", "")), siret, exercice)
            if found is None:
                raise HTTPException(404)
            return BpfOut.of(found)

    return app


def fill_store(url: str, habilitations: int, seed: int) -> None:
    import_models()
    engine = make_engine(url)
    plan = make_plan(max(habilitations // 10, 1000), habilitations, 10, seed)
    load_plan(engine, plan, random.Random(seed + 1), 5000)
    engine.dispose()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--habilitations", type=int, default=1_000_000)
    parser.add_argument("--duree", type=int, default=15, help="secondes de charge par route")
    parser.add_argument("--connexions", type=int, default=8)
    parser.add_argument("--seed", type=int, default=20261122)
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        print("wrk est absent : « sudo apt-get install wrk » (ou « make bench »).", file=sys.stderr)
        return 2
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="bench-autorisation-") as tmp:
        print("Démarrage de la plateforme (Keycloak, bridge)…", flush=True)
        with running_platform(Path(tmp)) as platform:
            fill_store(platform.portal_settings.database_url, args.habilitations, args.seed)
            person = platform.new_person("Banc", "Essai")
            actor = Actor(person.id, person.display_name)
            siret, code = etablissement_with_code(platform.context)
            year = now().year - 1
            with platform.context.work() as work:
                remember_person(work.session, person.id, person.email, "Banc", "Essai")
                work.habilitations.activate(actor, MAF, siret, code)
            with platform.context.work() as work:
                work.bpf.save(actor, siret, year, complete_bpf(), 0)
            port = free_port()
            server = UvicornThread(
                bench_app(platform, introspection_client(platform)), port, "bench", "-"
            )
            server.start()
            try:
                base = f"http://{LOOPBACK}:{port}"
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
                            f"{label} : réponse {answer.status_code} au lieu de 200 : {answer.text}"
                        )
                results = []
                for label, url, bearer in routes:
                    print(
                        f"wrk {args.duree} s, {args.connexions} connexions : {label}…", flush=True
                    )
                    results.append(run_wrk(label, url, bearer, args.duree, args.connexions))
            finally:
                server.stop()
    product, floor, introspection = results
    print()
    print(
        f"Store : {args.habilitations:,} habilitations (SQLite) ; route lue : BPF {year}".replace(
            ",", " "
        )
    )
    print(f"{'route':<50} {'req/s':>9} {'p50':>9} {'p99':>9} {'erreurs':>8}")
    for r in results:
        print(
            f"{r.label:<50} {r.requests_per_second:>9.0f} {r.p50_ms:>7.2f}ms "
            f"{r.p99_ms:>7.2f}ms {r.errors:>8}"
        )
    print()
    print(
        f"Débit du produit : {product.requests_per_second / floor.requests_per_second:.2f} × "
        f"le plancher sans autorisation, "
        f"{product.requests_per_second / introspection.requests_per_second:.2f} × "
        "l'introspection à chaque requête."
    )
    print(f"Durée totale : {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
