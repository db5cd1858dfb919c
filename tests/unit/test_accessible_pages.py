"""The RGAA audit's findings on the back-office and the portal, checked in the rendered HTML
(no browser, no Keycloak: an app on its own SQLite store, an operator's session written in it).

What a browser must show (focus moves, the confirmation dialog, the live region, 390 px) is in
`tests/browser/`; here: names, labels, ties between a field and its error, titles, regions.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from bridge.api.app import create_app
from bridge.api.auth.csrf import FIELD
from bridge.audit.service import Actor
from bridge.backoffice.service import PER_PAGE
from bridge.bootstrap import AppContext
from bridge.db import migrate
from bridge.employeur.models import Gestionnaire
from bridge.habilitation.operators import designate
from bridge.identity.web_sessions import WebSessions, new_token
from bridge.person.service import remember_person
from bridge.settings import Settings
from tests.support.callers import MAF
from tests.support.seed import (
    OPERATOR,
    code_locked_person,
    etablissement_with_code,
    siret_delegated_to,
)
from tests.support.sirets import new_siret

OPERATOR_SUB = "operatrice-a11y"
EMPLOYER_SPACE = "espace-employeur-cpf"
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}


@dataclass
class Element:
    """A parsed element: enough of a DOM to ask what a screen reader is given."""

    tag: str
    attrs: dict[str, str]
    children: list[Element | str] = field(default_factory=list)

    def text(self) -> str:
        return "".join(c if isinstance(c, str) else c.text() for c in self.children)

    def visible_text(self) -> str:
        """The text without what only screen readers get (`fr-sr-only`)."""
        return "".join(
            c if isinstance(c, str) else ("" if c.has_class("fr-sr-only") else c.visible_text())
            for c in self.children
        )

    def has_class(self, name: str) -> bool:
        return name in self.attrs.get("class", "").split()

    def all(self, tag: str = "", **attrs: str) -> list[Element]:
        """Descendants of that tag (any when empty) whose attributes hold these values
        (`class_` for a class among others, `for_` for `for`, `_` in a name for `-`)."""
        found = []
        for child in self.children:
            if isinstance(child, str):
                continue
            wanted = {k.rstrip("_").replace("_", "-"): v for k, v in attrs.items() if k != "class_"}
            if (
                (not tag or child.tag == tag)
                and all(child.attrs.get(k) == v for k, v in wanted.items())
                and ("class_" not in attrs or child.has_class(attrs["class_"]))
            ):
                found.append(child)
            found.extend(child.all(tag, **attrs))
        return found

    def one(self, tag: str = "", **attrs: str) -> Element:
        found = self.all(tag, **attrs)
        assert len(found) == 1, (tag, attrs, [f.attrs for f in found])
        return found[0]

    def by_id(self, id_: str) -> Element:
        return self.one(id=id_)


class _Parser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Element("document", {})
        self.open = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, {k: v or "" for k, v in attrs})
        self.open[-1].children.append(element)
        if tag not in VOID:
            self.open.append(element)

    def handle_endtag(self, tag: str) -> None:
        for depth in range(len(self.open) - 1, 0, -1):
            if self.open[depth].tag == tag:
                del self.open[depth:]
                return

    def handle_data(self, data: str) -> None:
        self.open[-1].children.append(data)


def parse(html: str) -> Element:
    parser = _Parser()
    parser.feed(html)
    return parser.root


def squash(text: str) -> str:
    return " ".join(text.split())


@dataclass
class Portal:
    client: TestClient
    context: AppContext

    def page(self, path: str) -> Element:
        response = self.client.get(path)
        assert response.status_code == 200, (path, response.status_code, response.text[:500])
        return parse(response.text)

    def csrf(self) -> str:
        """The session's form token, as the page's hidden field carries it."""
        return self.page("/operateur").all("input", name=FIELD)[0].attrs["value"]


@pytest.fixture(scope="module")
def portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Portal]:
    """The portal as an operator (designated in the store, the role in the session) who is
    also the gestionnaire of a few SIRETs of Mon Activité Formation."""
    database_url = f"sqlite:///{tmp_path_factory.mktemp('a11y') / 'bridge.db'}"
    migrate(database_url)
    app = create_app(Settings(database_url=database_url))
    context: AppContext = app.state.context
    with context.work() as work:
        designate(work.session, OPERATOR, OPERATOR_SUB)
        remember_person(work.session, OPERATOR_SUB, "operatrice@a11y.fr", "Olga", "Guichet")
    token = new_token()
    user = {"sub": OPERATOR_SUB, "given_name": "Olga", "family_name": "Guichet"}
    WebSessions(context.sessions, 3600).save(
        token,
        {
            "user": {**user, "email": "operatrice@a11y.fr", "operator": True},
            "verifie_le": time.time(),
        },
        new=True,
        lifetime=timedelta(hours=1),
    )
    client = TestClient(app, follow_redirects=True)
    client.cookies.set(app.state.settings.session_cookie, token)
    try:
        yield Portal(client, context)
    finally:
        client.close()
        context.close()


def test_every_page_opens_with_a_link_to_its_content(portal: Portal) -> None:
    """RGAA 12.7: the first link of the page skips the header, to a main that takes focus."""
    page = portal.page("/operateur")
    body = page.one("body")
    first_link = body.all("a")[0]
    assert first_link.attrs["href"] == "#contenu"
    assert squash(first_link.text()) == "Aller au contenu"
    assert body.one("nav", class_="fr-container").attrs["aria-label"] == "Accès rapide"
    main = page.one("main")
    assert main.attrs["id"] == "contenu"
    assert main.attrs["tabindex"] == "-1"


def test_the_organisation_form_explains_its_asterisk_and_gives_formats(portal: Portal) -> None:
    page = portal.page("/operateur/organisations")
    assert squash(page.one("title").text()).startswith("Ouvrir une organisation — Back-office — ")
    crumbs = page.one("nav", class_="fr-breadcrumb")
    assert squash(crumbs.text()) == (
        "Back-office Organisations de l'espace employeur Ouvrir une organisation"
    )
    assert "Les champs marqués d'un astérisque (*) sont obligatoires." in squash(page.text())
    for id_, hint in (
        ("siret", "14 chiffres, sans espace"),
        ("email", "Format attendu : nom@domaine.fr"),
        ("telephone-fixe", "Format attendu : 01 23 45 67 89"),
        ("telephone-mobile", "Format attendu : 06 12 34 56 78"),
    ):
        label = page.one("label", for_=id_)
        assert squash(label.one(class_="fr-hint-text").text()) == hint
    for id_ in ("siret", "raison-sociale", "type", "civilite-madame", "nom", "prenom", "email"):
        assert "required" in page.by_id(id_).attrs, id_
    assert "required" not in page.by_id("telephone-fixe").attrs  # one phone of the two


def test_a_refused_organisation_lists_its_errors_each_tied_to_its_field(portal: Portal) -> None:
    """A wrong type and an empty person: the summary at the top, each error named by its field
    (the type's select, the civilité's fieldset)."""
    response = portal.client.post(
        "/operateur/organisations",
        data={FIELD: portal.csrf(), "siret": new_siret(), "type": "inconnu", "raison_sociale": "X"},
    )
    assert response.status_code == 422, response.text[:300]
    page = parse(response.text)
    summary = page.one(data_testid="erreurs")
    assert summary.attrs["tabindex"] == "-1"
    assert "data-focus-au-chargement" in summary.attrs
    select = page.by_id("type")
    assert select.attrs["aria-invalid"] == "true"
    assert squash(page.by_id(select.attrs["aria-describedby"]).text()) != ""

    response = portal.client.post(
        "/operateur/organisations",
        data={
            FIELD: portal.csrf(),
            "siret": new_siret(),
            "type": "employeur",
            "raison_sociale": "X",
        },
    )
    page = parse(response.text)
    links = [a.attrs["href"] for a in page.one(data_testid="resume-erreurs").all("a")]
    assert "#civilite-madame" in links
    fieldset = page.one("fieldset", aria_labelledby="civilite-legende")
    error = page.by_id(fieldset.attrs["aria-describedby"])
    assert error.attrs["data-testid"] == "erreur-civilite"


def test_the_import_form_explains_its_asterisk_and_requires_its_fields(portal: Portal) -> None:
    page = portal.page("/operateur/import")
    assert "Les champs marqués d'un astérisque (*) sont obligatoires." in squash(page.text())
    assert "required" in page.by_id("demarche").attrs
    assert "required" in page.by_id("fichier").attrs


def locked_account(portal: Portal, first: str, last: str, siret: str) -> str:
    return code_locked_person(portal.context, siret, first, last, f"bloque-{first.lower()}")


def test_each_unlock_button_and_its_question_name_the_account(portal: Portal) -> None:
    siret, _ = etablissement_with_code(portal.context, name="Organisme Bloqué")
    locked_account(portal, "Anne", "Premier", siret)
    locked_account(portal, "Bruno", "Second", siret)
    page = portal.page(f"/operateur/etablissements/{siret}")
    forms = [f for f in page.one(data_testid="blocages").all("form") if f.all(name="personne")]
    names = {squash(f.one("button").text()): f.attrs["data-confirmer"] for f in forms}
    assert set(names) == {
        "Débloquer le compte de Anne Premier",
        "Débloquer le compte de Bruno Second",
    }
    assert names["Débloquer le compte de Anne Premier"].startswith(
        "Débloquer le compte de Anne Premier ?"
    )
    assert {squash(f.one("button").visible_text()) for f in forms} == {"Débloquer"}


def test_a_success_after_a_redirect_is_a_status_an_error_an_alert_both_focused(
    portal: Portal,
) -> None:
    siret, _ = etablissement_with_code(portal.context)
    subject = locked_account(portal, "Claire", "Troisième", siret)
    response = portal.client.post(
        f"/operateur/etablissements/{siret}/deblocage",
        data={FIELD: portal.csrf(), "personne": subject},
    )
    message = parse(response.text).one(data_testid="message")
    assert "Le blocage de ce compte est levé" in message.text()
    assert message.attrs["role"] == "status"
    assert message.attrs["tabindex"] == "-1"
    assert "data-focus-au-chargement" in message.attrs

    error = parse(portal.client.get(f"/operateur/etablissements/{siret}/lettre").text)
    message = error.one(data_testid="message")
    assert "Le courrier n'est plus disponible" in message.text()
    assert message.attrs["role"] == "alert"
    assert "data-focus-au-chargement" in message.attrs


@pytest.mark.parametrize(
    "path",
    [
        "/operateur",
        "/operateur/etablissements?q=x",
        "/operateur/personnes",
        f"/demarches/{MAF}/bpf",
    ],
)
def test_search_bars_show_their_label_and_no_other_placeholder(portal: Portal, path: str) -> None:
    siret, code = etablissement_with_code(portal.context)  # the BPF lists the person's SIRETs
    with portal.context.work() as work:
        work.habilitations.activate(Actor(OPERATOR_SUB, "Olga Guichet"), MAF, siret, code)
    bar = portal.page(path).one("form", role="search")
    assert bar.has_class("fr-search-bar--labelled")
    field_ = bar.one("input", name="q")
    assert "placeholder" not in field_.attrs
    assert bar.one("label", for_=field_.attrs["id"]).text().strip()


def test_search_titles_say_the_search_and_the_page(portal: Portal) -> None:
    """RGAA 8.6: two searches, or two pages of one, are two titles."""
    for n in range(PER_PAGE + 1):
        with portal.context.work() as work:
            work.etablissements.ensure(new_siret(), f"Titre Paginé {n}")
    first = squash(portal.page("/operateur/etablissements?q=Titre+Paginé").one("title").text())
    assert first.startswith("Établissements — « Titre Paginé » — page 1 sur 2 — Back-office")
    second = portal.page("/operateur/etablissements?q=Titre+Paginé&page=2")
    assert "— page 2 sur 2 —" in second.one("title").text()
    assert squash(portal.page("/operateur/personnes?q=Guichet").one("title").text()).startswith(
        "Personnes — « Guichet » — Back-office"
    )
    assert squash(portal.page("/operateur/employeurs").one("title").text()).startswith(
        "Organisations de l'espace employeur — Back-office"
    )


def test_a_search_s_pagination_keeps_the_search_and_marks_the_current_page(
    portal: Portal,
) -> None:
    """The back-office's paginations, one macro (`pagination.html`): the search kept in every
    link, escaped once, the current page marked, none for a single page."""
    for n in range(PER_PAGE + 1):
        with portal.context.work() as work:
            work.etablissements.ensure(new_siret(), f"Pagé & Cie {n}")
    second = portal.page("/operateur/etablissements?q=Pag%C3%A9+%26+Cie&page=2")
    nav = second.one("nav", class_="fr-pagination")
    assert nav.attrs["aria-label"] == "Pagination"
    links = nav.all("a")
    assert [a.attrs["href"] for a in links] == [
        "?q=Pag%C3%A9%20%26%20Cie&page=1",
        "?q=Pag%C3%A9%20%26%20Cie&page=2",
    ]
    assert [a.attrs.get("aria-current") for a in links] == [None, "page"]
    single = portal.page("/operateur/etablissements?q=Pag%C3%A9+%26+Cie+0")
    assert not single.all("nav", class_="fr-pagination")


def test_every_table_scrolls_in_a_region_named_by_its_caption_and_reached_by_tab(
    portal: Portal,
) -> None:
    siret, _ = etablissement_with_code(portal.context, name="Organisme Tabulaire")
    for path in (
        f"/operateur/etablissements?q={siret}",
        f"/operateur/etablissements/{siret}",
        "/operateur/personnes?q=Guichet",
        "/mes-donnees",
    ):
        page = portal.page(path)
        containers = page.all("div", class_="fr-table__container")
        assert containers, path
        assert len(containers) == len(page.all("table")), path
        for container in containers:
            caption = squash(container.one("table").one("caption").text())
            assert container.attrs == {
                "class": "fr-table__container",
                "tabindex": "0",
                "role": "region",
                "aria-label": caption,
            }, path


def test_the_users_screen_names_each_repeated_button_and_labels_its_fields(
    portal: Portal,
) -> None:
    me = Actor(OPERATOR_SUB, "Olga Guichet")
    siret, code = etablissement_with_code(portal.context)
    with portal.context.work(notify=False) as work:
        work.habilitations.activate(me, MAF, siret, code)
        remember_person(work.session, "demandeur-a11y", "demandeur@a11y.fr", "Denis", "Demandeur")
        work.habilitations.request_access(
            Actor("demandeur-a11y", "Denis Demandeur"), MAF, siret, None
        )
    tiers_siret = new_siret()
    siret_delegated_to(portal.context, me, "tiers@a11y.fr", tiers_siret, "http://portail")
    page = portal.page(f"/demarches/{MAF}/utilisateurs?personne={OPERATOR_SUB}")

    def names(visible: str) -> set[str]:
        return {squash(b.text()) for b in page.all("button") if squash(b.visible_text()) == visible}

    assert names("Valider la demande") == {f"Valider la demande de Denis Demandeur (SIRET {siret})"}
    assert names("Refuser la demande") == {f"Refuser la demande de Denis Demandeur (SIRET {siret})"}
    assert names("Révoquer") == {f"Révoquer la délégation à l'organisme SIRET {tiers_siret}"}
    assert f"Modifier la délégation à l'organisme SIRET {tiers_siret}" in names("Modifier")
    assert f"Modifier le rôle de Olga Guichet sur le SIRET {siret}" in names("Modifier")
    assert names("Renvoyer l'invitation") == {
        f"Renvoyer l'invitation à l'organisme SIRET {tiers_siret}"
    }
    assert f"Supprimer l'habilitation de Olga Guichet sur le SIRET {siret}" in names("Supprimer")

    refusal = next(f for f in page.all("form") if f.attrs.get("action", "").endswith("/refus"))
    assert refusal.attrs["data-confirmer"] == (
        f"Refuser la demande d'accès de Denis Demandeur pour le SIRET {siret} ?"
    )
    delegations = page.one(data_testid="delegations")
    for select_or_date in delegations.all("select") + delegations.all("input", type="date"):
        assert "aria-label" not in select_or_date.attrs
        label = delegations.one("label", for_=select_or_date.attrs["id"])
        assert squash(label.text()) in ("Rôle délégué", "Fin d'habilitation")


def test_each_printed_letter_has_its_own_heading(portal: Portal, tmp_path: Path) -> None:
    """An import's letters: one heading each, told apart by the establishment's name."""
    sirets = [new_siret(), new_siret()]
    source = "siret;raison_sociale\n" + "".join(
        f"{s};Lettre {n}\n" for n, s in enumerate(sirets, 1)
    )
    response = portal.client.post(
        "/operateur/import",
        data={FIELD: portal.csrf(), "demarche": MAF},
        files={"fichier": ("liste.csv", source.encode(), "text/csv")},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text[:300]
    portal.context.imports.run_once()
    page = portal.page(response.headers["location"])
    headings = [squash(letter.one("h2").text()) for letter in page.all("article")]
    assert headings == [
        "Votre code d'activation — Mon Activité Formation — Lettre 1",
        "Votre code d'activation — Mon Activité Formation — Lettre 2",
    ]


def test_renewing_a_password_asks_first_naming_the_person(portal: Portal) -> None:
    """The main administrator's page as the operator: « Renouveler le mot de passe » cannot be
    undone (the old password stops working), so it asks, with the person's name."""
    operator = Actor(OPERATOR_SUB, "Olga Guichet", operator=True)
    siret, subject = new_siret(), f"principale-{new_siret()}"
    with portal.context.work(notify=False) as work:
        work.etablissements.ensure(siret, "Employeur Confirmé")
        work.employeur.create_organisation(operator, siret, "employeur", "Employeur Confirmé")
        remember_person(work.session, subject, f"{subject}@a11y.fr", "Paule", "Principale")
        work.session.flush()
        work.session.add(
            Gestionnaire(
                siret=siret,
                subject=subject,
                demarche=EMPLOYER_SPACE,
                login_id=subject,
                civility="madame",
                role="administrateur-principal",
                created_by=OPERATOR_SUB,
            )
        )
    page = portal.page(f"/employeur/{siret}/gestionnaires/{subject}")
    form = next(f for f in page.all("form") if f.attrs["action"].endswith("/mot-de-passe"))
    assert squash(form.one("button").text()) == "Renouveler le mot de passe"
    assert form.attrs["data-confirmer"].startswith(
        "Renouveler le mot de passe de Paule Principale ?"
    )
