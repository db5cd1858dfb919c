"""The import's letters reach the operator's page even when the page sees the job finished in
the store before the runner has handed them over (a race CI met: the letters were lost)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from bridge.backoffice.imports import ImportRunner

LETTER = ("73282932000074", "Organisme Importé", "F4XU-3R4F-QXQK")


@dataclass
class SlowCommit:
    """The store's side: one job, finished by its only chunk; the commit is seen by the page
    (`committed`) a moment before the unit of work returns to the runner."""

    committed: threading.Event = field(default_factory=threading.Event)
    done: bool = False

    def unfinished_imports(self) -> list[str]:
        return [] if self.done else ["travail"]

    def import_chunk(self, job_id: str, chunk: int) -> tuple[bool, list[tuple[str, str, str]]]:
        self.done = True
        return True, [LETTER]

    @property
    def etablissements(self) -> SlowCommit:
        return self

    @contextmanager
    def work(self) -> Iterator[SlowCommit]:
        yield self
        if self.done and not self.committed.is_set():
            self.committed.set()  # the page may read « terminé » from here on
            time.sleep(0.3)  # the rest of the commit, before the runner goes on


def test_a_page_that_sees_the_job_finished_gets_its_letters_once() -> None:
    store = SlowCommit()
    runner = ImportRunner(store.work)  # type: ignore[arg-type]
    worker = threading.Thread(target=runner.run_once)
    worker.start()
    assert store.committed.wait(5)
    shown = runner.take_letters("travail")  # the page, right after the commit
    worker.join(5)
    assert shown == [LETTER]
    assert runner.take_letters("travail") is None  # once
