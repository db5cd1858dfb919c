"""The projection's loop in the portal process: outbox, console edits, and the reconcile.

Each step runs in a thread (the adapter is synchronous); a failed step is logged and tried
again on the next turn, so a Keycloak outage only delays the projection.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
import uuid
from datetime import timedelta
from typing import TYPE_CHECKING

from bridge.sync.console import import_console_changes
from bridge.sync.keycloak import KeycloakDirectory
from bridge.sync.reconcile import reconcile
from bridge.sync.worker import Projector

if TYPE_CHECKING:
    from bridge.api.context import AppContext
    from bridge.settings import Settings

log = logging.getLogger(__name__)


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def bridge_directory(settings: Settings) -> KeycloakDirectory:
    """The admin-API adapter with the bridge's service account (client `bridge`)."""
    return KeycloakDirectory.with_service_account(
        (settings.keycloak_internal_url or settings.keycloak_url).rstrip("/"),
        settings.keycloak_realm,
        settings.sync_client_id,
        settings.sync_client_secret.get_secret_value(),
    )


def make_projector(context: AppContext) -> Projector:
    settings = context.settings
    return Projector(
        context.sessions,
        bridge_directory(settings),
        context.catalog,
        worker_id(),
        settings.sync_token_habilitations_max,
        timedelta(seconds=settings.sync_claim_lease_seconds),
    )


async def sync_forever(context: AppContext, projector: Projector) -> None:
    settings = context.settings
    last_console = last_reconcile = time.monotonic()
    while True:
        try:
            if not projector.ready:
                await asyncio.to_thread(projector.ensure_catalog)
            step = await asyncio.to_thread(projector.run_once)
            moment = time.monotonic()
            if (
                settings.sync_console_interval_seconds
                and moment - last_console >= settings.sync_console_interval_seconds
            ):
                last_console = moment
                await asyncio.to_thread(
                    import_console_changes, context, projector, settings.sync_client_id
                )
            if (
                settings.sync_reconcile_interval_seconds
                and moment - last_reconcile >= settings.sync_reconcile_interval_seconds
            ):
                last_reconcile = moment
                report = await asyncio.to_thread(reconcile, projector, repair=True)
                log.info(
                    "rapprochement",
                    extra={"personnes": report.persons, "ecarts": len(report.drifts)},
                )
            if step.persons == 0 or step.keycloak_away:
                await asyncio.sleep(settings.sync_interval_seconds)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("projection-echec")
            await asyncio.sleep(max(settings.sync_interval_seconds, 2.0))
