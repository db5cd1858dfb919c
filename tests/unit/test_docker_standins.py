"""The stand-in images' fingerprint: what decides whether a stand-in is rebuilt (no engine)."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.support.docker_engine import STANDINS_DIR, _fingerprint


def files_of(folder: Path) -> list[Path]:
    return sorted(folder.iterdir())


def test_the_fingerprint_is_the_same_wherever_the_checkout_is(tmp_path: Path) -> None:
    # Two checkouts on either side (by path) of a shared file, like the host's CAs.
    near, far = tmp_path / "a" / "keycloak", tmp_path / "z" / "keycloak"
    for copy in (near, far):
        shutil.copytree(STANDINS_DIR / "keycloak", copy)
    shared = tmp_path / "m" / "autorite.crt"
    shared.parent.mkdir()
    shared.write_text("certificat")

    assert _fingerprint([*files_of(near), shared]) == _fingerprint([*files_of(far), shared])


def test_the_fingerprint_changes_with_a_file_of_the_stand_in(tmp_path: Path) -> None:
    folder = tmp_path / "keycloak"
    shutil.copytree(STANDINS_DIR / "keycloak", folder)
    before = _fingerprint(files_of(folder))
    (folder / "Dockerfile").write_text((folder / "Dockerfile").read_text() + "# changé\n")

    assert _fingerprint(files_of(folder)) != before
