"""The employer space through its API, with real tokens of the real Keycloak.

Every appointment and renewal rule of the catalog, tried by the operator, the main
administrator, a delegated administrator, a gestionnaire and the main administrator of
another organisation; then the bad inputs, which leave nothing behind on either side.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from bridge.employeur.models import Gestionnaire
from bridge.person.models import Person
from tests.support.callers import Caller, new_caller
from tests.support.employeur import (
    ESPACE,
    account_caller,
    new_organisation,
    operator_caller,
    person_form,
    temporary_password_of,
)
from tests.support.projection import eventually, values_of
from tests.support.stack import Platform

EMPLOYER = "espace-employeur-cpf"


@dataclass
class Organisation:
    siret: str
    operator: Caller
    principal: Caller
    delegue: Caller
    gestionnaire: Caller
    outsider: Caller  # the main administrator of another organisation

    def path(self, tail: str = "") -> str:
        return f"{ESPACE}/{self.siret}{tail}"


def created(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def appoint(operator: Caller, siret: str, first: str, last: str) -> dict[str, Any]:
    return created(
        operator.post(f"{ESPACE}/{siret}/administrateur-principal", json=person_form(first, last))
    )


def add(
    by: Caller, siret: str, first: str, role: str = "gestionnaire", **extra: Any
) -> httpx.Response:
    return by.post(
        f"{ESPACE}/{siret}/gestionnaires",
        json={**person_form(first, "Test", **extra), "role": role},
    )


@pytest.fixture
def organisation(platform: Platform, callers: list[Caller]) -> Organisation:
    operator = operator_caller(platform, callers)
    siret = new_organisation(operator)
    principal = account_caller(platform, callers, appoint(operator, siret, "Claire", "Principale"))
    delegue = account_caller(
        platform, callers, created(add(principal, siret, "Denis", "administrateur-delegue"))
    )
    gestionnaire = account_caller(platform, callers, created(add(delegue, siret, "Gaston")))
    other = new_organisation(operator, "conseil-regional")
    outsider = account_caller(platform, callers, appoint(operator, other, "Xavier", "Dehors"))
    return Organisation(siret, operator, principal, delegue, gestionnaire, outsider)


def test_appointments_follow_the_catalog_for_each_kind_of_caller(
    organisation: Organisation,
) -> None:
    o = organisation
    everyone = {
        "operateur": o.operator,
        "principal": o.principal,
        "delegue": o.delegue,
        "gestionnaire": o.gestionnaire,
        "autre organisation": o.outsider,
    }

    def allowed(role: str) -> set[str]:
        return {
            name for name, by in everyone.items() if add(by, o.siret, name, role).status_code == 201
        }

    # Gestionnaires are added by the main and delegated administrators only.
    assert allowed("gestionnaire") == {"principal", "delegue"}
    # Only the main administrator appoints a delegated administrator.
    assert allowed("administrateur-delegue") == {"principal"}
    # Nobody appoints a main administrator through the add form, the operator included.
    assert allowed("administrateur-principal") == set()
    # The operator alone appoints the main administrator of an organisation, once.
    fresh = new_organisation(o.operator)
    for name, by in everyone.items():
        status = by.post(
            f"{ESPACE}/{fresh}/administrateur-principal", json=person_form(name, "P")
        ).status_code
        assert status == (201 if name == "operateur" else 403), name
    second = o.operator.post(o.path("/administrateur-principal"), json=person_form("Bis", "P"))
    assert second.status_code == 409
    assert "transfert" in second.json()["detail"]


def test_only_the_main_administrator_promotes_or_demotes_a_delegated_administrator(
    organisation: Organisation,
) -> None:
    o = organisation

    def set_role(by: Caller, who: Caller, role: str) -> int:
        form = {k: v for k, v in person_form("X", "Y").items() if k != "email"}
        form.update(nom=who.person.last_name, prenom=who.person.first_name, role=role)
        return by.http.put(o.path(f"/gestionnaires/{who.person.id}"), json=form).status_code

    for by in (o.operator, o.delegue, o.gestionnaire):
        assert set_role(by, o.gestionnaire, "administrateur-delegue") == 403
    # another organisation's administrator: answered as if the organisation did not exist
    assert set_role(o.outsider, o.gestionnaire, "administrateur-delegue") == 404
    assert set_role(o.principal, o.gestionnaire, "administrateur-delegue") == 200
    assert set_role(o.delegue, o.gestionnaire, "gestionnaire") == 403  # now a peer
    assert set_role(o.principal, o.gestionnaire, "gestionnaire") == 200


def test_password_renewal_follows_the_catalog(
    platform: Platform, organisation: Organisation
) -> None:
    o = organisation

    def renew(by: Caller, who: Caller) -> int:
        return by.post(o.path(f"/gestionnaires/{who.person.id}/mot-de-passe")).status_code

    everyone = (o.operator, o.principal, o.delegue, o.gestionnaire, o.outsider)
    # A gestionnaire's: the main or a delegated administrator.
    # (another organisation's administrator is told the organisation does not exist: 404)
    assert [renew(by, o.gestionnaire) for by in everyone] == [403, 204, 204, 403, 404]
    # A delegated administrator's: the main administrator only.
    assert [renew(by, o.delegue) for by in everyone] == [403, 204, 403, 403, 404]
    # The main administrator's: the operator only.
    assert [renew(by, o.principal) for by in everyone] == [204, 403, 403, 403, 404]


def test_a_renewed_password_is_temporary_e_mailed_ends_sessions_and_is_audited(
    platform: Platform, organisation: Organisation
) -> None:
    o = organisation
    admin = platform.admin()
    user_id = o.gestionnaire.person.id
    assert o.gestionnaire.http.get("/moi/habilitations").status_code == 200
    assert admin.get_sessions(user_id)  # the token's session is open

    response = o.delegue.post(o.path(f"/gestionnaires/{user_id}/mot-de-passe"))

    assert response.status_code == 204
    password = temporary_password_of(platform, o.gestionnaire.person.email)
    assert admin.get_sessions(user_id) == []  # every open session ended
    refused = httpx.post(
        f"{platform.keycloak.url}/realms/{platform.keycloak.realm}/protocol/openid-connect/token",
        data={
            "grant_type": "password",
            "client_id": "tests-api",
            "client_secret": platform.test_api_secret,
            "username": o.gestionnaire.person.username,
            "password": password,
        },
    )
    assert refused.json().get("error_description") == "Account is not fully set up"
    from bridge.audit.models import AuditEvent

    with platform.context.work() as work:
        event = work.session.scalars(
            select(AuditEvent).where(
                AuditEvent.action == "mot-de-passe-renouvele", AuditEvent.target == user_id
            )
        ).one()
        assert event.actor == o.delegue.person.id


def test_only_the_operator_changes_who_is_main_administrator(organisation: Organisation) -> None:
    o = organisation
    body = {"personne": o.delegue.person.id}
    for by in (o.principal, o.delegue, o.gestionnaire, o.outsider):
        assert by.post(o.path("/administrateur-principal/transfert"), json=body).status_code == 403

    moved = o.operator.post(o.path("/administrateur-principal/transfert"), json=body)

    assert moved.status_code == 200, moved.text
    assert moved.json()["role"] == "administrateur-principal"
    listing = o.delegue.http.get(o.path("/gestionnaires"), params={"recherche": "Principale"})
    [former] = listing.json()["gestionnaires"]
    assert former["role"] == "administrateur-delegue"  # the roles were exchanged


def test_deactivation_follows_the_catalog_and_closes_the_account(
    platform: Platform, organisation: Organisation
) -> None:
    o = organisation

    def deactivate(by: Caller, who: Caller) -> int:
        return by.post(o.path(f"/gestionnaires/{who.person.id}/desactivation")).status_code

    # The main administrator: by the operator only.
    assert [deactivate(by, o.principal) for by in (o.principal, o.delegue, o.outsider)] == [
        403,
        403,
        404,  # another organisation's administrator: as if it did not exist
    ]
    assert [deactivate(by, o.gestionnaire) for by in (o.gestionnaire, o.outsider)] == [403, 404]
    assert deactivate(o.delegue, o.gestionnaire) == 200
    admin = platform.admin()
    assert admin.get_user(o.gestionnaire.person.id)["enabled"] is False
    eventually(lambda: values_of(platform.admin(), o.gestionnaire.person.id) == set())

    again = o.principal.post(o.path(f"/gestionnaires/{o.gestionnaire.person.id}/reactivation"))
    assert again.status_code == 200
    assert again.json()["actif"] is True
    assert admin.get_user(o.gestionnaire.person.id)["enabled"] is True
    eventually(
        lambda: (
            values_of(platform.admin(), o.gestionnaire.person.id)
            == {f"{EMPLOYER}:gestionnaire:{o.siret}"}
        )
    )
    assert deactivate(o.operator, o.principal) == 200


def test_a_second_main_administrator_cannot_be_reactivated_while_one_is_active(
    organisation: Organisation,
) -> None:
    o = organisation
    principal = o.principal.person.id
    assert o.operator.post(o.path(f"/gestionnaires/{principal}/desactivation")).status_code == 200
    # The operator gives the role to the delegated administrator meanwhile.
    moved = o.operator.post(
        o.path("/administrateur-principal/transfert"), json={"personne": o.delegue.person.id}
    )
    assert moved.status_code == 200, moved.text

    refused = o.operator.post(o.path(f"/gestionnaires/{principal}/reactivation"))
    assert refused.status_code == 409
    assert "il n'y en a qu'un" in refused.json()["detail"]
    listing = o.delegue.http.get(
        o.path("/gestionnaires"), params={"role": "administrateur-principal"}
    )
    active = [row["personne"] for row in listing.json()["gestionnaires"] if row["actif"]]
    assert active == [o.delegue.person.id]


def test_the_list_is_for_administrators_searches_and_pages(
    platform: Platform, organisation: Organisation
) -> None:
    o = organisation
    unit = created(o.principal.post(o.path("/unites"), json={"nom": "Service paie"}))
    for index in range(22):
        created(
            add(o.principal, o.siret, f"Liste{index:02d}", unite=unit["id"] if index % 2 else None)
        )

    first = o.delegue.http.get(o.path("/gestionnaires")).json()
    assert (first["total"], first["pages"], len(first["gestionnaires"])) == (25, 2, 20)
    second = o.delegue.http.get(o.path("/gestionnaires"), params={"page": 2}).json()
    assert len(second["gestionnaires"]) == 5
    by_unit = o.delegue.http.get(o.path("/gestionnaires"), params={"unite": unit["id"]}).json()
    assert by_unit["total"] == 11
    by_word = o.delegue.http.get(o.path("/gestionnaires"), params={"recherche": "paie"}).json()
    assert by_word["total"] == 11
    by_role = o.delegue.http.get(
        o.path("/gestionnaires"), params={"role": "administrateur-delegue"}
    ).json()
    assert [g["prenom"] for g in by_role["gestionnaires"]] == ["Denis"]
    assert o.gestionnaire.http.get(o.path("/gestionnaires")).status_code == 403
    assert o.outsider.http.get(o.path("/gestionnaires")).status_code == 404


def test_a_new_gestionnaire_gets_a_login_id_a_mailed_password_and_details_in_keycloak(
    platform: Platform, organisation: Organisation
) -> None:
    o = organisation
    unit = created(o.principal.post(o.path("/unites"), json={"nom": "Ressources humaines"}))
    body = created(
        add(
            o.delegue,
            o.siret,
            "Hélène",
            unite=unit["id"],
            niveau="2",
            telephone_mobile="0612345678",
        )
    )

    assert body["identifiant"].startswith("g")
    assert body["identifiant"] != body["email"]
    assert temporary_password_of(platform, body["email"])
    user = platform.admin().get_user(body["personne"])
    assert user["username"] == body["identifiant"]
    assert set(user["requiredActions"]) >= {"UPDATE_PASSWORD"} or user.get("credentials") is None
    attributes = user["attributes"]
    assert attributes["unite"] == ["Ressources humaines"]
    assert attributes["niveauHabilitation"] == ["2"]
    assert attributes["identifiantGestionnaire"] == [body["identifiant"]]
    assert attributes["telephoneMobile"] == ["06 12 34 56 78"]
    assert attributes["siret"] == [o.siret]
    eventually(
        lambda: (
            values_of(platform.admin(), body["personne"]) == {f"{EMPLOYER}:gestionnaire:{o.siret}"}
        )
    )


@pytest.mark.parametrize(
    ("extra", "field", "message"),
    [
        ({"telephone_fixe": ""}, "telephone_fixe", "au moins un numéro de téléphone"),
        ({"telephone_fixe": "12345"}, "telephone_fixe", "n'est pas un numéro français valide"),
        (
            {"telephone_fixe": "", "telephone_mobile": "01 23 45 67 89"},
            "telephone_mobile",
            "mobile",
        ),
        ({"email": "pas-une-adresse"}, "email", "doit être valide"),
        ({"civilite": "docteur"}, "civilite", "Madame ou Monsieur"),
        ({"nom": "  "}, "nom", "Le nom est obligatoire"),
        ({"unite": 999_999}, "unite", "Cette unité n'existe pas"),
        ({"role": "super-admin"}, "role", "n'existe pas"),
    ],
)
def test_bad_input_is_refused_in_french_and_creates_nothing(
    platform: Platform,
    organisation: Organisation,
    extra: dict[str, Any],
    field: str,
    message: str,
) -> None:
    o = organisation
    form = {**person_form("Refus", "Test"), "role": "gestionnaire", **extra}

    response = o.principal.post(o.path("/gestionnaires"), json=form)

    assert response.status_code == 422, response.text
    problem = response.json()
    assert response.headers["content-type"].startswith("application/problem+json")
    assert message in problem["detail"]
    assert problem.get("field") == field
    assert platform.admin().get_users({"email": form["email"], "exact": True}) == []
    with platform.context.work() as work:
        assert work.session.scalar(select(Person).where(Person.email == form["email"])) is None


def test_every_bad_field_is_refused_at_once(platform: Platform, organisation: Organisation) -> None:
    """#20 item 5: the form reported one error per submission (civilité, then nom, then…)."""
    o = organisation
    form = {
        **person_form("Refus", "Tous"),
        "role": "gestionnaire",
        "civilite": "",
        "nom": " ",
        "email": "pas-une-adresse",
        "telephone_fixe": "12 34",
    }
    response = o.principal.post(o.path("/gestionnaires"), json=form)
    assert response.status_code == 422, response.text
    problem = response.json()
    assert [e["champ"] for e in problem["erreurs"]] == [
        "civilite",
        "nom",
        "email",
        "telephone_fixe",
    ]
    assert problem["field"] == "civilite"  # the first one leads
    assert all(e["message"] for e in problem["erreurs"])


def test_an_e_mail_already_used_or_a_double_submission_creates_one_account(
    platform: Platform, organisation: Organisation
) -> None:
    o = organisation
    form = {**person_form("Double", "Envoi"), "role": "gestionnaire"}
    first = o.principal.post(o.path("/gestionnaires"), json=form)
    second = o.principal.post(o.path("/gestionnaires"), json=form)
    taken = o.principal.post(
        o.path("/gestionnaires"), json={**form, "email": o.delegue.person.email}
    )

    assert first.status_code == 201
    assert second.status_code == taken.status_code == 409
    assert "déjà utilisée" in second.json()["detail"]
    assert len(platform.admin().get_users({"email": form["email"], "exact": True})) == 1


def test_a_store_failure_after_the_account_leaves_no_orphan_account(
    platform: Platform, organisation: Organisation
) -> None:
    """The store's write fails after Keycloak made the account: the account is deleted."""
    o = organisation
    email = person_form("Orphelin", "Non")["email"]
    with platform.context.work() as work:  # a person row with that e-mail, unknown to Keycloak
        existing = work.session.scalar(select(func.count()).select_from(Gestionnaire))
    from sqlalchemy import event

    from bridge.audit.service import Actor
    from bridge.employeur.models import Gestionnaire as Row
    from bridge.employeur.service import Details

    def fail(*_: object) -> None:
        raise RuntimeError("panne du stockage simulée")

    actor = Actor(o.principal.person.id, "Claire Principale")
    details = Details("madame", "Orphelin", "Non", email, "01 23 45 67 89")

    def add_in_one_unit_of_work() -> None:
        with platform.context.work() as work:
            work.employeur.add(actor, o.siret, details, "gestionnaire")

    event.listen(Row, "before_insert", fail)
    try:
        with pytest.raises(RuntimeError):
            add_in_one_unit_of_work()
    finally:
        event.remove(Row, "before_insert", fail)
    assert platform.admin().get_users({"email": email, "exact": True}) == []
    with platform.context.work() as work:
        assert work.session.scalar(select(func.count()).select_from(Gestionnaire)) == existing


def test_units_refuse_an_empty_or_duplicate_name_and_a_gestionnaire_calling_them(
    organisation: Organisation,
) -> None:
    o = organisation
    assert o.principal.post(o.path("/unites"), json={"nom": "Comptabilité"}).status_code == 201
    duplicate = o.delegue.post(o.path("/unites"), json={"nom": "  comptabilite "})
    assert duplicate.status_code == 409
    assert "existe déjà" in duplicate.json()["detail"]
    empty = o.principal.post(o.path("/unites"), json={"nom": "   "})
    assert empty.status_code == 422
    assert "obligatoire" in empty.json()["detail"]
    assert o.gestionnaire.post(o.path("/unites"), json={"nom": "Autre"}).status_code == 403
    assert o.outsider.post(o.path("/unites"), json={"nom": "Autre"}).status_code == 404


def test_forged_ids_are_refused(organisation: Organisation) -> None:
    o = organisation
    other = o.outsider
    # A user id of another organisation, in this one's path.
    forged = o.principal.post(o.path(f"/gestionnaires/{other.person.id}/mot-de-passe"))
    assert forged.status_code == 404
    # An organisation that does not exist, or a malformed one.
    assert o.principal.http.get(f"{ESPACE}/12345678901234/gestionnaires").status_code == 404
    assert o.principal.http.get(f"{ESPACE}/abc/gestionnaires").status_code == 404
    # Only the operator creates organisations.
    refused = o.principal.post(
        ESPACE, json={"siret": "73282932000074", "type": "employeur", "raison_sociale": "X"}
    )
    assert refused.status_code == 403
    unknown_type = o.operator.post(
        ESPACE, json={"siret": "73282932000074", "type": "banque", "raison_sociale": "X"}
    )
    assert unknown_type.status_code == 422
    assert "n'existe pas" in unknown_type.json()["detail"]


def test_a_gestionnaire_of_the_training_demarches_cannot_call_the_administration_api(
    platform: Platform, callers: list[Caller], organisation: Organisation
) -> None:
    stranger = new_caller(platform, callers, "Simple", "Usager")
    assert stranger.http.get(organisation.path("/gestionnaires")).status_code == 404
    assert add(stranger, organisation.siret, "Intrus").status_code == 404


def test_the_operator_opens_an_organisation_from_the_command_line(
    platform: Platform, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from bridge.cli import main
    from tests.support.sirets import new_siret

    settings = platform.portal_settings
    for name, value in {
        "PUBLIC_URL": settings.public_url,
        "KEYCLOAK_URL": settings.keycloak_url,
        "KEYCLOAK_REALM": settings.keycloak_realm,
        "DATABASE_URL": settings.database_url,
        "SMTP_PORT": str(settings.smtp_port),
    }.items():
        monkeypatch.setenv(f"BRIDGE_{name}", value)
    siret, email = new_siret(), person_form("Cli", "Principal")["email"]
    command = ["operateur", "organisation", siret, "--type", "employeur-public"]
    person = ["--civilite", "monsieur", "--nom", "Principal", "--prenom", "Cli", "--email", email]

    assert main([*command, "--raison-sociale", "Mairie", *person, "--mobile", "0611223344"]) == 0

    out = capsys.readouterr().out
    login_id = out.split("Identifiant de l'administrateur principal : ")[1].split()[0]
    assert platform.admin().get_users({"username": login_id, "exact": True})[0]["email"] == email
    assert temporary_password_of(platform, email)
    # Again: refused in French, nothing created twice.
    assert main([*command, "--raison-sociale", "Mairie", *person]) == 2
    assert "existe déjà" in capsys.readouterr().err
    assert len(platform.admin().get_users({"email": email, "exact": True})) == 1


def test_an_e_mail_known_only_to_keycloak_is_refused_before_anything_is_stored(
    platform: Platform, organisation: Organisation
) -> None:
    o = organisation
    elsewhere = platform.new_person("Déjà", "Inscrite")  # an account the store never saw
    form = {**person_form("Deja", "Inscrite"), "email": elsewhere.email, "role": "gestionnaire"}

    refused = o.principal.post(o.path("/gestionnaires"), json=form)

    assert refused.status_code == 409
    assert refused.json()["field"] == "email"
    with platform.context.work() as work:
        assert work.session.scalar(select(Person).where(Person.email == elsewhere.email)) is None


def test_keycloak_unreachable_gives_a_french_503_and_stores_nothing(
    platform: Platform, organisation: Organisation
) -> None:
    """The adapter pointed at a loopback port nobody listens on: Keycloak is away."""
    from bridge.audit.service import Actor
    from bridge.devstack.ports import free_port
    from bridge.employeur.service import Details, EmployeurService, IdentityUnavailableError
    from bridge.keycloak_admin import KeycloakDirectory

    o = organisation
    away = KeycloakDirectory.with_admin_password(
        f"http://127.0.0.1:{free_port()}", platform.keycloak.realm, "admin", "inutile"
    )
    email = person_form("Absent", "Keycloak")["email"]
    with platform.context.work() as work:
        before = work.session.scalar(select(func.count()).select_from(Gestionnaire))

    def add_while_keycloak_is_away() -> None:
        with platform.context.work() as work:
            service = EmployeurService(
                work.session, platform.context.catalog, work.habilitations, lambda: away, "x"
            )
            service.add(
                Actor(o.principal.person.id, "Claire Principale"),
                o.siret,
                Details("madame", "Keycloak", "Absent", email, "01 23 45 67 89"),
                "gestionnaire",
            )

    with pytest.raises(IdentityUnavailableError, match="ne répond pas"):
        add_while_keycloak_is_away()
    with platform.context.work() as work:
        assert work.session.scalar(select(func.count()).select_from(Gestionnaire)) == before
        assert work.session.scalar(select(Person).where(Person.email == email)) is None


def test_a_modification_reaches_the_store_and_the_keycloak_user(
    platform: Platform, organisation: Organisation
) -> None:
    o = organisation
    unit = created(o.principal.post(o.path("/unites"), json={"nom": "Direction financière"}))
    form = {
        "civilite": "monsieur",
        "nom": "Gestionnaire",
        "prenom": "Gaston",
        "telephone_fixe": "",
        "telephone_mobile": "07 11 22 33 44",
        "unite": unit["id"],
        "niveau": "3",
        "role": "gestionnaire",
    }

    changed = o.delegue.http.put(o.path(f"/gestionnaires/{o.gestionnaire.person.id}"), json=form)

    assert changed.status_code == 200, changed.text
    assert changed.json()["unite"] == "Direction financière"
    attributes = platform.admin().get_user(o.gestionnaire.person.id)["attributes"]
    assert attributes["unite"] == ["Direction financière"]
    assert attributes["niveauHabilitation"] == ["3"]
    assert attributes["telephoneMobile"] == ["07 11 22 33 44"]
    assert attributes["telephone"] == ["07 11 22 33 44"]  # the realm's main phone: the mobile
    assert attributes["civilite"] == ["monsieur"]
    refused = o.delegue.http.put(
        o.path(f"/gestionnaires/{o.gestionnaire.person.id}"),
        json={**form, "telephone_mobile": ""},
    )
    assert refused.status_code == 422
    assert refused.json()["field"] == "telephone_fixe"
    assert platform.admin().get_user(o.gestionnaire.person.id)["attributes"]["unite"] == [
        "Direction financière"
    ]


def test_each_new_account_is_told_who_hands_over_its_login_id(
    platform: Platform, callers: list[Caller]
) -> None:
    """#20: the main administrator's e-mail said the id came « de l'administrateur de votre
    organisation »; the operator appoints them."""
    operator = operator_caller(platform, callers)
    siret = new_organisation(operator)
    principal = appoint(operator, siret, "Ines", "Principale")
    to_principal = platform.mail.wait_for(principal["email"])
    assert "communiqué par l'opérateur du service" in to_principal.text
    colleague = created(add(account_caller(platform, callers, principal), siret, "Jules"))
    to_colleague = platform.mail.wait_for(colleague["email"])
    assert "communiqué par l'administrateur de votre organisation" in to_colleague.text
