"""How the démarche site learns a person's rights: the bridge's AuthZEN endpoints, called
with the démarche's own client credentials (no list of SIRETs in the person's token).

One resource search (« for which SIRETs may this person act at all? », the derived action
`agir`), then one batch of evaluations (each of those SIRETs × each of the démarche's
roles). This is the whole integration a relying party needs beyond standard OIDC; see
docs/relying-parties.md.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import httpx

from bridge.relying_party.authzen import AuthzenClient, AuthzenUnavailableError, Entity

ANY_ROLE = "agir"
# The démarche's roles as its people read them (the site knows its own vocabulary).
ROLE_LABELS = {"gestionnaire": "Gestionnaire", "declarant": "Déclarant"}


class RightsUnavailableError(Exception):
    """The bridge or Keycloak did not answer: the page says so instead of failing."""


@dataclass(frozen=True)
class SiretRight:
    siret: str
    roles: tuple[str, ...]

    @property
    def role_labels(self) -> tuple[str, ...]:
        """The roles in words, never their identifiers."""
        return tuple(ROLE_LABELS.get(role, "Autre rôle") for role in self.roles)


class RightsClient:
    def __init__(
        self,
        token_url: str,
        bridge_url: str,
        client_id: str,
        client_secret: str,
        *,
        pdp: str | None = None,
        roles: tuple[str, ...] = tuple(ROLE_LABELS),
    ) -> None:
        self.token_url = token_url
        self.client_id = client_id
        self.client_secret = client_secret
        self.roles = roles
        self.pdp = AuthzenClient(pdp or bridge_url, self._client_token, connect_url=bridge_url)
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

    def sirets(self, subject: str, per_page: int = 100) -> tuple[list[SiretRight], int]:
        """The first SIRETs `subject` may act for in this démarche now, with the roles they
        may act as, and how many SIRETs there are in all."""
        person = Entity("user", subject)
        try:
            found = self.pdp.search_resources(person, ANY_ROLE, "siret", limit=per_page)
            sirets = [str(r.get("id", "")) for r in found.results]
            asked = [(role, Entity("siret", s)) for s in sirets for role in self.roles]
            decisions = iter(self.pdp.evaluations(person, asked))
        except AuthzenUnavailableError as exc:
            raise RightsUnavailableError(str(exc)) from exc
        rights = []
        for siret in sirets:
            allowed = [role for role in self.roles if next(decisions).decision]
            rights.append(SiretRight(siret, tuple(allowed)))
        return rights, found.total if found.total is not None else len(rights)
