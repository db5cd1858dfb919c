"""How the démarche site learns a person's rights: the bridge's check API, called with the
démarche's own client credentials (no list of SIRETs in the person's token).

This is the whole integration a relying party needs beyond standard OIDC; see
docs/relying-parties.md.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import httpx


class RightsUnavailableError(Exception):
    """The bridge or Keycloak did not answer: the page says so instead of failing."""


@dataclass(frozen=True)
class SiretRight:
    siret: str
    roles: tuple[str, ...]


class RightsClient:
    def __init__(self, token_url: str, bridge_url: str, client_id: str, client_secret: str) -> None:
        self.token_url = token_url
        self.bridge_url = bridge_url.rstrip("/")
        self.client_id = client_id
        self.client_secret = client_secret
        self._token: str | None = None
        self._expires = 0.0
        self._lock = threading.Lock()

    def _client_token(self) -> str:
        """The démarche's token (client credentials), reused until shortly before it expires."""
        with self._lock:
            if self._token is None or time.monotonic() > self._expires:
                response = httpx.post(
                    self.token_url,
                    data={"grant_type": "client_credentials"},
                    auth=(self.client_id, self.client_secret),
                    timeout=5,
                )
                response.raise_for_status()
                body = response.json()
                self._token = str(body["access_token"])
                self._expires = time.monotonic() + max(int(body.get("expires_in", 60)) - 30, 5)
            return self._token

    def sirets(
        self, subject: str, page: int = 1, per_page: int = 100
    ) -> tuple[list[SiretRight], int]:
        """The SIRETs `subject` may act for in this démarche now, and their total."""
        try:
            response = httpx.get(
                f"{self.bridge_url}/api/v1/verifications/{self.client_id}/personnes/{subject}/sirets",
                params={"page": page, "par_page": per_page},
                headers={"Authorization": f"Bearer {self._client_token()}"},
                timeout=5,
            )
            response.raise_for_status()
        except httpx.HTTPError as exc:
            raise RightsUnavailableError(str(exc)) from exc
        body = response.json()
        rights = [SiretRight(e["siret"], tuple(e["roles"])) for e in body["elements"]]
        return rights, int(body["total"])
