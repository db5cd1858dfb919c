"""The back-office's imports, done by the portal in the background, chunk after chunk.

Each chunk is one unit of work that moves the job's progress with its rows, so a portal that
restarts resumes where the last commit left off and imports nothing twice. The letters (the
codes' only plaintext) stay in this process's memory until the operator's page shows them,
once; after a restart the ones not shown yet are lost, and the page says which SIRETs need
« Émettre un nouveau code ».
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Protocol

from bridge.etablissement.service import EtablissementService

log = logging.getLogger(__name__)

CHUNK = 50  # rows per transaction: short locks, progress the operator sees move
HANDOVER_WAIT = 30.0  # seconds a page waits for letters being handed over


class WithEtablissements(Protocol):
    @property
    def etablissements(self) -> EtablissementService: ...


Work = Callable[[], AbstractContextManager[WithEtablissements]]


class ImportRunner:
    """Runs the unfinished import jobs; `wake` starts one at once instead of at the next tick."""

    def __init__(self, work: Work, chunk: int = CHUNK) -> None:
        self.work = work
        self.chunk = chunk
        self.wake = threading.Event()
        self._letters: dict[str, list[tuple[str, str, str]]] = {}
        # Held while a chunk's letters are handed over (a test holds it to see a job mid-way).
        self.lock = threading.Lock()
        # Jobs whose chunk is committing or handing its letters over: a page that already sees
        # the job finished waits for its letters instead of finding none (they would be lost).
        self._handing = threading.Condition()
        self._in_flight: set[str] = set()

    def run_once(self, stop: threading.Event | None = None) -> int:
        """Run every unfinished job to its end (or until `stop`); the chunks done."""
        chunks = 0
        with self.work() as services:
            pending = services.etablissements.unfinished_imports()
        for job_id in pending:
            while not (stop and stop.is_set()):
                with self._handing:
                    self._in_flight.add(job_id)
                try:
                    with self.work() as services:
                        finished, letters = services.etablissements.import_chunk(job_id, self.chunk)
                    chunks += 1
                    if letters:  # committed: kept for the operator's page
                        with self.lock:
                            self._letters.setdefault(job_id, []).extend(letters)
                finally:
                    with self._handing:
                        self._in_flight.discard(job_id)
                        self._handing.notify_all()
                if finished:
                    break
        return chunks

    def run(self, seconds: float, stop: threading.Event) -> None:
        """Until `stop`: run what is pending, then wait `seconds` or a `wake`; a failed run
        is logged and tried again (its chunk rolled back)."""
        while not stop.is_set():
            try:
                self.run_once(stop)
            except Exception:
                log.exception("import-etablissements-echec")
            self.wake.wait(seconds)
            self.wake.clear()

    def take_letters(self, job_id: str) -> list[tuple[str, str, str]] | None:
        """The job's letters, this once (None: shown already, or lost in a restart).

        A chunk committed but not yet handed over is waited for (at most `HANDOVER_WAIT`
        seconds): the page saw the job finished in the store a moment before its letters
        reached this memory."""
        with self._handing:
            self._handing.wait_for(lambda: job_id not in self._in_flight, HANDOVER_WAIT)
        with self.lock:
            return self._letters.pop(job_id, None)
