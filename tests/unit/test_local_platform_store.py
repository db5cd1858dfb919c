"""The operator command line and a running `make run` platform use one store (#21): the
command finds the platform's store from the marker the platform leaves, or refuses with one
sentence naming both stores, and never writes anywhere else.

The marker is believed only while the platform holds its lock, and only when it is the
user's private file naming a SQLite store of the state folder and a Keycloak on the loopback:
otherwise a marker left after a SIGKILL (its process id reused) or written by someone else
would send the commands' writes, and the Keycloak admin password, elsewhere."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bridge.cli import main
from bridge.local_platform import MARKER_NAME, Announcement, announce, running_platform

# Holds the lock on a marker from another process, as `demarches-stack run` does, until its
# stdin closes: argv[1] is the marker, written with the given content and mode 0600 first.
LOCK_HOLDER = """
import fcntl, os, sys
marker, content = sys.argv[1], sys.argv[2]
descriptor = os.open(marker, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
os.write(descriptor, content.encode())
fcntl.flock(descriptor, fcntl.LOCK_EX)
print("verrou", flush=True)
sys.stdin.read()
"""

HoldMarker = Callable[[dict[str, object]], Path]


@pytest.fixture
def stack_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The state folder of a local platform, as `demarches-stack run` lays it out."""
    folder = tmp_path / "stack"
    folder.mkdir()
    monkeypatch.setenv("DEVSTACK_STATE_DIR", str(folder))
    monkeypatch.delenv("BRIDGE_DATABASE_URL", raising=False)
    monkeypatch.setenv("BRIDGE_CODE_PEPPER", "poivre-des-tests-de-la-plateforme-locale")
    return folder


@pytest.fixture
def announced(stack_dir: Path) -> Iterator[Announcement]:
    """This test process runs the platform: its marker, locked for the test's length."""
    marker = announce(stack_dir, f"sqlite:///{stack_dir / 'bridge.db'}", "http://127.0.0.1:1")
    yield marker
    marker.withdraw()


def _held_by_another_process(marker: Path, content: dict[str, object]) -> subprocess.Popen[str]:
    holder = subprocess.Popen(
        [sys.executable, "-c", LOCK_HOLDER, str(marker), json.dumps(content)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None
    assert holder.stdout.readline() == "verrou\n"
    return holder


@pytest.fixture
def hold_marker(stack_dir: Path) -> Iterator[HoldMarker]:
    """Write a marker whose lock another process holds, like a running platform's."""
    holders: list[subprocess.Popen[str]] = []

    def hold(content: dict[str, object]) -> Path:
        holders.append(_held_by_another_process(stack_dir / MARKER_NAME, content))
        return stack_dir / MARKER_NAME

    yield hold
    for holder in holders:
        holder.communicate("")


def test_a_command_run_beside_the_platform_writes_into_the_platform_store(
    stack_dir: Path, announced: Announcement, capsys: pytest.CaptureFixture[str]
) -> None:
    store = stack_dir / "bridge.db"

    assert main(["db", "upgrade"]) == 0

    out, err = capsys.readouterr()
    assert store.exists()
    assert f"Base de données à jour : sqlite:///{store}" in out
    assert f"Plateforme locale en marche : base sqlite:///{store}." in err


def test_a_platform_running_in_another_process_is_found_through_its_lock(
    stack_dir: Path, hold_marker: HoldMarker, capsys: pytest.CaptureFixture[str]
) -> None:
    store = stack_dir / "bridge.db"
    hold_marker(
        {"pid": 1, "base_de_donnees": f"sqlite:///{store}", "keycloak": "http://localhost:1"}
    )

    found = running_platform()
    assert found is not None
    assert (found.database_url, found.keycloak_url) == (f"sqlite:///{store}", "http://localhost:1")
    assert main(["db", "upgrade"]) == 0
    assert store.exists()
    assert f"Plateforme locale en marche : base sqlite:///{store}." in capsys.readouterr().err


def test_an_other_store_named_while_the_platform_runs_is_refused_and_left_untouched(
    stack_dir: Path,
    announced: Announcement,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    store, elsewhere = stack_dir / "bridge.db", tmp_path / "ailleurs.db"
    monkeypatch.setenv("BRIDGE_DATABASE_URL", f"sqlite:///{elsewhere}")

    assert (
        main(["operateur", "code", "73282932000074", "--demarche", "mon-activite-formation"]) == 2
    )

    err = capsys.readouterr().err
    assert f"La plateforme locale (make run) tourne avec la base sqlite:///{store}" in err
    assert f"BRIDGE_DATABASE_URL désigne la base sqlite:///{elsewhere}" in err
    assert not elsewhere.exists()
    assert not store.exists()


def test_the_platform_store_named_explicitly_is_accepted(
    stack_dir: Path, announced: Announcement, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = stack_dir / "bridge.db"
    monkeypatch.setenv("BRIDGE_DATABASE_URL", f"sqlite:///{stack_dir}/./bridge.db")

    assert main(["db", "upgrade"]) == 0
    assert store.exists()


def test_a_marker_left_by_a_killed_platform_is_ignored_even_if_its_pid_runs(
    stack_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # What a SIGKILLed platform leaves: its marker, whose process id now names a live
    # process (here this one), and no lock holder.
    marker = stack_dir / MARKER_NAME
    marker.write_text(
        json.dumps(
            {
                "pid": os.getpid(),
                "base_de_donnees": f"sqlite:///{stack_dir}/bridge.db",
                "keycloak": "http://127.0.0.1:1",
            }
        ),
        encoding="utf-8",
    )
    marker.chmod(0o600)
    own = tmp_path / "propre.db"
    monkeypatch.setenv("BRIDGE_DATABASE_URL", f"sqlite:///{own}")

    assert main(["db", "upgrade"]) == 0

    assert own.exists()
    assert not (stack_dir / "bridge.db").exists()
    err = capsys.readouterr().err
    assert err.count(f"Marqueur de plateforme locale périmé ignoré : {marker}") == 1
    assert "Plateforme locale en marche" not in err


@pytest.mark.parametrize(
    ("store", "keycloak", "reason"),
    [
        ("sqlite:///{outside}", "http://127.0.0.1:1", "qui n'est pas un fichier SQLite de"),
        ("sqlite:///{stack}/../ailleurs.db", "http://127.0.0.1:1", "qui n'est pas un fichier"),
        ("postgresql://u:p@db.exemple.fr/bridge", "http://127.0.0.1:1", "qui n'est pas un"),
        ("sqlite:///{stack}/bridge.db", "https://keycloak.exemple.fr", "pas sur cette machine"),
        ("sqlite:///{stack}/bridge.db", "http://127.0.0.1.exemple.fr:8080", "pas sur cette"),
    ],
    ids=["base-hors-du-dossier", "base-qui-en-sort", "base-distante", "keycloak-distant", "piege"],
)
def test_a_marker_naming_a_store_or_keycloak_the_platform_never_uses_is_refused(
    stack_dir: Path,
    tmp_path: Path,
    hold_marker: HoldMarker,
    capsys: pytest.CaptureFixture[str],
    store: str,
    keycloak: str,
    reason: str,
) -> None:
    outside = tmp_path / "ailleurs.db"
    marker = hold_marker(
        {
            "pid": 1,
            "base_de_donnees": store.format(outside=outside, stack=stack_dir),
            "keycloak": keycloak,
        }
    )

    assert main(["db", "upgrade"]) == 2

    err = capsys.readouterr().err
    assert f"Marqueur de plateforme locale refusé : {marker}" in err
    assert reason in err
    assert not outside.exists()


def test_a_marker_others_may_write_is_refused(
    stack_dir: Path,
    tmp_path: Path,
    hold_marker: HoldMarker,
    capsys: pytest.CaptureFixture[str],
) -> None:
    store = stack_dir / "bridge.db"
    marker = hold_marker(
        {"pid": 1, "base_de_donnees": f"sqlite:///{store}", "keycloak": "http://127.0.0.1:1"}
    )
    marker.chmod(0o666)

    assert main(["db", "upgrade"]) == 2

    err = capsys.readouterr().err
    assert f"Marqueur de plateforme locale refusé : {marker} a les droits 666 au lieu de 600" in err
    assert not store.exists()


def test_the_marker_is_written_whole_and_private(stack_dir: Path) -> None:
    marker = announce(stack_dir, f"sqlite:///{stack_dir}/bridge.db", "http://127.0.0.1:1")
    try:
        assert (marker.path.stat().st_mode & 0o777) == 0o600
        assert [p.name for p in stack_dir.iterdir()] == [MARKER_NAME]  # no temporary file left
    finally:
        marker.withdraw()


def test_the_marker_goes_with_the_platform(stack_dir: Path) -> None:
    marker = announce(stack_dir, f"sqlite:///{stack_dir}/bridge.db", "http://127.0.0.1:1")
    assert running_platform() is not None
    marker.withdraw()
    assert running_platform() is None
    assert not (stack_dir / MARKER_NAME).exists()


def test_the_lock_goes_with_a_platform_killed_without_warning(
    stack_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    announcing = (
        "import sys; from pathlib import Path; from bridge.local_platform import announce; "
        "kept = announce(Path(sys.argv[1]), sys.argv[2], 'http://127.0.0.1:1'); "
        "print('annoncee', flush=True); sys.stdin.read()"
    )
    with subprocess.Popen(
        [sys.executable, "-c", announcing, str(stack_dir), f"sqlite:///{stack_dir}/bridge.db"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    ) as platform:
        assert platform.stdout is not None
        assert platform.stdout.readline() == "annoncee\n"
        assert running_platform() is not None

        platform.kill()  # SIGKILL: no `withdraw`, the marker stays
        platform.wait()

    assert (stack_dir / MARKER_NAME).exists()
    assert running_platform() is None
    assert "Marqueur de plateforme locale périmé ignoré" in capsys.readouterr().err
