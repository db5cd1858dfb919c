"""The operator command line and a running `make run` platform use one store (#21): the
command finds the platform's store from the marker the platform leaves, or refuses with one
sentence naming both stores, and never writes anywhere else."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bridge.cli import main
from bridge.local_platform import MARKER_NAME, announce, running_platform, withdraw


@pytest.fixture
def stack_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The state folder of a local platform, as `demarches-stack run` lays it out."""
    folder = tmp_path / "stack"
    folder.mkdir()
    monkeypatch.setenv("DEVSTACK_STATE_DIR", str(folder))
    monkeypatch.delenv("BRIDGE_DATABASE_URL", raising=False)
    monkeypatch.setenv("BRIDGE_CODE_PEPPER", "poivre-des-tests-de-la-plateforme-locale")
    return folder


def test_a_command_run_beside_the_platform_writes_into_the_platform_store(
    stack_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = stack_dir / "bridge.db"
    announce(stack_dir, f"sqlite:///{store}", "http://127.0.0.1:1")  # this process runs it

    assert main(["db", "upgrade"]) == 0

    out, err = capsys.readouterr()
    assert store.exists()
    assert f"Base de données à jour : sqlite:///{store}" in out
    assert f"Plateforme locale en marche : base sqlite:///{store}." in err


def test_an_other_store_named_while_the_platform_runs_is_refused_and_left_untouched(
    stack_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    store, elsewhere = stack_dir / "bridge.db", tmp_path / "ailleurs.db"
    announce(stack_dir, f"sqlite:///{store}", "http://127.0.0.1:1")
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
    stack_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = stack_dir / "bridge.db"
    announce(stack_dir, f"sqlite:///{store}", "http://127.0.0.1:1")
    monkeypatch.setenv("BRIDGE_DATABASE_URL", f"sqlite:///{stack_dir}/./bridge.db")

    assert main(["db", "upgrade"]) == 0
    assert store.exists()


def test_a_marker_left_by_a_stopped_platform_is_ignored(
    stack_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ended = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    (stack_dir / MARKER_NAME).write_text(
        f'{{"pid": {int(ended.stdout)}, "base_de_donnees": "sqlite:///{stack_dir}/bridge.db", '
        '"keycloak": "http://127.0.0.1:1"}',
        encoding="utf-8",
    )
    own = tmp_path / "propre.db"
    monkeypatch.setenv("BRIDGE_DATABASE_URL", f"sqlite:///{own}")

    assert running_platform() is None
    assert main(["db", "upgrade"]) == 0
    assert own.exists()
    assert not (stack_dir / "bridge.db").exists()


def test_the_marker_goes_with_the_platform(stack_dir: Path) -> None:
    announce(stack_dir, f"sqlite:///{stack_dir}/bridge.db", "http://127.0.0.1:1")
    assert running_platform() is not None
    withdraw(stack_dir)
    assert running_platform() is None
