"""Measure the two candidate projections of DESIGN §4 on a real Keycloak, before building one.

    .venv/bin/python -m bench.mapping_candidates [--tailles 10000,100000] [--repetitions 30]

Keycloak 26.7.3 runs on PostgreSQL 15 (Debian's binaries, a throw-away server), as in
production. For each size N and each candidate, a realm of its own is loaded with N
establishments, one gestionnaire per establishment, and one tiers holding the `declarant`
role on 1,000 of them:

(a) `groupes`: a group per establishment, `/etablissements/{siret}/{demarche}/{role}`, the
    role sub-groups mapped to the démarche's client role; people are members of them;
(b) `attribut`: two groups `/demarches/{demarche}/{role}` mapped to the client roles, and a
    multi-valued user attribute `habilitation = {demarche}:{role}:{siret}` (declared in the
    user profile, searchable from the console).

Then, p50 / p95 over `--repetitions` calls of what an administrator and the projection do:
find the holders of one SIRET, list a person's rights, search users by name, list the
console's first page of groups, add one habilitation to a person (and remove it), and the
token a person gets (refresh grant: the token is rebuilt without the password hashing) with
its size, for an ordinary gestionnaire and for the tiers. Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import base64
import json
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from tqdm import tqdm

from bridge.devstack.keycloak_dist import ensure_distribution
from bridge.devstack.keycloak_server import KeycloakConfig, KeycloakServer
from bridge.devstack.ports import free_port
from bridge.devstack.stack import CACHE_DIR
from tests.support.postgres import running_postgres
from tests.support.sirets import luhn_complete

MAF = "mon-activite-formation"
ROLES = ("gestionnaire", "declarant")
TIERS_CLIENTS = 1000
PASSWORD = "Mesure-2026-mot-de-passe"  # noqa: S105 - loopback bench realm only
CHUNK = 2000


class Admin:
    """Admin REST calls with a master-realm token renewed before it expires (60 s)."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.http = httpx.Client(base_url=base, timeout=600)
        self._token = ""
        self._at = 0.0

    def _auth(self) -> dict[str, str]:
        if time.monotonic() - self._at > 40:
            reply = self.http.post(
                "/realms/master/protocol/openid-connect/token",
                data={
                    "grant_type": "password",
                    "client_id": "admin-cli",
                    "username": "admin",
                    "password": "admin",
                },
            )
            reply.raise_for_status()
            self._token = reply.json()["access_token"]
            self._at = time.monotonic()
        return {"Authorization": f"Bearer {self._token}"}

    def call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        reply = self.http.request(method, f"/admin/realms{path}", headers=self._auth(), **kwargs)
        if reply.status_code >= 400:
            raise RuntimeError(f"{method} {path}: {reply.status_code} {reply.text[:300]}")
        return reply


@dataclass
class Figures:
    label: str
    samples: list[float]

    def line(self) -> str:
        ordered = sorted(self.samples)
        p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
        return f"{statistics.median(ordered) * 1000:8.1f} / {p95 * 1000:8.1f} ms"


def timed(repetitions: int, action: Callable[[int], object]) -> list[float]:
    action(0)  # warm-up, not counted: the first call after a load pays Keycloak's caches
    samples = []
    for index in range(repetitions):
        start = time.perf_counter()
        action(index)
        samples.append(time.perf_counter() - start)
    return samples


def sirets(count: int) -> list[str]:
    return [luhn_complete(f"{1_000_000_000_000 + index:013d}") for index in range(count)]


def write_realm(folder: Path, realm: str, count: int, attribute: bool) -> None:
    """Write the realm and its people as import files (`--import-realm` at start).

    Candidate (a)'s establishment groups are not imported: Keycloak's import creates all the
    groups of a realm in one transaction and flushes it after each group, which is quadratic
    (measured: more than 25 minutes for 40,000 groups, stopped). They are created through
    the admin API instead, as the projection itself would (`build_groups`).
    """
    all_sirets = sirets(count)
    if attribute:
        groups = [
            {
                "name": "demarches",
                "subGroups": [{"name": MAF, "subGroups": [role_group(r) for r in ROLES]}],
            }
        ]
    else:  # (a): the establishments' groups are created through the admin API, see below
        groups = [{"name": "etablissements"}]
    (folder / f"{realm}-realm.json").write_text(
        json.dumps(
            {
                "realm": realm,
                "enabled": True,
                "clients": [
                    {
                        "clientId": MAF,
                        "publicClient": True,
                        "directAccessGrantsEnabled": True,
                        "standardFlowEnabled": False,
                    }
                ],
                "roles": {"client": {MAF: [{"name": role} for role in ROLES]}},
                "groups": groups,
            }
        )
    )
    users = []
    for index, siret in enumerate(all_sirets):
        user: dict[str, Any] = {
            "username": f"personne{index}",
            "email": f"personne{index}@mesure.test",
            "firstName": "Prénom",
            "lastName": f"Nom{index}",
            "enabled": True,
            "emailVerified": True,
        }
        if attribute:
            user["groups"] = [f"/demarches/{MAF}/gestionnaire"]
            user["attributes"] = {"habilitation": [f"{MAF}:gestionnaire:{siret}"]}
        users.append(user)
    tiers: dict[str, Any] = {
        "username": "tiers",
        "email": "tiers@mesure.test",
        "firstName": "Cabinet",
        "lastName": "Tiers",
        "enabled": True,
        "emailVerified": True,
        "credentials": [{"type": "password", "value": PASSWORD, "temporary": False}],
    }
    clients = all_sirets[:TIERS_CLIENTS]
    if attribute:
        tiers["groups"] = [f"/demarches/{MAF}/declarant"]
        tiers["attributes"] = {"habilitation": [f"{MAF}:declarant:{s}" for s in clients]}
    users[0]["credentials"] = [{"type": "password", "value": PASSWORD, "temporary": False}]
    users.append(tiers)
    for number, offset in enumerate(range(0, len(users), CHUNK)):
        (folder / f"{realm}-users-{number}.json").write_text(
            json.dumps({"realm": realm, "users": users[offset : offset + CHUNK]})
        )


def build_groups(admin: Admin, realm: str, count: int, threads: int = 6) -> float:
    """Candidate (a) through the admin API, several calls at once; returns groups per second."""
    all_sirets = sirets(count)
    parent = admin.call("GET", f"/{realm}/group-by-path/etablissements").json()["id"]
    client = client_uuid(admin, realm)
    roles = {role: client_role(admin, realm, role) for role in ROLES}
    ids: dict[str, str] = {}
    first = 0
    while True:
        page = admin.call(
            "GET",
            f"/{realm}/users",
            params={"first": first, "max": 1000, "briefRepresentation": "true"},
        ).json()
        ids.update({u["username"]: u["id"] for u in page})
        if len(page) < 1000:
            break
        first += 1000

    def child(parent_id: str, name: str) -> str:
        reply = admin.call("POST", f"/{realm}/groups/{parent_id}/children", json={"name": name})
        return str(reply.headers["Location"].rsplit("/", 1)[1])

    def establishment(index: int) -> None:
        siret = all_sirets[index]
        demarche = child(child(parent, siret), MAF)
        for role in ROLES:
            group = child(demarche, role)
            admin.call(
                "POST",
                f"/{realm}/groups/{group}/role-mappings/clients/{client}",
                json=[roles[role]],
            )
            if role == "gestionnaire":
                admin.call("PUT", f"/{realm}/users/{ids[f'personne{index}']}/groups/{group}")
            elif index < TIERS_CLIENTS:
                admin.call("PUT", f"/{realm}/users/{ids['tiers']}/groups/{group}")

    start = time.perf_counter()
    with (
        ThreadPoolExecutor(threads) as pool,
        tqdm(total=count, desc=f"{realm} groupes", unit="étab.") as bar,
    ):
        for _ in pool.map(establishment, range(count)):
            bar.update(1)
    return 4 * count / (time.perf_counter() - start)


def declare_attribute(admin: Admin, realm: str) -> None:
    """Declare `habilitation` in the realm's user profile (undeclared attributes are hidden)."""
    profile = admin.call("GET", f"/{realm}/users/profile").json()
    profile["attributes"].append(
        {
            "name": "habilitation",
            "displayName": "Habilitations",
            "multivalued": True,
            "permissions": {"view": ["admin"], "edit": ["admin"]},
        }
    )
    admin.call("PUT", f"/{realm}/users/profile", json=profile)


def role_group(role: str) -> dict[str, Any]:
    return {"name": role, "clientRoles": {MAF: [role]}}


_clients: dict[str, str] = {}
_roles: dict[tuple[str, str], dict[str, Any]] = {}


def client_uuid(admin: Admin, realm: str) -> str:
    if realm not in _clients:
        _clients[realm] = admin.call("GET", f"/{realm}/clients", params={"clientId": MAF}).json()[
            0
        ]["id"]
    return _clients[realm]


def client_role(admin: Admin, realm: str, role: str) -> dict[str, Any]:
    if (realm, role) not in _roles:
        uuid = client_uuid(admin, realm)
        _roles[(realm, role)] = admin.call("GET", f"/{realm}/clients/{uuid}/roles/{role}").json()
    return _roles[(realm, role)]


def token_figures(
    base: str, realm: str, username: str, repetitions: int
) -> tuple[list[float], int, int]:
    """Refresh-grant times, access-token size, and the client roles it carries."""
    with httpx.Client(base_url=base, timeout=60) as http:
        url = f"/realms/{realm}/protocol/openid-connect/token"
        first = http.post(
            url,
            data={
                "grant_type": "password",
                "client_id": MAF,
                "username": username,
                "password": PASSWORD,
            },
        )
        first.raise_for_status()
        refresh = first.json()["refresh_token"]
        access = first.json()["access_token"]

        def once(_: int) -> None:
            nonlocal refresh, access
            reply = http.post(
                url,
                data={"grant_type": "refresh_token", "client_id": MAF, "refresh_token": refresh},
            )
            reply.raise_for_status()
            refresh = reply.json()["refresh_token"]
            access = reply.json()["access_token"]

        samples = timed(repetitions, once)
    payload = json.loads(base64.urlsafe_b64decode(access.split(".")[1] + "=="))
    roles = len(payload.get("resource_access", {}).get(MAF, {}).get("roles", []))
    return samples, len(access), roles


def measure(
    admin: Admin, base: str, realm: str, count: int, attribute: bool, repetitions: int
) -> list[Figures]:
    all_sirets = sirets(count)
    probe = [all_sirets[(index * 7919) % count] for index in range(repetitions)]
    figures: list[Figures] = []
    if attribute:
        figures.append(
            Figures(
                "titulaires d'un SIRET",
                timed(
                    repetitions,
                    lambda i: admin.call(
                        "GET",
                        f"/{realm}/users",
                        params={
                            "q": f"habilitation:{MAF}:gestionnaire:{probe[i]}",
                            "exact": "true",
                            "briefRepresentation": "true",
                        },
                    ).json(),
                ),
            )
        )
        figures.append(
            Figures(
                "titulaires d'un SIRET (q sans exact)",
                timed(
                    repetitions,
                    lambda i: admin.call(
                        "GET",
                        f"/{realm}/users",
                        params={
                            "q": f"habilitation:{MAF}:gestionnaire:{probe[i]}",
                            "briefRepresentation": "true",
                        },
                    ).json(),
                ),
            )
        )
    else:

        def holders(i: int) -> None:
            found = admin.call(
                "GET", f"/{realm}/groups", params={"search": probe[i], "max": 10}
            ).json()
            # The search answers the path down to the match; walk to the role groups' members.
            establishment = found[0]["subGroups"][0]
            demarche = admin.call("GET", f"/{realm}/groups/{establishment['id']}/children").json()[
                0
            ]
            for role_group_ in admin.call(
                "GET", f"/{realm}/groups/{demarche['id']}/children"
            ).json():
                admin.call(
                    "GET",
                    f"/{realm}/groups/{role_group_['id']}/members",
                    params={"briefRepresentation": "true"},
                )

        figures.append(Figures("titulaires d'un SIRET", timed(repetitions, holders)))
    user_ids = [
        admin.call(
            "GET",
            f"/{realm}/users",
            params={"username": f"personne{(i * 7919) % count}", "exact": "true"},
        ).json()[0]["id"]
        for i in range(repetitions)
    ]
    tiers_id = admin.call(
        "GET", f"/{realm}/users", params={"username": "tiers", "exact": "true"}
    ).json()[0]["id"]
    if attribute:
        figures.append(
            Figures(
                "droits d'une personne",
                timed(repetitions, lambda i: admin.call("GET", f"/{realm}/users/{user_ids[i]}")),
            )
        )
        figures.append(
            Figures(
                "droits du tiers (1000)",
                timed(repetitions, lambda i: admin.call("GET", f"/{realm}/users/{tiers_id}")),
            )
        )
    else:
        figures.append(
            Figures(
                "droits d'une personne",
                timed(
                    repetitions,
                    lambda i: admin.call(
                        "GET", f"/{realm}/users/{user_ids[i]}/groups", params={"max": 1000}
                    ),
                ),
            )
        )
        figures.append(
            Figures(
                "droits du tiers (1000)",
                timed(
                    repetitions,
                    lambda i: admin.call(
                        "GET", f"/{realm}/users/{tiers_id}/groups", params={"max": 1000}
                    ),
                ),
            )
        )
    figures.append(
        Figures(
            "recherche de personnes (nom)",
            timed(
                repetitions,
                lambda i: admin.call(
                    "GET",
                    f"/{realm}/users",
                    params={"search": f"Nom{(i * 7919) % count}", "max": 20},
                ),
            ),
        )
    )
    figures.append(
        Figures(
            "console : 1re page de groupes",
            timed(
                repetitions,
                lambda i: admin.call("GET", f"/{realm}/groups", params={"first": 0, "max": 20}),
            ),
        )
    )
    if not attribute:
        parent = admin.call(
            "GET", f"/{realm}/groups", params={"search": "etablissements", "max": 1}
        ).json()[0]["id"]
        figures.append(
            Figures(
                "console : 1re page des établissements",
                timed(
                    repetitions,
                    lambda i: admin.call(
                        "GET", f"/{realm}/groups/{parent}/children", params={"first": 0, "max": 20}
                    ),
                ),
            )
        )
    # One membership change: give person i the declarant role on its SIRET, then take it back.
    targets = [((i * 7919) % count) for i in range(repetitions)]
    if attribute:
        declarant = admin.call("GET", f"/{realm}/groups", params={"search": "declarant"}).json()[0][
            "subGroups"
        ][0]["subGroups"][0]["id"]

        def add(i: int) -> None:
            user = admin.call("GET", f"/{realm}/users/{user_ids[i]}").json()
            user["attributes"]["habilitation"].append(f"{MAF}:declarant:{all_sirets[targets[i]]}")
            admin.call("PUT", f"/{realm}/users/{user_ids[i]}", json=user)
            admin.call("PUT", f"/{realm}/users/{user_ids[i]}/groups/{declarant}")

        def remove(i: int) -> None:
            user = admin.call("GET", f"/{realm}/users/{user_ids[i]}").json()
            user["attributes"]["habilitation"] = [
                v for v in user["attributes"]["habilitation"] if ":declarant:" not in v
            ]
            admin.call("PUT", f"/{realm}/users/{user_ids[i]}", json=user)
            admin.call("DELETE", f"/{realm}/users/{user_ids[i]}/groups/{declarant}")
    else:

        def group_of(i: int) -> str:
            found = admin.call(
                "GET", f"/{realm}/groups", params={"search": all_sirets[targets[i]], "max": 1}
            ).json()
            establishment = found[0]["subGroups"][0]
            demarche = admin.call("GET", f"/{realm}/groups/{establishment['id']}/children").json()[
                0
            ]
            children = admin.call("GET", f"/{realm}/groups/{demarche['id']}/children").json()
            return str(next(g["id"] for g in children if g["name"] == "declarant"))

        def add(i: int) -> None:
            admin.call("PUT", f"/{realm}/users/{user_ids[i]}/groups/{group_of(i)}")

        def remove(i: int) -> None:
            admin.call("DELETE", f"/{realm}/users/{user_ids[i]}/groups/{group_of(i)}")

    figures.append(Figures("ajouter une habilitation", timed(repetitions, add)))
    figures.append(Figures("retirer une habilitation", timed(repetitions, remove)))
    samples, size, roles = token_figures(base, realm, "personne0", repetitions)
    figures.append(Figures(f"jeton d'un gestionnaire ({size} o, {roles} rôles)", samples))
    samples, size, roles = token_figures(base, realm, "tiers", repetitions)
    figures.append(Figures(f"jeton du tiers à 1000 clients ({size} o, {roles} rôles)", samples))
    return figures


@contextmanager
def keycloak_on_postgres(realms: Path) -> Iterator[str]:
    """Keycloak (a private copy of the distribution) on a fresh PostgreSQL, importing `realms`."""
    with running_postgres() as url, tempfile.TemporaryDirectory(prefix="mesure-kc-") as folder:
        port = url.rsplit(":", 1)[1].split("/")[0]
        home = Path(folder) / "keycloak"
        shutil.copytree(ensure_distribution(CACHE_DIR), home, symlinks=True)
        config = KeycloakConfig(
            home=home,
            data_dir=Path(folder) / "data",
            http_port=free_port(),
            management_port=free_port(),
            realm_dir=realms,
            ready_timeout=7200,
            database=(
                "--db=postgres",
                f"--db-url=jdbc:postgresql://127.0.0.1:{port}/postgres",
                "--db-username=postgres",
                "--db-password=postgres",
            ),
        )
        with KeycloakServer(config):
            yield config.base_url


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tailles", default="10000,100000")
    parser.add_argument("--repetitions", type=int, default=30)
    parser.add_argument(
        "--groupes-jusqua",
        type=int,
        default=10000,
        help="plus grande taille chargée pour (a) ; au-delà, la durée de chargement est estimée",
    )
    args = parser.parse_args(argv)
    sizes = [int(size) for size in args.tailles.split(",")]
    runs = [(size, name) for size in sizes for name in ("groupes", "attribut")]
    runs = [
        (size, name) for size, name in runs if name == "attribut" or size <= args.groupes_jusqua
    ]
    results: dict[tuple[int, str], list[Figures]] = {}
    rates: dict[int, float] = {}
    with tempfile.TemporaryDirectory(prefix="mesure-realms-") as realms:
        for size, name in runs:
            write_realm(Path(realms), f"mesure-{name}-{size}", size, name == "attribut")
        print("Import des realms au démarrage de Keycloak…", flush=True)
        started = time.perf_counter()
        with keycloak_on_postgres(Path(realms)) as base:
            print(
                f"Keycloak prêt, import compris, en {time.perf_counter() - started:.0f} s",
                flush=True,
            )
            admin = Admin(base)
            for size, name in runs:
                realm = f"mesure-{name}-{size}"
                if name == "attribut":
                    declare_attribute(admin, realm)
                else:
                    rates[size] = build_groups(admin, realm, size)
                    print(f"{realm} : {rates[size]:.0f} groupes créés par seconde", flush=True)
                results[(size, name)] = measure(
                    admin, base, realm, size, name == "attribut", args.repetitions
                )
                print(realm, flush=True)
                for figure in results[(size, name)]:
                    print(f"  {figure.label:55} {figure.line()}", flush=True)
    print("\nRésultats (p50 / p95), Keycloak 26.7.3 sur PostgreSQL 15, cette machine :")
    for size in sizes:
        print(f"\n== {size} établissements ==")
        for name in ("groupes", "attribut"):
            print(f"-- ({'a' if name == 'groupes' else 'b'}) {name}")
            if (size, name) not in results:
                rate = max(rates.values(), default=0.0)
                if rate:
                    print(
                        f"  non chargé : {4 * size} groupes à {rate:.0f}/s "
                        f"≈ {4 * size / rate / 60:.0f} min de chargement"
                    )
                continue
            if name == "groupes":
                print(f"  chargement : {rates[size]:.0f} groupes/s par l'API d'administration")
            for figure in results[(size, name)]:
                print(f"  {figure.label:55} {figure.line()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
