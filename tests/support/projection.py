"""Observe the projection in the real Keycloak: a person's `habilitation` values and groups."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from keycloak import KeycloakAdmin

from bridge.bootstrap import make_projector
from bridge.sync.worker import Projector
from tests.support.stack import Platform

T = TypeVar("T")


def projector_of(platform: Platform) -> Projector:
    """A projector of the test platform's store and realm (the portal runs its own too)."""
    projector = make_projector(platform.context)
    projector.load_catalog()
    return projector


def values_of(admin: KeycloakAdmin, subject: str) -> set[str]:
    return set(admin.get_user(subject).get("attributes", {}).get("habilitation", []))


def role_groups_of(admin: KeycloakAdmin, subject: str) -> set[str]:
    return {
        g["path"]
        for g in admin.get_user_groups(subject, {"first": 0, "max": 100})
        if g["path"].startswith("/demarches/")
    }


def eventually(check: Callable[[], T | None], timeout: float = 20.0, what: str = "") -> T:
    """The first truthy result of `check`, polled until `timeout` (the projection is async)."""
    deadline = time.monotonic() + timeout
    while True:
        last = check()
        if last:
            return last
        if time.monotonic() > deadline:
            raise AssertionError(
                f"pas atteint en {timeout:.0f} s : {what} (dernier état : {last!r})"
            )
        time.sleep(0.2)
