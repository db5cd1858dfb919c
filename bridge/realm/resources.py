"""What the project owns in a realm, each kind read and written through the admin API.

Every resource turns the export and the live realm into the same flat form, `{(where,
name): value}` (« client portail », « redirectUris »), so that one comparison serves all;
`write` then brings the live object to the export for the names that differ. Only what the
export names is read or written: an attribute, a mapper, a client or a flow that is not in
it is never touched.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from bridge.errors import SetupError
from bridge.keycloak_admin import RealmConfiguration

Key = tuple[str, str]
Fields = dict[Key, Any]

# Top-level keys of the export that are not realm settings (each has its own resource) or
# that the project does not own (users: only the service account's client roles, a resource).
_NOT_SETTINGS = {
    "id",
    "realm",
    "roles",
    "clients",
    "users",
    "groups",
    "clientScopes",
    "requiredActions",
    "authenticationFlows",
    "authenticatorConfig",
    "components",
    "localizationTexts",
}
# Flow bindings name flows: written once the flows exist (see `RealmSettings.write`).
_UNORDERED_LISTS = {
    "redirectUris",
    "webOrigins",
    "supportedLocales",
    "eventsListeners",
    "enabledEventTypes",
    "defaultRoles",
    "defaultDefaultClientScopes",
    "defaultOptionalClientScopes",
    "defaultClientScopes",
    "optionalClientScopes",
}


def normalized(name: str, value: Any) -> Any:
    """The value as compared: lists whose order Keycloak does not keep are sorted."""
    if name in _UNORDERED_LISTS and isinstance(value, list):
        return sorted(value)
    return value


def _flatten(where: str, rep: dict[str, Any], *, skip: set[str], nested: set[str]) -> Fields:
    """One field per key, and one per entry of the maps in `nested` (« attributes.x »)."""
    fields: Fields = {}
    for name, value in rep.items():
        if name in skip:
            continue
        if name in nested and isinstance(value, dict):
            for sub, sub_value in value.items():
                fields[(where, f"{name}.{sub}")] = sub_value
        else:
            fields[(where, name)] = normalized(name, value)
    return fields


def _restricted(live: Fields, wanted: Fields) -> Fields:
    return {key: value for key, value in live.items() if key in wanted}


@dataclass
class Resource:
    """One object of the realm that the export describes."""

    where: str

    def wanted(self) -> Fields:
        raise NotImplementedError

    def read(self, realm: RealmConfiguration) -> Fields:
        """Every field of the live object, named or not by the export ({} when absent)."""
        raise NotImplementedError

    def live(self, realm: RealmConfiguration) -> Fields:
        """The live fields that the export names."""
        return _restricted(self.read(realm), self.wanted())

    def write(self, realm: RealmConfiguration, changed: set[Key]) -> None:
        raise NotImplementedError

    def ref(self) -> dict[str, str] | None:
        """What finds the object again once it has left the export (kept in the record);
        None for what is never deleted (the realm's settings, a built-in flow)."""
        return None

    def remove(self, realm: RealmConfiguration, fields: set[Key]) -> None:
        """Delete the object, which an earlier apply made and the export no longer names."""
        raise NotImplementedError

    def drops(self, name: str) -> bool:
        """Is a field that left the export taken out of the live object (a profile
        attribute, a required action's setting, a role mapping)? Otherwise it is only no
        longer managed, and stays as it is."""
        return False

    def drop(self, realm: RealmConfiguration, fields: set[Key]) -> None:
        raise NotImplementedError

    def interrupted(self, realm: RealmConfiguration) -> bool:
        """Did a run stop half-way through writing it? Its differences are then the
        export's to finish, not hand edits."""
        return False


@dataclass
class RealmSettings(Resource):
    """Brute force, password policy, tokens, SMTP, themes, locales, events, attributes."""

    rep: dict[str, Any] = field(default_factory=dict)

    def wanted(self) -> Fields:
        return _flatten(
            self.where, self.rep, skip=_NOT_SETTINGS, nested={"attributes", "smtpServer"}
        )

    def read(self, realm: RealmConfiguration) -> Fields:
        current = realm.get("") or {}
        for name, value in list(current.items()):
            # A binding left on a rebuild's copy (interrupted run) names the flow itself:
            # not a hand edit; the flow's rebuild finishes and moves it back.
            if name.endswith("Flow") and isinstance(value, str):
                current[name] = value.removesuffix(backup_alias(""))
        return _flatten(
            self.where, current, skip=_NOT_SETTINGS, nested={"attributes", "smtpServer"}
        )

    def write(self, realm: RealmConfiguration, changed: set[Key]) -> None:
        current = realm.get("") or {}
        update: dict[str, Any] = {}
        for _, name in changed:
            top, _, sub = name.partition(".")
            if top == "smtpServer":
                update["smtpServer"] = {**current.get("smtpServer", {}), **self.rep[top]}
            elif top == "attributes":
                # Keycloak replaces the whole map: the attributes it holds are sent back.
                update.setdefault("attributes", dict(current.get("attributes") or {}))
                update["attributes"][sub] = self.rep[top][sub]
            else:
                update[name] = self.rep[name]
        realm.put("", update)


@dataclass
class LocalizationTexts(Resource):
    """The realm's texts of one locale (the console's labels): the realm representation
    neither returns nor writes them, `/localization/{locale}` does, one key at a time."""

    locale: str = ""
    texts: dict[str, str] = field(default_factory=dict)

    def _path(self, key: str = "") -> str:
        return f"/localization/{_q(self.locale)}" + (f"/{_q(key)}" if key else "")

    def wanted(self) -> Fields:
        return {(self.where, key): text for key, text in self.texts.items()}

    def read(self, realm: RealmConfiguration) -> Fields:
        current = realm.get(self._path()) or {}
        return {(self.where, key): text for key, text in current.items()}

    def write(self, realm: RealmConfiguration, changed: set[Key]) -> None:
        for _, key in sorted(changed):
            realm.put_text(self._path(key), self.texts[key])

    def ref(self) -> dict[str, str] | None:
        return {"genre": "textes", "langue": self.locale}

    def drops(self, name: str) -> bool:
        return True

    def drop(self, realm: RealmConfiguration, fields: set[Key]) -> None:
        for _, key in sorted(fields):
            realm.delete(self._path(key))

    def remove(self, realm: RealmConfiguration, fields: set[Key]) -> None:
        self.drop(realm, fields)


@dataclass
class RealmRole(Resource):
    rep: dict[str, Any] = field(default_factory=dict)

    def wanted(self) -> Fields:
        return {(self.where, "description"): self.rep.get("description", "")}

    def read(self, realm: RealmConfiguration) -> Fields:
        role = realm.get(f"/roles/{_q(self.rep['name'])}")
        return {} if role is None else {(self.where, "description"): role.get("description", "")}

    def ref(self) -> dict[str, str] | None:
        return {"genre": "rôle du domaine", "nom": self.rep["name"]}

    def remove(self, realm: RealmConfiguration, fields: set[Key]) -> None:
        realm.delete(f"/roles/{_q(self.rep['name'])}")

    def write(self, realm: RealmConfiguration, changed: set[Key]) -> None:
        path = f"/roles/{_q(self.rep['name'])}"
        if realm.get(path) is None:
            realm.post("/roles", self.rep)
        else:
            realm.put(path, self.rep)


def _client_uuid(realm: RealmConfiguration, client_id: str) -> str | None:
    found = realm.get(f"/clients?clientId={_q(client_id)}") or []
    return str(found[0]["id"]) if found else None


@dataclass
class Client(Resource):
    """A client's settings, redirect URIs, attributes and secret (its mappers and roles are
    resources of their own)."""

    rep: dict[str, Any] = field(default_factory=dict)

    def wanted(self) -> Fields:
        return _flatten(self.where, self.rep, skip={"protocolMappers", "id"}, nested={"attributes"})

    def read(self, realm: RealmConfiguration) -> Fields:
        uuid = _client_uuid(realm, self.rep["clientId"])
        if uuid is None:
            return {}
        current = realm.get(f"/clients/{uuid}") or {}
        if "secret" in self.rep:
            current["secret"] = (realm.get(f"/clients/{uuid}/client-secret") or {}).get("value")
        return _flatten(self.where, current, skip={"protocolMappers", "id"}, nested={"attributes"})

    def ref(self) -> dict[str, str] | None:
        return {"genre": "client", "client": self.rep["clientId"]}

    def remove(self, realm: RealmConfiguration, fields: set[Key]) -> None:
        uuid = _client_uuid(realm, self.rep["clientId"])
        if uuid is not None:
            realm.delete(f"/clients/{uuid}")

    def write(self, realm: RealmConfiguration, changed: set[Key]) -> None:
        uuid = _client_uuid(realm, self.rep["clientId"])
        if uuid is None:
            realm.post("/clients", self.rep)
            return
        current = realm.get(f"/clients/{uuid}") or {}
        current.pop("protocolMappers", None)
        for key, value in self.rep.items():
            if key == "attributes":
                current["attributes"] = {**current.get("attributes", {}), **value}
            elif key != "protocolMappers":
                current[key] = value
        realm.put(f"/clients/{uuid}", current)


@dataclass
class ClientRole(Resource):
    """A client role of the export exists; its description is the catalog's (`python -m
    bridge keycloak catalogue` writes each role's label), so it is not compared here."""

    client_id: str = ""
    rep: dict[str, Any] = field(default_factory=dict)

    def wanted(self) -> Fields:
        return {(self.where, "présent"): True}

    def read(self, realm: RealmConfiguration) -> Fields:
        uuid = _client_uuid(realm, self.client_id)
        role = None if uuid is None else realm.get(f"/clients/{uuid}/roles/{_q(self.rep['name'])}")
        return {} if role is None else {(self.where, "présent"): True}

    def ref(self) -> dict[str, str] | None:
        return {"genre": "rôle de client", "client": self.client_id, "nom": self.rep["name"]}

    def remove(self, realm: RealmConfiguration, fields: set[Key]) -> None:
        uuid = _client_uuid(realm, self.client_id)
        if uuid is not None:
            realm.delete(f"/clients/{uuid}/roles/{_q(self.rep['name'])}")

    def write(self, realm: RealmConfiguration, changed: set[Key]) -> None:
        uuid = _client_uuid(realm, self.client_id)
        if uuid is None:
            raise SetupError(f"{self.where} : le client {self.client_id} est absent de Keycloak.")
        realm.post(f"/clients/{uuid}/roles", self.rep)


@dataclass
class ProtocolMapper(Resource):
    client_id: str = ""
    rep: dict[str, Any] = field(default_factory=dict)

    def wanted(self) -> Fields:
        return _flatten(self.where, self.rep, skip={"name", "id"}, nested={"config"})

    def _current(self, realm: RealmConfiguration) -> tuple[str | None, dict[str, Any] | None]:
        uuid = _client_uuid(realm, self.client_id)
        if uuid is None:
            return None, None
        client = realm.get(f"/clients/{uuid}") or {}
        for mapper in client.get("protocolMappers", []):
            if mapper.get("name") == self.rep["name"]:
                return uuid, mapper
        return uuid, None

    def read(self, realm: RealmConfiguration) -> Fields:
        _, mapper = self._current(realm)
        if mapper is None:
            return {}
        return _flatten(self.where, mapper, skip={"name", "id"}, nested={"config"})

    def ref(self) -> dict[str, str] | None:
        return {"genre": "mappeur", "client": self.client_id, "nom": self.rep["name"]}

    def remove(self, realm: RealmConfiguration, fields: set[Key]) -> None:
        uuid, mapper = self._current(realm)
        if uuid is not None and mapper is not None:
            realm.delete(f"/clients/{uuid}/protocol-mappers/models/{mapper['id']}")

    def write(self, realm: RealmConfiguration, changed: set[Key]) -> None:
        uuid, mapper = self._current(realm)
        if uuid is None:
            raise SetupError(f"{self.where} : le client {self.client_id} est absent de Keycloak.")
        if mapper is None:
            realm.post(f"/clients/{uuid}/protocol-mappers/models", self.rep)
            return
        update = {
            **mapper,
            **self.rep,
            "config": {**mapper.get("config", {}), **self.rep["config"]},
        }
        realm.put(f"/clients/{uuid}/protocol-mappers/models/{mapper['id']}", update)


@dataclass
class RequiredAction(Resource):
    rep: dict[str, Any] = field(default_factory=dict)

    def wanted(self) -> Fields:
        return _flatten(self.where, self.rep, skip={"alias", "providerId"}, nested={"config"})

    def read(self, realm: RealmConfiguration) -> Fields:
        current = realm.get(f"/authentication/required-actions/{_q(self.rep['alias'])}")
        if current is None:
            return {}
        current["config"] = current.get("config") or {}
        return _flatten(self.where, current, skip={"alias", "providerId"}, nested={"config"})

    def ref(self) -> dict[str, str] | None:
        return {"genre": "action requise", "alias": self.rep["alias"]}

    def remove(self, realm: RealmConfiguration, fields: set[Key]) -> None:
        """A required action of Keycloak's stays registered: it is disabled."""
        alias = _q(self.rep["alias"])
        current = realm.get(f"/authentication/required-actions/{alias}")
        if current is not None:
            realm.put(f"/authentication/required-actions/{alias}", {**current, "enabled": False})

    def drops(self, name: str) -> bool:
        return name.startswith("config.")

    def drop(self, realm: RealmConfiguration, fields: set[Key]) -> None:
        alias = _q(self.rep["alias"])
        current = realm.get(f"/authentication/required-actions/{alias}") or {}
        gone = {name.removeprefix("config.") for _, name in fields}
        config = {k: v for k, v in (current.get("config") or {}).items() if k not in gone}
        realm.put(f"/authentication/required-actions/{alias}/config", {"config": config})

    def write(self, realm: RealmConfiguration, changed: set[Key]) -> None:
        alias = _q(self.rep["alias"])
        if realm.get(f"/authentication/required-actions/{alias}") is None:
            realm.post(
                "/authentication/register-required-action",
                {"providerId": self.rep["providerId"], "name": self.rep["name"]},
            )
        realm.put(f"/authentication/required-actions/{alias}", self.rep)
        if any(name.startswith("config.") for _, name in changed) and self.rep.get("config"):
            realm.put(
                f"/authentication/required-actions/{alias}/config", {"config": self.rep["config"]}
            )


@dataclass(frozen=True)
class _Row:
    """One execution of a flow, flattened as Keycloak's `/executions` lists them."""

    parent: str
    ident: str
    level: int
    authenticator: str | None
    requirement: str
    priority: int | None
    config_alias: str | None
    subflow: dict[str, Any] | None


@dataclass
class Flow(Resource):
    """A top-level flow with its sub-flows: structure, requirements, priorities, configs."""

    rep: dict[str, Any] = field(default_factory=dict)
    flows: dict[str, dict[str, Any]] = field(default_factory=dict)
    configs: dict[str, dict[str, str]] = field(default_factory=dict)

    def _rows(self) -> Iterator[_Row]:
        def walk(flow: dict[str, Any], level: int) -> Iterator[_Row]:
            seen: dict[str, int] = {}
            executions = sorted(flow.get("authenticationExecutions", []), key=_priority)
            for execution in executions:
                sub = (
                    self.flows.get(execution.get("flowAlias", ""))
                    if execution.get("authenticatorFlow")
                    else None
                )
                name = f"sous-flux {sub['alias']}" if sub else str(execution.get("authenticator"))
                seen[name] = seen.get(name, 0) + 1
                ident = name if seen[name] == 1 else f"{name} ({seen[name]})"
                yield _Row(
                    flow["alias"],
                    ident,
                    level,
                    execution.get("authenticator"),
                    execution["requirement"],
                    execution.get("priority"),
                    execution.get("authenticatorConfig"),
                    sub,
                )
                if sub:
                    yield from walk(sub, level + 1)

        yield from walk(self.rep, 0)

    def _row_fields(self, row: _Row, config: dict[str, str] | None, priority: bool) -> Fields:
        where = f"flux {row.parent} › exécution {row.ident}"
        fields: Fields = {(where, "requirement"): row.requirement}
        if priority and row.priority is not None:
            fields[(where, "priority")] = row.priority
        for name, value in (config or {}).items():
            fields[(where, f"config.{name}")] = value
        return fields

    def wanted(self) -> Fields:
        fields: Fields = {
            (self.where, "description"): self.rep.get("description", ""),
            (self.where, "exécutions"): ["  " * row.level + row.ident for row in self._rows()],
        }
        for row in self._rows():
            config = self.configs.get(row.config_alias or "", {}) if row.config_alias else None
            fields.update(self._row_fields(row, config, priority=True))
        return fields

    def _live_rows(self, realm: RealmConfiguration) -> list[dict[str, Any]] | None:
        rows = realm.get(f"/authentication/flows/{_q(self.rep['alias'])}/executions")
        return None if rows is None else list(rows)

    def live(self, realm: RealmConfiguration) -> Fields:
        found = self.read(realm)
        if not found and self.rep.get("builtIn"):
            # Keycloak decides which of its own flows exist (26.x lists no « saml ecp »).
            return self.wanted()
        return _restricted(found, self.wanted())

    def ref(self) -> dict[str, str] | None:
        return None if self.rep.get("builtIn") else {"genre": "flux", "alias": self.rep["alias"]}

    def remove(self, realm: RealmConfiguration, fields: set[Key]) -> None:
        flows = realm.get("/authentication/flows") or []
        top = next((f for f in flows if f["alias"] == self.rep["alias"]), None)
        if top is not None:
            realm.delete(f"/authentication/flows/{top['id']}")

    def read(self, realm: RealmConfiguration) -> Fields:
        flows = realm.get("/authentication/flows") or []
        top = next((f for f in flows if f["alias"] == self.rep["alias"]), None)
        rows = self._live_rows(realm) if top else None
        if top is None or rows is None:
            return {}
        fields: Fields = {(self.where, "description"): top.get("description", "")}
        structure: list[str] = []
        parents = [self.rep["alias"]]
        seen: list[dict[str, int]] = [{}]
        for row in rows:
            level = int(row["level"])
            del parents[level + 1 :], seen[level + 1 :]
            is_flow = bool(row.get("authenticationFlow"))
            name = f"sous-flux {row['displayName']}" if is_flow else str(row.get("providerId"))
            seen[level][name] = seen[level].get(name, 0) + 1
            ident = name if seen[level][name] == 1 else f"{name} ({seen[level][name]})"
            structure.append("  " * level + ident)
            config = None
            if row.get("authenticationConfig"):
                found = realm.get(f"/authentication/config/{row['authenticationConfig']}")
                config = (found or {}).get("config", {})
            live_row = _Row(
                parents[level],
                ident,
                level,
                None,
                row["requirement"],
                row.get("priority"),
                None,
                None,
            )
            fields.update(self._row_fields(live_row, config, priority=True))
            if is_flow:
                parents.append(str(row["displayName"]))
                seen.append({})
        if self.interrupted(realm):
            structure.append("(reconstruction interrompue)")
        fields[(self.where, "exécutions")] = structure
        return fields

    def interrupted(self, realm: RealmConfiguration) -> bool:
        backup = backup_alias(self.rep["alias"])
        return any(f["alias"] == backup for f in realm.get("/authentication/flows") or [])

    def write(self, realm: RealmConfiguration, changed: set[Key]) -> None:
        alias = self.rep["alias"]
        rows = self._live_rows(realm)
        if rows is None or (self.where, "exécutions") in changed:
            self._rebuild(realm, exists=rows is not None)
            return
        if (self.where, "description") in changed:
            flows = realm.get("/authentication/flows") or []
            top = next(f for f in flows if f["alias"] == alias)
            realm.put(
                f"/authentication/flows/{top['id']}",
                {**top, "description": self.rep.get("description", "")},
            )
        wanted_rows = list(self._rows())
        for live_row, row in zip(rows, wanted_rows, strict=True):
            where = f"flux {row.parent} › exécution {row.ident}"
            if (where, "requirement") in changed or (where, "priority") in changed:
                update = {**live_row, "requirement": row.requirement}
                if row.priority is not None:
                    update["priority"] = row.priority
                realm.put(f"/authentication/flows/{_q(alias)}/executions", update)
            if any(w == where and n.startswith("config.") for w, n in changed):
                self._write_config(realm, live_row, row)

    def _write_config(self, realm: RealmConfiguration, live_row: dict[str, Any], row: _Row) -> None:
        config = self.configs.get(row.config_alias or "", {})
        body = {"alias": row.config_alias, "config": config}
        if live_row.get("authenticationConfig"):
            config_id = live_row["authenticationConfig"]
            realm.put(f"/authentication/config/{config_id}", {**body, "id": config_id})
        else:
            realm.post(f"/authentication/executions/{live_row['id']}/config", body)

    def _rebuild(self, realm: RealmConfiguration, *, exists: bool) -> None:
        """A flow whose executions changed is made again from the export (Keycloak cannot
        move an execution into another sub-flow). The realm's bindings move for that moment
        to a complete copy of the old flow (`backup_alias`), and back once the new one is
        whole: a failure or a crash in between leaves them on the copy, never on a
        half-built flow; the next run (which reads the copy as the flow itself, see
        `RealmSettings.read`) builds it again and deletes the copy."""
        alias = self.rep["alias"]
        if self.rep.get("builtIn"):
            raise SetupError(
                f"{self.where} : la structure d'un flux intégré de Keycloak ne peut pas être "
                "changée par l'application ; copiez-le sous un autre nom dans l'export."
            )
        backup = backup_alias(alias)
        flows = {f["alias"]: f for f in realm.get("/authentication/flows") or []}
        settings = realm.get("") or {}
        bound = {k: v for k, v in settings.items() if k.endswith("Flow") and v in (alias, backup)}
        if bound:
            if backup not in flows:  # else left by an interrupted rebuild: still whole
                realm.post(f"/authentication/flows/{_q(alias)}/copy", {"newName": backup})
            realm.put("", dict.fromkeys(bound, backup))
        if exists and alias in flows:
            realm.delete(f"/authentication/flows/{flows[alias]['id']}")
        self._build(realm)
        if bound:
            realm.put("", dict.fromkeys(bound, alias))
            copy = next(
                (f for f in realm.get("/authentication/flows") or [] if f["alias"] == backup),
                None,
            )
            if copy is not None:
                realm.delete(f"/authentication/flows/{copy['id']}")

    def _build(self, realm: RealmConfiguration) -> None:
        """The flow made from the export, execution by execution, then its settings."""
        alias = self.rep["alias"]
        realm.post(
            "/authentication/flows",
            {
                "alias": alias,
                "description": self.rep.get("description", ""),
                "providerId": self.rep.get("providerId", "basic-flow"),
                "topLevel": True,
                "builtIn": False,
            },
        )
        for row in self._rows():
            path = f"/authentication/flows/{_q(row.parent)}/executions"
            if row.subflow is not None:
                realm.post(
                    f"{path}/flow",
                    {
                        "alias": row.subflow["alias"],
                        "description": row.subflow.get("description", ""),
                        "type": row.subflow.get("providerId", "basic-flow"),
                        "provider": _subflow_provider(self.flows, row),
                    },
                )
            else:
                realm.post(f"{path}/execution", {"provider": row.authenticator})
        rows = self._live_rows(realm) or []
        for live_row, row in zip(rows, list(self._rows()), strict=True):
            update = {**live_row, "requirement": row.requirement}
            if row.priority is not None:
                update["priority"] = row.priority
            realm.put(f"/authentication/flows/{_q(alias)}/executions", update)
            if row.config_alias:
                self._write_config(realm, live_row, row)


def backup_alias(alias: str) -> str:
    """The copy of a flow that holds the realm's bindings while the flow is rebuilt."""
    return f"{alias} (copie de reconstruction)"


def _subflow_provider(flows: dict[str, dict[str, Any]], row: _Row) -> str | None:
    """The form provider of a form sub-flow (the execution that names it in its parent)."""
    parent = flows.get(row.parent, {})
    for execution in parent.get("authenticationExecutions", []):
        if row.subflow is not None and execution.get("flowAlias") == row.subflow["alias"]:
            provider = execution.get("authenticator")
            return str(provider) if provider else None
    return None


def _priority(execution: dict[str, Any]) -> int:
    return int(execution.get("priority", 0))


@dataclass
class UserProfile(Resource):
    """The declarative user profile: each attribute and group of the export, kept in its
    place; attributes someone added in the console are kept."""

    config: dict[str, Any] = field(default_factory=dict)

    def _fields(self, config: dict[str, Any]) -> Fields:
        fields: Fields = {}
        for attribute in config.get("attributes", []):
            fields[(self.where, f"attribut {attribute['name']}")] = attribute
        for group in config.get("groups", []):
            fields[(self.where, f"groupe {group['name']}")] = group
        if "unmanagedAttributePolicy" in config:
            fields[(self.where, "unmanagedAttributePolicy")] = config["unmanagedAttributePolicy"]
        return fields

    def wanted(self) -> Fields:
        return self._fields(self.config)

    def read(self, realm: RealmConfiguration) -> Fields:
        return self._fields(realm.get("/users/profile") or {})

    def drops(self, name: str) -> bool:
        return name.startswith(("attribut ", "groupe "))

    def drop(self, realm: RealmConfiguration, fields: set[Key]) -> None:
        """The attribute leaves the profile; Keycloak keeps the users' values (unmanaged)."""
        current = realm.get("/users/profile") or {}
        gone = {name for _, name in fields}
        for part, label in (("attributes", "attribut"), ("groups", "groupe")):
            current[part] = [i for i in current.get(part, []) if f"{label} {i['name']}" not in gone]
        realm.put("/users/profile", current)

    def write(self, realm: RealmConfiguration, changed: set[Key]) -> None:
        current = realm.get("/users/profile") or {}
        merged = dict(current)
        for part in ("attributes", "groups"):
            wanted = self.config.get(part, [])
            names = {item["name"] for item in wanted}
            merged[part] = wanted + [i for i in current.get(part, []) if i["name"] not in names]
        if "unmanagedAttributePolicy" in self.config:
            merged["unmanagedAttributePolicy"] = self.config["unmanagedAttributePolicy"]
        realm.put("/users/profile", merged)


@dataclass
class ServiceAccountRoles(Resource):
    """The roles of one client (`realm-management`) that a client's service account holds,
    as the export's `users` section lists them; nothing else about users is managed."""

    client_id: str = ""
    roles_client: str = ""
    roles: list[str] = field(default_factory=list)

    def wanted(self) -> Fields:
        return {(self.where, f"rôle {role}"): True for role in self.roles}

    def _path(self, realm: RealmConfiguration) -> tuple[str, str] | None:
        """The role mappings' path, and the roles client's id; None if either is absent."""
        uuid = _client_uuid(realm, self.client_id)
        roles_uuid = _client_uuid(realm, self.roles_client)
        user = None if uuid is None else realm.get(f"/clients/{uuid}/service-account-user")
        if user is None or roles_uuid is None:
            return None
        return f"/users/{user['id']}/role-mappings/clients/{roles_uuid}", roles_uuid

    def read(self, realm: RealmConfiguration) -> Fields:
        found = self._path(realm)
        held = [] if found is None else realm.get(found[0]) or []
        return {(self.where, f"rôle {role['name']}"): True for role in held}

    def write(self, realm: RealmConfiguration, changed: set[Key]) -> None:
        found = self._path(realm)
        if found is None:
            raise SetupError(f"{self.where} : le client ou son compte de service est absent.")
        path, roles_uuid = found
        names = [name.removeprefix("rôle ") for _, name in changed]
        realm.post(path, [realm.get(f"/clients/{roles_uuid}/roles/{_q(n)}") for n in names])

    def ref(self) -> dict[str, str] | None:
        return {
            "genre": "rôles du compte de service",
            "client": self.client_id,
            "roles_de": self.roles_client,
        }

    def drops(self, name: str) -> bool:
        return True

    def drop(self, realm: RealmConfiguration, fields: set[Key]) -> None:
        found = self._path(realm)
        if found is None:
            return
        path, roles_uuid = found
        names = [name.removeprefix("rôle ") for _, name in fields]
        realm.delete(path, [realm.get(f"/clients/{roles_uuid}/roles/{_q(n)}") for n in names])

    def remove(self, realm: RealmConfiguration, fields: set[Key]) -> None:
        self.drop(realm, fields)


def from_ref(where: str, ref: dict[str, str]) -> Resource | None:
    """A resource that has left the export, found again from the record (None: unknown)."""
    kind = ref.get("genre")
    if kind == "rôle du domaine":
        return RealmRole(where, {"name": ref["nom"]})
    if kind == "client":
        return Client(where, {"clientId": ref["client"]})
    if kind == "mappeur":
        return ProtocolMapper(where, ref["client"], {"name": ref["nom"]})
    if kind == "rôle de client":
        return ClientRole(where, ref["client"], {"name": ref["nom"]})
    if kind == "action requise":
        return RequiredAction(where, {"alias": ref["alias"]})
    if kind == "flux":
        return Flow(where, {"alias": ref["alias"]})
    if kind == "textes":
        return LocalizationTexts(where, ref["langue"])
    if kind == "rôles du compte de service":
        return ServiceAccountRoles(where, ref["client"], ref["roles_de"])
    return None


def _q(text: str) -> str:
    from urllib.parse import quote

    return quote(text, safe="")


def resources(export: dict[str, Any]) -> list[Resource]:
    """The export as resources, in the order they are written: what others name first."""
    found: list[Resource] = []
    for role in export.get("roles", {}).get("realm", []):
        found.append(RealmRole(f"rôle du domaine {role['name']}", role))
    client_roles = export.get("roles", {}).get("client", {})
    for client in export.get("clients", []):
        client_id = client["clientId"]
        found.append(Client(f"client {client_id}", client))
        for mapper in client.get("protocolMappers", []):
            found.append(
                ProtocolMapper(f"client {client_id} › mappeur {mapper['name']}", client_id, mapper)
            )
        for role in client_roles.get(client_id, []):
            found.append(ClientRole(f"client {client_id} › rôle {role['name']}", client_id, role))
    for action in export.get("requiredActions", []):
        found.append(RequiredAction(f"action requise {action['alias']}", action))
    flows = {flow["alias"]: flow for flow in export.get("authenticationFlows", [])}
    configs = {c["alias"]: c.get("config", {}) for c in export.get("authenticatorConfig", [])}
    for flow in flows.values():
        if flow.get("topLevel"):
            found.append(Flow(f"flux {flow['alias']}", flow, flows, configs))
    for component in export.get("components", {}).get(
        "org.keycloak.userprofile.UserProfileProvider", []
    ):
        for text in component.get("config", {}).get("kc.user.profile.config", []):
            found.append(UserProfile("profil utilisateur", json.loads(text)))
    found.append(RealmSettings("domaine", export))
    for locale, texts in (export.get("localizationTexts") or {}).items():
        found.append(LocalizationTexts(f"textes de la langue {locale}", locale, dict(texts)))
    for user in export.get("users", []):
        client_id = user.get("serviceAccountClientId")
        for roles_client, roles in (user.get("clientRoles") or {}).items():
            if client_id:
                where = f"compte de service du client {client_id} › rôles de {roles_client}"
                found.append(ServiceAccountRoles(where, client_id, roles_client, list(roles)))
    return found
