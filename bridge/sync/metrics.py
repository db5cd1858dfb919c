"""The projection's figures in Prometheus' text format, read from the store at each scrape.

Read from the shared store (not process memory), so every replica reports the same truth.
"""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bridge.db import now
from bridge.notification import QueuedEmail
from bridge.outbox import OutboxEntry
from bridge.sync.console import REFUSALS
from bridge.sync.models import SyncState
from bridge.sync.reconcile import LAST_RECONCILE


def _metric(name: str, kind: str, help_text: str, value: float) -> str:
    return f"# HELP {name} {help_text}\n# TYPE {name} {kind}\n{name} {value:g}\n"


def render(session: Session) -> str:
    pending = (OutboxEntry.applied_at.is_(None), OutboxEntry.failed_at.is_(None))
    oldest = session.scalar(select(func.min(OutboxEntry.created_at)).where(*pending))
    waiting = session.scalar(select(func.count()).select_from(OutboxEntry).where(*pending)) or 0
    applied = (
        session.scalar(
            select(func.count()).select_from(OutboxEntry).where(OutboxEntry.applied_at.is_not(None))
        )
        or 0
    )
    failed = (
        session.scalar(
            select(func.count()).select_from(OutboxEntry).where(OutboxEntry.failed_at.is_not(None))
        )
        or 0
    )
    state = {row.name: row.value for row in session.scalars(select(SyncState))}
    last = json.loads(state.get(LAST_RECONCILE, "null")) or {}
    age = (now() - oldest).total_seconds() if oldest is not None else 0.0
    last_at = datetime.fromisoformat(last["at"]).timestamp() if "at" in last else 0.0
    parts = [
        _metric(
            "bridge_sync_oldest_pending_age_seconds",
            "gauge",
            "Âge de la plus ancienne opération non appliquée à Keycloak.",
            age,
        ),
        _metric("bridge_sync_pending_operations", "gauge", "Opérations en attente.", waiting),
        _metric(
            "bridge_sync_applied_operations_total", "counter", "Opérations appliquées.", applied
        ),
        _metric(
            "bridge_sync_failed_operations_total",
            "counter",
            "Opérations refusées par Keycloak (raison dans le rapport de rapprochement).",
            failed,
        ),
        _metric(
            "bridge_sync_last_reconcile_drift",
            "gauge",
            "Personnes en écart au dernier rapprochement.",
            float(last.get("drift", 0)),
        ),
        _metric(
            "bridge_sync_last_reconcile_timestamp_seconds",
            "gauge",
            "Heure (Unix) du dernier rapprochement terminé ; 0 s'il n'y en a jamais eu.",
            last_at,
        ),
        _metric(
            "bridge_sync_console_refusals_total",
            "counter",
            "Modifications de la console Keycloak refusées (annulées et signalées).",
            float(state.get(REFUSALS, "0")),
        ),
    ]
    parts.extend(_mail_metrics(session))
    return "".join(parts)


def _mail_metrics(session: Session) -> list[str]:
    """The e-mails' queue (bridge/notification.py): waiting, how long, given up."""
    waiting_rows = (QueuedEmail.sent_at.is_(None), QueuedEmail.failed_at.is_(None))
    oldest = session.scalar(select(func.min(QueuedEmail.created_at)).where(*waiting_rows))
    waiting = session.scalar(select(func.count()).select_from(QueuedEmail).where(*waiting_rows))
    failed = session.scalar(
        select(func.count()).select_from(QueuedEmail).where(QueuedEmail.failed_at.is_not(None))
    )
    return [
        _metric(
            "bridge_mail_oldest_pending_age_seconds",
            "gauge",
            "Âge du plus ancien courriel pas encore parti.",
            (now() - oldest).total_seconds() if oldest is not None else 0.0,
        ),
        _metric("bridge_mail_pending", "gauge", "Courriels en attente d'envoi.", waiting or 0),
        _metric(
            "bridge_mail_failed",
            "gauge",
            "Courriels abandonnés après tous leurs essais (et pas encore remis en file).",
            failed or 0,
        ),
    ]
