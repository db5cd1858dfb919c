"""Keycloak's version is one setting: `KEYCLOAK_VERSION` in bridge/devstack/keycloak_dist.py.

The local stack, the test harness (testcontainers' image name, the Docker stand-ins) read
it from there; the files that cannot import Python (Dockerfile, compose, the providers' pom,
the docs) must name the same version, so that moving to the next 26.x (README, « Monter de
version Keycloak ») never leaves one place behind.
"""

from __future__ import annotations

import re

import pytest

from bridge.devstack.keycloak_dist import KEYCLOAK_SHA512, KEYCLOAK_VERSION
from bridge.settings import REPO_ROOT

# (file, pattern whose group is the version named there); each must match at least once.
PLACES = [
    ("keycloak/Dockerfile", r"FROM quay\.io/keycloak/keycloak:(\S+)"),
    ("docker-compose.yml", r"image: demarches-keycloak:(\S+)"),
    ("keycloak/providers/pom.xml", r"<keycloak\.version>([^<]+)</keycloak\.version>"),
    ("keycloak/providers/pom.xml", r"the Keycloak (\S+) distribution"),
    ("tests/docker/standins/keycloak/Dockerfile", r"quay\.io/keycloak/keycloak:(\S+)"),
    ("tests/docker/README.md", r"quay\.io/keycloak/keycloak:([0-9][0-9.]*[0-9])"),
    ("tests/support/docker_engine.py", r"quay\.io/keycloak/keycloak:([0-9][0-9.]*[0-9])"),
    ("README.md", r"\*\*Keycloak version\*\*: ([0-9.]+)"),
    ("README.md", r"image `quay\.io/keycloak/keycloak:([0-9.]+)`"),
]


@pytest.mark.parametrize(("path", "pattern"), PLACES)
def test_every_place_names_the_version_the_local_stack_runs(path: str, pattern: str) -> None:
    named = re.findall(pattern, (REPO_ROOT / path).read_text(encoding="utf-8"))
    assert named, f"{path} ne nomme plus la version de Keycloak ({pattern})"
    assert set(named) == {KEYCLOAK_VERSION}, (
        f"{path} nomme Keycloak {sorted(set(named))}, bridge/devstack/keycloak_dist.py "
        f"{KEYCLOAK_VERSION} : changez-les ensemble (README, « Monter de version Keycloak »)"
    )


def test_the_pinned_checksum_is_a_sha512() -> None:
    assert re.fullmatch(r"[0-9a-f]{128}", KEYCLOAK_SHA512)
