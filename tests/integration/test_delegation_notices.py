"""What a tiers is told when its delegation is revoked (#20, item 4): before, nothing at all."""

from __future__ import annotations

from tests.support.callers import (
    MAF,
    Caller,
    gestionnaire_of_new_siret,
    invite,
    invite_and_accept,
    new_caller,
)
from tests.support.stack import Platform


def test_a_revoked_tiers_is_told_by_email_in_words(
    platform: Platform, callers: list[Caller]
) -> None:
    gestionnaire, siret = gestionnaire_of_new_siret(platform, callers)
    tiers, delegation_id = invite_and_accept(platform, callers, gestionnaire, siret)
    assert gestionnaire.http.delete(f"/delegations/{delegation_id}").status_code == 204
    notice = platform.mail.wait_for(tiers.person.email, count=2)  # the invitation, then this
    assert notice.subject.startswith("Délégation révoquée")
    assert f"(SIRET {siret}) a révoqué la délégation" in notice.text
    assert "Vous ne pouvez plus agir comme « Déclarant » sur Mon Activité Formation" in notice.text
    assert MAF not in notice.text  # words, not identifiers
    assert "declarant" not in notice.text


def test_an_invitation_revoked_before_its_answer_is_told_too(
    platform: Platform, callers: list[Caller]
) -> None:
    gestionnaire, siret = gestionnaire_of_new_siret(platform, callers)
    tiers = new_caller(platform, callers, "Cabinet", "Invite")
    delegation_id = invite(gestionnaire, siret, tiers.person.email)
    assert gestionnaire.http.delete(f"/delegations/{delegation_id}").status_code == 204
    notice = platform.mail.wait_for(tiers.person.email, count=2)
    assert "L'invitation qui vous avait été envoyée ne fonctionne plus." in notice.text
