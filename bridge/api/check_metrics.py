"""Answers of the check API (`/api/v1/verifications/…`, the démarches' server-to-server
calls), counted by route and status class for Prometheus' error-rate alert.

Kept off the hot path's cost: one prefix test for every request, and for the check API a few
integer increments in a flat list. Labels come from a fixed set (the three routes, « autre »,
five status classes), never from the path's values. Counters live in the process: each replica
is scraped on its own (Prometheus' `instance`) and the alert sums them. So a replica runs one
uvicorn worker (the Dockerfile's CMD, compose: no `--workers`, no WEB_CONCURRENCY; checked by
tests/unit/test_check_api_counter.py): with several behind one port, each scrape would read
another worker's counters and `rate()` would be wrong. Sharing them across workers (a
multiprocess registry on disk) costs more than the hot path is meant to pay; scale with
replicas instead.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

PREFIX = "/api/v1/verifications/"
# Route label values: what the démarche asked, in the API's words.
ROUTES = ("verifier", "expliquer", "sirets", "autre")
CLASSES = ("1xx", "2xx", "3xx", "4xx", "5xx")
_COUNTS = [0] * (len(ROUTES) * len(CLASSES))
_OTHER = ROUTES.index("autre")
_SERVER_ERROR = CLASSES.index("5xx")


def _route(path: str) -> int:
    """Which route of verifications.py the path is, by its shape (no value kept)."""
    parts = path[len(PREFIX) :].split("/")
    if len(parts) == 1:
        return 0
    if len(parts) == 2 and parts[1] == "explication":
        return 1
    if len(parts) == 4 and parts[1] == "personnes" and parts[3] == "sirets":
        return 2
    return _OTHER


class CheckApiCounter:
    """Pure ASGI middleware: counts each check-API answer once, at its status line; an
    exception that escapes (Starlette's outermost handler then answers 500) counts as 5xx; a
    cancellation (the client went away: no answer at all) counts as nothing."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        if scope["type"] != "http" or not path.startswith(PREFIX):
            await self.app(scope, receive, send)
            return
        row = _route(path) * len(CLASSES)
        counted = False

        async def counting(message: Message) -> None:
            nonlocal counted
            if message["type"] == "http.response.start":
                counted = True
                _COUNTS[row + min(max(message["status"] // 100 - 1, 0), _SERVER_ERROR)] += 1
            await send(message)

        try:
            await self.app(scope, receive, counting)
        except Exception:
            if not counted:
                _COUNTS[row + _SERVER_ERROR] += 1
            raise


def render() -> str:
    """The counters in Prometheus' text format, every series present from the start (zero),
    so a rate exists before the first error."""
    name = "bridge_check_api_requests_total"
    lines = [
        f"# HELP {name} Réponses de l'API de vérification des démarches, par route et classe de statut.",
        f"# TYPE {name} counter",
    ]
    for index, route in enumerate(ROUTES):
        for offset, status in enumerate(CLASSES):
            count = _COUNTS[index * len(CLASSES) + offset]
            lines.append(f'{name}{{route="{route}",status="{status}"}} {count}')
    return "\n".join(lines) + "\n"
