"""Delegation rules on the real store (SQLite and PostgreSQL): invitation, acceptance,
limits of the tiers, end date at the boundary minute, revocation."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from bridge.audit.service import Actor
from bridge.db import now, unit_of_work
from bridge.delegation.models import Delegation
from bridge.delegation.service import DelegationService, InvitationError
from bridge.errors import ForbiddenError, InvalidInputError
from bridge.etablissement.siret import InvalidSiretError
from bridge.habilitation.models import GrantedHow, Habilitation
from bridge.habilitation.service import may_act
from bridge.notification import pending_emails
from tests.store.test_habilitation_store import (
    CATALOG,
    MAF,
    activate,
    etablissement,
    person,
    services,
)
from tests.support.sirets import new_siret

PORTAL = "https://portail.test"


def delegations(session: Session) -> DelegationService:
    return DelegationService(session, CATALOG, services(session)[1])


def gestionnaire(sessions: sessionmaker[Session]) -> tuple[Actor, str]:
    siret, code = etablissement(sessions)
    actor = person(sessions, "gestionnaire")
    activate(sessions, actor, siret, code)
    return actor, siret


def invite(
    sessions: sessionmaker[Session],
    actor: Actor,
    siret: str,
    email: str,
    until: datetime | None = None,
) -> tuple[str, str]:
    """Invite `email`; return the tiers' SIRET and the link's token (read from the e-mail)."""
    tiers_siret = new_siret()
    with unit_of_work(sessions) as session:
        service = delegations(session)
        draft = service.prepare(
            actor,
            MAF,
            tiers_siret=tiers_siret,
            tiers_email=email,
            role="declarant",
            delegator_siret=siret,
            valid_until=until,
        )
        service.invite(actor, draft, PORTAL)
        (mail,) = pending_emails(session)
    token = mail.text.split(f"{PORTAL}/invitations/")[1].split()[0]
    return tiers_siret, token


def accept(sessions: sessionmaker[Session], tiers: Actor, email: str, token: str) -> None:
    with unit_of_work(sessions) as session:
        delegations(session).accept(tiers, email, True, token)


def delegated_tiers(
    sessions: sessionmaker[Session], actor: Actor, siret: str, until: datetime | None = None
) -> tuple[Actor, str]:
    """A tiers invited by `actor` on `siret` who has accepted; returns it and its address."""
    tiers = person(sessions, "tiers")
    email = f"{tiers.subject}@exemple.fr"
    _, token = invite(sessions, actor, siret, email, until)
    accept(sessions, tiers, email, token)
    return tiers, email


def allowed(
    sessions: sessionmaker[Session], who: Actor, siret: str, at: datetime | None = None
) -> bool:
    with unit_of_work(sessions) as session:
        return may_act(session, CATALOG, who.subject, MAF, "declarant", siret, at)


def test_the_recap_reads_like_the_guide(sessions: sessionmaker[Session]) -> None:
    actor, siret = gestionnaire(sessions)
    with unit_of_work(sessions) as session:
        draft = delegations(session).prepare(
            actor,
            MAF,
            tiers_siret=new_siret(),
            tiers_email="Prenom.Nom@Fournisseur.fr",
            role="declarant",
            delegator_siret=siret,
            valid_until=None,
        )
    assert (
        draft.subject
        == "Invitation à rejoindre la démarche Mon Activité Formation pour le compte de EKYSS"
    )
    assert draft.message.startswith(
        "Bonjour, GESTIONNAIRE vous invite à accéder au service Mon Activité"
    )
    assert draft.tiers_email == "prenom.nom@fournisseur.fr"


def test_an_accepted_invitation_gives_a_right_par_delegation_until_its_end(
    sessions: sessionmaker[Session],
) -> None:
    actor, siret = gestionnaire(sessions)
    tiers = person(sessions, "tiers")
    email = f"{tiers.subject}@exemple.fr"
    end = now() + timedelta(days=30)
    tiers_siret, token = invite(sessions, actor, siret, email, end)
    assert not allowed(sessions, tiers, siret)
    accept(sessions, tiers, email, token)
    assert allowed(sessions, tiers, siret)
    with unit_of_work(sessions) as session:
        held = services(session)[1].active(tiers.subject, MAF)
    assert [(h.siret, h.granted_how, h.on_behalf_of_siret, h.granted_by_name) for h in held] == [
        (siret, GrantedHow.DELEGATION, tiers_siret, "EKYSS")
    ]
    assert allowed(sessions, tiers, siret, end - timedelta(seconds=1))
    assert not allowed(sessions, tiers, siret, end)  # the boundary minute: over at `end` exactly


def test_a_reused_link_is_refused(sessions: sessionmaker[Session]) -> None:
    actor, siret = gestionnaire(sessions)
    tiers = person(sessions, "tiers")
    email = f"{tiers.subject}@exemple.fr"
    _, token = invite(sessions, actor, siret, email)
    accept(sessions, tiers, email, token)
    with pytest.raises(InvitationError, match="a déjà servi"):
        accept(sessions, tiers, email, token)


def test_a_tampered_link_is_refused(sessions: sessionmaker[Session]) -> None:
    actor, siret = gestionnaire(sessions)
    tiers = person(sessions, "tiers")
    email = f"{tiers.subject}@exemple.fr"
    _, token = invite(sessions, actor, siret, email)
    tampered = token[:-1] + ("A" if token[-1] != "A" else "B")
    with pytest.raises(InvitationError, match="n'est pas valide"):
        accept(sessions, tiers, email, tampered)


def test_an_expired_link_is_refused(sessions: sessionmaker[Session]) -> None:
    actor, siret = gestionnaire(sessions)
    tiers = person(sessions, "tiers")
    email = f"{tiers.subject}@exemple.fr"
    _, token = invite(sessions, actor, siret, email)
    with unit_of_work(sessions) as session:
        session.execute(
            update(Delegation)
            .values(token_expires_at=now() - timedelta(seconds=1))
            .where(Delegation.tiers_email == email)
        )
    with pytest.raises(InvitationError, match="a expiré"):
        accept(sessions, tiers, email, token)


def test_a_link_opened_by_an_account_with_another_email_is_refused(
    sessions: sessionmaker[Session],
) -> None:
    actor, siret = gestionnaire(sessions)
    tiers = person(sessions, "tiers")
    _, token = invite(sessions, actor, siret, f"{tiers.subject}@exemple.fr")
    intruder = person(sessions, "intrus")
    with pytest.raises(ForbiddenError, match="une autre adresse"):
        accept(sessions, intruder, f"{intruder.subject}@exemple.fr", token)
    with (
        pytest.raises(ForbiddenError),
        unit_of_work(sessions) as session,
    ):  # same address, not verified
        delegations(session).accept(tiers, f"{tiers.subject}@exemple.fr", False, token)
    accept(
        sessions, tiers, f"{tiers.subject}@exemple.fr", token
    )  # still usable by the right person


def test_a_tiers_cannot_re_delegate_nor_read_the_delegators_users(
    sessions: sessionmaker[Session],
) -> None:
    actor, siret = gestionnaire(sessions)
    tiers, _ = delegated_tiers(sessions, actor, siret)
    with pytest.raises(ForbiddenError), unit_of_work(sessions) as session:
        delegations(session).prepare(
            tiers,
            MAF,
            tiers_siret=new_siret(),
            tiers_email="autre@exemple.fr",
            role="declarant",
            delegator_siret=siret,
            valid_until=None,
        )
    with pytest.raises(ForbiddenError), unit_of_work(sessions) as session:
        services(session)[1].users(tiers, MAF)


def test_a_revoked_delegation_ends_at_the_next_check(sessions: sessionmaker[Session]) -> None:
    actor, siret = gestionnaire(sessions)
    tiers, _ = delegated_tiers(sessions, actor, siret)
    with unit_of_work(sessions) as session:
        delegation_id = delegations(session).of_etablissements(actor, MAF)[0].id
        delegations(session).revoke(actor, delegation_id)
    assert not allowed(sessions, tiers, siret)


@pytest.mark.parametrize(
    ("changes", "error", "message"),
    [
        ({"tiers_siret": "73282932000075"}, InvalidSiretError, "clé de contrôle"),
        ({"tiers_email": "pas-une-adresse"}, InvalidInputError, "n'est pas une adresse e-mail"),
        ({"valid_until": "past"}, InvalidInputError, "dans le futur"),
        ({"role": "gestionnaire"}, InvalidInputError, "ne peut pas être délégué"),
        ({"tiers_siret": "own"}, InvalidInputError, "un de vos établissements"),
        ({"delegator_siret": "other"}, ForbiddenError, "pas gestionnaire du SIRET"),
    ],
)
def test_bad_delegation_forms_are_refused_and_write_nothing(
    sessions: sessionmaker[Session], changes: dict[str, str], error: type[Exception], message: str
) -> None:
    actor, siret = gestionnaire(sessions)
    form: dict[str, object] = {
        "tiers_siret": new_siret(),
        "tiers_email": "tiers@exemple.fr",
        "role": "declarant",
        "delegator_siret": siret,
        "valid_until": None,
    }
    form.update(changes)
    if form["valid_until"] == "past":
        form["valid_until"] = now() - timedelta(minutes=1)
    if form["tiers_siret"] == "own":
        form["tiers_siret"] = siret
    if form["delegator_siret"] == "other":
        form["delegator_siret"] = new_siret()
    with pytest.raises(error, match=message), unit_of_work(sessions) as session:
        delegations(session).prepare(actor, MAF, **form)  # type: ignore[arg-type]
    with unit_of_work(sessions) as session:
        assert delegations(session).of_etablissements(actor, MAF) == []


def test_a_gestionnaire_cannot_delegate_a_role_it_does_not_hold(
    sessions: sessionmaker[Session],
) -> None:
    actor, siret = gestionnaire(sessions)
    declarant = person(sessions, "declarant")
    with unit_of_work(sessions) as session:
        services(session)[1].grant(actor, MAF, declarant.subject, "declarant", siret)
    with pytest.raises(ForbiddenError), unit_of_work(sessions) as session:
        delegations(session).prepare(
            declarant,
            MAF,
            tiers_siret=new_siret(),
            tiers_email="t@exemple.fr",
            role="declarant",
            delegator_siret=siret,
            valid_until=None,
        )


def test_a_tiers_accepts_several_invitations_at_once_and_sees_its_portfolio(
    sessions: sessionmaker[Session],
) -> None:
    tiers = person(sessions, "cabinet")
    email = f"{tiers.subject}@exemple.fr"
    clients = [gestionnaire(sessions) for _ in range(3)]
    for actor, siret in clients:
        invite(sessions, actor, siret, email, now() + timedelta(days=10))
    with unit_of_work(sessions) as session:
        pending = delegations(session).pending_for(email, True)
        assert delegations(session).pending_for(email, False) == []
        delegations(session).accept_many(tiers, email, True, [d.id for d in pending])
    with unit_of_work(sessions) as session:
        rows, total = delegations(session).portfolio(tiers.subject)
        assert total == 3
        assert {h.siret for h, _ in rows} == {siret for _, siret in clients}
        found, one = delegations(session).portfolio(tiers.subject, query=clients[1][1][:9])
        assert one == 1
        assert found[0][0].siret == clients[1][1]
        _, none = delegations(session).portfolio(tiers.subject, demarche="mon-suivi-controle")
        assert none == 0
    assert all(allowed(sessions, tiers, siret) for _, siret in clients)


def test_a_declined_invitation_gives_nothing_and_cannot_be_accepted_later(
    sessions: sessionmaker[Session],
) -> None:
    actor, siret = gestionnaire(sessions)
    tiers = person(sessions, "tiers")
    email = f"{tiers.subject}@exemple.fr"
    _, token = invite(sessions, actor, siret, email)
    with unit_of_work(sessions) as session:
        delegations(session).decline(tiers, email, True, token)
    with pytest.raises(InvitationError, match="a déjà servi"):
        accept(sessions, tiers, email, token)
    assert not allowed(sessions, tiers, siret)


def test_the_end_date_job_expires_warns_and_is_idempotent(sessions: sessionmaker[Session]) -> None:
    actor, siret = gestionnaire(sessions)
    ending, soon = person(sessions, "fin"), person(sessions, "bientot")
    for who, days in ((ending, 1), (soon, 5)):
        email = f"{who.subject}@exemple.fr"
        _, token = invite(sessions, actor, siret, email, now() + timedelta(days=days))
        accept(sessions, who, email, token)
    past = now() - timedelta(seconds=1)
    with unit_of_work(sessions) as session:  # the first one's end has come (for both rows)
        session.execute(
            update(Delegation)
            .where(Delegation.tiers_email == f"{ending.subject}@exemple.fr")
            .values(valid_until=past)
        )
        session.execute(
            update(Habilitation)
            .where(Habilitation.subject == ending.subject)
            .values(valid_until=past)
        )
    with unit_of_work(sessions) as session:
        first = delegations(session).run_end_dates(timedelta(days=15))
    with unit_of_work(sessions) as session:
        second = delegations(session).run_end_dates(timedelta(days=15))
    subjects = sorted(e.subject for e in first)
    assert subjects[0].endswith("elle a pris fin")
    assert "prendra fin le" in subjects[1]
    assert all(f"{actor.subject}@exemple.fr" in e.to for e in first)  # both sides are told
    assert second == []
    assert not allowed(sessions, ending, siret)
    assert allowed(sessions, soon, siret)


def test_a_delegated_right_cannot_be_turned_into_another_role(
    sessions: sessionmaker[Session],
) -> None:
    from bridge.errors import ConflictError

    actor, siret = gestionnaire(sessions)
    tiers = person(sessions, "tiers")
    email = f"{tiers.subject}@exemple.fr"
    _, token = invite(sessions, actor, siret, email, now() + timedelta(days=3))
    accept(sessions, tiers, email, token)
    with unit_of_work(sessions) as session:
        held = services(session)[1].active(tiers.subject, MAF)[0]
    with (
        pytest.raises(ConflictError, match="vient d'une délégation"),
        unit_of_work(sessions) as session,
    ):
        services(session)[1].change_role(actor, MAF, held.id, "gestionnaire")
    with unit_of_work(sessions) as session:
        assert services(session)[1].managed_sirets(tiers.subject, CATALOG.demarche(MAF)) == set()  # type: ignore[arg-type]
        services(session)[1].remove(actor, MAF, held.id)
    with unit_of_work(sessions) as session:
        assert delegations(session).of_etablissements(actor, MAF)[0].status == "revoquee"
    assert not allowed(sessions, tiers, siret)


def test_facets_count_the_same_people_as_the_results(sessions: sessionmaker[Session]) -> None:
    actor, siret = gestionnaire(sessions)
    delegated_tiers(sessions, actor, siret)
    with unit_of_work(sessions) as session:
        only_tiers = services(session)[1].users(actor, MAF, tiers=True)
        by_siret = services(session)[1].users(actor, MAF, query=siret)
    assert only_tiers.total == 1
    assert only_tiers.role_counts == {"declarant": 1}
    assert by_siret.total == 2
    assert by_siret.role_counts == {"gestionnaire": 1, "declarant": 1}
    assert by_siret.tiers_counts == {True: 1, False: 1}


def test_a_gestionnaire_moves_the_end_date_and_the_right_follows(
    sessions: sessionmaker[Session],
) -> None:
    actor, siret = gestionnaire(sessions)
    tiers = person(sessions, "tiers")
    email = f"{tiers.subject}@exemple.fr"
    _, token = invite(sessions, actor, siret, email, now() + timedelta(days=30))
    accept(sessions, tiers, email, token)
    sooner = now() + timedelta(days=2)
    with unit_of_work(sessions) as session:
        delegation_id = delegations(session).of_etablissements(actor, MAF)[0].id
        delegations(session).modify(actor, delegation_id, role="declarant", valid_until=sooner)
    assert allowed(sessions, tiers, siret, sooner - timedelta(seconds=1))
    assert not allowed(sessions, tiers, siret, sooner)
    with pytest.raises(ForbiddenError), unit_of_work(sessions) as session:
        delegations(session).modify(tiers, delegation_id, role="declarant", valid_until=None)
    with pytest.raises(InvalidInputError, match="dans le futur"), unit_of_work(sessions) as session:
        delegations(session).modify(
            actor, delegation_id, role="declarant", valid_until=now() - timedelta(days=1)
        )


def test_a_tiers_can_be_invited_again_after_its_delegation_ended(
    sessions: sessionmaker[Session],
) -> None:
    actor, siret = gestionnaire(sessions)
    tiers = person(sessions, "tiers")
    email = f"{tiers.subject}@exemple.fr"
    _, token = invite(sessions, actor, siret, email, now() + timedelta(days=1))
    accept(sessions, tiers, email, token)
    past = now() - timedelta(seconds=1)
    with unit_of_work(sessions) as session:  # time passes: the end has come
        session.execute(
            update(Delegation).where(Delegation.tiers_email == email).values(valid_until=past)
        )
        session.execute(
            update(Habilitation)
            .where(Habilitation.subject == tiers.subject)
            .values(valid_until=past)
        )
    with unit_of_work(sessions) as session:
        delegations(session).run_end_dates(timedelta(days=15))
    _, again = invite(sessions, actor, siret, email, now() + timedelta(days=30))
    accept(sessions, tiers, email, again)
    assert allowed(sessions, tiers, siret)


def test_the_job_leaves_alone_a_delegation_extended_in_time(
    sessions: sessionmaker[Session],
) -> None:
    actor, siret = gestionnaire(sessions)
    tiers = person(sessions, "tiers")
    email = f"{tiers.subject}@exemple.fr"
    _, token = invite(sessions, actor, siret, email, now() + timedelta(days=1))
    accept(sessions, tiers, email, token)
    with unit_of_work(sessions) as session:
        delegation_id = delegations(session).of_etablissements(actor, MAF)[0].id
        delegations(session).modify(
            actor, delegation_id, role="declarant", valid_until=now() + timedelta(days=60)
        )
    with unit_of_work(sessions) as session:
        assert [e.subject for e in delegations(session).run_end_dates(timedelta(days=15))] == []
        assert delegations(session).of_etablissements(actor, MAF)[0].status == "acceptee"
        delegations(session).modify(
            actor, delegation_id, role="declarant"
        )  # `...` keeps the end date
        assert delegations(session).of_etablissements(actor, MAF)[0].valid_until is not None


def test_an_invitation_whose_end_has_passed_cannot_be_accepted(
    sessions: sessionmaker[Session],
) -> None:
    actor, siret = gestionnaire(sessions)
    tiers = person(sessions, "tiers")
    email = f"{tiers.subject}@exemple.fr"
    _, token = invite(sessions, actor, siret, email, now() + timedelta(days=1))
    with unit_of_work(sessions) as session:
        session.execute(
            update(Delegation)
            .where(Delegation.tiers_email == email)
            .values(valid_until=now() - timedelta(seconds=1))
        )
    with pytest.raises(InvitationError, match="déjà pris fin"):
        accept(sessions, tiers, email, token)


@pytest.mark.parametrize("field", ["siret_tiers", "siret_habilitation"])
def test_a_bad_siret_is_reported_on_its_own_field(
    sessions: sessionmaker[Session], field: str
) -> None:
    actor, siret = gestionnaire(sessions)
    form: dict[str, object] = {
        "tiers_siret": new_siret(),
        "tiers_email": "t@exemple.fr",
        "role": "declarant",
        "delegator_siret": siret,
        "valid_until": None,
    }
    form["tiers_siret" if field == "siret_tiers" else "delegator_siret"] = "73282932000075"
    with pytest.raises(InvalidSiretError) as refused, unit_of_work(sessions) as session:
        delegations(session).prepare(actor, MAF, **form)  # type: ignore[arg-type]
    assert refused.value.extra["field"] == field
