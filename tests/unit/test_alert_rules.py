"""The alerting rules (observabilite/alertes.yml) against Prometheus' own tools: valid, their
unit tests pass, and every metric they watch is one the bridge's /metrics produces, in a
format Prometheus accepts (#19)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from sqlalchemy.orm import Session

import bridge.models  # noqa: F401  (every table on the metadata)
from bridge.api import check_metrics
from bridge.db import Base, make_engine
from bridge.settings import REPO_ROOT
from bridge.sync.metrics import render

RULES = REPO_ROOT / "observabilite" / "alertes.yml"
DASHBOARD = REPO_ROOT / "observabilite" / "grafana-tableau-de-bord.json"


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


def test_every_query_of_the_dashboard_is_valid_promql(promtool: str, tmp_path: Path) -> None:
    """Each panel's query, as a recording rule that promtool parses (the series themselves
    are checked against real /metrics in tests/integration/test_metrics_served.py)."""
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    queries = [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    assert queries, "aucune requête dans le tableau de bord"
    assert all(panel["title"] for panel in dashboard["panels"])
    rules = {
        "groups": [
            {
                "name": "tableau-de-bord",
                "rules": [{"record": f"panneau_{n}", "expr": q} for n, q in enumerate(queries)],
            }
        ]
    }
    checked_file = tmp_path / "tableau.yml"
    checked_file.write_text(json.dumps(rules), encoding="utf-8")  # JSON is YAML
    checked = run(promtool, "check", "rules", str(checked_file))
    assert checked.returncode == 0, checked.stdout + checked.stderr


CONFIGS = {"prometheus.yml": {"bridge", "keycloak"}}
CONFIGS["prometheus-cluster.yml"] = CONFIGS["prometheus.yml"] | {"bridge-2", "keycloak-2"}


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_each_scrape_config_is_valid_and_scrapes_exactly_the_replicas_deployed(
    promtool: str, tmp_path: Path, name: str
) -> None:
    """prometheus.yml without the compose profile « cluster », prometheus-cluster.yml with it:
    every replica that runs is scraped, none that is not (it would be `up == 0`, an alert)."""
    text = (RULES.parent / name).read_text(encoding="utf-8")
    copy = text.replace("/etc/prometheus/", f"{tmp_path}/").replace(
        "/tmp/jeton-mesures",  # noqa: S108 (the path inside the container)
        f"{tmp_path}/jeton-mesures",
    )
    (tmp_path / "alertes.yml").write_text(RULES.read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "jeton-mesures").write_text("jeton", encoding="utf-8")
    (tmp_path / name).write_text(copy, encoding="utf-8")
    checked = run(promtool, "check", "config", str(tmp_path / name))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    config = yaml.safe_load(text)
    scraped = {
        target.split(":")[0]
        for job in config["scrape_configs"]
        for static in job["static_configs"]
        for target in static["targets"]
    }
    assert scraped == CONFIGS[name]
    services = yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    cluster = {n for n, s in services["services"].items() if "cluster" in s.get("profiles", [])}
    everywhere = {n for n, s in services["services"].items() if not s.get("profiles")}
    deployed = everywhere | (cluster if "cluster" in name else set())
    assert scraped <= deployed


def test_the_two_scrape_configs_differ_only_by_their_targets() -> None:
    single, cluster = (
        yaml.safe_load((RULES.parent / name).read_text(encoding="utf-8")) for name in CONFIGS
    )
    for config in (single, cluster):
        for job in config["scrape_configs"]:
            del job["static_configs"]
    assert single == cluster
