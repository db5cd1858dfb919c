"""The one adapter that speaks Keycloak's admin REST API (through python-keycloak).

Operations are idempotent by contract ("ensure"); failures are split into
`KeycloakRetriableError` (network, 5xx: retry later) and `KeycloakRejectedError` (4xx: terminal).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from keycloak import KeycloakAdmin, KeycloakOpenIDConnection
from keycloak.exceptions import KeycloakConnectionError, KeycloakError


class KeycloakRetriableError(Exception):
    """Keycloak did not answer or answered 5xx: the operation may be retried."""


class KeycloakRejectedError(Exception):
    """Keycloak refused the operation (4xx): retrying the same call will not help."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


PAGE = 100
# What the bridge owns in Keycloak: groups under /demarches marked with this attribute, and
# the person's multi-valued `habilitation` attribute ({demarche}:{role}:{siret}).
OWNER_ATTRIBUTE = "demarches.gere-par"
OWNER = "bridge"
GROUP_ROOT = "demarches"
HABILITATION_ATTRIBUTE = "habilitation"
HABILITATIONS_SCOPE = "habilitations"


@dataclass(frozen=True)
class NewPerson:
    """A person's account as the bridge creates it.

    The professional details are user-profile attributes of the realm (see
    `keycloak/README.md`); Keycloak asks the person for any required one left empty.
    """

    username: str
    email: str
    first_name: str
    last_name: str
    email_verified: bool = True
    civilite: str | None = None
    telephone: str | None = None
    siret: str | None = None

    def attributes(self) -> dict[str, list[str]]:
        details = {"civilite": self.civilite, "telephone": self.telephone, "siret": self.siret}
        return {name: [value] for name, value in details.items() if value}

    def representation(self, password: str | None, *, temporary: bool) -> dict[str, Any]:
        """The user as Keycloak's admin API creates it (with its password when given)."""
        payload: dict[str, Any] = {
            "username": self.username,
            "email": self.email,
            "firstName": self.first_name,
            "lastName": self.last_name,
            "emailVerified": self.email_verified,
            "enabled": True,
            "attributes": self.attributes(),
        }
        if password is not None:
            payload["credentials"] = [
                {"type": "password", "value": password, "temporary": temporary}
            ]
        return payload


@dataclass(frozen=True)
class AccountState:
    """A Keycloak account's state: open, e-mail verified, locked after failed logins."""

    enabled: bool
    email_verified: bool
    locked: bool
    failures: int


class KeycloakDirectory:
    """Users of one realm, reached with the bridge's service account or an admin login."""

    def __init__(self, admin: KeycloakAdmin) -> None:
        self._admin = admin
        self._client_uuids: dict[str, str | None] = {}

    @classmethod
    def with_service_account(
        cls, server_url: str, realm: str, client_id: str, client_secret: str
    ) -> KeycloakDirectory:
        connection = KeycloakOpenIDConnection(
            server_url=server_url,
            realm_name=realm,
            client_id=client_id,
            client_secret_key=client_secret,
            verify=True,
        )
        return cls(KeycloakAdmin(connection=connection))

    @classmethod
    def with_admin_password(
        cls, server_url: str, realm: str, username: str, password: str
    ) -> KeycloakDirectory:
        connection = KeycloakOpenIDConnection(
            server_url=server_url,
            username=username,
            password=password,
            realm_name=realm,
            user_realm_name="master",
            client_id="admin-cli",
            verify=True,
        )
        return cls(KeycloakAdmin(connection=connection))

    def ensure_person(
        self, person: NewPerson, password: str | None = None, *, temporary: bool = False
    ) -> str:
        """Create the account if its username is new; return its id either way."""
        payload = person.representation(password, temporary=temporary)
        user_id: str = _call(lambda: self._admin.create_user(payload, exist_ok=True))
        return user_id

    # --- accounts made by the bridge (employer space) --------------------------------------

    def email_taken(self, email: str) -> bool:
        """Does an account of the realm already use this e-mail (exact match)?"""
        found: list[dict[str, Any]] = _call(
            lambda: self._admin.get_users({"email": email, "exact": True, "max": 1})
        )
        return bool(found)

    def create_account(
        self, person: NewPerson, temporary_password: str, attributes: dict[str, list[str]]
    ) -> str:
        """A new account with a temporary password (changed at first login, then the CGU).

        Never "ensure": a username or e-mail already there is a refusal (409), so two
        submissions of one form cannot share an account.
        """
        payload = person.representation(temporary_password, temporary=True)
        payload["attributes"].update(attributes)
        user_id: str = _call(lambda: self._admin.create_user(payload, exist_ok=False))
        return user_id

    def awaiting_activation(self, email: str) -> str | None:
        """The id of the open account that registered with this e-mail and never opened its
        activation link (None otherwise: unknown address, activated, or disabled)."""
        found: list[dict[str, Any]] = _call(
            lambda: self._admin.get_users({"email": email, "exact": True, "max": 2})
        )
        if len(found) != 1:
            return None
        user = found[0]
        if user.get("emailVerified") or not user.get("enabled", True):
            return None
        return str(user["id"])

    def send_activation_link(self, user_id: str, client_id: str, lifespan_seconds: int) -> None:
        """Keycloak's own activation e-mail, with a new link valid `lifespan_seconds`; once
        activated, the person is offered the way to `client_id`'s home page.

        python-keycloak's `send_verify_email` has no lifespan (Keycloak's default would be
        the administrator's 12 hours), hence the raw call on its connection.
        """
        url = f"admin/realms/{self._admin.connection.realm_name}/users/{user_id}/send-verify-email"
        response = _call(
            lambda: self._admin.connection.raw_put(
                url, data="{}", client_id=client_id, lifespan=lifespan_seconds
            )
        )
        if response.status_code >= 500:
            raise KeycloakRetriableError(f"send-verify-email : {response.status_code}")
        if response.status_code >= 400:
            raise KeycloakRejectedError(
                f"send-verify-email : {response.text[:200]}", response.status_code
            )

    def delete_account(self, user_id: str) -> None:
        """Undo an account whose store write failed (gone already counts as done)."""
        try:
            _call(lambda: self._admin.delete_user(user_id))
        except KeycloakRejectedError as exc:
            if exc.status != 404:
                raise

    def update_account(
        self, user_id: str, first_name: str, last_name: str, attributes: dict[str, list[str]]
    ) -> None:
        """Names and the given attributes; the others (habilitations, CGU) are kept."""
        user = self.person(user_id)
        user["firstName"], user["lastName"] = first_name, last_name
        user["attributes"] = {**(user.get("attributes") or {}), **attributes}
        _call(lambda: self._admin.update_user(user_id, user))

    def renew_password(self, user_id: str, temporary_password: str) -> None:
        """A temporary password (changed at next login) and every open session ended."""
        _call(lambda: self._admin.set_user_password(user_id, temporary_password, temporary=True))
        _call(lambda: self._admin.user_logout(user_id))

    def set_enabled(self, user_id: str, enabled: bool) -> None:
        """Open or close the account; closing it ends its sessions."""
        user = self.person(user_id)  # whole: Keycloak's profile treats an absent field as empty
        user["enabled"] = enabled
        _call(lambda: self._admin.update_user(user_id, user))
        if not enabled:
            _call(lambda: self._admin.user_logout(user_id))

    def sessions(self, user_id: str) -> list[dict[str, Any]]:
        """The person's open SSO sessions."""
        sessions: list[dict[str, Any]] = _call(lambda: self._admin.get_sessions(user_id))
        return sessions

    def account_state(self, user_id: str) -> AccountState | None:
        """The account as the operator needs it on the phone: open, e-mail verified, locked
        by the realm's brute-force protection (None: Keycloak has no such account)."""
        try:
            user = self.person(user_id)
        except KeycloakRejectedError as exc:
            if exc.status == 404:
                return None
            raise
        status: dict[str, Any] = _call(lambda: self._admin.get_bruteforce_detection_status(user_id))
        return AccountState(
            bool(user.get("enabled")),
            bool(user.get("emailVerified")),
            bool(status.get("disabled")),
            int(status.get("numFailures") or 0),
        )

    def unlock_brute_force(self, user_id: str) -> None:
        """Forget the account's failed logins: the brute-force lock is lifted at once."""
        _call(lambda: self._admin.clear_bruteforce_attempts_for_user(user_id))

    # --- the projection (bridge/sync) ------------------------------------------------------

    def ensure_client_roles(
        self, client_id: str, title: str, roles: list[tuple[str, str, list[str]]]
    ) -> str:
        """The démarche's client and its roles `(name, description, implied roles)`.

        The realm export declares each démarche's client with its secret; a démarche added
        to the catalog later gets a confidential client created here, marked as the
        bridge's. Implied roles become composite roles, so a gestionnaire's token also
        carries `declarant`, as the catalog says. Returns the client's internal id.
        """
        uuid: str | None = _call(lambda: self._admin.get_client_id(client_id))
        if uuid is None:
            _call(
                lambda: self._admin.create_client(
                    {
                        "clientId": client_id,
                        "name": title,
                        "enabled": True,
                        "publicClient": False,
                        "standardFlowEnabled": True,
                        "attributes": {OWNER_ATTRIBUTE: OWNER},
                    },
                    skip_exists=True,
                )
            )
            uuid = _call(lambda: self._admin.get_client_id(client_id))
            if uuid is None:
                raise KeycloakRejectedError(f"client {client_id} absent après sa création")
        client_uuid = uuid
        existing = {r["name"]: r for r in _call(lambda: self._admin.get_client_roles(client_uuid))}
        for name, description, _implies in roles:
            if name not in existing:
                _call(
                    lambda name=name, description=description: self._admin.create_client_role(
                        client_uuid, {"name": name, "description": description}, skip_exists=True
                    )
                )
            elif existing[name].get("description") != description:
                _call(
                    lambda name=name, description=description: self._admin.update_client_role(
                        client_uuid, name, {"name": name, "description": description}
                    )
                )
        for name, _description, implies in roles:
            if not implies:
                continue
            held = {
                r["name"]
                for r in _call(
                    lambda name=name: self._admin.get_composite_client_roles_of_role(
                        client_uuid, name
                    )
                )
            }
            missing = [r for r in implies if r not in held]
            if missing:
                wanted = [self._client_role(client_uuid, r) for r in missing]
                _done_if_exists(
                    lambda name=name, wanted=wanted: self._admin.add_composite_client_roles_to_role(
                        client_uuid, name, wanted
                    )
                )
        return client_uuid

    def _client_role(self, client_uuid: str, name: str) -> dict[str, Any]:
        role: dict[str, Any] = _call(lambda: self._admin.get_client_role(client_uuid, name))
        return role

    def ensure_role_group(self, client_uuid: str, demarche: str, role: str) -> str:
        """The group `/demarches/{demarche}/{role}`, mapped to the client role; its id.

        Groups the bridge creates carry the owner attribute; a group of that path made by
        someone else is refused rather than taken over (the bridge never touches what it
        does not own).
        """
        parent: str | None = None
        path = ""
        for name in (GROUP_ROOT, demarche, role):
            path = f"{path}/{name}"
            group = self._group_at(path)
            if group is None:
                payload = {"name": name, "attributes": {OWNER_ATTRIBUTE: [OWNER]}}
                group_id: str | None = _call(
                    lambda payload=payload, parent=parent: self._admin.create_group(
                        payload, parent=parent, skip_exists=True
                    )
                )
                group = self._group_at(path) if group_id is None else {"id": group_id}
                if group is None:
                    raise KeycloakRejectedError(f"groupe {path} absent après sa création")
            elif OWNER not in group.get("attributes", {}).get(OWNER_ATTRIBUTE, []):
                raise KeycloakRejectedError(
                    f"le groupe {path} existe mais n'a pas été créé par le pont ; "
                    "renommez-le ou donnez-lui l'attribut "
                    f"{OWNER_ATTRIBUTE}={OWNER}"
                )
            parent = str(group["id"])
        if parent is None:  # the loop above always sets it
            raise KeycloakRejectedError(f"groupe /{GROUP_ROOT}/{demarche}/{role} introuvable")
        group_id_ = parent
        mapped = {
            r["name"]
            for r in _call(lambda: self._admin.get_group_client_roles(group_id_, client_uuid))
        }
        if role not in mapped:
            _done_if_exists(
                lambda: self._admin.assign_group_client_roles(
                    group_id_, client_uuid, [self._client_role(client_uuid, role)]
                )
            )
        return group_id_

    def _group_at(self, path: str) -> dict[str, Any] | None:
        try:
            group: dict[str, Any] = _call(lambda: self._admin.get_group_by_path(path))
        except KeycloakRejectedError as exc:
            if exc.status == 404:
                return None
            raise
        return group

    def role_groups(self) -> dict[tuple[str, str], str]:
        """The bridge's role groups, `(demarche, role) -> id`, read from the tree."""
        root = self._group_at(f"/{GROUP_ROOT}")
        if root is None:
            return {}
        found: dict[tuple[str, str], str] = {}
        for demarche in self._children(str(root["id"])):
            for role in self._children(str(demarche["id"])):
                if OWNER in role.get("attributes", {}).get(OWNER_ATTRIBUTE, []):
                    found[(demarche["name"], role["name"])] = str(role["id"])
        return found

    def _children(self, group_id: str) -> Iterator[dict[str, Any]]:
        return _pages(
            lambda query: self._admin.get_group_children(
                group_id, {**query, "briefRepresentation": False}
            )
        )

    def person(self, user_id: str) -> dict[str, Any]:
        """The user's full representation (attributes included)."""
        user: dict[str, Any] = _call(lambda: self._admin.get_user(user_id))
        return user

    def set_habilitation_values(
        self, user_id: str, values: list[str], user: dict[str, Any] | None = None
    ) -> None:
        """Replace the person's `habilitation` values, keeping every other attribute.

        Keycloak replaces the whole attribute map on update (an attribute left out is
        removed), so the map is sent whole: from `user` when the caller has just read it,
        read again otherwise. `enabled`, `requiredActions` and `emailVerified` are left out,
        which Keycloak then leaves alone: an account closed or sent to change its password
        meanwhile is not undone. Another attribute written between that read and this write
        would be lost: the window is one person's pass (tens of milliseconds).
        """
        user = user if user is not None else self.person(user_id)
        attributes = {**(user.get("attributes") or {}), HABILITATION_ATTRIBUTE: values}
        profile = {k: user[k] for k in ("username", "email", "firstName", "lastName") if k in user}
        _call(lambda: self._admin.update_user(user_id, {**profile, "attributes": attributes}))

    def group_ids_of(self, user_id: str) -> set[str]:
        return {
            str(g["id"]) for g in _pages(lambda query: self._admin.get_user_groups(user_id, query))
        }

    def join(self, user_id: str, group_id: str) -> None:
        _call(lambda: self._admin.group_user_add(user_id, group_id))

    def leave(self, user_id: str, group_id: str) -> None:
        try:
            _call(lambda: self._admin.group_user_remove(user_id, group_id))
        except KeycloakRejectedError as exc:
            if exc.status != 404:  # not a member any more: already done
                raise

    def members(self, group_id: str) -> Iterator[str]:
        """Ids of the group's members, page after page."""
        pages = _pages(
            lambda query: self._admin.get_group_members(
                group_id, {**query, "briefRepresentation": True}
            )
        )
        return (str(user["id"]) for user in pages)

    def admin_events_since(self, after_ms: int) -> Iterator[dict[str, Any]]:
        """Admin events on users and memberships from `after_ms` (epoch ms), oldest first."""
        return _pages(
            lambda query: self._admin.get_admin_events(
                {
                    "dateFrom": str(after_ms),
                    "direction": "asc",
                    "resourceTypes": ["USER", "GROUP_MEMBERSHIP"],
                    **query,
                }
            )
        )

    def ensure_habilitations_scope(self, client_uuids: list[str], maximum: int) -> str:
        """The optional client scope `habilitations` (our bounded mapper), on each démarche.

        A démarche asks for it with `scope=openid habilitations`; without it the token
        carries no habilitation at all (DESIGN §4: small tokens, opt-in).
        """
        mapper = {
            "name": "habilitations de la démarche",
            "protocol": "openid-connect",
            "protocolMapper": "demarches-habilitations",
            "config": {
                "maximum": str(maximum),
                "access.token.claim": "true",
                "id.token.claim": "false",
                "userinfo.token.claim": "true",
                "introspection.token.claim": "true",
            },
        }
        scopes: list[dict[str, Any]] = _call(lambda: self._admin.get_client_scopes())
        scope = next((s for s in scopes if s.get("name") == HABILITATIONS_SCOPE), None)
        if scope is None:
            payload = {
                "name": HABILITATIONS_SCOPE,
                "description": "Habilitations de la personne pour la démarche qui demande le jeton",
                "protocol": "openid-connect",
                "attributes": {
                    "include.in.token.scope": "true",
                    "display.on.consent.screen": "false",
                    OWNER_ATTRIBUTE: OWNER,
                },
                "protocolMappers": [mapper],
            }
            try:
                scope_id: str = _call(lambda: self._admin.create_client_scope(payload))
            except KeycloakRejectedError as exc:
                if exc.status != 409:  # another replica created it meanwhile: use theirs
                    raise
                return self.ensure_habilitations_scope(client_uuids, maximum)
        else:
            scope_id = str(scope["id"])
            current = {m.get("name"): m for m in scope.get("protocolMappers", [])}
            existing = current.get(mapper["name"])
            if existing is None:
                _call(lambda: self._admin.add_mapper_to_client_scope(scope_id, mapper))
            elif existing.get("config", {}).get("maximum") != str(maximum):
                _call(
                    lambda: self._admin.update_mapper_in_client_scope(
                        scope_id, str(existing["id"]), {**existing, "config": mapper["config"]}
                    )
                )
        for client_uuid in client_uuids:
            optional = _call(lambda c=client_uuid: self._admin.get_client_optional_client_scopes(c))
            if not any(s.get("id") == scope_id for s in optional):
                _done_if_exists(
                    lambda c=client_uuid: self._admin.add_client_optional_client_scope(
                        c, scope_id, {}
                    )
                )
        return scope_id

    def client_uuid(self, client_id: str) -> str | None:
        """The internal id of a client (needs view-clients: the deploy step's account)."""
        if client_id not in self._client_uuids:
            self._client_uuids[client_id] = _call(lambda: self._admin.get_client_id(client_id))
        return self._client_uuids[client_id]

    def service_account_user_id(self, client_id: str) -> str | None:
        """The user behind a client's service account (admin events name it as their author)."""
        key = f"service-account-{client_id}"
        if key not in self._client_uuids:
            self._client_uuids[key] = _call(lambda: self._admin.get_user_id(key))
        return self._client_uuids[key]

    def username(self, user_id: str) -> str:
        try:
            return str(self.person(user_id).get("username", user_id))
        except KeycloakRejectedError:
            return user_id

    def user_id_of(self, person: str) -> str | None:
        """A user's id from their id or their e-mail (exact), None when nobody has it."""
        if "@" in person:
            found: list[dict[str, Any]] = _call(
                lambda: self._admin.get_users({"email": person, "exact": True, "max": 2})
            )
            return str(found[0]["id"]) if len(found) == 1 else None
        try:
            return str(self.person(person)["id"])
        except KeycloakRejectedError as exc:
            if exc.status == 404:
                return None
            raise

    def set_realm_role(self, user_id: str, role: str, *, held: bool) -> None:
        """Give or take a realm role (idempotent). Read through the user's role mappings: the
        bridge's account may map roles but not read the realm's role list (no view-realm)."""
        mapped: list[dict[str, Any]] = _call(lambda: self._admin.get_realm_roles_of_user(user_id))
        if held:
            available: list[dict[str, Any]] = _call(
                lambda: self._admin.get_available_realm_roles_of_user(user_id)
            )
            wanted = [r for r in available if r.get("name") == role]
            if wanted:
                _call(lambda: self._admin.assign_realm_roles(user_id, wanted))
            elif not any(r.get("name") == role for r in mapped):
                raise KeycloakRejectedError(f"le rôle {role} n'existe pas dans le royaume")
        else:
            current = [r for r in mapped if r.get("name") == role]
            if current:
                _call(lambda: self._admin.delete_realm_roles_of_user(user_id, current))

    def realm_roles(self, user_id: str) -> set[str]:
        """The realm roles a user of this realm holds, composites included (none for an
        unknown id, e.g. an administrator of the master realm)."""
        try:
            roles: list[dict[str, Any]] = _call(
                lambda: self._admin.get_composite_realm_roles_of_user(user_id)
            )
        except KeycloakRejectedError as exc:
            if exc.status == 404:
                return set()
            raise
        return {str(r["name"]) for r in roles}


def _done_if_exists(operation: Any) -> None:
    """An "ensure" step another replica may have done a moment ago (409: already there)."""
    try:
        _call(operation)
    except KeycloakRejectedError as exc:
        if exc.status != 409:
            raise


def _call(operation: Any) -> Any:
    try:
        return operation()
    except KeycloakConnectionError as exc:
        raise KeycloakRetriableError(str(exc)) from exc
    except KeycloakError as exc:
        if exc.response_code is not None and exc.response_code >= 500:
            raise KeycloakRetriableError(str(exc)) from exc
        raise KeycloakRejectedError(str(exc), exc.response_code) from exc


def _pages(read: Callable[[dict[str, int]], list[dict[str, Any]]]) -> Iterator[dict[str, Any]]:
    """Every item of a paged admin listing, `PAGE` at a time: `read` gets `first` and `max`
    (Keycloak caps a page silently; a short page is the last)."""
    first = 0
    while True:
        page: list[dict[str, Any]] = _call(lambda first=first: read({"first": first, "max": PAGE}))
        yield from page
        if len(page) < PAGE:
            return
        first += PAGE


class RealmConfiguration:
    """The configuration of one realm as JSON, read and written by the deploy step that
    applies `keycloak/realm-export/` (`bridge.realm`), with an administrator's account.

    Paths are relative to `/admin/realms/{realm}`; failures map like every other call.
    """

    def __init__(self, admin: KeycloakAdmin, realm: str) -> None:
        self._connection = admin.connection
        self.realm = realm

    @classmethod
    def with_admin_password(
        cls, server_url: str, realm: str, username: str, password: str
    ) -> RealmConfiguration:
        connection = KeycloakOpenIDConnection(
            server_url=server_url,
            username=username,
            password=password,
            realm_name=realm,
            user_realm_name="master",
            client_id="admin-cli",
            verify=True,
        )
        return cls(KeycloakAdmin(connection=connection), realm)

    def _url(self, path: str) -> str:
        return f"admin/realms/{quote(self.realm)}{path}"

    def exists(self) -> bool:
        """Does the realm exist (an administrator sees every realm)?"""
        response = _call(lambda: self._connection.raw_get(self._url("")))
        if response.status_code == 404:
            return False
        _checked(response)
        return True

    def get(self, path: str) -> Any:
        """The JSON at `path`; None when Keycloak answers 404."""
        response = _call(lambda: self._connection.raw_get(self._url(path)))
        if response.status_code == 404:
            return None
        return _checked(response).json()

    def put(self, path: str, body: Any) -> None:
        _checked(_call(lambda: self._connection.raw_put(self._url(path), data=json.dumps(body))))

    def put_text(self, path: str, text: str) -> None:
        """PUT `text` as text/plain (a realm's localization text takes no JSON)."""
        connection = self._connection
        previous = connection.param_headers("Content-Type") or "application/json"
        connection.add_param_headers("Content-Type", "text/plain; charset=utf-8")
        try:
            _checked(_call(lambda: connection.raw_put(self._url(path), data=text.encode())))
        finally:
            connection.add_param_headers("Content-Type", previous)

    def post(self, path: str, body: Any) -> str | None:
        """POST `body`; the new object's id (the end of `Location`) when Keycloak gives one."""
        response = _checked(
            _call(lambda: self._connection.raw_post(self._url(path), data=json.dumps(body)))
        )
        location = response.headers.get("Location")
        return location.rstrip("/").rsplit("/", 1)[-1] if location else None

    def delete(self, path: str, body: Any = None) -> None:
        """DELETE `path`, with a JSON `body` where Keycloak takes one (role mappings)."""
        data = None if body is None else json.dumps(body)
        _checked(_call(lambda: self._connection.raw_delete(self._url(path), data=data)))


def _checked(response: Any) -> Any:
    """The response when 2xx; otherwise the adapter's error, with Keycloak's own words."""
    status: int = response.status_code
    if status < 300:
        return response
    text = str(response.text)[:300]
    if status >= 500:
        raise KeycloakRetriableError(f"Keycloak a répondu {status} : {text}")
    raise KeycloakRejectedError(f"Keycloak a refusé ({status}) : {text}", status)
