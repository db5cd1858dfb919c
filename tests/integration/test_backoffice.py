"""The operator's back-office (#21), over HTTP on the real platform: only a designated
operator opens it; a gestionnaire, a main administrator, a delegated administrator, a tiers,
or someone who holds the realm role `operateur` without the designation is refused every
route, and nothing changes. The operator's own actions are audited."""

from __future__ import annotations

import csv
import html
import io
import json
import re
import time
import uuid
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import func, select

from bridge.audit.models import AuditEvent
from bridge.audit.service import Actor
from bridge.bootstrap import bridge_directory
from bridge.devstack.ports import free_port
from bridge.employeur.models import Organisation
from bridge.etablissement.models import ActivationCode, CodeAttempt
from bridge.etablissement.service import hash_code
from bridge.habilitation.models import GrantedHow, Habilitation
from bridge.habilitation.operators import withdraw
from bridge.identity.web_sessions import WebSession
from bridge.person.service import remember_person
from tests.support.callers import MAF
from tests.support.employeur import make_operator
from tests.support.portal_login import csrf_of, logged_in_client
from tests.support.seed import etablissement_with_code
from tests.support.sirets import new_siret
from tests.support.stack import Person, Platform

pytestmark = pytest.mark.keycloak

EMPLOYEUR = "espace-employeur-cpf"


def holding(platform: Platform, demarche: str, role: str, how: GrantedHow) -> Person:
    """A person of Keycloak holding `role` of `demarche` on a new SIRET, in the store."""
    person = platform.new_person("Sans", "Pouvoir")
    siret, _ = etablissement_with_code(platform.context)
    with platform.context.work() as work:
        remember_person(work.session, person.id, person.email, person.first_name, person.last_name)
        work.session.flush()
        work.session.add(
            Habilitation(
                subject=person.id,
                demarche=demarche,
                role=role,
                siret=siret,
                granted_how=how,
                on_behalf_of_siret=siret if how == GrantedHow.DELEGATION else None,
            )
        )
        if demarche == EMPLOYEUR:  # the employer space opens on its organisation after login
            work.session.add(Organisation(siret=siret, type="employeur", created_by="tests"))
    return person


@pytest.fixture(scope="module")
def target(platform: Platform) -> tuple[str, Person]:
    """A SIRET with a code, and a person the store knows: what the refused routes aim at."""
    siret, _ = etablissement_with_code(platform.context)
    person = platform.new_person("Cible", "Back-office")
    with platform.context.work() as work:
        remember_person(work.session, person.id, person.email, person.first_name, person.last_name)
    return siret, person


def footprint(platform: Platform, siret: str) -> tuple[int, int]:
    with platform.context.sessions() as session:
        codes = session.scalar(
            select(func.count()).select_from(ActivationCode).where(ActivationCode.siret == siret)
        )
        events = session.scalar(select(func.count()).select_from(AuditEvent))
    return codes or 0, events or 0


NON_OPERATORS = {
    "gestionnaire": (MAF, "gestionnaire", GrantedHow.ACTIVATION_CODE),
    "administrateur principal": (EMPLOYEUR, "administrateur-principal", GrantedHow.OPERATOR),
    "administrateur délégué": (EMPLOYEUR, "administrateur-delegue", GrantedHow.GESTIONNAIRE),
    "tiers": (MAF, "declarant", GrantedHow.DELEGATION),
}


@pytest.mark.parametrize("who", [*NON_OPERATORS, "rôle operateur sans désignation"])
def test_a_non_operator_is_refused_every_back_office_route(
    platform: Platform, target: tuple[str, Person], who: str
) -> None:
    siret, person = target
    if who in NON_OPERATORS:
        caller = holding(platform, *NON_OPERATORS[who])
    else:  # the realm role alone, which any manage-users administrator may map
        caller = platform.new_person("Role", "Seul")
        admin = platform.admin()
        admin.assign_realm_roles(caller.id, [admin.get_realm_role("operateur")])
    before = footprint(platform, siret)
    with logged_in_client(platform, caller) as client:
        token = csrf_of(client.get("/"))
        assert 'data-testid="back-office"' not in client.get("/").text
        pages = [
            "/operateur",
            "/operateur/etablissements?q=EKYSS",
            f"/operateur/etablissements/{siret}",
            f"/operateur/etablissements/{siret}/lettre",
            "/operateur/personnes?q=Cible",
            f"/operateur/personnes/{person.id}",
            "/operateur/employeurs?type=employeur",
            "/operateur/sans-gestionnaire",
            "/operateur/import",
            f"/operateur/imports/{'0' * 32}",
            f"/operateur/imports/{'0' * 32}/etat",
            f"/operateur/imports/{'0' * 32}/rejets.csv",
        ]
        for path in pages:
            answer = client.get(path)
            assert answer.status_code == 403, path
            assert "réservée à l'opérateur" in html.unescape(answer.text), path
        actions = [
            (f"/operateur/etablissements/{siret}/code", {"demarche": MAF}),
            (f"/operateur/etablissements/{siret}/deblocage", {}),
            (f"/operateur/etablissements/{siret}/deblocage", {"personne": person.id}),
            (f"/operateur/personnes/{person.id}/deblocage", {}),
            (f"/employeur/{siret}/gestionnaires/{person.id}/transfert", {}),
        ]
        for path, form in actions:
            answer = client.post(path, data={**form, "csrf_token": token})
            if "/transfert" in path:  # an organisation the caller is no member of: not found
                assert answer.status_code == 404, path
            else:
                assert answer.status_code == 403, path
        imported = client.post(
            "/operateur/import",
            data={"demarche": MAF, "csrf_token": token},
            files={"fichier": ("e.csv", f"siret;raison_sociale\n{new_siret()};Intrus\n")},
        )
        assert imported.status_code == 403
    assert footprint(platform, siret) == before


def operator_client(platform: Platform) -> Iterator[httpx.Client]:
    operator = platform.new_person("Opératrice", "Back-office")
    make_operator(platform, operator.id)
    with logged_in_client(platform, operator) as client:
        yield client


@pytest.fixture
def operator(platform: Platform) -> Iterator[httpx.Client]:
    yield from operator_client(platform)


def test_the_operator_issues_a_new_code_and_reads_its_letter_once(
    platform: Platform, operator: httpx.Client
) -> None:
    siret, old_code = etablissement_with_code(platform.context, name="Organisme Lettre")
    page = operator.get(f"/operateur/etablissements/{siret}")
    assert page.status_code == 200
    assert "Organisme Lettre" in page.text
    assert old_code not in page.text  # a code is never shown after its letter

    letter = operator.post(
        f"/operateur/etablissements/{siret}/code",
        data={"demarche": MAF, "csrf_token": csrf_of(page)},
        follow_redirects=False,
    )
    # The letter is the POST's own answer: the code is in no session, not even this one's.
    assert letter.status_code == 200
    assert letter.headers["cache-control"] == "no-store"
    [shown] = re.findall(r'data-testid="code">([^<]+)<', letter.text)
    with platform.context.sessions() as session:
        codes = session.scalars(
            select(ActivationCode).where(ActivationCode.siret == siret).order_by(ActivationCode.id)
        ).all()
        [event] = session.scalars(
            select(AuditEvent).where(AuditEvent.siret == siret, AuditEvent.action == "code-reedite")
        ).all()
        stored = [json.dumps(row.data) for row in session.scalars(select(WebSession))]
    assert [c.revoked_at is not None for c in codes] == [True, False]
    pepper = platform.context.settings.code_pepper.get_secret_value()
    assert codes[-1].code_hash == hash_code(pepper, siret, MAF, shown)  # the active one
    assert stored
    assert not any(shown in data for data in stored)
    assert "Organisme Lettre" in letter.text
    assert f"SIRET {siret}" in letter.text
    assert event.actor != "operateur-tests"  # the operator logged in, by name
    again = operator.get(f"/operateur/etablissements/{siret}/lettre")
    assert "n'est affiché qu'une fois" in html.unescape(again.text)
    assert 'data-testid="code"' not in again.text


def test_the_operator_lifts_a_code_lockout_and_it_is_audited(
    platform: Platform, operator: httpx.Client
) -> None:
    siret, _ = etablissement_with_code(platform.context)
    locked = platform.new_person("Bloquée", "Codes")
    with platform.context.work() as work:
        remember_person(work.session, locked.id, locked.email, locked.first_name, locked.last_name)
        work.session.add_all(
            CodeAttempt(siret=siret, subject=locked.id, success=False) for _ in range(5)
        )
    page = operator.get(f"/operateur/etablissements/{siret}")
    assert "Compte bloqué" in page.text

    after = operator.post(
        f"/operateur/etablissements/{siret}/deblocage",
        data={"personne": locked.id, "csrf_token": csrf_of(page)},
    )
    assert "Le blocage de ce compte est levé" in after.text
    assert "Aucun blocage en cours" in after.text
    with platform.context.sessions() as session:
        [event] = session.scalars(
            select(AuditEvent).where(
                AuditEvent.siret == siret, AuditEvent.action == "code-debloque"
            )
        ).all()
    assert event.target == locked.id
    assert event.details == {"essais_oublies": 5}


def wait_until_finished(client: httpx.Client, job_url: str) -> list[dict[str, object]]:
    """The states the import's page would read, until « terminé » (30 s at most)."""
    states: list[dict[str, object]] = []
    deadline = time.monotonic() + 30
    while not states or not states[-1]["termine"]:
        assert time.monotonic() < deadline, states
        states.append(client.get(f"{job_url}/etat").json())
        time.sleep(0.1)
    return states


def test_the_operator_imports_a_csv_from_the_page_and_gets_its_letters_and_rejects(
    platform: Platform, operator: httpx.Client
) -> None:
    siret = new_siret()
    page = operator.get("/operateur/import")
    result = operator.post(
        "/operateur/import",
        data={"demarche": MAF, "csrf_token": csrf_of(page)},
        files={
            "fichier": (
                "etablissements.csv",
                f"siret;raison_sociale\n{siret};Organisme Importé\n12345;Trop court\n",
            )
        },
    )
    job_url = str(result.url.copy_with(query=None))
    assert result.url.path.startswith("/operateur/imports/")
    states = wait_until_finished(operator, job_url)
    assert states[-1] == {"traitees": 2, "total": 2, "termine": True}

    # The letters are shown once, on the first page rendered after the end: the redirect's
    # own page when the job was already done, the next one otherwise.
    report = result if "codes émis" in result.text else operator.get(job_url)
    text = html.unescape(report.text)
    assert report.status_code == 200
    assert "codes émis : 1 ; lignes rejetées : 1" in text
    assert f"SIRET {siret}" in text
    assert "Trop court" in text
    with platform.context.sessions() as session:
        [code] = session.scalars(select(ActivationCode).where(ActivationCode.siret == siret)).all()
    assert code.revoked_at is None
    again = html.unescape(operator.get(job_url).text)  # the letters are shown once
    assert f"SIRET {siret}" not in again
    assert "ne sont plus disponibles" in again
    assert f'href="/operateur/etablissements/{siret}"' in again

    rejects = operator.get(f"{job_url}/rejets.csv")
    assert rejects.status_code == 200
    assert rejects.headers["content-type"] == "text/csv; charset=utf-8"
    assert "attachment" in rejects.headers["content-disposition"]
    assert rejects.content.startswith(b"\xef\xbb\xbf")  # the BOM, for spreadsheets
    header, *lines = csv.reader(io.StringIO(rejects.content.decode("utf-8-sig")), delimiter=";")
    assert header == ["ligne", "contenu", "motif"]
    [(line, raw, reason)] = lines
    assert (line, raw) == ("3", "12345;Trop court")
    assert "SIRET" in reason
    assert reason in text
    with platform.context.sessions() as session:
        downloads = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "import-rejets-telecharges")
        ).all()
    assert downloads[-1].details == {"lignes": 1}
    assert downloads[-1].demarche == MAF

    comma = operator.post(
        "/operateur/import",
        data={"demarche": MAF, "csrf_token": csrf_of(page)},
        files={"fichier": ("e.csv", "siret,raison_sociale\n1,Un\n")},
    )
    wait_until_finished(operator, str(comma.url))
    content = operator.get(f"{comma.url}/rejets.csv").content.decode("utf-8-sig")
    assert list(csv.reader(io.StringIO(content)))[1][:2] == ["2", "1;Un"]  # the import's «,»

    latin1 = operator.post(
        "/operateur/import",
        data={"demarche": MAF, "csrf_token": csrf_of(page)},
        files={"fichier": ("e.csv", "siret;raison_sociale\n1;Élan\n".encode("latin-1"))},
    )
    assert latin1.status_code == 422
    assert "n'est pas encodé en UTF-8" in html.unescape(latin1.text)


def test_a_withdrawn_operator_loses_the_back_office_at_once(platform: Platform) -> None:
    """`operateur retirer` ends no session: the next request, a POST too, is refused."""
    siret, _ = etablissement_with_code(platform.context)
    operator = platform.new_person("Retirée", "Back-office")
    make_operator(platform, operator.id)
    with logged_in_client(platform, operator) as client:
        page = client.get(f"/operateur/etablissements/{siret}")
        assert page.status_code == 200
        assert 'data-testid="back-office"' in client.get("/").text
        with platform.context.work() as work:
            withdraw(work.session, Actor("tests", "Tests"), operator.id)
        assert 'data-testid="back-office"' not in client.get("/").text  # a page open to all
        before = footprint(platform, siret)
        answer = client.post(
            f"/operateur/etablissements/{siret}/code",
            data={"demarche": MAF, "csrf_token": csrf_of(page)},
            follow_redirects=False,
        )
        assert answer.status_code == 403
        assert client.get(f"/operateur/etablissements/{siret}").status_code == 403

        # Opening an employer organisation, an operator's power too (found by an audit:
        # this page read only the session's flag).
        assert client.get("/operateur/organisations").status_code == 403
        employer = new_siret()
        opened = client.post(
            "/operateur/organisations",
            data={
                "siret": employer,
                "type": "employeur",
                "raison_sociale": "Ouverte Après Retrait",
                "civilite": "madame",
                "nom": "Principale",
                "prenom": "Ada",
                "email": f"ada.{employer}@exemple.fr",
                "telephone_fixe": "0102030405",
                "telephone_mobile": "",
                "csrf_token": csrf_of(page),
            },
            follow_redirects=False,
        )
        assert opened.status_code == 403
    assert footprint(platform, siret)[0] == before[0]
    with platform.context.sessions() as session:
        assert session.get(Organisation, employer) is None


def test_keycloak_away_or_an_account_gone_is_said_in_french(
    platform: Platform, operator: httpx.Client
) -> None:
    """Keycloak not answering leaves the person's file readable, its account's state said
    unknown; « Débloquer » an account Keycloak no longer has says so, and audits nothing."""
    person = platform.new_person("Sans", "Keycloak")
    with platform.context.work() as work:
        remember_person(work.session, person.id, person.email, person.first_name, person.last_name)
    away = platform.context.settings.model_copy(
        update={"keycloak_url": f"http://127.0.0.1:{free_port()}", "keycloak_internal_url": None}
    )
    with platform.context.work() as work:
        work.backoffice.directory = lambda: bridge_directory(away)
        file = work.backoffice.person_file(Actor("op", "Opé", operator=True), person.id)
    assert file.account_unknown
    assert file.account is None
    assert file.person.subject == person.id

    gone = str(uuid.uuid4())
    with platform.context.work() as work:
        remember_person(work.session, gone, f"{gone}@exemple.fr", "Partie", "De Keycloak")
    page = operator.get(f"/operateur/personnes/{gone}")
    assert page.status_code == 200
    answer = operator.post(
        f"/operateur/personnes/{gone}/deblocage", data={"csrf_token": csrf_of(page)}
    )
    assert answer.status_code == 200
    assert "Keycloak ne connaît plus ce compte" in html.unescape(answer.text)
    with platform.context.sessions() as session:
        assert not session.scalars(
            select(AuditEvent).where(
                AuditEvent.target == gone, AuditEvent.action == "compte-debloque"
            )
        ).all()


def test_lifting_an_account_lock_audits_every_siret_whose_failures_are_forgotten(
    platform: Platform, operator: httpx.Client
) -> None:
    """An account's lock counts its failures on every SIRET: each SIRET touched is audited."""
    here, _ = etablissement_with_code(platform.context)
    elsewhere, _ = etablissement_with_code(platform.context)
    locked = platform.new_person("Bloquée", "Partout")
    with platform.context.work() as work:
        remember_person(work.session, locked.id, locked.email, locked.first_name, locked.last_name)
        for siret, tries in ((here, 3), (elsewhere, 2)):
            work.session.add_all(
                CodeAttempt(siret=siret, subject=locked.id, success=False) for _ in range(tries)
            )
    page = operator.get(f"/operateur/etablissements/{here}")
    assert "Compte bloqué" in page.text
    operator.post(
        f"/operateur/etablissements/{here}/deblocage",
        data={"personne": locked.id, "csrf_token": csrf_of(page)},
    )
    with platform.context.sessions() as session:
        events = session.scalars(
            select(AuditEvent).where(
                AuditEvent.target == locked.id, AuditEvent.action == "code-debloque"
            )
        ).all()
    assert sorted((e.siret, e.details["essais_oublies"]) for e in events) == sorted(
        [(here, 3), (elsewhere, 2)]
    )


def test_a_search_takes_percent_and_underscore_literally(
    platform: Platform, operator: httpx.Client
) -> None:
    mark = uuid.uuid4().hex[:8]
    wanted, _ = etablissement_with_code(platform.context, name=f"Taux 50 % {mark}")
    etablissement_with_code(platform.context, name=f"Taux 50 X {mark}")
    etablissement_with_code(platform.context, name=f"Taux 50 _ {mark}")
    found = operator.get("/operateur/etablissements", params={"q": f"50 % {mark}"})
    assert "1 établissement trouvé" in html.unescape(found.text)
    assert wanted in found.text
    found = operator.get("/operateur/etablissements", params={"q": f"50 _ {mark}"})
    assert "1 établissement trouvé" in html.unescape(found.text)


def test_reading_a_file_is_audited(
    platform: Platform, operator: httpx.Client, target: tuple[str, Person]
) -> None:
    siret, person = target
    assert operator.get(f"/operateur/etablissements/{siret}").status_code == 200
    assert operator.get(f"/operateur/personnes/{person.id}").status_code == 200
    with platform.context.sessions() as session:
        events = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "fiche-consultee")
        ).all()
    seen = {(e.siret, e.target) for e in events}
    assert (siret, None) in seen
    assert (None, person.id) in seen
