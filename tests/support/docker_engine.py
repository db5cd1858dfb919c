"""The Docker engine, the local stand-ins of the official images, and `docker compose`.

Test helper. This machine reaches no image registry, so the images the compose file and
the testcontainers path name (`quay.io/keycloak/keycloak:26.7.3`, `postgres:15`, …) are
built here under the same names from Debian's packages (`debootstrap`) and the Keycloak
distribution of Maven Central: see tests/docker/README.md. A machine that can pull keeps
the official images: an image already present and not built by us is never replaced.

Every failure is one French sentence saying what is wrong and what to do.

    python -m tests.support.docker_engine     # build (or reuse) the stand-ins
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bridge.devstack.keycloak_dist import KEYCLOAK_VERSION, ensure_archive
from bridge.devstack.stack import CACHE_DIR
from bridge.settings import REPO_ROOT

STANDINS_DIR = REPO_ROOT / "tests" / "docker" / "standins"
DOCKER_CACHE = CACHE_DIR / "docker"
BASE_IMAGE = "demarches-standin/debian:bookworm"
STANDIN_LABEL = "org.demarches.standin"
# Extra certificate authorities of the host (a TLS-inspecting proxy): the stand-ins trust
# them so that pip, npm and Maven inside image builds reach their registries like the host.
HOST_EXTRA_CAS = Path("/usr/local/share/ca-certificates")

# Official image name → folder of its stand-in under tests/docker/standins/.
STANDINS: dict[str, str] = {
    f"quay.io/keycloak/keycloak:{KEYCLOAK_VERSION}": "keycloak",
    "postgres:15": "postgres",
    "python:3.11-slim": "python",
    "node:20-slim": "node",
    "maven:3.9-eclipse-temurin-17": "maven",
    "nginx:1.27": "nginx",
    "prom/prometheus:v2.42.0": "prometheus",
    "prom/alertmanager:v0.25.0": "alertmanager",
}


class DockerError(RuntimeError):
    """A Docker step failed; the message says what to do."""


def run(
    args: Sequence[str],
    *,
    timeout: float = 600,
    check: bool = True,
) -> subprocess.CompletedProcess[str]:
    """Run a docker command, its output captured; a failure raises with its last lines."""
    try:
        done = subprocess.run(
            list(args),
            capture_output=True,
            text=True,
            timeout=timeout,
            env={**os.environ, "DOCKER_BUILDKIT": "0"},
            check=False,
        )
    except FileNotFoundError as exc:
        raise DockerError(
            f"La commande « {args[0]} » est introuvable : installez Docker "
            "(« make setup-docker » installe docker.io et docker-compose sous Debian)."
        ) from exc
    except subprocess.TimeoutExpired as exc:
        raise DockerError(
            f"« {' '.join(args[:3])} » n'a pas fini en {timeout:.0f} s : le moteur Docker est "
            "peut-être bloqué ; redémarrez-le (« make setup-docker »)."
        ) from exc
    if check and done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-15:])
        raise DockerError(f"« {' '.join(args[:4])} » a échoué (code {done.returncode}) :\n{tail}")
    return done


def check_engine() -> None:
    """Raise unless a Docker engine answers; say how to get one."""
    if shutil.which("docker") is None:
        raise DockerError(
            "Docker n'est pas installé sur cette machine : lancez « make setup-docker » "
            "(paquets Debian docker.io et docker-compose) ou installez Docker Engine."
        )
    done = run(["docker", "version", "--format", "{{.Server.Version}}"], timeout=20, check=False)
    if done.returncode != 0:
        said = (done.stderr or done.stdout).strip().splitlines()
        raise DockerError(
            "Le moteur Docker ne répond pas (« docker version » : "
            f"{said[-1] if said else 'aucune réponse'}) : démarrez-le "
            "(« make setup-docker » lance dockerd) puis relancez."
        )


@functools.cache
def compose_command() -> list[str]:
    """`docker compose` (v2) when the plugin is there, else Debian's `docker-compose` (1.29)."""
    if run(["docker", "compose", "version"], check=False, timeout=20).returncode == 0:
        return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    raise DockerError(
        "Ni « docker compose » ni « docker-compose » n'est installé : lancez "
        "« make setup-docker » ou installez le greffon Compose."
    )


def image_label(image: str) -> str | None:
    """The stand-in fingerprint of a local image, "" for an image we did not build, None if absent."""
    done = run(["docker", "image", "inspect", image], check=False, timeout=30)
    if done.returncode != 0:
        return None
    labels = json.loads(done.stdout)[0]["Config"].get("Labels") or {}
    return str(labels.get(STANDIN_LABEL, ""))


def _fingerprint(paths: Iterable[Path]) -> str:
    """Of the files' names and contents, wherever the checkout is (not of their paths)."""
    digest = hashlib.sha256()
    for path in sorted(paths, key=lambda found: found.name):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _host_cas() -> list[Path]:
    return sorted(HOST_EXTRA_CAS.glob("*.crt")) if HOST_EXTRA_CAS.is_dir() else []


def ensure_base(progress: bool = True) -> None:
    """Debian bookworm (minbase + CA certificates), from debootstrap, cached as a tarball."""
    fingerprint = _fingerprint(_host_cas())
    if image_label(BASE_IMAGE) == fingerprint:
        return
    if shutil.which("debootstrap") is None:
        raise DockerError(
            "debootstrap est introuvable : lancez « make setup-docker » (il installe le "
            "paquet Debian debootstrap) pour construire les images de remplacement."
        )
    DOCKER_CACHE.mkdir(parents=True, exist_ok=True)
    tarball = DOCKER_CACHE / f"debian-bookworm-{fingerprint}.tar"
    if not tarball.is_file():
        _say(progress, "Image de base Debian bookworm (debootstrap, environ 30 s)")
        with tempfile.TemporaryDirectory(dir=DOCKER_CACHE, prefix=".rootfs-") as tmp:
            root = Path(tmp) / "root"
            made = subprocess.run(
                ["debootstrap", "--variant=minbase", "--include=ca-certificates",
                 "bookworm", str(root), "http://deb.debian.org/debian"],
                check=False, capture_output=True, text=True, timeout=900,
            )  # fmt: skip
            if made.returncode != 0:
                raise DockerError(
                    "debootstrap n'a pas pu construire l'image de base Debian : vérifiez "
                    "l'accès à deb.debian.org puis relancez.\n" + made.stdout[-2000:]
                )
            for ca in _host_cas():
                shutil.copy2(ca, root / "usr/local/share/ca-certificates" / ca.name)
            subprocess.run(
                ["chroot", str(root), "update-ca-certificates"], check=True, capture_output=True
            )
            shutil.rmtree(root / "var/cache/apt/archives", ignore_errors=True)
            partial = tarball.with_suffix(".partial")
            subprocess.run(["tar", "-C", str(root), "-cf", str(partial), "."], check=True)
            partial.rename(tarball)
    with tarball.open("rb") as data:
        done = subprocess.run(
            ["docker", "import", "--change", f"LABEL {STANDIN_LABEL}={fingerprint}",
             "-", BASE_IMAGE],
            stdin=data, capture_output=True, text=True, timeout=600, check=False,
        )  # fmt: skip
    if done.returncode != 0:
        raise DockerError(f"« docker import » de l'image de base a échoué : {done.stderr.strip()}")


def ensure_standins(images: Iterable[str] = STANDINS, *, progress: bool = True) -> list[str]:
    """Build the stand-ins missing here (or outdated); return the names built this time."""
    check_engine()
    built: list[str] = []
    for image in images:
        folder = STANDINS_DIR / STANDINS[image]
        fingerprint = _fingerprint([*folder.iterdir(), *_host_cas()])
        present = image_label(image)
        if present == fingerprint or present == "":  # ours and current, or an official one
            continue
        ensure_base(progress)
        _say(progress, f"Image de remplacement {image} (construite ici depuis Debian)")
        with tempfile.TemporaryDirectory(prefix="standin-") as tmp:
            context = Path(tmp)
            for item in folder.iterdir():
                shutil.copy2(item, context / item.name)
            if STANDINS[image] == "keycloak":
                archive = ensure_archive(DOCKER_CACHE, progress=progress)
                os.link(archive, context / "keycloak-quarkus-dist.tar.gz")
            run(
                ["docker", "build", "--label", f"{STANDIN_LABEL}={fingerprint}",
                 "-t", image, str(context)],
                timeout=1200,
            )  # fmt: skip
        built.append(image)
    return built


def _say(progress: bool, message: str) -> None:
    if progress:
        print(f"[docker] {message}", file=sys.stderr, flush=True)


@dataclass
class ComposeProject:
    """One `docker compose` project of the repository's compose file, isolated by its name."""

    name: str
    env_file: Path
    profiles: list[str] = field(default_factory=list)
    files: list[Path] = field(default_factory=lambda: [REPO_ROOT / "docker-compose.yml"])

    def command(self, *args: str) -> list[str]:
        base = [*compose_command()]  # a copy: the lookup is cached
        for compose_file in self.files:
            base += ["-f", str(compose_file)]
        base += ["-p", self.name, "--project-directory", str(REPO_ROOT)]
        base += ["--env-file", str(self.env_file)]
        for profile in self.profiles:
            base += ["--profile", profile]
        return [*base, *args]

    def run(
        self, *args: str, timeout: float = 900, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        return run(self.command(*args), timeout=timeout, check=check)

    def container_id(self, service: str) -> str:
        return self.run("ps", "-q", service).stdout.strip()

    def up(self, services: Sequence[str] = (), *, healthy_within: float = 300) -> None:
        """Start the project and wait until every container is healthy (or has exited 0).

        Anything that goes wrong stops the whole project (`down -v`) before raising, so no
        half-started stack is left behind.
        """
        try:
            try:
                # The classic builder of docker-compose 1.x keeps the container of a failed
                # step unless told; BuildKit (compose v2) leaves none.
                legacy = compose_command() == ["docker-compose"]
                self.run("build", *(["--force-rm"] if legacy else []), *services, timeout=1800)
                self.run("up", "-d", *services, timeout=600)
            except DockerError as exc:
                raise DockerError(_explain_up_failure(str(exc))) from exc
            self.wait_healthy(healthy_within)
        except BaseException:
            self.down()
            raise

    def wait_healthy(self, within: float) -> None:
        deadline = time.monotonic() + within
        while True:
            states = self.states()
            waiting = [name for name, state in states.items() if state not in {"healthy", "done"}]
            broken = [name for name, state in states.items() if state in {"unhealthy", "failed"}]
            if broken or (waiting and time.monotonic() > deadline):
                names = broken or waiting
                logs = self.run("logs", "--tail", "30", *names, check=False).stdout
                raise DockerError(
                    f"Le service {', '.join(names)} n'est pas devenu sain "
                    f"({', '.join(states[n] for n in names)}) en {within:.0f} s : voir ses "
                    f"journaux ci-dessous ; la pile a été arrêtée.\n{logs[-4000:]}"
                )
            if not waiting:
                return
            time.sleep(2)

    def states(self) -> dict[str, str]:
        """Service name → healthy / starting / unhealthy / running / done / failed."""
        ids = self.run("ps", "-a", "-q").stdout.split()
        if not ids:
            return {}
        details = json.loads(run(["docker", "inspect", *ids]).stdout)
        states: dict[str, str] = {}
        for detail in details:
            service = detail["Config"]["Labels"]["com.docker.compose.service"]
            number = detail["Config"]["Labels"].get("com.docker.compose.container-number", "1")
            state = detail["State"]
            if state["Status"] == "exited":  # a one-shot job (migrations): its exit code
                status = "done" if state["ExitCode"] == 0 else "failed"
            elif state.get("Health"):
                status = state["Health"]["Status"]
            else:
                status = state["Status"]
            states[f"{service}#{number}" if number != "1" else service] = status
        return states

    def down(self) -> None:
        """Stop and remove everything of the project, volumes included."""
        self.run("down", "-v", "--remove-orphans", "--timeout", "20", timeout=300, check=False)


def _explain_up_failure(output: str) -> str:
    """One sentence for the failures people meet, the tool's own lines after it."""
    lowered = output.lower()
    if "port is already allocated" in lowered or "address already in use" in lowered:
        first = (
            "Un port que la pile publie sur 127.0.0.1 est déjà pris : arrêtez ce qui l'occupe "
            "ou choisissez un autre port dans .env (KEYCLOAK_PORT, PORTAL_PORT, MAF_PORT, "
            "SMTP_PORT, MAIL_WEB_PORT) ; la pile a été arrêtée."
        )
    elif "failed to build" in lowered or "returned a non-zero code" in lowered:
        first = (
            "La construction d'une image a échoué (voir l'étape ci-dessous) : corrigez le "
            "Dockerfile ou l'accès aux dépôts de paquets ; rien n'a été démarré."
        )
    elif "manquant" in lowered:
        first = "Un secret manque dans .env (voir .env.example) ; rien n'a été démarré."
    elif "cannot connect to the docker daemon" in lowered:
        first = "Le moteur Docker ne répond pas : démarrez-le (« make setup-docker »)."
    else:
        first = "« up » a échoué ; la pile a été arrêtée."
    return f"{first}\n{output}"


def main() -> None:
    try:
        built = ensure_standins()
    except DockerError as exc:
        sys.exit(str(exc))
    print("Images construites : " + (", ".join(built) if built else "aucune (toutes présentes)"))


if __name__ == "__main__":
    main()
