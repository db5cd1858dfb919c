"""Fetch, check and unpack the pinned Keycloak server distribution from Maven Central.

The archive is verified against a SHA-512 pinned here (not only the checksum published
beside it), unpacked into a temporary folder and renamed into place, so an interrupted
or corrupt download never leaves a half-usable distribution in the cache.
"""

from __future__ import annotations

import hashlib
import shutil
import tarfile
import tempfile
from pathlib import Path

import httpx
from tqdm import tqdm

from bridge.devstack.errors import StackError

KEYCLOAK_VERSION = "26.7.3"
KEYCLOAK_SHA512 = (
    "664c8ac2997d94b69825af70acc3a6017a7a53a1504a6e21b2d82a04e5f53593"
    "b30cabdf80ffe3eb661f13442a57fbc15c4186a1899f2841e8145532e5ae7e1c"
)
MAVEN_CENTRAL = "https://repo1.maven.org/maven2"
_ARTIFACT_PATH = "org/keycloak/keycloak-quarkus-dist"
_READY_MARKER = ".verified"


def archive_url(version: str = KEYCLOAK_VERSION, repository: str = MAVEN_CENTRAL) -> str:
    """Address of the distribution archive in a Maven repository."""
    name = f"keycloak-quarkus-dist-{version}.tar.gz"
    return f"{repository.rstrip('/')}/{_ARTIFACT_PATH}/{version}/{name}"


def ensure_distribution(
    cache_dir: Path,
    *,
    version: str = KEYCLOAK_VERSION,
    expected_sha512: str | None = KEYCLOAK_SHA512,
    repository: str = MAVEN_CENTRAL,
    progress: bool = True,
) -> Path:
    """Return the unpacked Keycloak home, downloading it only when the cache lacks it.

    `expected_sha512=None` (another version than the pinned one) trusts the `.sha512`
    file published next to the archive instead.
    """
    home = cache_dir / f"keycloak-{version}"
    if (home / _READY_MARKER).is_file():
        return home
    cache_dir.mkdir(parents=True, exist_ok=True)
    url = archive_url(version, repository)
    with tempfile.TemporaryDirectory(dir=cache_dir, prefix=".download-") as tmp:
        archive = Path(tmp) / "keycloak.tar.gz"
        _download(url, archive, progress=progress)
        expected = expected_sha512 or _published_sha512(url)
        actual = _sha512(archive)
        if actual != expected:
            raise _corrupt(version)
        unpack_dir = Path(tmp) / "unpacked"
        try:
            with tarfile.open(archive, "r:gz") as tar:
                tar.extractall(unpack_dir, filter="data")
        except (tarfile.TarError, OSError) as exc:
            raise StackError(
                f"L'archive de Keycloak {version} ne se décompresse pas ({exc}) : "
                "vérifiez l'espace disque libre puis relancez la commande."
            ) from exc
        unpacked = unpack_dir / f"keycloak-{version}"
        if not (unpacked / "bin" / "kc.sh").is_file():
            raise StackError(
                f"L'archive de Keycloak {version} ne contient pas bin/kc.sh : "
                "supprimez le dossier .cache et relancez la commande."
            )
        (unpacked / _READY_MARKER).write_text(actual + "\n")
        if home.exists():
            shutil.rmtree(home)
        unpacked.rename(home)
    return home


def ensure_archive(cache_dir: Path, *, progress: bool = True) -> Path:
    """Return the pinned distribution archive itself, verified and kept in the cache.

    The Docker stand-in of the official image is built from it (tests/support/docker_engine.py).
    """
    version = KEYCLOAK_VERSION
    archive = cache_dir / f"keycloak-quarkus-dist-{version}.tar.gz"
    if archive.is_file() and _sha512(archive) == KEYCLOAK_SHA512:
        return archive
    cache_dir.mkdir(parents=True, exist_ok=True)
    partial = archive.with_suffix(".partial")
    _download(archive_url(version), partial, progress=progress)
    if _sha512(partial) != KEYCLOAK_SHA512:
        partial.unlink()
        raise _corrupt(version)
    partial.rename(archive)
    return archive


def _corrupt(version: str) -> StackError:
    return StackError(
        f"L'archive de Keycloak {version} téléchargée est corrompue (empreinte SHA-512 "
        "inattendue) : relancez la commande ; si l'erreur persiste, vérifiez l'accès à "
        "Maven Central ou un éventuel proxy."
    )


def _download(url: str, target: Path, *, progress: bool) -> None:
    try:
        with httpx.stream("GET", url, follow_redirects=True, timeout=60) as response:
            if response.status_code != 200:
                raise StackError(
                    f"Le téléchargement de Keycloak a échoué ({url} a répondu "
                    f"{response.status_code}) : vérifiez la version demandée et l'accès à "
                    "Maven Central."
                )
            total = int(response.headers.get("content-length", 0)) or None
            with (
                target.open("wb") as out,
                tqdm(
                    total=total,
                    unit="B",
                    unit_scale=True,
                    desc="Téléchargement de Keycloak",
                    disable=not progress,
                ) as bar,
            ):
                for chunk in response.iter_bytes(1 << 20):
                    out.write(chunk)
                    bar.update(len(chunk))
    except httpx.HTTPError as exc:
        raise StackError(
            f"Le téléchargement de Keycloak a échoué ({exc.__class__.__name__} sur {url}) : "
            "vérifiez la connexion réseau vers Maven Central puis relancez la commande."
        ) from exc


def _published_sha512(url: str) -> str:
    try:
        response = httpx.get(url + ".sha512", follow_redirects=True, timeout=30)
    except httpx.HTTPError as exc:
        raise StackError(
            f"L'empreinte de l'archive de Keycloak est inaccessible ({exc.__class__.__name__}) : "
            "vérifiez l'accès à Maven Central."
        ) from exc
    if response.status_code != 200:
        raise StackError(
            f"L'empreinte de l'archive de Keycloak est introuvable ({response.status_code}) : "
            "vérifiez la version demandée."
        )
    return response.text.split()[0].strip().lower()


def _sha512(path: Path) -> str:
    digest = hashlib.sha512()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
