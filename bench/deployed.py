"""The bridge as production runs it, for the benches: its own uvicorn process(es), started with
the Dockerfile's command and worker count, on a given store; optionally profiled by py-spy.

The benches load the store and take tokens in their own process; the bridge they measure
runs apart (as in the container: access logs in JSON on, the background loops at their
production intervals), so the bench's own Python never shares its interpreter, and py-spy
can attach to it (`--subprocesses` follows uvicorn's workers).
"""

from __future__ import annotations

import os
import pickle
import re
import shlex
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from fastapi import FastAPI

from bridge.api.app import create_app
from bridge.devstack.ports import LOOPBACK, free_port
from bridge.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
SETTINGS_FILE = "BENCH_BRIDGE_SETTINGS"
DEFAULTS = Settings.model_fields


def dockerfile_command() -> list[str]:
    """The Dockerfile's `CMD` (the command production runs; compose repeats it)."""
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    found = re.search(r'^CMD (\["uvicorn".*\])$', text, re.MULTILINE)
    if found is None:
        raise SystemExit("Dockerfile : commande uvicorn introuvable.")
    return [part.strip(' "') for part in found.group(1).strip("[]").split(",")]


def dockerfile_workers() -> int:
    """uvicorn's workers in the image: `WEB_CONCURRENCY` (uvicorn's default), else 1."""
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    found = re.search(r"^ENV WEB_CONCURRENCY=(\d+)", text, re.MULTILINE)
    return int(found.group(1)) if found else 1


def production_intervals(settings: Settings) -> Settings:
    """The test platform's settings with the background loops at their production pace (the
    tests poll every 0.2 s to see the projection quickly; production does not)."""
    names = (
        "sync_interval_seconds",
        "sync_console_interval_seconds",
        "sync_reconcile_interval_seconds",
        "session_recheck_seconds",
        "jwks_refetch_seconds",
    )
    return settings.model_copy(update={n: DEFAULTS[n].default for n in names})


def bench_settings() -> Settings:
    """In the bridge's process: the settings `deployed_bridge` pickled (its own file)."""
    with Path(os.environ[SETTINGS_FILE]).open("rb") as file:
        settings: Settings = pickle.load(file)  # noqa: S301 - our own file, just written
    return settings


def app() -> FastAPI:
    """uvicorn's factory in the bridge's process: the product app, as the image builds it."""
    return create_app(bench_settings())


@dataclass(frozen=True)
class Deployed:
    url: str
    pid: int
    workers: int
    command: str


@contextmanager
def deployed_bridge(
    settings: Settings,
    folder: Path,
    *,
    factory: str = "bench.deployed:app",
    workers: int | None = None,
    env: dict[str, str] | None = None,
) -> Iterator[Deployed]:
    """The Dockerfile's uvicorn command on `factory` (the product app, or a bench's app with
    its comparison routes), on loopback, with the image's workers unless `workers` is given."""
    workers = dockerfile_workers() if workers is None else workers
    folder.mkdir(parents=True, exist_ok=True)
    pickled = folder / "settings.pickle"
    pickled.write_bytes(pickle.dumps(production_intervals(settings)))
    port = free_port()
    command = dockerfile_command()
    command[command.index("bridge.api.app:create_app")] = factory
    command[command.index("0.0.0.0") if "0.0.0.0" in command else 0] = LOOPBACK  # noqa: S104
    command[command.index("--port") + 1] = str(port)
    command += ["--workers", str(workers)]
    argv = [sys.executable, "-m", *command]
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    environ = {**os.environ, **(env or {}), SETTINGS_FILE: str(pickled), "PYTHONPATH": path}
    log = (folder / "bridge.log").open("wb")
    # Our own interpreter and the Dockerfile's arguments.
    process = subprocess.Popen(argv, env=environ, stdout=log, stderr=log, cwd=ROOT)  # noqa: S603
    url = f"http://{LOOPBACK}:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/health/live", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"Le bridge ne démarre pas ; voir {folder / 'bridge.log'}")
            time.sleep(0.2)
        yield Deployed(url, process.pid, workers, shlex.join(command))
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def cpu_seconds(pid: int) -> float:
    """CPU time (user and system) used so far by the bridge's process and its workers: on a
    machine shared with other work, CPU per request holds where requests per second do not."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # a process that just ended
            continue
        if stat.parent.name == str(pid) or fields[1] == str(pid):  # itself, or its workers
            total += (int(fields[11]) + int(fields[12])) / ticks
    return total


@contextmanager
def profiled(deployed: Deployed, svg: Path | None, seconds: int) -> Iterator[None]:
    """py-spy samples the bridge's processes (its workers included) for `seconds` while the
    block runs, and writes a flame graph to `svg` (nothing when `svg` is None)."""
    if svg is None:
        yield
        return
    svg.parent.mkdir(parents=True, exist_ok=True)
    spy = Path(sys.executable).with_name("py-spy")
    command = [
        str(spy),
        "record",
        "--pid",
        str(deployed.pid),
        "--subprocesses",
        "--rate",
        "100",
        "--duration",
        str(seconds),
        "--format",
        "flamegraph",
        "--output",
        str(svg),
    ]
    # py-spy of this virtualenv, on the bridge we just started.
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # noqa: S603
    try:
        yield
    finally:
        _, err = process.communicate(timeout=seconds + 60)
        if process.returncode != 0:
            print(f"py-spy : {err.decode(errors='replace')[-500:]}", file=sys.stderr)
