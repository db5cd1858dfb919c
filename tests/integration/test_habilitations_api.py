"""Every catalog rule of the first guide, allowed and denied, through the HTTP API with real
tokens from the real Keycloak."""

from __future__ import annotations

import threading

import httpx
import pytest
from sqlalchemy import select, text

from bridge.audit.models import AuditEvent
from bridge.audit.service import Actor
from bridge.db import make_engine
from bridge.habilitation.models import Habilitation
from tests.support.callers import MAF, Caller, gestionnaire_of_new_siret, may, new_caller
from tests.support.employeur import make_operator
from tests.support.seed import etablissement_with_code
from tests.support.sirets import new_siret
from tests.support.stack import Platform

pytestmark = pytest.mark.keycloak


# --- authentication -------------------------------------------------------------------------


def test_the_api_requires_a_valid_bearer_token(platform: Platform) -> None:
    anonymous = httpx.get(f"{platform.portal_url}/api/v1/moi/habilitations")
    assert anonymous.status_code == 401
    assert anonymous.headers["content-type"] == "application/problem+json"
    forged = httpx.get(
        f"{platform.portal_url}/api/v1/moi/habilitations",
        headers={"Authorization": "Bearer abc.def.ghi"},
    )
    assert forged.status_code == 401


# --- activation code ------------------------------------------------------------------------


def test_siret_and_activation_code_make_the_person_gestionnaire(
    platform: Platform, callers: list[Caller]
) -> None:
    caller = new_caller(platform, callers)
    siret, code = etablissement_with_code(platform.context)
    response = caller.post(
        f"/demarches/{MAF}/activation", json={"siret": siret, "code": code.lower()}
    )
    assert response.status_code == 201
    body = response.json()
    assert (body["role"], body["siret"], body["accordee_par"]) == (
        "gestionnaire",
        siret,
        "code-activation",
    )
    assert may(caller, siret, "gestionnaire")
    assert may(caller, siret, "declarant")  # the catalog says a gestionnaire may act as déclarant
    mine = caller.http.get("/moi/habilitations").json()
    assert [(h["demarche"], h["siret"]) for h in mine] == [(MAF, siret)]


def test_a_siret_with_a_gestionnaire_sends_newcomers_to_the_access_request(
    platform: Platform, callers: list[Caller]
) -> None:
    _, siret = gestionnaire_of_new_siret(platform, callers)
    other = new_caller(platform, callers)
    response = other.post(
        f"/demarches/{MAF}/activation", json={"siret": siret, "code": "AAAA-BBBB-CCCC"}
    )
    assert response.status_code == 409
    assert "demandez-lui l'accès" in response.json()["detail"]


def test_a_wrong_code_is_refused_in_french_and_counted(
    platform: Platform, callers: list[Caller]
) -> None:
    caller = new_caller(platform, callers)
    siret, _ = etablissement_with_code(platform.context)
    response = caller.post(
        f"/demarches/{MAF}/activation", json={"siret": siret, "code": "AAAA-BBBB-CCCC"}
    )
    assert response.status_code == 422
    assert response.json()["code"] == "code-activation-incorrect"
    assert "Vérifiez le courrier reçu" in response.json()["detail"]
    with platform.context.work() as work:
        actions = work.session.scalars(
            select(AuditEvent.action).where(AuditEvent.siret == siret)
        ).all()
    assert "code-incorrect" in actions


def test_wrong_codes_from_other_accounts_do_not_lock_the_holder_out(
    platform: Platform, callers: list[Caller]
) -> None:
    siret, code = etablissement_with_code(platform.context)
    guessers = [new_caller(platform, callers) for _ in range(2)]
    for attempt in range(10):
        guesser = guessers[attempt % 2]
        response = guesser.post(
            f"/demarches/{MAF}/activation", json={"siret": siret, "code": f"AAAA-BBBB-CCC{attempt}"}
        )
        assert response.status_code == 422  # five each: the limit is per account
    locked = guessers[0].post(f"/demarches/{MAF}/activation", json={"siret": siret, "code": code})
    assert locked.status_code == 429  # the guessers wait, even with the right code
    assert "Réessayez dans 15 minutes" in locked.json()["detail"]
    assert locked.headers["retry-after"] == str(locked.json()["retry_after_seconds"])
    holder = new_caller(platform, callers)
    opened = holder.post(f"/demarches/{MAF}/activation", json={"siret": siret, "code": code})
    assert opened.status_code == 201, opened.text
    assert may(holder, siret, "gestionnaire")


def test_five_wrong_codes_by_one_person_lock_that_person_on_every_siret(
    platform: Platform, callers: list[Caller]
) -> None:
    guesser = new_caller(platform, callers)
    for _ in range(5):
        siret, _ = etablissement_with_code(platform.context)
        assert (
            guesser.post(
                f"/demarches/{MAF}/activation", json={"siret": siret, "code": "ZZZZ-ZZZZ-ZZZZ"}
            ).status_code
            == 422
        )
    siret, code = etablissement_with_code(platform.context)
    assert (
        guesser.post(
            f"/demarches/{MAF}/activation", json={"siret": siret, "code": code}
        ).status_code
        == 429
    )


def test_activation_codes_are_not_readable_from_the_database(platform: Platform) -> None:
    siret, code = etablissement_with_code(platform.context)
    # The raw rows, as someone reading the database (SQLite file or PostgreSQL) would see them.
    engine = make_engine(platform.portal_settings.database_url)
    with engine.connect() as connection:
        rows = connection.execute(
            text("SELECT * FROM activation_code WHERE siret = :siret"), {"siret": siret}
        ).fetchall()
    engine.dispose()
    assert rows
    dump = repr(rows)
    assert code not in dump
    assert code.replace("-", "") not in dump


@pytest.mark.parametrize(
    ("siret", "reason"),
    [
        ("1234", "14 chiffres"),
        ("7328293200007A", "que des chiffres"),
        ("73282932000075", "clé de contrôle"),
    ],
)
def test_a_malformed_siret_gets_a_french_problem(
    platform: Platform, callers: list[Caller], siret: str, reason: str
) -> None:
    caller = new_caller(platform, callers)
    response = caller.post(
        f"/demarches/{MAF}/activation", json={"siret": siret, "code": "AAAA-BBBB-CCCC"}
    )
    assert response.status_code == 422
    assert response.json()["code"] == "siret-invalide"
    assert reason in response.json()["detail"]


def test_an_unknown_demarche_is_a_404_problem(platform: Platform, callers: list[Caller]) -> None:
    caller = new_caller(platform, callers)
    response = caller.post(
        "/demarches/inconnue/activation", json={"siret": new_siret(), "code": "x"}
    )
    assert response.status_code == 404
    assert response.json()["code"] == "demarche-inconnue"


# --- access requests ------------------------------------------------------------------------


def test_an_access_request_is_mailed_to_the_gestionnaires_and_approved_with_another_role(
    platform: Platform, callers: list[Caller]
) -> None:
    gestionnaire, siret = gestionnaire_of_new_siret(platform, callers)
    colleague = new_caller(platform, callers, "Paul", "Durand")
    created = colleague.post(
        f"/demarches/{MAF}/demandes", json={"siret": siret, "role": "gestionnaire"}
    )
    assert created.status_code == 201, created.text
    mail = platform.mail.wait_for(gestionnaire.person.email)
    assert mail.subject == f"Demande d'accès à Mon Activité Formation pour le SIRET {siret}"
    assert "Paul Durand" in mail.text
    # a link to act on it (#20): the users screen of the démarche, on this portal
    assert f"{platform.portal_url}/demarches/{MAF}/utilisateurs" in mail.links

    duplicate = colleague.post(f"/demarches/{MAF}/demandes", json={"siret": siret})
    assert duplicate.status_code == 409
    pending = gestionnaire.http.get(f"/demarches/{MAF}/demandes").json()
    assert [p["id"] for p in pending] == [created.json()["id"]]

    approved = gestionnaire.post(
        f"/demarches/{MAF}/demandes/{created.json()['id']}/approbation", json={"role": "declarant"}
    )
    assert approved.status_code == 201
    assert approved.json()["accordee_par"] == "demande-approuvee"
    assert may(colleague, siret, "declarant")
    assert not may(colleague, siret, "gestionnaire")
    assert "est validé" in platform.mail.wait_for(colleague.person.email).subject


def test_a_refusal_carries_a_reason_the_requester_sees(
    platform: Platform, callers: list[Caller]
) -> None:
    gestionnaire, siret = gestionnaire_of_new_siret(platform, callers)
    colleague = new_caller(platform, callers)
    request_id = colleague.post(f"/demarches/{MAF}/demandes", json={"siret": siret}).json()["id"]
    empty = gestionnaire.post(
        f"/demarches/{MAF}/demandes/{request_id}/refus", json={"motif": "   "}
    )
    assert empty.status_code == 422
    refused = gestionnaire.post(
        f"/demarches/{MAF}/demandes/{request_id}/refus",
        json={"motif": "Personne inconnue du service"},
    )
    assert refused.status_code == 204
    mine = colleague.http.get("/moi/demandes").json()
    assert (mine[0]["statut"], mine[0]["motif"]) == ("refusee", "Personne inconnue du service")
    assert not may(colleague, siret, "declarant")


def test_only_the_requester_may_withdraw_a_request(
    platform: Platform, callers: list[Caller]
) -> None:
    gestionnaire, siret = gestionnaire_of_new_siret(platform, callers)
    colleague = new_caller(platform, callers)
    request_id = colleague.post(f"/demarches/{MAF}/demandes", json={"siret": siret}).json()["id"]
    assert gestionnaire.http.delete(f"/demarches/{MAF}/demandes/{request_id}").status_code == 404
    assert colleague.http.delete(f"/demarches/{MAF}/demandes/{request_id}").status_code == 204
    assert gestionnaire.http.get(f"/demarches/{MAF}/demandes").json() == []


def test_a_request_for_a_role_the_catalog_does_not_have_is_refused(
    platform: Platform, callers: list[Caller]
) -> None:
    _, siret = gestionnaire_of_new_siret(platform, callers)
    colleague = new_caller(platform, callers)
    response = colleague.post(
        f"/demarches/{MAF}/demandes", json={"siret": siret, "role": "directeur"}
    )
    assert response.status_code == 422
    assert response.json()["code"] == "role-inconnu"


def test_a_request_on_a_siret_without_gestionnaire_points_to_the_activation_code(
    platform: Platform, callers: list[Caller]
) -> None:
    siret, _ = etablissement_with_code(platform.context)
    response = new_caller(platform, callers).post(
        f"/demarches/{MAF}/demandes", json={"siret": siret}
    )
    assert response.status_code == 409
    assert "code d'activation" in response.json()["detail"]


def test_a_gestionnaire_of_another_siret_cannot_approve(
    platform: Platform, callers: list[Caller]
) -> None:
    _, siret = gestionnaire_of_new_siret(platform, callers)
    stranger, _ = gestionnaire_of_new_siret(platform, callers)
    colleague = new_caller(platform, callers)
    request_id = colleague.post(f"/demarches/{MAF}/demandes", json={"siret": siret}).json()["id"]
    response = stranger.post(
        f"/demarches/{MAF}/demandes/{request_id}/approbation", json={"role": "declarant"}
    )
    assert response.status_code == 404  # another SIRET's request: as if it did not exist
    assert stranger.http.get(f"/demarches/{MAF}/demandes").json() == []


def test_two_simultaneous_approvals_give_one_habilitation_and_one_audit_entry(
    platform: Platform, callers: list[Caller]
) -> None:
    first, siret = gestionnaire_of_new_siret(platform, callers)
    second = new_caller(platform, callers)
    second.http.get("/moi/habilitations")  # known to the store from its first call
    with platform.context.work() as work:
        work.habilitations.grant(_actor(first), MAF, second.person.id, "gestionnaire", siret)
    colleague = new_caller(platform, callers)
    request_id = colleague.post(f"/demarches/{MAF}/demandes", json={"siret": siret}).json()["id"]
    start = threading.Barrier(2)
    answers: list[int] = []

    def approve(caller: Caller) -> None:
        start.wait()
        answers.append(
            caller.post(
                f"/demarches/{MAF}/demandes/{request_id}/approbation", json={"role": "declarant"}
            ).status_code
        )

    threads = [threading.Thread(target=approve, args=(c,)) for c in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(answers) == [201, 409]
    with platform.context.work() as work:
        holdings = work.session.scalars(
            select(Habilitation).where(Habilitation.subject == colleague.person.id)
        ).all()
        granted = work.session.scalars(
            select(AuditEvent).where(
                AuditEvent.target == colleague.person.id,
                AuditEvent.action == "habilitation-accordee",
            )
        ).all()
    assert len(holdings) == 1
    assert len(granted) == 1


# --- habilitations managed by a gestionnaire ------------------------------------------------


def _actor(caller: Caller) -> Actor:
    return Actor(caller.person.id, caller.person.display_name)


def test_a_gestionnaire_adds_modifies_and_removes_a_habilitation_on_its_siret(
    platform: Platform, callers: list[Caller]
) -> None:
    gestionnaire, siret = gestionnaire_of_new_siret(platform, callers)
    colleague = new_caller(platform, callers)
    colleague.http.get("/moi/habilitations")  # the person is known to the store once they call
    added = gestionnaire.post(
        f"/demarches/{MAF}/habilitations",
        json={"personne": colleague.person.id, "role": "declarant", "siret": siret},
    )
    assert added.status_code == 201
    assert may(colleague, siret, "declarant")
    changed = gestionnaire.http.patch(
        f"/demarches/{MAF}/habilitations/{added.json()['id']}", json={"role": "gestionnaire"}
    )
    assert changed.status_code == 200
    assert may(colleague, siret, "gestionnaire")
    removed = gestionnaire.http.delete(f"/demarches/{MAF}/habilitations/{changed.json()['id']}")
    assert removed.status_code == 204
    assert not may(colleague, siret, "declarant")  # revocation applies on the very next request


def test_the_last_gestionnaire_of_a_siret_cannot_be_removed(
    platform: Platform, callers: list[Caller]
) -> None:
    gestionnaire, _ = gestionnaire_of_new_siret(platform, callers)
    own = gestionnaire.http.get("/moi/habilitations").json()[0]
    response = gestionnaire.http.delete(f"/demarches/{MAF}/habilitations/{own['id']}")
    assert response.status_code == 409
    assert "dernier gestionnaire" in response.json()["detail"]


def test_a_gestionnaire_cannot_grant_on_a_siret_it_does_not_manage(
    platform: Platform, callers: list[Caller]
) -> None:
    gestionnaire, _ = gestionnaire_of_new_siret(platform, callers)
    _, other_siret = gestionnaire_of_new_siret(platform, callers)
    response = gestionnaire.post(
        f"/demarches/{MAF}/habilitations",
        json={"personne": gestionnaire.person.id, "role": "gestionnaire", "siret": other_siret},
    )
    assert response.status_code == 403


def test_a_declarant_cannot_grant_anything(platform: Platform, callers: list[Caller]) -> None:
    gestionnaire, siret = gestionnaire_of_new_siret(platform, callers)
    declarant = new_caller(platform, callers)
    declarant.http.get("/moi/habilitations")
    gestionnaire.post(
        f"/demarches/{MAF}/habilitations",
        json={"personne": declarant.person.id, "role": "declarant", "siret": siret},
    )
    response = declarant.post(
        f"/demarches/{MAF}/habilitations",
        json={"personne": declarant.person.id, "role": "gestionnaire", "siret": siret},
    )
    assert response.status_code == 403
    assert declarant.http.get(f"/demarches/{MAF}/utilisateurs").status_code == 403


def test_a_person_with_nothing_on_a_siret_may_not_act_for_it(
    platform: Platform, callers: list[Caller]
) -> None:
    _, siret = gestionnaire_of_new_siret(platform, callers)
    nobody = new_caller(platform, callers)
    assert not may(nobody, siret, "declarant")
    assert nobody.http.get(f"/demarches/{MAF}/utilisateurs").status_code == 403


def test_forged_ids_in_requests_are_refused(platform: Platform, callers: list[Caller]) -> None:
    gestionnaire, siret = gestionnaire_of_new_siret(platform, callers)
    unknown_person = gestionnaire.post(
        f"/demarches/{MAF}/habilitations",
        json={"personne": "pas-un-compte", "role": "declarant", "siret": siret},
    )
    assert unknown_person.status_code == 404
    other, _ = gestionnaire_of_new_siret(platform, callers)
    theirs = other.http.get("/moi/habilitations").json()[0]["id"]
    assert gestionnaire.http.delete(f"/demarches/{MAF}/habilitations/{theirs}").status_code == 404
    assert (
        gestionnaire.http.delete(
            f"/demarches/mes-collectes-formation/habilitations/{theirs}"
        ).status_code
        == 404
    )
    assert (
        gestionnaire.post(f"/demarches/{MAF}/demandes/999999/approbation", json={}).status_code
        == 404
    )


def test_the_users_screen_searches_facets_and_paginates(
    platform: Platform, callers: list[Caller]
) -> None:
    from bridge.person.service import remember_person

    gestionnaire, siret = gestionnaire_of_new_siret(platform, callers)
    with platform.context.work() as work:
        for index in range(24):
            remember_person(
                work.session,
                f"dupont-{siret}-{index}",
                f"dupont{index}@{siret}.fr",
                "Jean",
                f"Dupont{index:02d}",
            )
    with platform.context.work() as work:
        for index in range(24):
            work.habilitations.grant(
                _actor(gestionnaire), MAF, f"dupont-{siret}-{index}", "declarant", siret
            )
    first = gestionnaire.http.get(f"/demarches/{MAF}/utilisateurs").json()
    assert (first["total"], first["pages"], len(first["utilisateurs"])) == (25, 2, 20)
    assert first["facettes_roles"] == {"declarant": 24, "gestionnaire": 1}
    assert first["facettes_tiers"] == {"oui": 0, "non": 25}
    second = gestionnaire.http.get(f"/demarches/{MAF}/utilisateurs", params={"page": 2}).json()
    assert len(second["utilisateurs"]) == 5
    found = gestionnaire.http.get(f"/demarches/{MAF}/utilisateurs", params={"q": "dupont07"}).json()
    assert [u["nom"] for u in found["utilisateurs"]] == ["Dupont07"]
    by_role = gestionnaire.http.get(
        f"/demarches/{MAF}/utilisateurs", params={"role": "gestionnaire"}
    ).json()
    assert [u["personne"] for u in by_role["utilisateurs"]] == [gestionnaire.person.id]
    by_siret = gestionnaire.http.get(
        f"/demarches/{MAF}/utilisateurs", params={"q": siret[:9]}
    ).json()
    assert by_siret["total"] == 25


def test_the_operator_issues_codes_and_nobody_else_does(
    platform: Platform, callers: list[Caller]
) -> None:
    siret, _ = etablissement_with_code(platform.context)
    person = new_caller(platform, callers)
    refused = person.post(
        "/operateur/codes", json={"siret": siret, "demarche": MAF, "reemettre": True}
    )
    assert refused.status_code == 403
    operator = new_caller(platform, callers, "Opé", "Rateur")
    make_operator(platform, operator.person.id)
    operator.http.headers["Authorization"] = f"Bearer {platform.token_for(operator.person)}"
    reissued = operator.post(
        "/operateur/codes", json={"siret": siret, "demarche": MAF, "reemettre": True}
    )
    assert reissued.status_code == 201, reissued.text
    new_code = reissued.json()["code"]
    holder = new_caller(platform, callers)
    assert (
        holder.post(
            f"/demarches/{MAF}/activation", json={"siret": siret, "code": new_code}
        ).status_code
        == 201
    )


# --- the other catalog entries: same engine, other rules -------------------------------------

EMPLOYER = "espace-employeur-cpf"


@pytest.mark.parametrize("demarche", ["mes-collectes-formation", "mon-suivi-controle"])
def test_every_training_demarche_follows_its_catalog_entry(
    platform: Platform, callers: list[Caller], demarche: str
) -> None:
    gestionnaire = new_caller(platform, callers)
    siret, code = etablissement_with_code(platform.context, demarche=demarche)
    assert (
        gestionnaire.post(
            f"/demarches/{demarche}/activation", json={"siret": siret, "code": code}
        ).status_code
        == 201
    )
    declarant = new_caller(platform, callers)
    declarant.http.get("/moi/habilitations")
    body = {"personne": declarant.person.id, "role": "declarant", "siret": siret}
    assert gestionnaire.post(f"/demarches/{demarche}/habilitations", json=body).status_code == 201
    escalate = {"personne": declarant.person.id, "role": "gestionnaire", "siret": siret}
    assert declarant.post(f"/demarches/{demarche}/habilitations", json=escalate).status_code == 403
    # a right in one démarche is no right in another
    other = (
        "mon-suivi-controle" if demarche == "mes-collectes-formation" else "mes-collectes-formation"
    )
    verdict = declarant.http.get(
        f"/demarches/{other}/droit", params={"siret": siret, "role": "declarant"}
    )
    assert verdict.json() == {"autorise": False}


def _employer(platform: Platform) -> str:
    from bridge.etablissement.models import Etablissement

    siret = new_siret()
    with platform.context.work() as work:
        work.session.add(Etablissement(siret=siret, siren=siret[:9], name="Employeur"))
    return siret


def test_the_employer_space_opens_only_by_operator_appointment(
    platform: Platform, callers: list[Caller]
) -> None:
    siret = _employer(platform)
    caller = new_caller(platform, callers)
    by_code = caller.post(
        f"/demarches/{EMPLOYER}/activation", json={"siret": siret, "code": "AAAA-BBBB-CCCC"}
    )
    assert by_code.status_code == 422
    assert "ne s'ouvre pas par code d'activation" in by_code.json()["detail"]
    by_request = caller.post(f"/demarches/{EMPLOYER}/demandes", json={"siret": siret})
    assert by_request.status_code == 422
    assert "ne reçoit pas de demande d'accès" in by_request.json()["detail"]
