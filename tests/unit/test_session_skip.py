"""The server-side sessions' middleware leaves the bearer-token paths alone, and only them:
`/metrics` exactly, not every path that begins with it."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from bridge.api.auth.sessions import ServerSideSessions
from bridge.identity.web_sessions import WebSessions


def has_session(request: Request) -> PlainTextResponse:
    return PlainTextResponse("oui" if "session" in request.scope else "non")


def test_only_the_exact_metrics_path_goes_without_a_session() -> None:
    app = Starlette(
        routes=[Route(path, has_session) for path in ("/metrics", "/metricsX", "/metrics/x")]
    )
    app.add_middleware(
        ServerSideSessions, sessions=WebSessions(None, 3600), cookie="session", https=False
    )
    client = TestClient(app)
    assert client.get("/metrics").text == "non"
    assert client.get("/metricsX").text == "oui"
    assert client.get("/metrics/x").text == "oui"
