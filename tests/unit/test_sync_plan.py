"""The pure planner of the projection: desired vs seen → operations (no Keycloak here)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from bridge.db import now
from bridge.sync.plan import Join, Leave, Projection, Right, SetValues, desired, plan

SIRET = "73282932000074"
OTHER = "55203253400646"
MAF = "mon-activite-formation"


@dataclass
class Held:
    subject: str
    demarche: str
    role: str
    siret: str
    until: datetime | None = None

    def active_at(self, moment: datetime) -> bool:
        return self.until is None or self.until > moment


def test_equal_states_need_no_operation() -> None:
    state = Projection.of([Right(MAF, "declarant", SIRET)])
    assert plan(state, state) == []


def test_a_new_right_sets_the_values_and_joins_the_role_group() -> None:
    want = Projection.of([Right(MAF, "declarant", SIRET)])
    assert plan(want, Projection.of([])) == [
        SetValues((f"{MAF}:declarant:{SIRET}",)),
        Join(MAF, "declarant"),
    ]


def test_a_second_siret_with_the_same_role_only_adds_a_value() -> None:
    seen = Projection.of([Right(MAF, "declarant", SIRET)])
    want = Projection.of([Right(MAF, "declarant", SIRET), Right(MAF, "declarant", OTHER)])
    assert plan(want, seen) == [SetValues(tuple(sorted(want.values)))]


def test_the_last_right_of_a_role_leaves_its_group_and_empties_the_values() -> None:
    assert plan(Projection.of([]), Projection.of([Right(MAF, "gestionnaire", SIRET)])) == [
        SetValues(()),
        Leave(MAF, "gestionnaire"),
    ]


def test_ended_rights_are_not_desired() -> None:
    past = now() - timedelta(days=1)
    rights = [Held("s", MAF, "declarant", SIRET, past), Held("s", MAF, "gestionnaire", OTHER)]
    assert desired(rights, now()) == Projection.of([Right(MAF, "gestionnaire", OTHER)])


def test_values_not_of_our_form_are_not_rights() -> None:
    assert Right.parse(f"{MAF}:declarant:{SIRET}") == Right(MAF, "declarant", SIRET)
    for bad in ("", f"{MAF}:declarant", f"{MAF}:declarant:123", f"{MAF}::{SIRET}", "a:b:c:d"):
        assert Right.parse(bad) is None
