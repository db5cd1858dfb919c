"""The client's address, read from `X-Forwarded-For` only when a configured proxy sent it.

The audit trail and the rate limits record who called. uvicorn's own proxy handling trusts
127.0.0.1 by default, so any local process could write whatever address it liked; the bridge
turns it off (`proxy_headers=False`) and trusts only `BRIDGE_TRUSTED_PROXIES`: addresses,
networks, or host names (compose's `proxy` in the cluster profile), the names looked up at
start and again every minute in a thread (a container's address changes when it is
recreated; the request never waits for the DNS).
"""

from __future__ import annotations

import ipaddress
import socket
import threading
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
        self._resolving = False
        self._lock = threading.Lock()
        if self.names:  # at start: a proxy already up is trusted from the first call
            self._resolve()

    def __bool__(self) -> bool:
        return bool(self.networks or self.names)

    def _by_name(self) -> list[Network]:
        """The names' addresses as last resolved; a stale answer is refreshed in a thread of
        its own, never on the request's path (a slow DNS must not hold the event loop)."""
        if self.names and time.monotonic() - self._resolved_at > NAME_TTL_SECONDS:
            with self._lock:
                if not self._resolving:
                    self._resolving = True
                    threading.Thread(target=self._resolve, daemon=True).start()
        return self._resolved

    def _resolve(self) -> None:
        found: list[Network] = []
        for name in self.names:
            try:
                infos = socket.getaddrinfo(name, None, type=socket.SOCK_STREAM)
            except OSError:
                continue  # not started yet: trusted once it resolves
            found.extend(ipaddress.ip_network(str(info[4][0])) for info in infos)
        with self._lock:
            self._resolved, self._resolved_at, self._resolving = found, time.monotonic(), False

    def trusts(self, host: str) -> bool:
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return False
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped  # ::ffff:10.0.0.5 is 10.0.0.5 (a dual-stack socket)
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
