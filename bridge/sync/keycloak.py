"""The one adapter that speaks Keycloak's admin REST API (through python-keycloak).

Operations are idempotent by contract ("ensure"); failures are split into
`KeycloakRetriableError` (network, 5xx: retry later) and `KeycloakRejectedError` (4xx: terminal).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from keycloak import KeycloakAdmin, KeycloakOpenIDConnection
from keycloak.exceptions import KeycloakConnectionError, KeycloakError


class KeycloakRetriableError(Exception):
    """Keycloak did not answer or answered 5xx: the operation may be retried."""


class KeycloakRejectedError(Exception):
    """Keycloak refused the operation (4xx): retrying the same call will not help."""


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


class KeycloakDirectory:
    """Users of one realm, reached with the bridge's service account or an admin login."""

    def __init__(self, admin: KeycloakAdmin) -> None:
        self._admin = admin

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
        payload: dict[str, Any] = {
            "username": person.username,
            "email": person.email,
            "firstName": person.first_name,
            "lastName": person.last_name,
            "emailVerified": person.email_verified,
            "enabled": True,
            "attributes": person.attributes(),
        }
        if password is not None:
            payload["credentials"] = [
                {"type": "password", "value": password, "temporary": temporary}
            ]
        user_id: str = _call(lambda: self._admin.create_user(payload, exist_ok=True))
        return user_id

    def sessions(self, user_id: str) -> list[dict[str, Any]]:
        """The person's open SSO sessions."""
        sessions: list[dict[str, Any]] = _call(lambda: self._admin.get_sessions(user_id))
        return sessions


def _call(operation: Any) -> Any:
    try:
        return operation()
    except KeycloakConnectionError as exc:
        raise KeycloakRetriableError(str(exc)) from exc
    except KeycloakError as exc:
        if exc.response_code is not None and exc.response_code >= 500:
            raise KeycloakRetriableError(str(exc)) from exc
        raise KeycloakRejectedError(str(exc)) from exc
