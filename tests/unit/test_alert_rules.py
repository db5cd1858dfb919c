"""The alerting rules (observabilite/alertes.yml) against Prometheus' own tools: valid, their
unit tests pass, and every metric they watch is one the bridge's /metrics produces, in a
format Prometheus accepts (#19)."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest
from sqlalchemy.orm import Session

import bridge.models  # noqa: F401  (every table on the metadata)
from bridge.api import check_metrics
from bridge.db import Base, make_engine
from bridge.settings import REPO_ROOT
from bridge.sync.metrics import render

RULES = REPO_ROOT / "observabilite" / "alertes.yml"


@pytest.fixture(scope="module")
def promtool() -> str:
    found = shutil.which("promtool")
    assert found, "promtool manque : « make setup » installe le paquet Debian prometheus"
    return found


def run(*command: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, cwd=RULES.parent, input=stdin, capture_output=True, text=True, check=False
    )


def test_the_rules_are_valid_and_their_unit_tests_pass(promtool: str) -> None:
    checked = run(promtool, "check", "rules", RULES.name)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    tested = run(promtool, "test", "rules", "alertes_test.yml")
    assert tested.returncode == 0, tested.stdout + tested.stderr


def test_every_watched_metric_is_served_in_a_format_prometheus_accepts(promtool: str) -> None:
    engine = make_engine("sqlite://")
    Base.metadata.create_all(engine)
    with Session(engine) as session:
        served = render(session) + check_metrics.render()
    engine.dispose()
    names = set(re.findall(r"^# TYPE (\w+) ", served, flags=re.MULTILINE))
    watched = set(re.findall(r"\b(bridge_\w+)", RULES.read_text(encoding="utf-8")))
    assert watched, "aucune mesure du pont dans les règles"
    assert watched <= names, f"mesures absentes de /metrics : {watched - names}"
    linted = run(promtool, "check", "metrics", stdin=served)
    assert linted.returncode == 0, linted.stdout + linted.stderr
