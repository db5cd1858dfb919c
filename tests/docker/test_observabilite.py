"""The compose profile « observabilite » (#19): Prometheus scrapes the bridge and Keycloak
and evaluates the shipped alerts; with the mail catcher stopped, invitations wait in the
queue and CourrielsEnAttente fires in Prometheus' API, then resolves once the catcher is back.

The shipped thresholds (15 minutes, for 5 minutes) would make this test last half an hour:
Prometheus gets a copy of observabilite/alertes.yml in which only the durations (`for`) and
CourrielsEnAttente's threshold are shortened, programmatically (same expressions otherwise,
same alert names), and a copy of observabilite/prometheus.yml with 2-second scrape and
evaluation intervals (same jobs, same targets), both mounted over the shipped ones by an
override file of this test.
"""

from __future__ import annotations

import csv
import io
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from playwright.sync_api import sync_playwright

from bridge.settings import REPO_ROOT
from tests.browser.conftest import CAPTURES, CHROMIUM, CHROMIUM_ARGS
from tests.docker.conftest import Stack
from tests.docker.test_compose_stack import new_account, portal_client, stack_admin
from tests.support.oidc_flow import code_flow_tokens
from tests.support.sirets import new_siret
from tests.support.stack import PASSWORD

pytestmark = pytest.mark.docker

MAF = "mon-activite-formation"
ALERT = "CourrielsEnAttente"
WAIT_SECONDS = 20  # CourrielsEnAttente's threshold here (900 s shipped)
FOR = "10s"  # every rule's `for` here (minutes shipped)


def shortened_rules(target: Path) -> None:
    """The shipped rules, durations and the pending mail's threshold shortened only."""
    rules = yaml.safe_load((REPO_ROOT / "observabilite" / "alertes.yml").read_text())
    for group in rules["groups"]:
        for rule in group["rules"]:
            if "for" in rule:
                rule["for"] = FOR
            if rule["alert"] == ALERT:
                shortened = re.sub(r"> 900$", f"> {WAIT_SECONDS}", rule["expr"])
                assert shortened != rule["expr"], "seuil de CourrielsEnAttente introuvable"
                rule["expr"] = shortened
    target.write_text(yaml.safe_dump(rules, allow_unicode=True))


def fast_config(target: Path) -> None:
    config = yaml.safe_load((REPO_ROOT / "observabilite" / "prometheus.yml").read_text())
    config["global"] = {"scrape_interval": "2s", "evaluation_interval": "2s"}
    target.write_text(yaml.safe_dump(config))


def override(folder: Path) -> Path:
    shortened_rules(folder / "alertes.yml")
    fast_config(folder / "prometheus.yml")
    path = folder / "docker-compose.observabilite-test.yml"
    path.write_text(
        yaml.safe_dump(
            {
                "services": {
                    "prometheus": {
                        "volumes": [
                            f"{folder / 'prometheus.yml'}:/etc/prometheus/prometheus.yml:ro",
                            f"{folder / 'alertes.yml'}:/etc/prometheus/alertes.yml:ro",
                        ]
                    }
                }
            }
        )
    )
    return path


def alerts(prometheus: str, name: str) -> list[dict[str, Any]]:
    answer = httpx.get(f"{prometheus}/api/v1/alerts", timeout=10)
    answer.raise_for_status()
    found: list[dict[str, Any]] = answer.json()["data"]["alerts"]
    return [alert for alert in found if alert["labels"]["alertname"] == name]


def eventually(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"pas atteint en {timeout:.0f} s : {what}")
        time.sleep(1)


def gestionnaire_token(stack: Stack) -> tuple[str, str]:
    """A new SIRET imported and its code issued by the operator's command line, activated by
    a new account: that account's token and the SIRET."""
    siret = new_siret()
    done = stack.project.run(
        "exec", "-T", "bridge", "sh", "-c",
        f"printf 'siret;raison_sociale\\n{siret};Alertes SA\\n' > /tmp/etab.csv && "
        f"python -m bridge operateur import /tmp/etab.csv --demarche {MAF} "
        "--lettres /tmp/lettres.csv >/dev/null && cat /tmp/lettres.csv",
    )  # fmt: skip
    [letter] = list(csv.DictReader(io.StringIO(done.stdout), delimiter=";"))
    email = "gestionnaire.alertes@exemple.fr"
    new_account(stack_admin(stack), email)
    token = code_flow_tokens(portal_client(stack, stack.url("KEYCLOAK_PORT")), email, PASSWORD)[
        "access_token"
    ]
    activated = httpx.post(
        f"{stack.url('PORTAL_PORT')}/api/v1/demarches/{MAF}/activation",
        json={"siret": siret, "code": letter["code_activation"]},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert activated.status_code == 201, activated.text
    return token, siret


def screenshot_alerts_page(prometheus: str) -> None:
    """Prometheus' alerts page in Chromium, kept under docs/captures (the README shows it).
    The official image serves it at /alerts; Debian's build, the stand-in, at /classic/alerts."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            shown = page.goto(f"{prometheus}/alerts")
            if shown is None or shown.status == 404:
                page.goto(f"{prometheus}/classic/alerts")
            page.get_by_text(ALERT).first.click()  # unfolds the rule and its firing alert
            page.wait_for_timeout(500)
            CAPTURES.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(CAPTURES / "prometheus-alertes.png"), full_page=True)
        finally:
            browser.close()


def test_pending_mail_fires_in_prometheus_then_resolves_once_the_catcher_is_back(
    compose_stack: Callable[..., Stack], tmp_path: Path
) -> None:
    stack = compose_stack(observabilite=True)
    stack.project.files.append(override(tmp_path))
    stack.project.up(healthy_within=420)
    prometheus = stack.url("PROMETHEUS_PORT")

    # Both jobs are scraped: the bridge (with its token) and Keycloak's management port.
    def targets_up() -> bool:
        found = httpx.get(f"{prometheus}/api/v1/targets", timeout=10).json()["data"]
        health = {t["labels"]["job"]: t["health"] for t in found["activeTargets"]}
        return health == {"pont": "up", "keycloak": "up"}

    eventually(targets_up, 60, "les cibles « pont » et « keycloak » sont lues")
    token, siret = gestionnaire_token(stack)

    stack.project.run("stop", "mailcatcher")
    started = time.monotonic()
    invited = [f"tiers.{n}.{new_siret()}@cabinet.example.fr" for n in range(3)]
    for email in invited:
        answer = httpx.post(
            f"{stack.url('PORTAL_PORT')}/api/v1/demarches/{MAF}/delegations",
            json={
                "siret_tiers": new_siret(),
                "email": email,
                "role": "declarant",
                "siret_habilitation": siret,
            },
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )
        assert answer.status_code == 201, answer.text
        assert answer.json()["courriel"] == "en-attente"

    assert alerts(prometheus, ALERT) == []  # not even pending: under the threshold still
    eventually(
        lambda: [a["state"] for a in alerts(prometheus, ALERT)] == ["firing"],
        120,
        f"{ALERT} se déclenche",
    )
    print(f"\n{ALERT} déclenchée {time.monotonic() - started:.0f} s après l'arrêt du serveur SMTP")
    screenshot_alerts_page(prometheus)

    stack.project.run("start", "mailcatcher")
    mail_web = stack.url("MAIL_WEB_PORT")

    def all_received() -> bool:
        try:
            messages = httpx.get(f"{mail_web}/api/messages", timeout=5).json()
        except (httpx.HTTPError, ValueError):
            return False
        recipients = [r for m in messages for r in m["to"]]
        return all(recipients.count(email) == 1 for email in invited)

    # The queue retries with growing pauses (10 s, 20 s, 40 s…): within two minutes here.
    eventually(all_received, 180, "les invitations arrivent une fois chacune")
    eventually(lambda: not alerts(prometheus, ALERT), 60, f"{ALERT} est résolue")
    print(f"{ALERT} résolue {time.monotonic() - started:.0f} s après l'arrêt du serveur SMTP")
