"""The client's address, read from `X-Forwarded-For` only when a configured proxy sent it.

The audit trail and the rate limits record who called. uvicorn's own proxy handling trusts
127.0.0.1 by default, so any local process could write whatever address it liked; the bridge
turns it off (`proxy_headers=False`) and trusts only `BRIDGE_TRUSTED_PROXIES`: addresses,
networks, or host names (compose's `proxy`), the names looked up again at most every minute
since a container's address changes when it is recreated.
"""

from __future__ import annotations

import ipaddress
import socket
import time
from collections.abc import Sequence

from starlette.types import ASGIApp, Receive, Scope, Send

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
NAME_TTL_SECONDS = 60.0


class TrustedProxies:
    """Which peers may speak for the client, from a list of addresses, networks and names."""

    def __init__(self, entries: Sequence[str]) -> None:
        self.networks: list[Network] = []
        self.names: list[str] = []
        for entry in (e.strip() for e in entries if e.strip()):
            try:
                self.networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                self.names.append(entry)
        self._resolved: list[Network] = []
        self._resolved_at = float("-inf")

    def __bool__(self) -> bool:
        return bool(self.networks or self.names)

    def _by_name(self) -> list[Network]:
        if time.monotonic() - self._resolved_at > NAME_TTL_SECONDS:
            found: list[Network] = []
            for name in self.names:
                try:
                    infos = socket.getaddrinfo(name, None)
                except OSError:
                    continue  # not started yet: trusted once it resolves
                found.extend(ipaddress.ip_network(info[4][0]) for info in infos)
            self._resolved, self._resolved_at = found, time.monotonic()
        return self._resolved

    def trusts(self, host: str) -> bool:
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return False
        return any(address in network for network in (*self.networks, *self._by_name()))

    def client(self, peer: str, forwarded_for: str | None) -> str:
        """The first address, from the right, that no trusted proxy added."""
        if not forwarded_for or not self.trusts(peer):
            return peer
        hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
        for hop in reversed(hops):
            if not self.trusts(hop):
                return hop
        return hops[0] if hops else peer


class ForwardedFor:
    """ASGI middleware: `scope["client"]` becomes the real client (logs and audit read it)."""

    def __init__(self, app: ASGIApp, *, proxies: TrustedProxies) -> None:
        self.app = app
        self.proxies = proxies

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket") and scope.get("client"):
            peer = scope["client"][0]
            forwarded = _header(scope, b"x-forwarded-for")
            client = self.proxies.client(peer, forwarded)
            if client != peer:
                scope["client"] = (client, 0)
                proto = _header(scope, b"x-forwarded-proto")
                if proto in ("http", "https"):
                    scope["scheme"] = proto
        await self.app(scope, receive, send)


def _header(scope: Scope, name: bytes) -> str | None:
    values = [v.decode("latin-1") for k, v in scope.get("headers", []) if k == name]
    return ", ".join(values) if values else None
