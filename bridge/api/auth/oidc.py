"""Log people in through Keycloak (authorization code + PKCE, Authlib) and out again.

Shared by the portal and by every démarche site: login, registration, callback,
RP-initiated logout, and OIDC back-channel logout, which records the ended Keycloak
session id (`sid`) so that a session ended in Keycloak (logout elsewhere, an administrator
signing the person out) ends here on the next request, not when a token expires.
"""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import urlencode

import authlib.deprecate  # noqa: F401 - installs Authlib's "always" filter before ours below
import httpx
from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from joserfc.jws import JWSRegistry
from pydantic import BaseModel

from bridge.api.auth.csrf import require_csrf
from bridge.api.errors import KeycloakUnavailableError, LoginError
from bridge.errors import BridgeError
from bridge.identity.ended_sessions import EndedSessions
from bridge.identity.tokens import ALLOWED_ALGORITHMS
from bridge.settings import OidcClientSettings

with warnings.catch_warnings():
    # Authlib nudges towards `httpx2`; the product card fixes httpx.
    warnings.filterwarnings("ignore", message="The httpx module is deprecated")
    from authlib.integrations.starlette_client import OAuth, OAuthError

log = logging.getLogger(__name__)

BACKCHANNEL_LOGOUT_EVENT = "http://schemas.openid.net/event/backchannel-logout"
_SESSION_USER = "user"
_SESSION_ID_TOKEN = "id_token"  # noqa: S105 - a session key, not a secret
_SESSION_AFTER_LOGIN = "suite"
_SESSION_REFRESH = "refresh_token"
_SESSION_CHECKED = "verifie_le"
# Given the person as the session knew them and Keycloak's fresh tokens: the person now.
Recheck = Callable[["SessionUser", dict[str, Any]], "SessionUser"]
# The changes a person may make to their own account, by the name used in our URLs.
ACCOUNT_ACTIONS = {
    "adresse-electronique": "UPDATE_EMAIL",
    "coordonnees": "UPDATE_PROFILE",
    "mot-de-passe": "UPDATE_PASSWORD",
}


def _error_of(response: httpx.Response) -> str | None:
    """The OAuth `error` of a token endpoint's refusal, if it says one."""
    try:
        body = response.json()
    except ValueError:
        return None
    error = body.get("error") if isinstance(body, dict) else None
    return error if isinstance(error, str) else None


def local_path(value: str | None) -> str | None:
    """`value` if it is a path of this site (never another host: no open redirect)."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return None
    return value


class SessionUser(BaseModel):
    """The logged-in person, as the ID token described them at login."""

    sub: str
    sid: str | None = None
    given_name: str = ""
    family_name: str = ""
    email: str = ""
    email_verified: bool = False
    operator: bool = False
    civilite: str = ""
    phone_number: str = ""
    telephone_mobile: str = ""
    siret: str = ""

    @property
    def display_name(self) -> str:
        return f"{self.given_name} {self.family_name}".strip() or self.email


class OidcLogin:
    """One OIDC client of the realm, with the routes that log in and out through it."""

    def __init__(
        self,
        settings: OidcClientSettings,
        ended: EndedSessions | None = None,
        recheck: Recheck | None = None,
    ) -> None:
        self.settings = settings
        self.ended = ended or EndedSessions()
        self.recheck = recheck
        self._keys_refetched_at = 0.0
        self._oauth = OAuth()
        self.client: Any = self._oauth.register(
            name="keycloak",
            client_id=settings.client_id,
            client_secret=settings.client_secret.get_secret_value(),
            server_metadata_url=settings.discovery_url,
            client_kwargs={"scope": "openid profile email", "code_challenge_method": "S256"},
        )

    @property
    def redirect_uri(self) -> str:
        return f"{self.settings.public_url.rstrip('/')}/auth/callback"

    def current_user(self, request: Request) -> SessionUser | None:
        """The person of this browser session, or None; a session ended in Keycloak is cleared.

        Every `session_recheck_seconds` the session's refresh token is used: Keycloak then
        says whether the person may still be logged in (disabled, logged out elsewhere) and
        what their token holds now (the operator role is read again, not frozen at login).
        """
        raw = request.session.get(_SESSION_USER)
        if not isinstance(raw, dict):
            return None
        user = SessionUser.model_validate(raw)
        if self.ended.is_ended(user.sid):
            request.session.clear()
            return None
        checked = request.session.get(_SESSION_CHECKED)
        due = not isinstance(checked, int | float) or (
            time.time() - checked >= self.settings.session_recheck_seconds
        )
        # Only on reads: a form posted after a long pause is never lost to a recheck.
        if not due or request.method not in ("GET", "HEAD"):
            return user
        return self._rechecked(request, user)

    def _rechecked(self, request: Request, user: SessionUser) -> SessionUser | None:
        refresh_token = request.session.get(_SESSION_REFRESH)
        if not isinstance(refresh_token, str):
            return user
        base = (self.settings.keycloak_internal_url or self.settings.keycloak_url).rstrip("/")
        try:
            response = httpx.post(
                f"{base}/realms/{self.settings.keycloak_realm}/protocol/openid-connect/token",
                data={
                    "grant_type": "refresh_token",
                    "refresh_token": refresh_token,
                    "client_id": self.settings.client_id,
                    "client_secret": self.settings.client_secret.get_secret_value(),
                },
                timeout=2,
            )
        except httpx.HTTPError:
            return self._later(request, user)  # Keycloak away: keep the session, ask later
        if response.status_code == 400 and _error_of(response) == "invalid_grant":
            # The SSO session is over, or the account is disabled: this session ends too.
            log.info("session-terminee-a-la-verification", extra={"sub": user.sub})
            request.session.clear()
            return None
        if response.status_code != 200:  # e.g. this client's secret refused: not the person's
            log.warning(
                "verification-de-session-impossible", extra={"statut": response.status_code}
            )
            return self._later(request, user)
        tokens: dict[str, Any] = response.json()
        if self.recheck is not None:
            try:
                user = self.recheck(user, tokens)
            except BridgeError:  # the new token cannot be read now: no operator power meanwhile
                user = user.model_copy(update={"operator": False})
        request.session[_SESSION_USER] = user.model_dump()
        request.session[_SESSION_REFRESH] = tokens.get("refresh_token", refresh_token)
        request.session[_SESSION_CHECKED] = time.time()
        return user

    def _later(self, request: Request, user: SessionUser) -> SessionUser:
        """Ask again in a minute, not on every page: a Keycloak away must not hold each request
        for the timeout. Meanwhile the session stays as it was last checked."""
        retry = max(0.0, self.settings.session_recheck_seconds - 60.0)
        request.session[_SESSION_CHECKED] = time.time() - retry
        return user

    async def _metadata(self) -> dict[str, Any]:
        try:
            metadata: dict[str, Any] = await self.client.load_server_metadata()
        except httpx.HTTPError as exc:
            raise KeycloakUnavailableError(
                "Le service d'authentification ne répond pas. Réessayez dans quelques instants."
            ) from exc
        return metadata

    async def verify_logout_token(self, token: str) -> dict[str, Any]:
        """Check a back-channel logout token as OIDC Back-Channel Logout 1.0 §2.6 asks."""
        metadata = await self._metadata()
        registry = JWSRegistry(algorithms=ALLOWED_ALGORITHMS)
        try:
            keys = KeySet.import_key_set(await self.client.fetch_jwk_set())
            try:
                decoded = jwt.decode(token, keys, registry=registry)
            except JoseError:
                # Refetch the keys (a rotation) at most every 30 s, whatever is posted here.
                if time.monotonic() - self._keys_refetched_at < 30:
                    raise
                self._keys_refetched_at = time.monotonic()
                keys = KeySet.import_key_set(await self.client.fetch_jwk_set(force=True))
                decoded = jwt.decode(token, keys, registry=registry)
            jwt.JWTClaimsRegistry(
                iss={"essential": True, "value": metadata["issuer"]},
                aud={"essential": True, "value": self.settings.client_id},
                iat={"essential": True},
            ).validate(decoded.claims)
        except (JoseError, ValueError) as exc:
            raise LoginError(f"Jeton de déconnexion refusé ({exc.__class__.__name__}).") from exc
        claims = dict(decoded.claims)
        events = claims.get("events")
        if not isinstance(events, dict) or BACKCHANNEL_LOGOUT_EVENT not in events:
            raise LoginError("Jeton de déconnexion refusé : évènement de déconnexion absent.")
        if "nonce" in claims or not (claims.get("sid") or claims.get("sub")):
            raise LoginError("Jeton de déconnexion refusé : contenu non conforme.")
        return claims

    def router(
        self,
        home: str = "/",
        on_login: Callable[[SessionUser, dict[str, Any]], SessionUser] | None = None,
    ) -> APIRouter:
        """Routes `/auth/...`; `home` is where people land after login and logout.

        `on_login` sees the person and the token response once, at login, and may enrich
        the session's person (e.g. the operator flag read from the access token).
        """
        router = APIRouter(prefix="/auth", include_in_schema=False)

        @router.get("/login")
        async def login(request: Request, suite: str | None = None) -> Response:
            """Log in; `suite` is a path of this site to come back to afterwards."""
            await self._metadata()
            if local_path(suite):
                request.session[_SESSION_AFTER_LOGIN] = suite
            response: Response = await self.client.authorize_redirect(request, self.redirect_uri)
            return response

        @router.get("/inscription")
        async def register(request: Request, suite: str | None = None) -> Response:
            await self._metadata()
            if local_path(suite):
                request.session[_SESSION_AFTER_LOGIN] = suite
            response: Response = await self.client.authorize_redirect(
                request, self.redirect_uri, prompt="create"
            )
            return response

        @router.get("/action/{action}")
        async def account_action(
            request: Request, action: str, suite: str | None = None
        ) -> Response:
            """Hand the person to Keycloak's own page for one change of their account.

            Keycloak owns the account (application-initiated action, `kc_action`): it asks
            again for the password when needed and re-verifies a new e-mail address. The
            login that follows refreshes what the session knows of the person.
            """
            kc_action = ACCOUNT_ACTIONS.get(action)
            if kc_action is None:
                raise HTTPException(status_code=404)
            await self._metadata()
            if local_path(suite):
                request.session[_SESSION_AFTER_LOGIN] = suite
            response: Response = await self.client.authorize_redirect(
                request, self.redirect_uri, kc_action=kc_action
            )
            return response

        @router.get("/callback")
        async def callback(request: Request) -> Response:
            if "error" in request.query_params:
                raise LoginError(
                    "Keycloak a interrompu la connexion "
                    f"({request.query_params.get('error')}). Recommencez depuis l'accueil."
                )
            try:
                token = await self.client.authorize_access_token(request)
            except OAuthError as exc:
                raise LoginError(
                    "La réponse du service d'authentification est invalide ou a expiré "
                    f"({exc.error}). Recommencez depuis l'accueil."
                ) from exc
            claims = token.get("userinfo") or {}
            user = SessionUser(
                sub=claims["sub"],
                sid=claims.get("sid"),
                given_name=claims.get("given_name", ""),
                family_name=claims.get("family_name", ""),
                email=claims.get("email", ""),
                email_verified=bool(claims.get("email_verified", False)),
                civilite=claims.get("civilite", ""),
                phone_number=claims.get("phone_number", ""),
                telephone_mobile=claims.get("telephone_mobile", ""),
                siret=claims.get("siret", ""),
            )
            if on_login is not None:  # store and HTTP work: off the event loop
                user = await run_in_threadpool(on_login, user, dict(token))
            after = local_path(request.session.get(_SESSION_AFTER_LOGIN))
            request.session.clear()
            request.session[_SESSION_USER] = user.model_dump()
            request.session[_SESSION_ID_TOKEN] = token.get("id_token")
            request.session[_SESSION_REFRESH] = token.get("refresh_token")
            request.session[_SESSION_CHECKED] = time.time()
            log.info("connexion", extra={"sub": user.sub, "client": self.settings.client_id})
            return RedirectResponse(after or home, status_code=303)

        @router.post("/logout", dependencies=[Depends(require_csrf)])
        async def logout(request: Request) -> Response:
            """RP-initiated logout: end the local session, then the Keycloak SSO session."""
            id_token = request.session.get(_SESSION_ID_TOKEN)
            request.session.clear()
            metadata = await self._metadata()
            params = {
                "client_id": self.settings.client_id,
                "post_logout_redirect_uri": self.settings.public_url.rstrip("/") + home,
            }
            if isinstance(id_token, str):
                params["id_token_hint"] = id_token
            return RedirectResponse(
                f"{metadata['end_session_endpoint']}?{urlencode(params)}", status_code=303
            )

        @router.post("/backchannel-logout")
        async def backchannel_logout(logout_token: Annotated[str, Form()]) -> Response:
            claims = await self.verify_logout_token(logout_token)
            sid = claims.get("sid")
            if isinstance(sid, str):
                await run_in_threadpool(self.ended.end, sid)
            log.info("deconnexion-keycloak", extra={"sid": sid, "sub": claims.get("sub")})
            return Response(status_code=200, headers={"Cache-Control": "no-store"})

        return router
