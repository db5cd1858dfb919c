"""The portal pages refuse bad input with a French sentence next to the field, keep what the
person typed, and protect every form against CSRF."""

from __future__ import annotations

import html

import pytest

from tests.support.portal_login import csrf_of, logged_in_client
from tests.support.seed import etablissement_with_code
from tests.support.stack import Person, Platform

pytestmark = pytest.mark.keycloak
MAF = "mon-activite-formation"


def test_a_malformed_siret_is_explained_next_to_the_field_with_the_input_kept(
    platform: Platform,
) -> None:
    with logged_in_client(platform, platform.new_person()) as client:
        form = client.get(f"/demarches/{MAF}/ajouter")
        page = client.post(
            f"/demarches/{MAF}/activation",
            data={"siret": "73282932000075", "code": "AAAA", "csrf_token": csrf_of(form)},
        )
    text = html.unescape(page.text)
    assert page.status_code == 422
    assert 'data-testid="erreur-siret"' in page.text
    assert "sa clé de contrôle est fausse" in text
    assert 'value="73282932000075"' in page.text


def test_a_siret_that_has_a_gestionnaire_offers_the_access_request(platform: Platform) -> None:
    siret, code = etablissement_with_code(platform.context)
    with logged_in_client(platform, platform.new_person()) as first:
        form = first.get(f"/demarches/{MAF}/ajouter")
        done = first.post(
            f"/demarches/{MAF}/activation",
            data={"siret": siret, "code": code, "csrf_token": csrf_of(form)},
        )
        assert "vous en êtes gestionnaire" in html.unescape(done.text)
        again = first.post(
            f"/demarches/{MAF}/activation",
            data={"siret": siret, "code": code, "csrf_token": csrf_of(form)},
        )
        assert again.status_code == 409  # a double submission changes nothing
    with logged_in_client(platform, platform.new_person("Paul", "Durand")) as second:
        form = second.get(f"/demarches/{MAF}/ajouter")
        page = second.post(
            f"/demarches/{MAF}/activation",
            data={"siret": siret, "code": code, "csrf_token": csrf_of(form)},
        )
    text = html.unescape(page.text)
    assert page.status_code == 409
    assert 'data-testid="deja-gere"' in page.text
    assert "demandez-lui l'accès" in text
    assert "Demander l'accès</button>" in text
    assert f'value="{siret}"' in page.text


def test_every_habilitation_form_requires_the_csrf_token(platform: Platform) -> None:
    siret, code = etablissement_with_code(platform.context)
    with logged_in_client(platform, platform.new_person()) as client:
        for path, data in [
            (f"/demarches/{MAF}/activation", {"siret": siret, "code": code}),
            (f"/demarches/{MAF}/demandes", {"siret": siret}),
            (
                f"/demarches/{MAF}/habilitations",
                {"email": "x@exemple.fr", "role": "declarant", "siret": siret},
            ),
            (f"/demarches/{MAF}/demandes/1/approbation", {"role": "declarant"}),
        ]:
            response = client.post(path, data=data)
            assert response.status_code == 403, path
            assert "Ce formulaire a expiré" in response.text
        assert "Les autres démarches" in client.get("/").text  # nothing was activated


def test_the_users_screen_is_refused_to_a_person_who_manages_nothing(platform: Platform) -> None:
    with logged_in_client(platform, platform.new_person()) as client:
        page = client.get(f"/demarches/{MAF}/utilisateurs")
    assert page.status_code == 403
    assert "Vous n'êtes gestionnaire d'aucun SIRET" in html.unescape(page.text)


def test_pages_send_an_anonymous_visitor_to_the_login(platform: Platform) -> None:
    import httpx

    response = httpx.get(f"{platform.portal_url}/demarches/{MAF}/ajouter")
    assert response.status_code == 303
    assert response.headers["location"] == "/auth/login"


def own_detail_after_activation(platform: Platform, person: Person, siret: str, code: str) -> str:
    """The person activates the SIRET through the page, then opens their own detail on the
    users screen; its text."""
    with logged_in_client(platform, person) as client:
        form = client.get(f"/demarches/{MAF}/ajouter")
        client.post(
            f"/demarches/{MAF}/activation",
            data={"siret": siret, "code": code, "csrf_token": csrf_of(form)},
        )
        page = client.get(f"/demarches/{MAF}/utilisateurs", params={"personne": person.id})
    assert page.status_code == 200
    return html.unescape(page.text)


def test_the_add_form_proposes_no_role_and_the_history_speaks_in_words(
    platform: Platform,
) -> None:
    """#20: « + Ajouter une habilitation » defaulted to « Gestionnaire » (the gestionnaire now
    picks it), and the history showed « (gestionnaire) », a raw identifier: now « Habilitation
    accordée : Gestionnaire »."""
    siret, code = etablissement_with_code(platform.context)
    person = platform.new_person("Premier", "Gestionnaire")
    text = own_detail_after_activation(platform, person, siret, code)
    assert '<option value="" selected>— Choisir un rôle —</option>' in text
    assert '<option value="declarant">Déclarant</option>' in text
    assert '<option value="gestionnaire">Gestionnaire</option>' in text
    assert "Habilitation accordée : Gestionnaire" in text
    assert "gestionnaire)" not in text


def test_the_users_screen_shows_the_civility_and_phone_keycloak_holds(platform: Platform) -> None:
    """#20 item 2: « Civilité » and « Téléphone » read « — » though Keycloak holds both (the
    login's claims now fill the store's copy)."""
    siret, code = etablissement_with_code(platform.context)
    person = platform.new_person("Civile", "Joignable")  # civilite madame, 01 23 45 67 89
    text = own_detail_after_activation(platform, person, siret, code)
    assert "<dt>Civilité</dt><dd>Madame</dd>" in text
    assert "<dt>Téléphone</dt><dd>01 23 45 67 89</dd>" in text
