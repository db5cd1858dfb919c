"""The end-date job of delegations: run by the portal on a schedule, or by hand (CLI).

Idempotent and safe with several bridge replicas (conditional updates); its e-mails leave
only after the commit (the unit of work hands them on). The job receives its unit of work
from the caller (`bridge.bootstrap.AppContext.work`), so it knows no entry point.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import timedelta
from typing import Protocol

from bridge.delegation.service import DelegationService

log = logging.getLogger(__name__)


class WithDelegations(Protocol):
    @property
    def delegations(self) -> DelegationService: ...


Work = Callable[[], AbstractContextManager[WithDelegations]]


def run_end_dates_once(work: Work, warning_days: int) -> int:
    """Expire ended delegations and warn those ending soon; return the number of e-mails."""
    with work() as services:
        emails = services.delegations.run_end_dates(timedelta(days=warning_days))
    if emails:
        log.info("echeances-delegations", extra={"courriels": len(emails)})
    return len(emails)


def end_dates_every(work: Work, warning_days: int, seconds: float, stop: threading.Event) -> None:
    """Run the job every `seconds` until `stop` is set (a run under way ends first, so its
    connection is back in the pool before the store closes); a failed run is logged and
    tried again next time."""
    while not stop.wait(seconds):
        try:
            run_end_dates_once(work, warning_days)
        except Exception:
            log.exception("echeances-delegations-echec")
