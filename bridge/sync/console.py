"""Edits made by administrators in the Keycloak console come back as audited habilitations.

Read from Keycloak's admin events (oldest first, from a cursor kept in the store). The
bridge's own calls are recognised by their client and skipped. An edit of the `habilitation`
attribute, or of a membership of a `/demarches/{demarche}/{role}` group, becomes a grant or a
removal "par la console" by that administrator, with the portal's rules; an edit the catalog
or those rules refuse is reverted by the projection and reported (audit `console-refusee`,
a log line, the metric) — never a silent revert.

While a person has changes of the store not yet projected, the console showed a stale state:
the event waits (the cursor stops there) until the worker has caught up.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from bridge.audit.service import Actor, record
from bridge.db import now
from bridge.errors import BridgeError
from bridge.habilitation.models import Habilitation
from bridge.habilitation.operators import is_designated
from bridge.identity.tokens import OPERATOR_ROLE
from bridge.keycloak_admin import HABILITATION_ATTRIBUTE, KeycloakRejectedError
from bridge.outbox import OutboxEntry, enqueue
from bridge.person.models import Person
from bridge.person.service import remember_person
from bridge.services import Services
from bridge.sync.models import SyncState
from bridge.sync.plan import Right
from bridge.sync.worker import Projector

log = logging.getLogger(__name__)

# One unit of work on the store (`bridge.bootstrap.AppContext.work`), given by the caller.
Work = Callable[[], AbstractContextManager[Services]]

CURSOR = "console-curseur"
REFUSALS = "console-refus"


@dataclass
class ConsoleResult:
    events: int = 0
    granted: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    waiting: bool = False


@dataclass
class _Cursor:
    """The last event handled: its time (epoch ms) and the ids seen at that very ms."""

    time: int
    ids: list[str]

    @classmethod
    def read(cls, services: Services) -> _Cursor:
        state = services.session.get(SyncState, CURSOR)
        if state is None:  # first run: the console's past is not replayed
            return cls(int(now().timestamp() * 1000), [])
        data = json.loads(state.value)
        return cls(int(data["time"]), list(data["ids"]))

    def write(self, services: Services) -> None:
        value = json.dumps({"time": self.time, "ids": self.ids[-50:]})
        state = services.session.get(SyncState, CURSOR)
        if state is None:
            services.session.add(SyncState(name=CURSOR, value=value))
        else:
            state.value = value


def import_console_changes(
    work: Work, projector: Projector, bridge_client_id: str
) -> ConsoleResult:
    """Handle the admin events since the cursor; returns what was granted, removed, refused."""
    result = ConsoleResult()
    with work() as services:
        cursor = _Cursor.read(services)
        cursor.write(services)
    by_group = {group_id: key for key, group_id in projector.groups.items()}
    # The bridge's own calls are made by its service account's user; clients are named by
    # internal ids the bridge may not read (it holds no view-clients: docs/security.md).
    ours = {projector.directory.service_account_user_id(bridge_client_id) or bridge_client_id}
    for event in projector.directory.admin_events_since(cursor.time):
        event_id = str(event.get("id") or f"{event.get('time')}:{event.get('resourcePath')}")
        if int(event.get("time", 0)) == cursor.time and event_id in cursor.ids:
            continue
        handled = _handle(work, projector, ours, event, by_group, result)
        if not handled:
            result.waiting = True
            break
        result.events += 1
        with work() as services:
            time_ms = int(event.get("time", 0))
            cursor = _Cursor(
                time_ms, [*cursor.ids, event_id] if time_ms == cursor.time else [event_id]
            )
            cursor.write(services)
    return result


def _handle(
    work: Work,
    projector: Projector,
    ours: set[str],
    event: dict[str, Any],
    by_group: dict[str, tuple[str, str]],
    result: ConsoleResult,
) -> bool:
    """Handle one event; False when it must wait for the worker."""
    auth = event.get("authDetails") or {}
    if auth.get("userId") in ours:
        return True  # the bridge's own projection
    parts = str(event.get("resourcePath", "")).split("/")
    kind, operation = event.get("resourceType"), event.get("operationType")
    if len(parts) < 2 or parts[0] != "users":
        return True
    subject = parts[1]
    if kind == "USER" and len(parts) == 2 and operation == "DELETE":
        follow_deletions(work, [subject], _actor(projector, auth))
        return True
    if kind == "USER" and len(parts) == 2 and operation == "UPDATE":
        _follow_enabled(work, projector, subject, event, auth)
    membership: tuple[str, str] | None = None
    if kind == "GROUP_MEMBERSHIP" and len(parts) == 4 and parts[2] == "groups":
        membership = by_group.get(parts[3])
        if membership is None or operation not in {"CREATE", "DELETE"}:
            return True
    elif not (kind == "USER" and operation == "UPDATE" and len(parts) == 2):
        return True
    with work() as services:
        if services.session.scalar(
            select(OutboxEntry.id)
            .where(
                OutboxEntry.subject == subject,
                OutboxEntry.applied_at.is_(None),
                OutboxEntry.failed_at.is_(None),
            )
            .limit(1)
        ):
            return False
    actor = _actor(projector, auth)
    at = datetime.fromtimestamp(int(event.get("time", 0)) / 1000, UTC)
    if membership is not None:
        _membership(work, projector, actor, subject, membership, operation == "CREATE", result)
    else:
        values = _submitted_values(event)
        if values is not None:
            _attribute(work, projector, actor, subject, values, at, result)
        else:
            # Keycloak dropped the values with the rest of the map: write them back soon.
            with work() as services:
                if services.session.get(Person, subject) is not None:
                    enqueue(services.session, subject, "reecriture apres une modification")
    return True


def follow_deletions(work: Work, subjects: list[str], actor: Actor) -> int:
    """End the rights of people whose Keycloak account is gone; how many had some."""
    ended = 0
    for subject in subjects:
        with work() as services:
            report = services.accounts.deleted(actor, subject)
        if report.habilitations or report.delegations or report.requests:
            ended += 1
        log.warning(
            "compte-supprime",
            extra={
                "sujet": subject,
                "par": actor.subject,
                "habilitations": report.habilitations,
                "delegations": report.delegations,
                "sans_gestionnaire": [f"{d}:{s}" for d, s in report.orphaned],
            },
        )
    return ended


def _follow_enabled(
    work: Work, projector: Projector, subject: str, event: dict[str, Any], auth: dict[str, Any]
) -> None:
    """An account disabled (or enabled again) in Keycloak: its rights are suspended (or not)."""
    try:
        representation = json.loads(event.get("representation") or "null")
    except ValueError:
        return
    enabled = representation.get("enabled") if isinstance(representation, dict) else None
    if not isinstance(enabled, bool):
        return
    actor = _actor(projector, auth)
    with work() as services:
        services.accounts.disabled(actor, subject, not enabled)


def _actor(projector: Projector, auth: dict[str, Any]) -> Actor:
    """The administrator who made the edit: named when of this realm (a master-realm one
    keeps its id), and an operator only if designated in the store and holding the role."""
    user_id = str(auth.get("userId") or "inconnu")
    name = projector.directory.username(user_id)
    with projector.sessions() as session:
        designated = is_designated(session, user_id)
    return Actor(
        subject=user_id,
        display_name=f"{name} (console Keycloak)",
        client_ip=auth.get("ipAddress"),
        operator=designated and OPERATOR_ROLE in projector.directory.realm_roles(user_id),
    )


def _submitted_values(event: dict[str, Any]) -> set[str] | None:
    """The attribute values the administrator saved; None when the edit did not send them."""
    try:
        representation = json.loads(event.get("representation") or "null")
    except ValueError:
        return None
    if not isinstance(representation, dict):
        return None
    attributes = representation.get("attributes")
    if not isinstance(attributes, dict) or HABILITATION_ATTRIBUTE not in attributes:
        return None  # an API edit that left the attribute out: not a decision about rights
    return {str(v).strip() for v in attributes.get(HABILITATION_ATTRIBUTE, []) if str(v).strip()}


def _person(services: Services, projector: Projector, subject: str) -> None:
    """The store's copy of a person granted from the console before any portal login."""
    if services.session.get(Person, subject) is not None:
        return
    user = projector.directory.person(subject)
    remember_person(
        services.session,
        subject,
        user.get("email") or f"{subject}@inconnu.invalid",
        user.get("firstName", ""),
        user.get("lastName", ""),
    )


def _active(services: Services, subject: str) -> list[Habilitation]:
    moment = now()
    rows = services.session.scalars(
        select(Habilitation).where(
            Habilitation.subject == subject, Habilitation.revoked_at.is_(None)
        )
    )
    return [h for h in rows if h.active_at(moment)]


def _attribute(
    work: Work,
    projector: Projector,
    actor: Actor,
    subject: str,
    values: set[str],
    at: datetime,
    result: ConsoleResult,
) -> None:
    """Diff the saved values with the store, ignoring rights the store changed after the edit:
    the administrator could not have seen those (the edit is older than them)."""
    with work() as services:
        held = {Right(h.demarche, h.role, h.siret).value: h for h in _active(services, subject)}
        changed_since = {
            Right(h.demarche, h.role, h.siret).value
            for h in services.session.scalars(
                select(Habilitation).where(
                    Habilitation.subject == subject,
                    (Habilitation.granted_at >= at) | (Habilitation.revoked_at >= at),
                )
            )
        }
    values = (values - changed_since) | (held.keys() & changed_since)
    for value in sorted(values - held.keys()):
        right = Right.parse(value)
        reason = None if right else "valeur mal formée (attendu : demarche:role:siret)"
        if right is not None:
            reason = _try(work, lambda s, r=right: _grant(s, projector, actor, subject, r))
        if reason is None:
            result.granted.append(f"{subject} {value}")
        else:
            _refuse(work, actor, subject, value, reason, result)
    for value in sorted(held.keys() - values):
        reason = _try(work, lambda s, v=value: _remove(s, actor, held[v].id))
        if reason is None:
            result.removed.append(f"{subject} {value}")
        else:
            _refuse(work, actor, subject, value, reason, result)


def _membership(
    work: Work,
    projector: Projector,
    actor: Actor,
    subject: str,
    group: tuple[str, str],
    added: bool,
    result: ConsoleResult,
) -> None:
    demarche, role = group
    with work() as services:
        holding = [h for h in _active(services, subject) if (h.demarche, h.role) == group]
    label = f"groupe /demarches/{demarche}/{role}"
    if added:
        if not holding:
            _refuse(
                work,
                actor,
                subject,
                label,
                "un groupe ne dit pas pour quel SIRET : ajoutez la valeur "
                f"{demarche}:{role}:<siret> à l'attribut habilitation",
                result,
            )
        return
    for habilitation in holding:
        value = Right(demarche, role, habilitation.siret).value
        reason = _try(work, lambda s, h=habilitation.id: _remove(s, actor, h))
        if reason is None:
            result.removed.append(f"{subject} {value}")
        else:
            _refuse(work, actor, subject, value, reason, result)


def _grant(
    services: Services, projector: Projector, actor: Actor, subject: str, right: Right
) -> None:
    _person(services, projector, subject)
    services.habilitations.grant_from_console(
        actor, subject, right.demarche, right.role, right.siret
    )


def _remove(services: Services, actor: Actor, habilitation_id: int) -> None:
    habilitation = services.session.get(Habilitation, habilitation_id)
    if habilitation is not None and habilitation.revoked_at is None:
        services.habilitations.remove_from_console(actor, habilitation)


def _try(work: Work, change: Any) -> str | None:
    """Run one change in its own unit of work; the French reason when it is refused."""
    try:
        with work() as services:
            change(services)
    except BridgeError as exc:
        return exc.detail
    except KeycloakRejectedError as exc:
        return f"personne introuvable dans Keycloak ({exc})"
    return None


def _refuse(
    work: Work, actor: Actor, subject: str, what: str, reason: str, result: ConsoleResult
) -> None:
    """Revert through the projection, and say so: audit, log, metric."""
    with work() as services:
        enqueue(services.session, subject, f"console-refusee {what}")
        record(
            services.session,
            actor,
            "console-refusee",
            target=subject,
            valeur=what,
            raison=reason,
        )
        state = services.session.get(SyncState, REFUSALS)
        if state is None:
            services.session.add(SyncState(name=REFUSALS, value="1"))
        else:
            state.value = str(int(state.value) + 1)
    result.refused.append(f"{subject} {what} : {reason}")
    log.warning(
        "console-refusee",
        extra={"sujet": subject, "valeur": what, "raison": reason, "par": actor.subject},
    )
