"""A cap on every request body, before anything reads it.

Starlette spools uploaded files to disk without limit, and the form is parsed (by the CSRF
check) before the login and the operator checks: without a cap, anyone could fill the
temporary disk with one anonymous POST. A declared `Content-Length` above the cap is refused
at the first read; a body sent without one (chunked) is counted and cut at the cap. The
refusal is an ordinary 413 (`HTTPException`), so the app answers it in its own words: a French
page, or problem+json on the API.
"""

from __future__ import annotations

from fastapi import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send


def too_large(limit: int) -> HTTPException:
    mebibytes = limit / (1024 * 1024)
    return HTTPException(
        413, f"La requête dépasse {mebibytes:.0f} Mo : envoyez un fichier plus petit."
    )


class BodyLimit:
    """Pure ASGI middleware: no request body longer than `limit` bytes reaches the app."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        refused = declared is not None and (not declared.isdigit() or int(declared) > self.limit)
        received = 0

        async def bounded() -> Message:
            nonlocal received
            if refused:
                raise too_large(self.limit)
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise too_large(self.limit)
            return message

        await self.app(scope, bounded, send)
