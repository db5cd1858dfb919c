"""Download, check and unpack of the Keycloak distribution, against a loopback repository."""

from __future__ import annotations

import hashlib
import io
import tarfile
import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from bridge.devstack.errors import StackError
from bridge.devstack.keycloak_dist import archive_url, ensure_distribution

VERSION = "0.0.0-test"


def _fake_distribution() -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        script = b"#!/bin/sh\necho keycloak\n"
        info = tarfile.TarInfo(f"keycloak-{VERSION}/bin/kc.sh")
        info.size = len(script)
        info.mode = 0o755
        tar.addfile(info, io.BytesIO(script))
    return buffer.getvalue()


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        """Keep test output clean."""


@pytest.fixture
def repository(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A Maven-like repository served on loopback from a folder."""
    root = tmp_path / "repository"
    root.mkdir()
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_Quiet, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", root
    server.shutdown()
    server.server_close()


def _publish(root: Path, base: str, content: bytes) -> Path:
    target = root / archive_url(VERSION, base).removeprefix(base + "/")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(content)
    return target


def test_a_checked_archive_is_unpacked_once_and_reused(
    repository: tuple[str, Path], tmp_path: Path
) -> None:
    base, root = repository
    content = _fake_distribution()
    archive = _publish(root, base, content)
    cache = tmp_path / "cache"
    home = ensure_distribution(
        cache,
        version=VERSION,
        expected_sha512=hashlib.sha512(content).hexdigest(),
        repository=base,
        progress=False,
    )
    assert (home / "bin" / "kc.sh").is_file()
    archive.unlink()  # a second call must not need the network
    assert ensure_distribution(cache, version=VERSION, repository=base, progress=False) == home


def test_a_published_checksum_is_used_for_other_versions(
    repository: tuple[str, Path], tmp_path: Path
) -> None:
    base, root = repository
    content = _fake_distribution()
    archive = _publish(root, base, content)
    archive.with_name(archive.name + ".sha512").write_text(hashlib.sha512(content).hexdigest())
    home = ensure_distribution(
        tmp_path / "cache", version=VERSION, expected_sha512=None, repository=base, progress=False
    )
    assert (home / "bin" / "kc.sh").is_file()


def test_a_corrupt_download_is_refused_and_leaves_nothing(
    repository: tuple[str, Path], tmp_path: Path
) -> None:
    base, root = repository
    _publish(root, base, b"ceci n'est pas une archive")
    cache = tmp_path / "cache"
    with pytest.raises(StackError, match=r"corrompue .* relancez la commande"):
        ensure_distribution(
            cache, version=VERSION, expected_sha512="0" * 128, repository=base, progress=False
        )
    assert list(cache.iterdir()) == []


def test_a_missing_archive_names_the_address(repository: tuple[str, Path], tmp_path: Path) -> None:
    base, _ = repository
    with pytest.raises(StackError, match="a répondu 404"):
        ensure_distribution(tmp_path / "cache", version=VERSION, repository=base, progress=False)


def test_an_unreachable_repository_says_to_check_the_network(tmp_path: Path) -> None:
    with pytest.raises(StackError, match="vérifiez la connexion réseau"):
        ensure_distribution(
            tmp_path / "cache", version=VERSION, repository="http://127.0.0.1:9", progress=False
        )
