"""The end-date job of delegations: run by the portal on a schedule, or by hand (CLI).

Idempotent and safe with several bridge replicas (conditional updates); e-mails leave
only after the commit.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bridge.api.context import AppContext

log = logging.getLogger(__name__)


def run_end_dates_once(context: AppContext) -> int:
    """Expire ended delegations and warn those ending soon; return the number of e-mails."""
    with context.work() as work:
        emails = work.delegations.run_end_dates(
            timedelta(days=context.settings.delegation_warning_days)
        )
    context.send(*emails)
    if emails:
        log.info("echeances-delegations", extra={"courriels": len(emails)})
    return len(emails)


async def end_dates_every(context: AppContext, seconds: float) -> None:
    """Run the job forever, every `seconds`; a failed run is logged and retried next time."""
    while True:
        await asyncio.sleep(seconds)
        try:
            await asyncio.to_thread(run_end_dates_once, context)
        except Exception:
            log.exception("echeances-delegations-echec")
