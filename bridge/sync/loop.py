"""The projection's one loop: the outbox, the console's edits and the reconcile (with the
pseudonymisation of people deleted long ago), in turn.

Run by the portal's lifespan (in a thread, stopped by an event) and by
`python -m bridge sync appliquer` (in the foreground): the same steps, the same pauses. A
failed step is logged and tried again on the next turn, so a Keycloak outage only delays the
projection; claims stay leased, so nothing is applied twice when it comes back.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from bridge.sync.console import Work, import_console_changes
from bridge.sync.reconcile import RECONCILE_ACTOR, reconcile
from bridge.sync.worker import Projector, RunResult

log = logging.getLogger(__name__)


@dataclass
class ProjectionLoop:
    """The projector's turns, with the console import and the reconcile at their intervals
    (0 turns one off)."""

    work: Work
    projector: Projector
    bridge_client_id: str
    interval: float
    console_interval: float = 0.0
    reconcile_interval: float = 0.0
    # With the reconcile, people deleted longer ago than this are pseudonymised (None: never).
    retention: timedelta | None = None
    _last_console: float = field(default_factory=time.monotonic)
    _last_reconcile: float = field(default_factory=time.monotonic)

    def step(self) -> RunResult:
        """One turn: the catalog's groups once, a batch of the outbox, then what is due."""
        if not self.projector.ready:
            self.projector.load_catalog()
        result = self.projector.run_once()
        moment = time.monotonic()
        if self.console_interval and moment - self._last_console >= self.console_interval:
            self._last_console = moment
            import_console_changes(self.work, self.projector, self.bridge_client_id)
        if self.reconcile_interval and moment - self._last_reconcile >= self.reconcile_interval:
            self._last_reconcile = moment
            report = reconcile(self.projector, repair=True, work=self.work)
            log.info(
                "rapprochement", extra={"personnes": report.persons, "ecarts": len(report.drifts)}
            )
            if self.retention is not None:
                with self.work() as services:
                    forgotten = services.accounts.pseudonymise_deleted(
                        RECONCILE_ACTOR, self.retention
                    )
                if forgotten:
                    log.info("personnes-pseudonymisees", extra={"personnes": forgotten})
        return result

    def run(
        self,
        stop: threading.Event | None = None,
        *,
        until_empty: bool = False,
        on_step: Callable[[RunResult], None] | None = None,
    ) -> None:
        """Turn until `stop` is set (a worker), or until nothing is due (`until_empty`: a
        failure then ends the run instead of being retried)."""
        stop = stop or threading.Event()
        while not stop.is_set():
            try:
                result = self.step()
            except Exception:
                if until_empty:
                    raise
                log.exception("projection-echec")
                stop.wait(max(self.interval, 2.0))
                continue
            if on_step is not None:
                on_step(result)
            if until_empty and result.persons == 0 and not self.projector.has_due_rows():
                return
            if result.persons == 0 or result.keycloak_away:
                stop.wait(self.interval or 1.0)
