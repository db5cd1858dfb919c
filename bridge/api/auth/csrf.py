"""CSRF protection for every form: a per-session token, checked on each unsafe request.

Synchronizer-token pattern: the token lives in the server-side session and in a hidden field
`csrf_token` of each form; `require_csrf` is a router dependency, so a new form cannot
forget it.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import AsyncIterator

from fastapi import Request

from bridge.api.errors import CsrfError

FIELD = "csrf_token"
_SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def csrf_token(request: Request) -> str:
    """The session's token, created on first use (templates call this)."""
    token = request.session.get(FIELD)
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        request.session[FIELD] = token
    return token


async def require_csrf(request: Request) -> AsyncIterator[None]:
    """Refuse an unsafe request whose form does not carry the session's token. The form it
    reads is closed after the request, uploaded files included, whether or not it was kept."""
    if request.method in _SAFE_METHODS:
        yield
        return
    expected = request.session.get(FIELD)
    form = await request.form()
    try:
        sent = form.get(FIELD)
        if (
            not isinstance(expected, str)
            or not isinstance(sent, str)
            or not hmac.compare_digest(expected, sent)
        ):
            raise CsrfError(
                "Ce formulaire a expiré ou ne provient pas du portail. Rechargez la page et "
                "recommencez."
            )
        yield
    finally:
        await form.close()
