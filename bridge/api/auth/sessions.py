"""ASGI middleware giving `request.session` from server-side sessions (`WebSessions`).

The same interface as Starlette's SessionMiddleware, so the login code does not change; the
cookie holds only an opaque token. A login or a logout (the person in the session changes)
gets a new token, so a token planted before the login is worth nothing after it (session
fixation). Static files and the bearer-token APIs never touch it (nor the store).
"""

from __future__ import annotations

from functools import partial
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bridge.identity.web_sessions import ANONYMOUS_LIFETIME, WebSessions, new_token

WHO = "user"  # the key whose change (login, logout) renews the token


class ServerSideSessions:
    def __init__(
        self,
        app: ASGIApp,
        *,
        sessions: WebSessions,
        cookie: str,
        https: bool,
        # Static files and the bearer-token APIs (JSON, AuthZEN, metrics) never use it: paths
        # under these folders, and these exact paths (`/metricsX` is not `/metrics`).
        skip: tuple[str, ...] = (
            "/static/",
            "/dsfr/",
            "/health/",
            "/api/",
            "/access/",
            "/.well-known/",
        ),
        skip_exact: frozenset[str] = frozenset({"/metrics"}),
    ) -> None:
        self.app = app
        self.sessions = sessions
        self.cookie = cookie
        self.https = https
        self.skip = skip
        self.skip_exact = skip_exact

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = str(scope.get("path", ""))
        if (
            scope["type"] not in ("http", "websocket")
            or path.startswith(self.skip)
            or path in self.skip_exact
        ):
            await self.app(scope, receive, send)
            return
        token = HTTPConnection(scope).cookies.get(self.cookie)
        loaded = await run_in_threadpool(self.sessions.load, token) if token else None
        initial: dict[str, Any] = loaded or {}
        scope["session"] = dict(initial)

        async def with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                header = await self._persist(token, loaded is not None, initial, scope["session"])
                if header is not None:
                    MutableHeaders(scope=message).append("Set-Cookie", header)
            await send(message)

        await self.app(scope, receive, with_cookie)

    async def _persist(
        self, token: str | None, known: bool, initial: dict[str, Any], current: dict[str, Any]
    ) -> str | None:
        """Write what changed; the Set-Cookie header to send, if any."""
        if not current:
            if token is None:
                return None
            if known:
                await run_in_threadpool(self.sessions.forget, token)
            return self._cookie("", max_age=0)
        if known and current == initial:
            return None
        lifetime = self.sessions.lifetime if current.get(WHO) else ANONYMOUS_LIFETIME
        new = token is None or not known or current.get(WHO) != initial.get(WHO)
        if new:
            if token is not None and known:
                await run_in_threadpool(self.sessions.forget, token)
            token = new_token()
        assert token is not None  # noqa: S101 - made just above when there was none
        saved = await run_in_threadpool(
            partial(self.sessions.save, token, current, new=new, lifetime=lifetime)
        )
        if not saved:  # logged out meanwhile (another request): it stays out
            return self._cookie("", max_age=0)
        return self._cookie(token, max_age=int(lifetime.total_seconds()))

    def _cookie(self, value: str, *, max_age: int) -> str:
        parts = [f"{self.cookie}={value}", "Path=/", f"Max-Age={max_age}", "HttpOnly"]
        parts.append("SameSite=lax")
        if self.https:
            parts.append("Secure")
        return "; ".join(parts)
