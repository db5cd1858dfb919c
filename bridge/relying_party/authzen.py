"""A policy enforcement point's AuthZEN 1.0 client, small and typed: what a démarche needs.

No maintained generic AuthZEN client is on PyPI (measured on 2026-12-06: the packages found
are tied to one vendor's server or are whole SDKs), and the protocol is a few JSON POSTs:
this module is the whole of it. It reads the PDP's metadata once, checks that the metadata
names the PDP it was asked of (the standard's defence against PDP mix-up), then calls the
endpoints the metadata gives.

`connect_url` is where this process reaches the PDP when that differs from its public
identifier (a container network): the endpoints' paths are kept and sent there, as a
démarche reaches Keycloak through its internal address.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

WELL_KNOWN = "/.well-known/authzen-configuration"


class AuthzenUnavailableError(Exception):
    """The PDP did not answer, answered an error, or its metadata names another PDP."""


@dataclass(frozen=True)
class Entity:
    """A subject or a resource of the standard: its type and its id."""

    type: str
    id: str

    def json(self) -> dict[str, str]:
        return {"type": self.type, "id": self.id}


@dataclass(frozen=True)
class Decision:
    decision: bool
    context: dict[str, Any] | None = None


@dataclass(frozen=True)
class Found:
    """One page of a search: the entities, how many match in all, the next page's token."""

    results: list[dict[str, Any]]
    total: int | None
    next_token: str


class AuthzenClient:
    def __init__(
        self,
        pdp: str,
        token: Callable[[], str],
        *,
        connect_url: str | None = None,
        timeout: float = 5.0,
    ) -> None:
        self.pdp = pdp.rstrip("/")
        self.connect_url = (connect_url or pdp).rstrip("/")
        self._token = token
        self._timeout = timeout
        self._endpoints: dict[str, str] | None = None
        self._lock = threading.Lock()

    def endpoints(self) -> dict[str, str]:
        """The metadata's endpoints, read once, after checking whose metadata it is."""
        with self._lock:
            if self._endpoints is None:
                metadata = self._send("GET", self.connect_url + WELL_KNOWN, None)
                if metadata.get("policy_decision_point") != self.pdp:
                    raise AuthzenUnavailableError(
                        f"Les métadonnées nomment « {metadata.get('policy_decision_point')} » "
                        f"au lieu de « {self.pdp} » : réponse écartée."
                    )
                # Only endpoints of that PDP: the démarche's token is never sent elsewhere.
                self._endpoints = {
                    k: v
                    for k, v in metadata.items()
                    if k.endswith("_endpoint")
                    and isinstance(v, str)
                    and v.startswith(self.pdp + "/")
                }
            return self._endpoints

    def evaluations(self, subject: Entity, questions: list[tuple[str, Entity]]) -> list[Decision]:
        """One decision per (action, resource) for `subject`, in order (one call; every
        question answered: the standard's `execute_all`)."""
        if not questions:
            return []
        body = {
            "subject": subject.json(),
            "options": {"evaluations_semantic": "execute_all"},
            "evaluations": [
                {"action": {"name": action}, "resource": resource.json()}
                for action, resource in questions
            ],
        }
        found = self._call("access_evaluations_endpoint", body)
        try:
            decisions = [
                # Only a JSON `true` permits: anything else (a string, a number) is a refusal.
                Decision(d.get("decision") is True, d.get("context"))
                for d in found["evaluations"]
            ]
        except (KeyError, TypeError, AttributeError) as exc:
            raise AuthzenUnavailableError(f"Réponse illisible : {exc!r}") from exc
        if len(decisions) != len(questions):
            raise AuthzenUnavailableError(
                f"{len(decisions)} décision(s) pour {len(questions)} question(s)."
            )
        return decisions

    def search_resources(
        self,
        subject: Entity,
        action: str,
        resource_type: str,
        *,
        limit: int | None = None,
        token: str = "",
    ) -> Found:
        """The resources of `resource_type` on which `subject` may do `action` (one page)."""
        page: dict[str, Any] = {}
        if token:
            page["token"] = token
        if limit is not None:
            page["limit"] = limit
        body: dict[str, Any] = {
            "subject": subject.json(),
            "action": {"name": action},
            "resource": {"type": resource_type},
        }
        if page:
            body["page"] = page
        found = self._call("search_resource_endpoint", body)
        page_out = found.get("page") or {}
        total = page_out.get("total") if isinstance(page_out, dict) else None
        results = found.get("results")
        if not isinstance(results, list) or not all(isinstance(r, dict) for r in results):
            raise AuthzenUnavailableError("Réponse illisible : « results » absent.")
        return Found(
            results,
            total if isinstance(total, int) else None,
            str(page_out.get("next_token", "")) if isinstance(page_out, dict) else "",
        )

    def _call(self, endpoint: str, body: dict[str, Any]) -> dict[str, Any]:
        url = self.endpoints().get(endpoint)
        if url is None:
            raise AuthzenUnavailableError(f"Le point de décision n'annonce pas « {endpoint} ».")
        # The same PDP (the metadata named only its own endpoints), by this process's route.
        return self._send("POST", self.connect_url + url.removeprefix(self.pdp), body)

    def _send(self, method: str, url: str, body: dict[str, Any] | None) -> dict[str, Any]:
        try:
            headers = {} if body is None else {"Authorization": f"Bearer {self._token()}"}
            response = httpx.request(method, url, json=body, headers=headers, timeout=self._timeout)
        except (httpx.HTTPError, KeyError, ValueError) as exc:  # the PDP, or the token's issuer
            raise AuthzenUnavailableError(str(exc)) from exc
        if response.status_code != 200:
            raise AuthzenUnavailableError(f"{response.status_code} : {response.text[:300]}")
        try:
            found = response.json()
        except ValueError as exc:
            raise AuthzenUnavailableError("Réponse qui n'est pas du JSON.") from exc
        if not isinstance(found, dict):
            raise AuthzenUnavailableError("Réponse qui n'est pas un objet JSON.")
        return found
