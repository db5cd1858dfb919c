"""The security headers of every answer of the portal and of the démarche sites.

Pages carry no inline script nor inline style (the templates load `/static/*.js` and
`/static/*.css`), so the content security policy allows only this origin's files; style
attributes are allowed because the DSFR's own script sets them. Forms may
also be sent to Keycloak: logging out posts here and is redirected there, and Chromium checks
`form-action` on that redirect too. HSTS is sent only when the public address is HTTPS.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

HSTS = "max-age=31536000; includeSubDomains"


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def content_security_policy(keycloak_url: str) -> str:
    return "; ".join(
        (
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            # The DSFR's script sets style attributes (menus, modals): attributes only, never
            # a <style> element nor a script.
            "style-src-attr 'unsafe-inline'",
            "img-src 'self' data:",
            "font-src 'self'",
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'self'",
            f"form-action 'self' {origin_of(keycloak_url)}",
            "frame-ancestors 'none'",
        )
    )


def security_headers(keycloak_url: str, https: bool) -> dict[str, str]:
    headers = {
        "Content-Security-Policy": content_security_policy(keycloak_url),
        "X-Frame-Options": "DENY",
        "X-Content-Type-Options": "nosniff",
        # Invitation links carry their token in the path: never sent to another site.
        "Referrer-Policy": "same-origin",
        "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
        "Cross-Origin-Opener-Policy": "same-origin",
    }
    if https:
        headers["Strict-Transport-Security"] = HSTS
    return headers


class SecurityHeaders:
    """Pure ASGI middleware: adds the headers to every HTTP answer. The 500 page is sent by
    Starlette's outermost middleware, outside this one: its handler adds them itself
    (`bridge.api.errors`, from `app.state.security_headers`)."""

    def __init__(self, app: ASGIApp, *, headers: dict[str, str]) -> None:
        self.app = app
        self.headers = headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = str(scope.get("path", "")).startswith(("/static/", "/dsfr/"))

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in self.headers.items():
                    headers.setdefault(name, value)
                if not static:  # pages and API answers hold personal data: never cached
                    headers.setdefault("Cache-Control", "no-store")
            await send(message)

        await self.app(scope, receive, with_headers)
