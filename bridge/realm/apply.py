"""Bring a live realm to what `keycloak/realm-export/` says, keeping every account.

The managed-resources model (after keycloak-config-cli): each field the export names is
compared with the live realm. Besides, the realm remembers what was last applied: a
fingerprint per field, in the realm attribute `RECORD_ATTRIBUTE`. A live value that differs
from the export is

- updated when it still equals what was last applied (the export changed), or when the
  field was never applied (new in the export, or a realm never applied: see below);
- a **hand edit** otherwise (someone changed it in the console since): the whole run is
  refused, naming each one, unless forced.

An object that an earlier apply made (it is in the record: a mapper, a client role, a realm
role, a client, a flow, a service account's role) and that the export no longer names is
deleted, and so is a field of a kept object whose kind is removed rather than left alone (a
user-profile attribute, a required action's setting): a **removal**, refused like a hand
edit when the live object changed since it was applied. What the record never held (made in
the console, or installed by `keycloak catalogue`, whose clients and roles are `protected`)
is never deleted.

A realm that has no record yet (imported by `--import-realm`, never applied) is adopted:
the export wins everywhere, the differences are printed, and the record is written.
Users, credentials, sessions and anything the export does not name are never read nor
written.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bridge.errors import SetupError
from bridge.keycloak_admin import RealmConfiguration
from bridge.realm.export import realm_file, render, secrets_left_to_defaults
from bridge.realm.resources import Fields, Key, Resource, from_ref, normalized, resources

RECORD_ATTRIBUTE = "demarches.configuration-appliquee"
_ABSENT = object()


class HandEditsError(SetupError):
    """The live realm holds changes made by hand that the export would overwrite."""


def fingerprint(value: Any) -> str:
    """A short digest of a value as compared (absent included)."""
    text = "absent" if value is _ABSENT else json.dumps(value, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


# What Keycloak answers in place of a password it keeps (the SMTP server's).
_KEYCLOAK_MASK = "**********"


def record_print(key: Key, value: Any, salt: str | None) -> str:
    """The field's fingerprint in the record. A secret's is keyed with the realm's random
    salt (kept in the record), so that the realm attribute, readable by any realm
    administrator, gives no short unsalted hash to test guesses against; `salt` None: a
    record written before salts, whose secrets were hashed plainly."""
    if salt is None or value is _ABSENT or not _hidden(key[1]):
        return fingerprint(value)
    text = json.dumps(value, sort_keys=True, ensure_ascii=False)
    return "h:" + hmac.new(salt.encode(), text.encode(), hashlib.sha256).hexdigest()[:24]


_MASKED = "(masqué)"


def _hidden(name: str) -> bool:
    """Is the field a secret, never printed (a client's secret, the SMTP password)?"""
    last = name.rsplit(".", 1)[-1].lower()
    return last == "secret" or last.endswith("password")  # not passwordPolicy


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
    removed: bool = False

    @property
    def key(self) -> Key:
        return (self.where, self.name)

    def sentence(self) -> str:
        """« flux inscription › exécution X : requirement DISABLED → REQUIRED », or
        « suppression : client portail › mappeur X »."""
        if self.removed:
            return f"suppression : {self.where}" + (f" : {self.name}" if self.name else "")
        if _hidden(self.name):
            live = _shown(_ABSENT) if self.live is _ABSENT else _MASKED
            return f"{self.where} : {self.name} {live} → {_MASKED}"
        return f"{self.where} : {self.name} {_shown(self.live)} → {_shown(self.wanted)}"


@dataclass
class Plan:
    """What an apply would do: the differences, and whether the realm was ever applied."""

    differences: list[Difference] = field(default_factory=list)
    recorded: bool = True
    record_current: bool = True
    salt: str = ""  # the realm's, for the secrets' fingerprints (new when none is recorded)
    # What leaves the live realm: the object (all its recorded fields) or some fields of it.
    removals: list[tuple[Resource, set[Key], bool]] = field(default_factory=list)

    @property
    def hand_edits(self) -> list[Difference]:
        return [d for d in self.differences if d.hand_edit]


def _record_key(key: Key) -> str:
    """The field's name in the record: a digest too, so that the record stays small."""
    return hashlib.sha256(f"{key[0]} › {key[1]}".encode()).hexdigest()[:12]


@dataclass
class Record:
    """What was last applied: each object's fields as field → fingerprint, and how to find
    the object again once it has left the export."""

    objects: dict[str, dict[str, Any]] = field(default_factory=dict)
    prints: dict[str, str] = field(default_factory=dict)
    salt: str | None = None


def read_record(realm: RealmConfiguration) -> Record | None:
    """What was last applied; None if the realm was never applied. A record of version 1
    (fingerprints only) knows no object: nothing is removed until it is written again."""
    text = ((realm.get("") or {}).get("attributes") or {}).get(RECORD_ATTRIBUTE)
    if not text:
        return None
    try:
        record = json.loads(text)
    except json.JSONDecodeError:
        return None
    if not isinstance(record, dict):
        return None
    objects = dict(record.get("objets", {}))
    prints = dict(record.get("empreintes", {}))
    for entry in objects.values():
        prints.update(entry.get("empreintes", {}))
    salt = record.get("sel")
    return Record(objects, prints, salt if isinstance(salt, str) and salt else None)


def _object_record(resource: Resource, salt: str) -> dict[str, Any]:
    prints = {
        _record_key(key): record_print(key, value, salt) for key, value in resource.wanted().items()
    }
    ref = resource.ref()
    return {"empreintes": prints} if ref is None else {"ref": ref, "empreintes": prints}


def _objects(managed: list[Resource], salt: str) -> dict[str, Any]:
    return {resource.where: _object_record(resource, salt) for resource in managed}


def _record_value(managed: list[Resource], salt: str) -> str:
    record = {"version": 2, "sel": salt, "objets": _objects(managed, salt)}
    return json.dumps(record, separators=(",", ":"), ensure_ascii=False)


def _edited(live: Fields, prints: dict[str, str], salt: str | None) -> bool:
    """Does a live field differ from what was applied to it?"""
    return any(
        _record_key(key) in prints
        and prints[_record_key(key)] != record_print(key, normalized(key[1], v), salt)
        for key, v in live.items()
    )


def plan(
    realm: RealmConfiguration, managed: list[Resource], protected: frozenset[str] = frozenset()
) -> Plan:
    """Compare every field the export names with the live realm, and find what an earlier
    apply made that the export no longer names (reads only). `protected`: objects (by
    « where ») that another step installs and that are never deleted."""
    record = read_record(realm)
    salt = None if record is None else record.salt
    result = Plan(recorded=record is not None, salt=salt or secrets.token_hex(16))
    for resource in managed:
        wanted = resource.wanted()
        found = resource.read(realm)
        interrupted = resource.interrupted(realm)
        live = (
            resource.live(realm) if not found else {k: v for k, v in found.items() if k in wanted}
        )
        for key, value in wanted.items():
            current = live.get(key, _ABSENT)
            if current is not _ABSENT:
                current = normalized(key[1], current)
            if current == value:
                continue
            applied = None if record is None else record.prints.get(_record_key(key))
            if current == _KEYCLOAK_MASK and _hidden(key[1]):
                # Keycloak never gives the password back: unchanged if the export's value
                # is the one last applied; a new value of the export otherwise.
                if applied is not None and applied == record_print(key, value, salt):
                    continue
                applied = None
            hand_edit = (
                not interrupted
                and applied is not None
                and applied != record_print(key, current, salt)
            )
            result.differences.append(Difference(key[0], key[1], current, value, hand_edit))
        entry = None if record is None else record.objects.get(resource.where)
        if entry is None:
            continue
        prints = entry.get("empreintes", {})
        dropped = {
            key: value
            for key, value in found.items()
            if key not in wanted and _record_key(key) in prints and resource.drops(key[1])
        }
        for key, value in dropped.items():
            edited = _edited({key: value}, prints, salt)
            result.differences.append(
                Difference(key[0], key[1], value, _ABSENT, edited, removed=True)
            )
        if dropped:
            result.removals.append((resource, set(dropped), False))
    if record is not None:
        kept = {resource.where for resource in managed}
        for where, entry in reversed(record.objects.items()):
            gone = from_ref(where, entry["ref"]) if "ref" in entry else None
            if where in kept or where in protected or gone is None:
                continue
            prints = entry.get("empreintes", {})
            found = {k: v for k, v in gone.read(realm).items() if _record_key(k) in prints}
            if not found:
                continue  # already gone
            result.differences.append(
                Difference(where, "", found, _ABSENT, _edited(found, prints, salt), removed=True)
            )
            result.removals.append((gone, set(found), True))
    result.record_current = (
        record is not None
        and record.salt is not None
        and record.objects == json.loads(json.dumps(_objects(managed, result.salt)))
    )
    return result


def apply(
    realm: RealmConfiguration,
    managed: list[Resource],
    *,
    force: bool = False,
    protected: frozenset[str] = frozenset(),
) -> Plan:
    """Write what differs, resource by resource, then delete what left the export, then the
    record; refuse hand edits first (nothing is written then) unless `force`."""
    found = plan(realm, managed, protected)
    if found.hand_edits and not force:
        lines = "\n".join(f"  - {d.sentence()}" for d in found.hand_edits)
        raise HandEditsError(
            f"Le domaine {realm.realm} a été modifié à la main depuis la dernière application "
            f"(valeur dans Keycloak → valeur de l’export) :\n{lines}\n"
            "Rien n'a été changé. Reportez ces modifications dans keycloak/realm-export/, ou "
            "relancez avec --forcer pour les écraser."
        )
    changed = {d.key for d in found.differences if not d.removed}
    for resource in managed:
        mine = {key for key in changed if key in resource.wanted()}
        if mine:
            resource.write(realm, mine)
    for resource, keys, whole in found.removals:
        if whole:
            resource.remove(realm, keys)
        else:
            resource.drop(realm, keys)
    if found.differences or not found.record_current:
        # Keycloak replaces the whole map of attributes: the others are sent back as they are.
        attributes = dict((realm.get("") or {}).get("attributes") or {})
        attributes[RECORD_ATTRIBUTE] = _record_value(managed, found.salt)
        realm.put("", {"attributes": attributes})
    return found


def load(directory: Path, env: Mapping[str, str], realm_name: str) -> list[Resource]:
    """The export of `directory`, its placeholders resolved from `env`, as resources.

    A client secret whose variable `env` does not set is left out: its default is a public
    development value, never written over a live realm (a realm imported with it keeps
    it; one given a real secret keeps that one)."""
    path = realm_file(directory)
    export = render(env, path, name=realm_name)
    unset = secrets_left_to_defaults(env, path)
    for client in export.get("clients", []):
        if client.get("clientId") in unset:
            client.pop("secret", None)
    return resources(export)
