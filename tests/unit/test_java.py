"""A missing or unusable Java is one clear sentence, before anything starts."""

from __future__ import annotations

from pathlib import Path

import pytest

from bridge.devstack.errors import StackError
from bridge.devstack.java import find_java


def test_no_java_on_path_says_how_to_install_one(tmp_path: Path) -> None:
    with pytest.raises(StackError, match="Java est introuvable : installez un JDK 17 ou 21"):
        find_java({"PATH": str(tmp_path)})


def test_java_home_without_java_is_named(tmp_path: Path) -> None:
    with pytest.raises(StackError, match=f"JAVA_HOME désigne {tmp_path}"):
        find_java({"JAVA_HOME": str(tmp_path), "PATH": ""})


def test_too_old_java_is_refused(tmp_path: Path) -> None:
    fake = tmp_path / "bin" / "java"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\necho 'openjdk version \"11.0.2\" 2019-01-15' >&2\n")
    fake.chmod(0o755)
    with pytest.raises(StackError, match="Java 11 est trop ancien"):
        find_java({"JAVA_HOME": str(tmp_path), "PATH": ""})


def test_the_machine_java_is_accepted() -> None:
    assert find_java().name == "java"
