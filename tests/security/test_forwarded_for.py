"""The audited client address is the TCP peer unless a configured proxy forwarded the call
(#17, finding 9). Before, uvicorn believed any `X-Forwarded-For` sent from 127.0.0.1, so a
local caller could have any address written into the audit trail."""

from __future__ import annotations

import asyncio
import threading

from sqlalchemy import select
from starlette.types import Message, Receive, Scope, Send

from bridge.api.proxies import ForwardedFor, TrustedProxies
from bridge.audit.models import AuditEvent
from tests.support.callers import MAF, Caller, new_caller
from tests.support.seed import etablissement_with_code
from tests.support.stack import Platform

SPOOFED = "203.0.113.77"


def test_a_forwarded_for_header_from_an_untrusted_peer_is_not_audited(
    platform: Platform, callers: list[Caller]
) -> None:
    caller = new_caller(platform, callers)
    siret, code = etablissement_with_code(platform.context)
    response = caller.http.post(
        f"/demarches/{MAF}/activation",
        json={"siret": siret, "code": code},
        headers={"X-Forwarded-For": SPOOFED, "X-Forwarded-Proto": "https"},
    )
    assert response.status_code == 201, response.text
    with platform.context.work() as work:
        addresses = set(
            work.session.scalars(
                select(AuditEvent.client_ip).where(
                    AuditEvent.siret == siret, AuditEvent.actor == caller.person.id
                )
            )
        )
    assert addresses == {"127.0.0.1"}


def client_seen(proxies: TrustedProxies, peer: str, forwarded: str | None) -> tuple[str, str]:
    """Run the middleware on one request and return the client and scheme the app saw."""
    seen: dict[str, object] = {}

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.update(client=scope["client"][0], scheme=scope["scheme"])

    async def receive() -> Message:
        return {"type": "http.request"}

    async def send(message: Message) -> None:
        return None

    headers = [(b"x-forwarded-proto", b"https")]
    if forwarded is not None:
        headers.append((b"x-forwarded-for", forwarded.encode()))
    scope = {"type": "http", "client": (peer, 50000), "scheme": "http", "headers": headers}
    # In a thread of its own: the browser tests of the same session keep a loop running here.
    thread = threading.Thread(
        target=lambda: asyncio.run(ForwardedFor(app, proxies=proxies)(scope, receive, send))
    )
    thread.start()
    thread.join()
    return str(seen["client"]), str(seen["scheme"])


def test_only_a_configured_proxy_may_name_the_client() -> None:
    proxies = TrustedProxies(["10.0.0.0/24", "::1"])
    assert client_seen(proxies, "10.0.0.5", "198.51.100.4") == ("198.51.100.4", "https")
    assert client_seen(proxies, "192.0.2.8", "198.51.100.4") == ("192.0.2.8", "http")
    assert client_seen(proxies, "::1", "198.51.100.4") == ("198.51.100.4", "https")
    assert client_seen(proxies, "10.0.0.5", None) == ("10.0.0.5", "http")
    # a dual-stack socket shows an IPv4 proxy as ::ffff:10.0.0.5: still that proxy
    assert client_seen(proxies, "::ffff:10.0.0.5", "198.51.100.4") == ("198.51.100.4", "https")


def test_a_client_cannot_hide_behind_an_address_it_prepends() -> None:
    """nginx appends the real peer: what the client wrote on the left is not believed."""
    proxies = TrustedProxies(["10.0.0.5"])
    assert client_seen(proxies, "10.0.0.5", f"{SPOOFED}, 198.51.100.4")[0] == "198.51.100.4"
    assert client_seen(proxies, "10.0.0.5", "10.0.0.5, 10.0.0.5")[0] == "10.0.0.5"


def test_proxies_may_be_named_and_a_name_that_does_not_resolve_trusts_nobody() -> None:
    assert TrustedProxies(["localhost"]).trusts("127.0.0.1")
    assert not TrustedProxies(["nom-inconnu.invalid"]).trusts("127.0.0.1")
    assert not TrustedProxies([""])
