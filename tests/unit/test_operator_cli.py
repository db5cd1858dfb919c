"""The operators' command line imports establishments, issues codes once, and explains refusals."""

from __future__ import annotations

import csv
import re
import sqlite3
import stat
from contextlib import closing
from pathlib import Path

import pytest
from stdnum.fr import siret as stdnum_siret

from bridge.cli import main
from bridge.etablissement.service import hash_code

DEMARCHE = "mon-activite-formation"
PEPPER = "poivre-des-tests-unitaires-de-la-ligne-de-commande"
VALID = {
    "73282932000074": "Organisme Alpha",
    "35600000000048": "La Poste",
    "51831541100018": "Formation « Delta » é",
}
BAD_CHECKSUM = "73282932000075"
THIRTEEN_DIGITS = "5183154110001"
CODE = re.compile(r"^[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}$")


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "b.db"
    monkeypatch.setenv("BRIDGE_DATABASE_URL", f"sqlite:///{path}")
    monkeypatch.setenv("BRIDGE_CODE_PEPPER", PEPPER)
    monkeypatch.setenv("BRIDGE_CODE_VALIDITY_DAYS", "365")
    return path


@pytest.fixture
def source(tmp_path: Path) -> Path:
    """Three valid SIRETs and three bad lines: checksum (line 3), 13 digits (5), no name (6)."""
    assert all(stdnum_siret.is_valid(s) for s in VALID)
    assert not stdnum_siret.is_valid(BAD_CHECKSUM)
    path = tmp_path / "etablissements.csv"
    path.write_text(
        "siret;raison_sociale\n"
        f"73282932000074;{VALID['73282932000074']}\n"
        f"{BAD_CHECKSUM};Organisme Beta\n"
        f"35600000000048;{VALID['35600000000048']}\n"
        f"{THIRTEEN_DIGITS};Organisme Gamma\n"
        "44306184100047;\n"
        f"51831541100018;{VALID['51831541100018']}\n",
        encoding="utf-8",
    )
    return path


def rows_of(database: Path, query: str, *parameters: str) -> list[tuple[object, ...]]:
    with closing(sqlite3.connect(database)) as connection:
        return connection.execute(query, parameters).fetchall()


def every_value_of(database: Path, table: str) -> list[object]:
    query = f'SELECT * FROM "{table}"'  # noqa: S608 - table names come from sqlite_master
    return [value for row in rows_of(database, query) for value in row]


def read_semicolon_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle, delimiter=";"))


def import_(source: Path, *options: str) -> int:
    return main(["operateur", "import", str(source), "--demarche", DEMARCHE, *options])


def test_an_import_writes_one_letter_per_valid_siret_and_reports_each_rejected_line(
    database: Path, source: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    letters, rejects = tmp_path / "lettres.csv", tmp_path / "rejets.csv"

    assert import_(source, "--lettres", str(letters), "--rejets", str(rejects)) == 0

    rejected = read_semicolon_csv(rejects)
    assert [r["ligne"] for r in rejected] == ["3", "5", "6"]
    assert "clé de contrôle est fausse" in rejected[0]["motif"]
    assert BAD_CHECKSUM in rejected[0]["contenu"]
    assert "14 chiffres" in rejected[1]["motif"]
    assert rejected[2]["motif"] == "La raison sociale est vide."
    written = read_semicolon_csv(letters)
    assert {(r["siret"], r["raison_sociale"]) for r in written} == set(VALID.items())
    assert all(CODE.match(r["code_activation"]) for r in written)
    assert len({r["code_activation"] for r in written}) == 3
    assert stat.S_IMODE(letters.stat().st_mode) == 0o600
    out = capsys.readouterr().out
    assert "établissements créés      : 3" in out
    assert "codes émis                : 3" in out
    assert "lignes rejetées           : 3" in out
    assert "nulle part ailleurs" in out


def test_without_a_report_file_the_rejected_lines_are_printed_with_their_reason(
    database: Path, source: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert import_(source, "--lettres", str(tmp_path / "lettres.csv")) == 0

    err = capsys.readouterr().err
    assert "Ligne 3 rejetée : Le SIRET « 73282932000075 » n'est pas valide" in err
    assert "Ligne 5 rejetée : Le SIRET « 5183154110001 » n'est pas valide" in err
    assert "Ligne 6 rejetée : La raison sociale est vide." in err


def test_the_codes_cannot_be_read_from_the_database(
    database: Path, source: Path, tmp_path: Path
) -> None:
    letters = tmp_path / "lettres.csv"
    assert import_(source, "--lettres", str(letters)) == 0
    codes = [r["code_activation"] for r in read_semicolon_csv(letters)]

    stored = rows_of(database, "SELECT * FROM activation_code")
    assert len(stored) == 3
    tables = rows_of(database, "SELECT name FROM sqlite_master WHERE type = 'table'")
    everywhere = [value for (table,) in tables for value in every_value_of(database, str(table))]
    for values in ([value for row in stored for value in row], everywhere):
        text = " ".join(str(value) for value in values).upper()
        for code in codes:
            assert code not in text
            assert code.replace("-", "") not in text


def test_importing_the_same_file_again_issues_no_new_code_and_writes_no_letters(
    database: Path, source: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert import_(source, "--lettres", str(tmp_path / "premieres-lettres.csv")) == 0
    capsys.readouterr()
    again = tmp_path / "nouvelles-lettres.csv"

    assert import_(source, "--lettres", str(again)) == 0

    assert not again.exists()
    out = capsys.readouterr().out
    assert "codes émis                : 0" in out
    assert "inchangés                 : 3" in out
    assert "Aucun code émis" in out
    assert rows_of(database, "SELECT count(*) FROM activation_code") == [(3,)]


def test_an_import_that_would_issue_codes_without_a_letters_file_is_refused_and_writes_nothing(
    database: Path, source: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert import_(source) == 2

    assert "--lettres" in capsys.readouterr().err
    assert rows_of(database, "SELECT count(*) FROM etablissement") == [(0,)]


def test_an_existing_letters_file_is_refused_before_anything_is_written(
    database: Path, source: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["db", "upgrade"]) == 0
    letters = tmp_path / "lettres.csv"
    letters.write_text("anciennes lettres\n", encoding="utf-8")

    assert import_(source, "--lettres", str(letters)) == 2

    err = capsys.readouterr().err
    assert err.startswith("Erreur : Le fichier de lettres")
    assert "existe déjà" in err
    assert "Traceback" not in err
    assert letters.read_text(encoding="utf-8") == "anciennes lettres\n"
    assert rows_of(database, "SELECT count(*) FROM etablissement") == [(0,)]


def test_a_second_code_for_a_siret_with_an_active_one_is_refused_unless_reissued(
    database: Path, source: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    letters = tmp_path / "lettres.csv"
    assert import_(source, "--lettres", str(letters)) == 0
    siret = "73282932000074"
    old = next(r["code_activation"] for r in read_semicolon_csv(letters) if r["siret"] == siret)
    capsys.readouterr()

    assert main(["operateur", "code", siret, "--demarche", DEMARCHE]) == 2
    refused = capsys.readouterr()
    assert refused.err.startswith(f"Erreur : Un code est déjà actif pour {siret}")
    assert "--reemettre" in refused.err
    assert refused.out == ""

    assert main(["operateur", "code", siret, "--demarche", DEMARCHE, "--reemettre"]) == 0
    out = capsys.readouterr().out
    found = re.search(rf"SIRET {siret} .*: ([A-Z2-9]{{4}}-[A-Z2-9]{{4}}-[A-Z2-9]{{4}})", out)
    assert found is not None
    new = found.group(1)
    assert new != old
    active = rows_of(
        database,
        "SELECT code_hash FROM activation_code WHERE siret = ? AND demarche = ? "
        "AND revoked_at IS NULL AND used_at IS NULL",
        siret,
        DEMARCHE,
    )
    assert active == [(hash_code(PEPPER, siret, DEMARCHE, new),)]
    assert hash_code(PEPPER, siret, DEMARCHE, old) != active[0][0]
    revoked = rows_of(
        database,
        "SELECT code_hash FROM activation_code WHERE siret = ? AND revoked_at IS NOT NULL",
        siret,
    )
    assert revoked == [(hash_code(PEPPER, siret, DEMARCHE, old),)]


def test_an_unknown_demarche_is_refused_with_a_french_sentence(
    database: Path, source: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    letters = tmp_path / "lettres.csv"
    arguments = ["operateur", "import", str(source), "--demarche", "demarche-imaginaire"]

    assert main([*arguments, "--lettres", str(letters)]) == 2

    assert capsys.readouterr().err == (
        "Erreur : La démarche « demarche-imaginaire » n'existe pas.\n"
    )
    assert not letters.exists()
    assert main(["operateur", "code", "73282932000074", "--demarche", "demarche-imaginaire"]) == 2
    assert "n'existe pas" in capsys.readouterr().err


@pytest.mark.parametrize(
    "header", ["raison_sociale", "numero;raison_sociale", "siren;raison_sociale"]
)
def test_a_file_without_the_siret_column_is_refused(
    database: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], header: str
) -> None:
    path = tmp_path / "sans-siret.csv"
    path.write_text(f"{header}\n" + "x;" * header.count(";") + "Organisme\n", encoding="utf-8")

    assert import_(path, "--lettres", str(tmp_path / "lettres.csv")) == 2

    err = capsys.readouterr().err
    assert err.startswith("Erreur : ")
    assert "siret" in err
    assert "Traceback" not in err
    assert not (tmp_path / "lettres.csv").exists()


def test_a_missing_file_is_refused_with_a_french_sentence(
    database: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert import_(tmp_path / "absent.csv") == 2

    assert "n'existe pas" in capsys.readouterr().err


def test_db_upgrade_creates_the_tables_of_a_new_database(
    database: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["db", "upgrade"]) == 0

    assert capsys.readouterr().out.startswith("Base de données à jour")
    assert rows_of(database, "SELECT count(*) FROM etablissement") == [(0,)]
