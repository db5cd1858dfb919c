"""Should employer organisations also be Keycloak Organizations? Measured, not guessed (#21).

    .venv/bin/python -m bench.organisations [--nombre 200] [--repetitions 30]

One Keycloak 26.7.3 (the development distribution, H2 file database: the ratios matter, not
the absolute figures) with a realm of N main administrators, one per organisation, and one
delegated administrator who administers every organisation (an accountant's firm: the case
where Organizations are reported to degrade, Keycloak issues 36984 and 46413). Each
organisation is projected both ways:

(a) `organizations`: a Keycloak Organization per employer organisation (alias = SIRET, a
    placeholder domain, which Keycloak requires), its people added as members;
(b) `attribut`: what the bridge does today for every démarche, the employer space included:
    the value `espace-employeur-cpf:{role}:{siret}` in the user attribute `habilitation`
    (one user update) and the role group's membership (once per person and role).

Printed: admin calls per organisation, organisations projected per second, and p50 / p95 of
« who administers this SIRET » and « which organisations does this person administer » each
way. Never asserted.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.mapping_candidates import Admin, Figures, sirets, timed
from bridge.devstack.keycloak_dist import ensure_distribution
from bridge.devstack.keycloak_server import KeycloakConfig, KeycloakServer
from bridge.devstack.ports import free_port
from bridge.devstack.stack import CACHE_DIR

REALM = "mesure-organisations"
DEMARCHE = "espace-employeur-cpf"
MAIN, DELEGATED = "administrateur-principal", "administrateur-delegue"


def write_realm(folder: Path, count: int) -> None:
    users: list[dict[str, Any]] = [
        {
            "username": f"principal{index}",
            "email": f"principal{index}@mesure.test",
            "firstName": "Prénom",
            "lastName": f"Nom{index}",
            "enabled": True,
            "emailVerified": True,
        }
        for index in range(count)
    ]
    users.append(
        {
            "username": "cabinet",
            "email": "cabinet@mesure.test",
            "firstName": "Cabinet",
            "lastName": "Comptable",
            "enabled": True,
            "emailVerified": True,
        }
    )
    (folder / f"{REALM}-realm.json").write_text(
        json.dumps(
            {
                "realm": REALM,
                "enabled": True,
                "organizationsEnabled": True,
                "groups": [
                    {
                        "name": "demarches",
                        "subGroups": [
                            {"name": DEMARCHE, "subGroups": [{"name": MAIN}, {"name": DELEGATED}]}
                        ],
                    }
                ],
                "users": users,
            }
        )
    )


def identity(username: str, first_name: str, last_name: str) -> dict[str, str]:
    """The profile's required fields, sent with each update as the bridge's worker does."""
    return {
        "username": username,
        "email": f"{username}@mesure.test",
        "firstName": first_name,
        "lastName": last_name,
    }


def declare_habilitation(admin: Admin) -> None:
    """The attribute must be declared, or Keycloak drops it silently (STYLE.md)."""
    profile = admin.call("GET", f"/{REALM}/users/profile").json()
    profile["attributes"].append(
        {
            "name": "habilitation",
            "multivalued": True,
            "permissions": {"view": ["admin"], "edit": ["admin"]},
        }
    )
    admin.call("PUT", f"/{REALM}/users/profile", json=profile)


def user_ids(admin: Admin) -> dict[str, str]:
    found: dict[str, str] = {}
    first = 0
    while True:
        page = admin.call(
            "GET",
            f"/{REALM}/users",
            params={"first": first, "max": 1000, "briefRepresentation": "true"},
        ).json()
        found.update({user["username"]: user["id"] for user in page})
        if len(page) < 1000:
            return found
        first += 1000


BATCH = 50


def project_organizations(
    admin: Admin, ids: dict[str, str], all_sirets: list[str]
) -> tuple[float, int, dict[str, str], list[float]]:
    """(a), with the time of each batch of `BATCH` organisations (does it grow?)."""
    calls = 0
    orgs: dict[str, str] = {}
    batches: list[float] = []
    start = batch_start = time.perf_counter()
    for index, siret in enumerate(all_sirets):
        reply = admin.call(
            "POST",
            f"/{REALM}/organizations",
            json={
                "name": f"Organisation {siret}",
                "alias": siret,
                "enabled": True,
                "domains": [{"name": f"{siret}.mesure.invalid"}],
            },
        )
        org = reply.headers["Location"].rsplit("/", 1)[1]
        orgs[siret] = org
        for person in (f"principal{index}", "cabinet"):
            admin.call("POST", f"/{REALM}/organizations/{org}/members", json=ids[person])
        calls += 3
        if (index + 1) % BATCH == 0:
            batches.append(time.perf_counter() - batch_start)
            print(f"(a) {index + 1} organisations : lot en {batches[-1]:.1f} s", flush=True)
            batch_start = time.perf_counter()
    return time.perf_counter() - start, calls, orgs, batches


def project_attribute(
    admin: Admin, ids: dict[str, str], all_sirets: list[str]
) -> tuple[float, int]:
    groups = {
        role: admin.call("GET", f"/{REALM}/group-by-path/demarches/{DEMARCHE}/{role}").json()["id"]
        for role in (MAIN, DELEGATED)
    }
    calls = 0
    delegated: list[str] = []
    start = time.perf_counter()
    for index, siret in enumerate(all_sirets):
        person = ids[f"principal{index}"]
        admin.call(
            "PUT",
            f"/{REALM}/users/{person}",
            json={
                **identity(f"principal{index}", "Prénom", f"Nom{index}"),
                "attributes": {"habilitation": [f"{DEMARCHE}:{MAIN}:{siret}"]},
            },
        )
        admin.call("PUT", f"/{REALM}/users/{person}/groups/{groups[MAIN]}")
        delegated.append(f"{DEMARCHE}:{DELEGATED}:{siret}")
        # The bridge sends the delegated administrator's whole map at each change.
        admin.call(
            "PUT",
            f"/{REALM}/users/{ids['cabinet']}",
            json={
                **identity("cabinet", "Cabinet", "Comptable"),
                "attributes": {"habilitation": delegated},
            },
        )
        calls += 3
    admin.call("PUT", f"/{REALM}/users/{ids['cabinet']}/groups/{groups[DELEGATED]}")
    return time.perf_counter() - start, calls + 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nombre", type=int, default=200)
    parser.add_argument("--repetitions", type=int, default=30)
    args = parser.parse_args(argv)
    count, repetitions = args.nombre, args.repetitions
    home = ensure_distribution(CACHE_DIR)
    with tempfile.TemporaryDirectory(prefix="mesure-organisations-") as folder:
        realms = Path(folder) / "realms"
        realms.mkdir()
        write_realm(realms, count)
        config = KeycloakConfig(
            home=home,
            data_dir=Path(folder) / "data",
            http_port=free_port(),
            management_port=free_port(),
            realm_dir=realms,
            ready_timeout=600,
        )
        with KeycloakServer(config):
            admin = Admin(config.base_url)
            declare_habilitation(admin)
            ids = user_ids(admin)
            all_sirets = sirets(count)
            seconds_a, calls_a, orgs, batches = project_organizations(admin, ids, all_sirets)
            print(
                f"(a) Organizations : {calls_a / count:.1f} appels par organisation, "
                f"{count / seconds_a:.1f} organisations/s",
                flush=True,
            )
            seconds_b, calls_b = project_attribute(admin, ids, all_sirets)
            print(
                f"(b) attribut + groupe : {calls_b / count:.1f} appels par organisation, "
                f"{count / seconds_b:.1f} organisations/s",
                flush=True,
            )
            cabinet = ids["cabinet"]

            def holders_a(index: int) -> object:
                siret = all_sirets[index % count]
                [org] = admin.call(
                    "GET",
                    f"/{REALM}/organizations",
                    params={"search": f"Organisation {siret}", "exact": "true"},
                ).json()
                return admin.call("GET", f"/{REALM}/organizations/{org['id']}/members").json()

            def holders_b(index: int) -> object:
                siret = all_sirets[index % count]
                return admin.call(
                    "GET",
                    f"/{REALM}/users",
                    params={"q": f"habilitation:{DEMARCHE}:{MAIN}:{siret}", "exact": "true"},
                ).json()

            def cabinet_a(_: int) -> object:
                return admin.call(
                    "GET", f"/{REALM}/organizations/members/{cabinet}/organizations"
                ).json()

            def cabinet_b(_: int) -> object:
                return admin.call("GET", f"/{REALM}/users/{cabinet}").json()

            figures = [
                Figures("(a) qui administre ce SIRET", timed(repetitions, holders_a)),
                Figures("(b) qui administre ce SIRET", timed(repetitions, holders_b)),
                Figures(f"(a) les {count} organisations du cabinet", timed(repetitions, cabinet_a)),
                Figures(f"(b) les {count} organisations du cabinet", timed(repetitions, cabinet_b)),
            ]
            assert len(orgs) == count
    print(f"Keycloak 26.7.3 (H2), {count} organisations, p50 / p95 sur {repetitions} appels")
    print(
        f"(a) secondes par lot de {BATCH}, dans l'ordre : "
        + ", ".join(f"{seconds:.1f}" for seconds in batches)
    )
    for figure in figures:
        print(f"{figure.label:45s} {figure.line()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
