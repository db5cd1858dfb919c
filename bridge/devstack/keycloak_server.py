"""Start and stop a Keycloak server from the unpacked distribution, on loopback.

`start-dev` with its H2 file database placed in a folder of our own (fresh per stack or
test session), so the realm export of `keycloak/realm-export/` is imported at every start.
Readiness is read from the management interface (`/health/ready`); a server that exits or
never gets ready is stopped and reported with the tail of its log.
"""

from __future__ import annotations

import atexit
import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

import httpx

from bridge.devstack.errors import StackError
from bridge.devstack.java import find_java
from bridge.devstack.ports import LOOPBACK, ensure_port_free

REPO_ROOT = Path(__file__).resolve().parents[2]
REALM_EXPORT_DIR = REPO_ROOT / "keycloak" / "realm-export"
THEMES_DIR = REPO_ROOT / "keycloak" / "themes"
PROVIDERS_JAR = REPO_ROOT / "keycloak" / "providers" / "target" / "demarches-keycloak-providers.jar"
# Metrics on the management port, with the user events the alerts watch (failed logins,
# brute-force lockouts): `keycloak_user_events_total{event, error, realm}`. Only these events
# and only the realm tag, so the series stay few. The same options are set in the compose
# file (keycloak/Dockerfile, docker-compose.yml) and the container backend of the tests.
METRICS_EVENTS = "login,user_disabled_by_temporary_lockout,user_disabled_by_permanent_lockout"
METRICS_OPTIONS = (
    "--metrics-enabled=true",
    "--features=user-event-metrics",
    "--event-metrics-user-enabled=true",
    f"--event-metrics-user-events={METRICS_EVENTS}",
)


@dataclass
class KeycloakConfig:
    """Everything one Keycloak process needs; `realm_env` feeds the realm's `${...}` placeholders."""

    home: Path
    data_dir: Path
    http_port: int = 8080
    management_port: int = 9000
    admin_user: str = "admin"
    admin_password: str = "admin"  # noqa: S105 - loopback development server only
    realm_env: dict[str, str] = field(default_factory=dict)
    ready_timeout: float = 180.0
    realm_dir: Path = REALM_EXPORT_DIR
    # `kc.sh` database options; empty means the H2 file database in `data_dir`.
    database: tuple[str, ...] = ()

    @property
    def base_url(self) -> str:
        return f"http://{LOOPBACK}:{self.http_port}"

    @property
    def management_url(self) -> str:
        return f"http://{LOOPBACK}:{self.management_port}"

    @property
    def log_file(self) -> Path:
        return self.data_dir / "keycloak.log"


class KeycloakServer:
    """One Keycloak process; use as a context manager so it is always stopped."""

    def __init__(self, config: KeycloakConfig) -> None:
        self.config = config
        self._process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> KeycloakServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> None:
        """Launch `kc.sh start-dev --import-realm` and return once the server is ready."""
        cfg = self.config
        java = find_java()
        ensure_port_free(cfg.http_port, "Keycloak HTTP", "DEVSTACK_KEYCLOAK_PORT")
        ensure_port_free(
            cfg.management_port, "Keycloak gestion", "DEVSTACK_KEYCLOAK_MANAGEMENT_PORT"
        )
        cfg.data_dir.mkdir(parents=True, exist_ok=True)
        self._install_realm_files()
        env = {
            **os.environ,
            **cfg.realm_env,
            "JAVA_HOME": str(java.parent.parent),
            "KC_BOOTSTRAP_ADMIN_USERNAME": cfg.admin_user,
            "KC_BOOTSTRAP_ADMIN_PASSWORD": cfg.admin_password,
        }
        db_file = cfg.data_dir / "keycloakdb"
        command = [
            str(cfg.home / "bin" / "kc.sh"),
            "start-dev",
            "--import-realm",
            f"--http-host={LOOPBACK}",
            f"--http-port={cfg.http_port}",
            f"--http-management-port={cfg.management_port}",
            "--health-enabled=true",
            *METRICS_OPTIONS,
            *(
                cfg.database
                or ("--db=dev-file", f"--db-url=jdbc:h2:file:{db_file};NON_KEYWORDS=VALUE")
            ),
            "--spi-theme--cache-themes=false",
            "--spi-theme--cache-templates=false",
        ]
        with cfg.log_file.open("ab") as log:
            self._process = subprocess.Popen(
                command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        # Keycloak runs in its own session (Ctrl-C does not reach it): never leave it behind.
        atexit.register(self.stop)
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise

    def _install_realm_files(self) -> None:
        """Copy the realm export, our providers and themes into the distribution.

        The realm's user profile names our `siret` validator and its flows our captcha and
        CGU action: without the providers jar the import would fail, so it is required.
        """
        if not PROVIDERS_JAR.is_file():
            raise StackError(
                f"Les extensions Keycloak ne sont pas construites ({PROVIDERS_JAR}) : "
                "lancez « make providers » (ou « make run » / « make test »)."
            )
        providers_dir = self.config.home / "providers"
        providers_dir.mkdir(exist_ok=True)
        shutil.copy2(PROVIDERS_JAR, providers_dir / PROVIDERS_JAR.name)
        import_dir = self.config.home / "data" / "import"
        if import_dir.exists():
            shutil.rmtree(import_dir)
        import_dir.mkdir(parents=True)
        for realm_file in sorted(self.config.realm_dir.glob("*.json")):
            shutil.copy2(realm_file, import_dir / realm_file.name)
        themes_target = self.config.home / "themes"
        for theme in (
            sorted(p for p in THEMES_DIR.iterdir() if p.is_dir()) if THEMES_DIR.is_dir() else []
        ):
            target = themes_target / theme.name
            if target.is_symlink() or target.exists():
                if target.is_symlink():
                    target.unlink()
                else:
                    shutil.rmtree(target)
            target.symlink_to(theme, target_is_directory=True)

    def _wait_ready(self) -> None:
        if self._process is None:
            raise StackError("Keycloak n'a pas été lancé.")
        deadline = time.monotonic() + self.config.ready_timeout
        url = f"{self.config.management_url}/health/ready"
        while time.monotonic() < deadline:
            code = self._process.poll()
            if code is not None:
                raise StackError(
                    f"Keycloak s'est arrêté au démarrage (code {code}) : lisez la fin de son "
                    f"journal, {self.config.log_file} :\n{self.log_tail()}"
                )
            try:
                if httpx.get(url, timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        raise StackError(
            f"Keycloak n'est pas prêt après {self.config.ready_timeout:.0f} s : il a été arrêté ; "
            f"lisez son journal ({self.config.log_file}) ou augmentez DEVSTACK_KEYCLOAK_TIMEOUT."
        )

    def log_tail(self, lines: int = 15) -> str:
        try:
            text = self.config.log_file.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def kill(self) -> None:
        """Kill the JVM at once (SIGKILL), as a crash would: the fault tests' tool."""
        process, self._process = self._process, None
        atexit.unregister(self.stop)
        if process is not None and process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)

    def stop(self, timeout: float = 30.0) -> None:
        """Stop the whole process group (kc.sh and its JVM): TERM, then KILL if needed."""
        process, self._process = self._process, None
        atexit.unregister(self.stop)
        if process is None or process.poll() is not None:
            return
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
        except ProcessLookupError:
            pass
