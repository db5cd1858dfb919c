"""A console edit grants only what its administrator may grant (#17, finding 4).

Any administrator of the realm with `manage-users` added `mon-activite-formation:
gestionnaire:<SIRET>` to a user and the bridge made them the first gestionnaire of that SIRET
« par la console », no activation code asked. Now a first holder's role is accepted from the
console only when the administrator holds the realm role `operateur`; otherwise the edit is
reverted and reported like any refused console edit.
"""

from __future__ import annotations

from keycloak import KeycloakAdmin, KeycloakOpenIDConnection
from sqlalchemy import select

from bridge.audit.models import AuditEvent
from bridge.habilitation.models import GrantedHow, Habilitation
from tests.support.callers import MAF, Caller, caller_of, new_caller
from tests.support.employeur import make_operator
from tests.support.projection import eventually, values_of
from tests.support.seed import etablissement_with_code
from tests.support.stack import Person, Platform


def realm_administrator(platform: Platform, *, operator: bool) -> tuple[Person, KeycloakAdmin]:
    """A user of the démarches realm who may manage users in the console (and, if asked, holds
    the operator role), with an admin client logged in as them."""
    person = platform.new_person("Admin", "Console")
    admin = platform.admin()
    management = admin.get_client_id("realm-management")
    assert management
    roles = [admin.get_client_role(management, r) for r in ("manage-users", "view-users")]
    admin.assign_client_role(person.id, management, roles)
    if operator:
        make_operator(platform, person.id)
    connection = KeycloakOpenIDConnection(
        server_url=platform.keycloak.url,
        username=person.username,
        password=person.password,
        realm_name=platform.keycloak.realm,
        user_realm_name=platform.keycloak.realm,
        client_id="admin-cli",
        verify=True,
    )
    return person, KeycloakAdmin(connection=connection)


def add_value(console: KeycloakAdmin, subject: str, value: str) -> None:
    user = console.get_user(subject)
    attributes = user.get("attributes", {})
    attributes["habilitation"] = sorted({*attributes.get("habilitation", []), value})
    console.update_user(subject, {**user, "attributes": attributes})


def holdings(platform: Platform, subject: str, siret: str) -> list[Habilitation]:
    with platform.context.sessions() as session:
        return list(
            session.scalars(
                select(Habilitation).where(
                    Habilitation.subject == subject,
                    Habilitation.siret == siret,
                    Habilitation.revoked_at.is_(None),
                )
            )
        )


def refusals(platform: Platform, subject: str) -> list[AuditEvent]:
    with platform.context.sessions() as session:
        return list(
            session.scalars(
                select(AuditEvent).where(
                    AuditEvent.action == "console-refusee", AuditEvent.target == subject
                )
            )
        )


def target(platform: Platform, callers: list[Caller]) -> tuple[str, str]:
    someone = new_caller(platform, callers)
    someone.http.get("/moi/habilitations")  # known to the store
    siret, _ = etablissement_with_code(platform.context)  # nobody holds it yet
    return someone.person.id, siret


def test_a_realm_administrator_cannot_make_a_first_gestionnaire_from_the_console(
    platform: Platform, callers: list[Caller]
) -> None:
    subject, siret = target(platform, callers)
    _, console = realm_administrator(platform, operator=False)
    value = f"{MAF}:gestionnaire:{siret}"
    add_value(console, subject, value)
    [refusal] = eventually(lambda: refusals(platform, subject), what="refus signalé")
    assert refusal.details["valeur"] == value
    assert "operateur" in refusal.details["raison"]
    assert holdings(platform, subject, siret) == []
    admin = platform.admin()
    eventually(lambda: value not in values_of(admin, subject), what="valeur retirée")


def test_nor_give_any_right_on_a_siret_nobody_holds_yet(
    platform: Platform, callers: list[Caller]
) -> None:
    subject, siret = target(platform, callers)
    _, console = realm_administrator(platform, operator=False)
    add_value(console, subject, f"{MAF}:declarant:{siret}")
    [refusal] = eventually(lambda: refusals(platform, subject), what="refus signalé")
    assert "pas encore de gestionnaire" in refusal.details["raison"]
    assert holdings(platform, subject, siret) == []


def test_an_administrator_who_gives_themselves_the_operator_role_gets_no_operator_power(
    platform: Platform, callers: list[Caller]
) -> None:
    """Keycloak lets anyone with `manage-users` (the bridge's own account included) map any
    realm role that is not an admin role, `operateur` too: the bridge believes only operators
    designated in its store (`python -m bridge operateur designer`)."""
    administrator, console = realm_administrator(platform, operator=False)
    mappable = console.get_available_realm_roles_of_user(administrator.id)
    console.assign_realm_roles(administrator.id, [r for r in mappable if r["name"] == "operateur"])
    assert "operateur" in {r["name"] for r in console.get_realm_roles_of_user(administrator.id)}
    as_operator = caller_of(platform, callers, administrator)  # its token says « operateur »
    siret, _ = etablissement_with_code(platform.context)
    issued = as_operator.post(
        "/operateur/codes", json={"siret": siret, "demarche": MAF, "reemettre": True}
    )
    assert issued.status_code == 403, issued.text
    subject, other_siret = target(platform, callers)
    add_value(console, subject, f"{MAF}:gestionnaire:{other_siret}")
    [refusal] = eventually(lambda: refusals(platform, subject), what="refus signalé")
    assert "operateur" in refusal.details["raison"]
    assert holdings(platform, subject, other_siret) == []


def test_an_operator_in_the_console_may_appoint_the_first_gestionnaire(
    platform: Platform, callers: list[Caller]
) -> None:
    subject, siret = target(platform, callers)
    administrator, console = realm_administrator(platform, operator=True)
    add_value(console, subject, f"{MAF}:gestionnaire:{siret}")
    [granted] = eventually(lambda: holdings(platform, subject, siret), what="droit accordé")
    assert (granted.role, granted.granted_how) == ("gestionnaire", GrantedHow.CONSOLE)
    assert granted.granted_by == administrator.id
    assert refusals(platform, subject) == []
