"""Run ASGI apps with uvicorn in background threads (local stack and test harness)."""

from __future__ import annotations

import threading
import time

import uvicorn
from starlette.types import ASGIApp

from bridge.devstack.errors import StackError
from bridge.devstack.ports import LOOPBACK, ensure_port_free


class UvicornThread:
    """One uvicorn server on loopback in a daemon thread, started and stopped explicitly."""

    def __init__(self, app: ASGIApp, port: int, name: str, env_var: str) -> None:
        self.port = port
        self.name = name
        self.env_var = env_var
        self._server = uvicorn.Server(
            uvicorn.Config(
                app,
                host=LOOPBACK,
                port=port,
                log_config=None,
                access_log=False,
                proxy_headers=False,  # the bridge reads X-Forwarded-For itself (api/proxies)
            )
        )
        self._thread = threading.Thread(target=self._server.run, name=name, daemon=True)

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def start(self, timeout: float = 20.0) -> None:
        ensure_port_free(self.port, self.name, self.env_var)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise StackError(f"{self.name} ne démarre pas sur le port {self.port}.")
            time.sleep(0.05)

    def stop(self) -> None:
        self._server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(timeout=10)
