"""The policy catalog: its rules as the engine reads them, and mistakes named by line."""

from __future__ import annotations

from pathlib import Path

import pytest

from bridge.catalog import CatalogError, load_catalog
from bridge.catalog.model import DEFAULT_CATALOG


def test_the_shipped_catalog_holds_both_guides() -> None:
    catalog = load_catalog()
    assert set(catalog.ids) == {
        "mon-activite-formation",
        "mes-collectes-formation",
        "mon-suivi-controle",
        "espace-employeur-cpf",
    }
    maf = catalog.demarche("mon-activite-formation")
    assert maf is not None
    assert (maf.entry, maf.first_holder_role) == ("activation-code", "gestionnaire")
    assert [r.id for r in maf.delegable_roles] == ["declarant"]
    employer = catalog.demarche("espace-employeur-cpf")
    assert employer is not None
    assert employer.entry == "operator"


@pytest.mark.parametrize(
    ("demarche", "holder", "role", "allowed"),
    [
        ("mon-activite-formation", {"gestionnaire"}, "declarant", True),
        ("mon-activite-formation", {"gestionnaire"}, "gestionnaire", True),
        ("mon-activite-formation", {"declarant"}, "declarant", False),
        ("mon-activite-formation", set(), "declarant", False),
        ("espace-employeur-cpf", {"administrateur-principal"}, "administrateur-delegue", True),
        ("espace-employeur-cpf", {"administrateur-delegue"}, "gestionnaire", True),
        ("espace-employeur-cpf", {"administrateur-delegue"}, "administrateur-delegue", False),
        ("espace-employeur-cpf", {"administrateur-principal"}, "administrateur-principal", False),
        ("espace-employeur-cpf", {"gestionnaire"}, "gestionnaire", False),
    ],
)
def test_who_may_grant_which_role_comes_from_the_catalog(
    demarche: str, holder: set[str], role: str, allowed: bool
) -> None:
    found = load_catalog().demarche(demarche)
    assert found is not None
    assert found.may_grant(holder, role) is allowed


def test_only_the_operator_appoints_a_main_administrator() -> None:
    employer = load_catalog().demarche("espace-employeur-cpf")
    assert employer is not None
    assert employer.may_grant(set(), "administrateur-principal", operator=True)
    assert not employer.may_grant({"administrateur-delegue"}, "administrateur-principal")


def test_a_gestionnaire_may_act_as_declarant_but_not_the_reverse() -> None:
    maf = load_catalog().demarche("mon-activite-formation")
    assert maf is not None
    assert maf.roles_acting_as("declarant") == {"gestionnaire", "declarant"}
    assert maf.roles_acting_as("gestionnaire") == {"gestionnaire"}
    assert maf.roles_acting_as("inconnu") == frozenset()


def _broken(tmp_path: Path, old: str, new: str) -> Path:
    text = DEFAULT_CATALOG.read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "catalog.yaml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


def _line_of(path: Path, fragment: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if fragment in line)


def test_an_unknown_role_in_granted_by_names_its_line(tmp_path: Path) -> None:
    path = _broken(
        tmp_path,
        "granted_by: [gestionnaire]\n        implies: [declarant]",
        "granted_by: [chef]\n        implies: [declarant]",
    )
    with pytest.raises(
        CatalogError, match=rf"catalog.yaml, ligne {_line_of(path, '[chef]')} : le rôle « chef »"
    ):
        load_catalog(path)


def test_an_unknown_field_names_its_line(tmp_path: Path) -> None:
    path = _broken(
        tmp_path,
        "    redelegation: false\n",
        "    redelegation: false\n    delegation: peut-etre\n",
    )
    with pytest.raises(CatalogError, match=rf"ligne {_line_of(path, 'delegation: peut-etre')} :"):
        load_catalog(path)


def test_a_wrong_entry_kind_names_its_line(tmp_path: Path) -> None:
    path = _broken(tmp_path, "entry: operator", "entry: courrier")
    with pytest.raises(
        CatalogError, match=rf"ligne {_line_of(path, 'entry: courrier')} : demarches\.3\.entry"
    ):
        load_catalog(path)


def test_a_duplicate_demarche_is_refused(tmp_path: Path) -> None:
    path = _broken(tmp_path, "  - id: mes-collectes-formation", "  - id: mon-activite-formation")
    with pytest.raises(CatalogError, match="déclarée deux fois"):
        load_catalog(path)


def test_broken_yaml_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "catalog.yaml"
    path.write_text("version: 1\ndemarches:\n  - id: [\n")
    with pytest.raises(CatalogError, match=r"catalog.yaml, ligne \d+ : YAML invalide"):
        load_catalog(path)


def test_a_bad_catalog_stops_the_app_start(tmp_path: Path) -> None:
    from bridge.api.app import create_app
    from bridge.settings import Settings

    path = _broken(tmp_path, "entry: operator", "entry: courrier")
    with pytest.raises(CatalogError):
        create_app(Settings(catalog_file=path))


def test_who_renews_whose_password_comes_from_the_catalog() -> None:
    employer = load_catalog().demarche("espace-employeur-cpf")
    assert employer is not None
    renews = employer.may_renew_password
    assert renews({"administrateur-delegue"}, {"gestionnaire"})
    assert renews({"administrateur-principal"}, {"administrateur-delegue"})
    assert not renews({"administrateur-delegue"}, {"administrateur-delegue"})
    assert not renews({"administrateur-principal"}, {"administrateur-principal"})
    assert renews(set(), {"administrateur-principal"}, operator=True)
    assert not renews(set(), {"gestionnaire"}, operator=True)
    # Holding two roles: the stricter rule wins.
    assert not renews({"administrateur-delegue"}, {"gestionnaire", "administrateur-delegue"})


def test_the_menu_entries_depend_on_the_organisation_type_and_the_role() -> None:
    employer = load_catalog().demarche("espace-employeur-cpf")
    assert employer is not None

    def ids(kind: str, roles: set[str]) -> list[str]:
        return [e.id for e in employer.menu_for(kind, roles)]

    assert ids("employeur", {"gestionnaire"}) == ["donnees-personnelles"]
    assert ids("employeur-public", {"administrateur-delegue"}) == [
        "donnees-personnelles",
        "habilitations",
    ]
    assert ids("conseil-regional", {"gestionnaire"}) == [
        "donnees-personnelles",
        "espace-titulaire",
        "cloture-simplifiee",
    ]
    entry = employer.menu_entry("habilitations")
    assert entry is not None
    assert entry.address("12345678901234") == "/employeur/12345678901234/gestionnaires"


def test_a_menu_entry_for_an_unknown_organisation_type_names_its_line(tmp_path: Path) -> None:
    path = _broken(
        tmp_path,
        "        organisation_types: [conseil-regional]\n      - id: cloture",
        "        organisation_types: [banque]\n      - id: cloture",
    )
    with pytest.raises(CatalogError, match="« banque » n'existe pas dans « espace-employeur-cpf »"):
        load_catalog(path)


def test_the_actions_a_relying_party_may_ask_are_the_roles_then_agir(tmp_path: Path) -> None:
    maf = load_catalog().demarche("mon-activite-formation")
    assert maf is not None
    assert maf.actions == ("gestionnaire", "declarant", "agir")
    assert maf.roles_for_action("agir") == {"gestionnaire", "declarant"}
    assert maf.roles_for_action("declarant") == maf.roles_acting_as("declarant")

    path = tmp_path / "catalog.yaml"
    path.write_text(
        "version: 1\n"
        "demarches:\n"
        "  - id: essai\n"
        "    title: Essai\n"
        "    audience: organisme-de-formation\n"
        "    entry: activation-code\n"
        "    first_holder_role: agir\n"
        "    roles:\n"
        "      - id: agir\n"
        "        label: Agir\n"
        "        granted_by: [agir]\n",
        encoding="utf-8",
    )
    with pytest.raises(CatalogError, match=r"ligne 9 : « agir » est réservé"):
        load_catalog(path)
