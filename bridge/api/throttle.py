"""A cap on how often one network address may use a page that costs the platform a call to
Keycloak whoever asks (« Recevoir un nouveau lien »): counted in this process, per replica.

The per-account limits (`bridge.accounts.activation`) stop mail floods; this one stops a
visitor from turning an anonymous form into a stream of admin-API lookups.
"""

from __future__ import annotations

import ipaddress
import threading
import time
from collections import deque
from collections.abc import Callable


class Throttle:
    """At most `most` attempts per origin within `window_seconds`."""

    def __init__(
        self,
        most: int,
        window_seconds: float,
        clock: Callable[[], float] = time.monotonic,
        capacity: int = 10_000,
    ) -> None:
        self.most = most
        self.window = window_seconds
        self.clock = clock
        self.capacity = capacity  # origins remembered at most (the oldest are forgotten)
        self._attempts: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def allow(self, origin: str) -> bool:
        """Count one attempt of `origin`; False when it is one too many."""
        moment = self.clock()
        with self._lock:
            attempts = self._attempts.pop(origin, deque())
            while attempts and attempts[0] <= moment - self.window:
                attempts.popleft()
            allowed = len(attempts) < self.most
            if allowed:
                attempts.append(moment)
            self._attempts[origin] = attempts  # last used, last in the dict
            while len(self._attempts) > self.capacity:
                del self._attempts[next(iter(self._attempts))]
            return allowed


def origin_key(address: str | None) -> str:
    """What one visitor is counted by: an IPv4 address, or an IPv6 address's /64 network
    (one subscriber's line gets a whole /64); unknown clients share one count."""
    if not address:
        return "inconnue"
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if ip.version == 6:
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)
