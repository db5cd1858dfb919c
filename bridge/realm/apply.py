"""Bring a live realm to what `keycloak/realm-export/` says, keeping every account.

The managed-resources model (after keycloak-config-cli): each field the export names is
compared with the live realm. Besides, the realm remembers what was last applied: a
fingerprint per field, in the realm attribute `RECORD_ATTRIBUTE`. A live value that differs
from the export is

- updated when it still equals what was last applied (the export changed), or when the
  field was never applied (new in the export, or a realm never applied: see below);
- a **hand edit** otherwise (someone changed it in the console since): the whole run is
  refused, naming each one, unless forced.

A realm that has no record yet (imported by `--import-realm`, never applied) is adopted:
the export wins everywhere, the differences are printed, and the record is written.
Users, credentials, sessions and anything the export does not name are never read nor
written.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bridge.errors import SetupError
from bridge.keycloak_admin import RealmConfiguration
from bridge.realm.export import realm_file, render
from bridge.realm.resources import Fields, Key, Resource, normalized, resources

RECORD_ATTRIBUTE = "demarches.configuration-appliquee"
_ABSENT = object()


class HandEditsError(SetupError):
    """The live realm holds changes made by hand that the export would overwrite."""


def fingerprint(value: Any) -> str:
    """A short digest of a value as compared (absent included)."""
    text = "absent" if value is _ABSENT else json.dumps(value, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def _shown(value: Any) -> str:
    if value is _ABSENT:
        return "(absent)"
    if isinstance(value, str):
        return value if value else "« »"
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


@dataclass(frozen=True)
class Difference:
    """One field of one object whose live value is not the export's."""

    where: str
    name: str
    live: Any
    wanted: Any
    hand_edit: bool = False

    @property
    def key(self) -> Key:
        return (self.where, self.name)

    def sentence(self) -> str:
        """« flux inscription › exécution X : requirement DISABLED → REQUIRED »."""
        return f"{self.where} : {self.name} {_shown(self.live)} → {_shown(self.wanted)}"


@dataclass
class Plan:
    """What an apply would do: the differences, and whether the realm was ever applied."""

    differences: list[Difference] = field(default_factory=list)
    recorded: bool = True
    record_current: bool = True

    @property
    def hand_edits(self) -> list[Difference]:
        return [d for d in self.differences if d.hand_edit]


def _record_key(key: Key) -> str:
    """The field's name in the record: a digest too, so that the record stays small."""
    return hashlib.sha256(f"{key[0]} › {key[1]}".encode()).hexdigest()[:12]


def read_record(realm: RealmConfiguration) -> dict[str, str] | None:
    """What was last applied, as field → fingerprint; None if the realm was never applied."""
    text = ((realm.get("") or {}).get("attributes") or {}).get(RECORD_ATTRIBUTE)
    if not text:
        return None
    try:
        record = json.loads(text)
    except json.JSONDecodeError:
        return None
    return dict(record.get("empreintes", {})) if isinstance(record, dict) else None


def plan(realm: RealmConfiguration, managed: list[Resource]) -> Plan:
    """Compare every field the export names with the live realm (reads only)."""
    record = read_record(realm)
    result = Plan(recorded=record is not None)
    wanted_record: dict[str, str] = {}
    for resource in managed:
        wanted = resource.wanted()
        live = resource.live(realm)
        for key, value in wanted.items():
            wanted_record[_record_key(key)] = fingerprint(value)
            current = live.get(key, _ABSENT)
            if current is not _ABSENT:
                current = normalized(key[1], current)
            if current == value:
                continue
            applied = None if record is None else record.get(_record_key(key))
            hand_edit = applied is not None and applied != fingerprint(current)
            result.differences.append(Difference(key[0], key[1], current, value, hand_edit))
    result.record_current = record == wanted_record
    return result


def _record_value(managed: list[Resource]) -> str:
    prints: dict[str, str] = {}
    for resource in managed:
        fields: Fields = resource.wanted()
        prints.update({_record_key(key): fingerprint(value) for key, value in fields.items()})
    return json.dumps({"version": 1, "empreintes": prints}, separators=(",", ":"))


def apply(realm: RealmConfiguration, managed: list[Resource], *, force: bool = False) -> Plan:
    """Write what differs, resource by resource, then the record; refuse hand edits first
    (nothing is written then) unless `force`."""
    found = plan(realm, managed)
    if found.hand_edits and not force:
        lines = "\n".join(f"  - {d.sentence()}" for d in found.hand_edits)
        raise HandEditsError(
            f"Le domaine {realm.realm} a été modifié à la main depuis la dernière application "
            f"(valeur dans Keycloak → valeur de l’export) :\n{lines}\n"
            "Rien n'a été changé. Reportez ces modifications dans keycloak/realm-export/, ou "
            "relancez avec --forcer pour les écraser."
        )
    changed = {d.key for d in found.differences}
    for resource in managed:
        mine = {key for key in changed if key in resource.wanted()}
        if mine:
            resource.write(realm, mine)
    if found.differences or not found.record_current:
        # Keycloak replaces the whole map of attributes: the others are sent back as they are.
        attributes = dict((realm.get("") or {}).get("attributes") or {})
        attributes[RECORD_ATTRIBUTE] = _record_value(managed)
        realm.put("", {"attributes": attributes})
    return found


def load(directory: Path, env: Mapping[str, str], realm_name: str) -> list[Resource]:
    """The export of `directory`, its placeholders resolved from `env`, as resources."""
    return resources(render(env, realm_file(directory), name=realm_name))
