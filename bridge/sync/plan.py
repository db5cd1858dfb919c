"""The pure half of the projection: desired rights vs what Keycloak shows → operations.

No I/O here (unit-tested without Keycloak). The mapping, chosen by measurement
(`docs/projection.md`): a person holding `role` of `demarche` on `siret` has the value
`{demarche}:{role}:{siret}` in the multi-valued user attribute `habilitation`, and is a
member of the group `/demarches/{demarche}/{role}` (mapped to the démarche's client role)
while they hold that role on at least one SIRET.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


class HeldRight(Protocol):
    subject: str
    demarche: str
    role: str
    siret: str

    def active_at(self, moment: datetime) -> bool: ...


@dataclass(frozen=True, order=True)
class Right:
    demarche: str
    role: str
    siret: str

    @property
    def value(self) -> str:
        return f"{self.demarche}:{self.role}:{self.siret}"

    @classmethod
    def parse(cls, value: str) -> Right | None:
        """The right an attribute value names, or None when it is not of our form."""
        parts = value.strip().split(":")
        if len(parts) != 3 or not all(parts) or not (parts[2].isdigit() and len(parts[2]) == 14):
            return None
        return cls(*parts)


@dataclass(frozen=True)
class Projection:
    """A person's rights as Keycloak should show them (or shows them)."""

    values: frozenset[str]
    groups: frozenset[tuple[str, str]]

    @classmethod
    def of(cls, rights: Iterable[Right]) -> Projection:
        held = set(rights)
        return cls(frozenset(r.value for r in held), frozenset((r.demarche, r.role) for r in held))


def desired(habilitations: Iterable[HeldRight], moment: datetime) -> Projection:
    """What Keycloak should show for these habilitations (direct or by delegation) now."""
    return Projection.of(
        Right(h.demarche, h.role, h.siret) for h in habilitations if h.active_at(moment)
    )


@dataclass(frozen=True)
class SetValues:
    values: tuple[str, ...]


@dataclass(frozen=True)
class Join:
    demarche: str
    role: str


@dataclass(frozen=True)
class Leave:
    demarche: str
    role: str


Operation = SetValues | Join | Leave


def plan(want: Projection, seen: Projection) -> list[Operation]:
    """The operations that make `seen` equal to `want`; none when they already are."""
    operations: list[Operation] = []
    if want.values != seen.values:
        operations.append(SetValues(tuple(sorted(want.values))))
    operations.extend(Join(*group) for group in sorted(want.groups - seen.groups))
    operations.extend(Leave(*group) for group in sorted(seen.groups - want.groups))
    return operations


def describe(operation: Operation) -> str:
    """One French line per operation, for the reconcile report."""
    match operation:
        case SetValues(values):
            return f"attribut habilitation := {', '.join(values) or '(vide)'}"
        case Join(demarche, role):
            return f"ajouter au groupe /demarches/{demarche}/{role}"
        case Leave(demarche, role):
            return f"retirer du groupe /demarches/{demarche}/{role}"
