"""Bearer-token verification at the bridge, locally: no call to Keycloak per request.

Signature against the realm's keys (cached; refetched on an unknown key id, at most once
per `refetch_interval`, so a key rotation works without restart), issuer, audience,
expiry and not-before, and an allow-list of asymmetric algorithms (never `none`, never
HMAC, so a public key cannot be used as a shared secret).

A token already verified against the same key set is not verified again (the signature
and the claims cost most of a request on the hot path): its claims are kept until it
expires, dropped as soon as the keys are refetched, and its expiry and ended session are
checked on every request as before. The cache holds what the token says, never a right.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any, Protocol

import httpx
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from joserfc.jws import JWSRegistry

from bridge.errors import BridgeError

ALLOWED_ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384"]
OPERATOR_ROLE = "operateur"
LEEWAY_SECONDS = 5
VERIFIED_MAX = 10_000  # tokens whose verification is remembered, per process
SESSION_ENDED = "Cette session a été fermée : reconnectez-vous."


class EndedSessionsLike(Protocol):
    def is_ended(self, sid: str | None) -> bool: ...


class InvalidTokenError(BridgeError):
    status = 401
    code = "jeton-invalide"
    title = "Authentification requise"
    # RFC 6750 §3: the challenge says `invalid_token` when a token was sent and refused.
    challenge = 'Bearer realm="demarches", error="invalid_token"'


class MissingTokenError(InvalidTokenError):
    """No bearer token at all: the challenge names no error (RFC 6750 §3.1)."""

    challenge = 'Bearer realm="demarches"'


@dataclass(frozen=True)
class Principal:
    """The caller of the API, as its verified access token says."""

    subject: str
    display_name: str
    email: str
    operator: bool
    claims: dict[str, Any]


class TokenVerifier:
    def __init__(
        self,
        issuer: str,
        jwks_url: str,
        audience: str,
        refetch_interval: float = 30.0,
        ended: EndedSessionsLike | None = None,
    ) -> None:
        self.issuer = issuer
        self.jwks_url = jwks_url
        self.audience = audience
        self.refetch_interval = refetch_interval
        self._keys: KeySet | None = None
        self._fetched_at = 0.0
        self._lock = threading.Lock()
        self._registry = JWSRegistry(algorithms=ALLOWED_ALGORITHMS)
        self.ended = ended
        # (token, audience) → its verified claims, for the key set of `_fetched_at`.
        self._verified: dict[tuple[str, str], dict[str, Any]] = {}
        # The key set as published at the last fetch: an unchanged one keeps what was verified
        # (an unknown `kid` forces a refetch; it must not flush every remembered token).
        self._published: object = None

    def _key_set(self, *, refresh: bool) -> KeySet:
        with self._lock:
            stale = time.monotonic() - self._fetched_at >= self.refetch_interval
            if self._keys is None or (refresh and stale):
                try:
                    response = httpx.get(self.jwks_url, timeout=5)
                    response.raise_for_status()
                except httpx.HTTPError as exc:
                    if self._keys is None:
                        raise InvalidTokenError(
                            "Les clés du service d'authentification sont inaccessibles ; réessayez."
                        ) from exc
                else:
                    published = response.json()
                    if published != self._published:
                        self._keys = KeySet.import_key_set(published)
                        self._published = published
                        self._verified = {}  # verified against keys that may be gone
                    self._fetched_at = time.monotonic()
            assert self._keys is not None  # noqa: S101 - set above or raised
            return self._keys

    def verify(
        self, token: str, audience: str | None = None, *, session_checked_by_caller: bool = False
    ) -> Principal:
        """The token's caller; `audience` replaces the default one (another API of ours).

        With `session_checked_by_caller`, the ended-session check is left to the caller, who
        reads it in the same statement as the account's state (the API's hot path) and must
        refuse with `SESSION_ENDED`.
        """
        key = (token, audience or self.audience)
        claims = self._verified.get(key)
        # Past `exp` exactly as joserfc judges it (`exp <= now - leeway` refuses): a remembered
        # token is refused at the same second a fresh verification would refuse it.
        if claims is None or claims["exp"] <= int(time.time()) - LEEWAY_SECONDS:
            self._key_set(refresh=False)  # the first fetch happens before the memory is taken
            verified = self._verified  # this key set's: a refetch meanwhile starts another
            claims = self._checked(token, key[1])
            if len(verified) >= VERIFIED_MAX:
                verified.clear()
            verified[key] = claims
        if (
            not session_checked_by_caller
            and self.ended is not None
            and self.ended.is_ended(claims.get("sid"))
        ):
            raise InvalidTokenError(SESSION_ENDED)
        return _principal(claims)

    def remembered(
        self, token: str, audience: str | None = None, *, session_checked_by_caller: bool = False
    ) -> Principal | None:
        """What `verify` would answer, when it needs no I/O: the token already verified and
        not expired, with no session left to read (no `sid`, as a démarche's client-credentials
        token, or a caller who checks it); None otherwise, and the caller then goes to a
        thread for `verify`. The event loop may ask it: no key fetch, no store."""
        claims = self._verified.get((token, audience or self.audience))
        if (
            claims is None
            or claims["exp"] <= int(time.time()) - LEEWAY_SECONDS
            or (
                not session_checked_by_caller
                and self.ended is not None
                and claims.get("sid") is not None
            )
        ):
            return None
        return _principal(claims)

    def _checked(self, token: str, audience: str) -> dict[str, Any]:
        """The claims of a token whose signature, issuer, audience, times and type hold."""
        try:
            try:
                decoded = jwt.decode(token, self._key_set(refresh=False), registry=self._registry)
            except JoseError:
                decoded = jwt.decode(token, self._key_set(refresh=True), registry=self._registry)
            jwt.JWTClaimsRegistry(
                now=int(time.time()),
                leeway=LEEWAY_SECONDS,
                iss={"essential": True, "value": self.issuer},
                aud={"essential": True, "value": audience},
                exp={"essential": True},
                sub={"essential": True},
            ).validate(decoded.claims)
        except (JoseError, ValueError) as exc:
            raise InvalidTokenError(f"Jeton refusé ({exc.__class__.__name__}).") from exc
        claims = dict(decoded.claims)
        if claims.get("typ", "Bearer") != "Bearer":
            raise InvalidTokenError("Ce jeton n'est pas un jeton d'accès.")
        return claims


def _principal(claims: dict[str, Any]) -> Principal:
    roles = (claims.get("realm_access") or {}).get("roles") or []
    name = claims.get("name") or " ".join(
        p for p in (claims.get("given_name"), claims.get("family_name")) if p
    )
    return Principal(
        subject=str(claims["sub"]),
        display_name=str(name or claims.get("email") or claims["sub"]),
        email=str(claims.get("email") or ""),
        operator=OPERATOR_ROLE in roles,
        claims=claims,
    )
