"""Every migration, on a store that holds data: nothing seeded at an old revision is lost.

For each revision N (SQLite and PostgreSQL): the store is migrated to N, filled with
realistic rows written with SQL against the tables as they are at N (reflected from the
database, not today's models), migrated to head, and every row is read back with its
values through today's tables; then each downgrade declared back to N is run and the rows
of N are still there. The later columns' rows (a deleted person at 0009, a pseudonymised one
at 0010) are seeded at the revision that brought their column.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, MetaData, Table, and_, select

from bridge.db import Base, downgrade, make_engine, migrate, revisions
from bridge.models import import_models

import_models()

T0 = datetime(2026, 3, 2, 9, 15, 30, 123456, tzinfo=UTC)
GESTIONNAIRE = "5b1c3a8e-2f0d-4c47-9a61-0d5e7f3c2a10"
DECLARANT = "a7e4d2c9-81b3-4f6e-b0d5-3c9e1f2a4b68"
TIERS = "c2f9e8d1-6a4b-4b3e-8f70-1d2c3b4a5e6f"
ADMIN_EMPLOYEUR = "e1d2c3b4-a5f6-4789-8abc-def012345678"
SIRET = "73282932000074"
SIRET_TIERS = "35600000000048"
SIRET_EMPLOYEUR = "81104925300011"
MAF = "mon-activite-formation"


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def _person(subject: str, email: str, first: str, last: str, **later: Any) -> dict[str, Any]:
    return {
        "subject": subject,
        "email": email,
        "first_name": first,
        "last_name": last,
        "civility": "madame",
        "phone": "01 23 45 67 89",
        "updated_at": at(1),
        **later,
    }


# What each revision brought, as rows of its own tables (table, row). Keys are the tables'
# primary keys; every value is read back at head.
SEEDS: dict[str, list[tuple[str, dict[str, Any]]]] = {
    "0001": [
        (
            "etablissement",
            {
                "siret": SIRET,
                "siren": SIRET[:9],
                "name": "Formations Élodie Dupré",
                "created_at": at(0),
            },
        ),
        (
            "etablissement",
            {
                "siret": SIRET_TIERS,
                "siren": SIRET_TIERS[:9],
                "name": "Cabinet Comptable Tiers",
                "created_at": at(0),
            },
        ),
        ("person", _person(GESTIONNAIRE, "elodie.dupre@exemple.fr", "Élodie", "Dupré")),
        ("person", _person(DECLARANT, "marc.lefevre@exemple.fr", "Marc", "Lefèvre")),
        ("person", _person(TIERS, "tiers@cabinet.exemple.fr", "Inès", "Benali")),
        (
            "activation_code",
            {
                "id": 1,
                "siret": SIRET,
                "demarche": MAF,
                "code_hash": "9f" * 32,
                "created_at": at(0),
                "expires_at": at(60 * 24 * 90),
                "used_at": at(30),
                "used_by": GESTIONNAIRE,
                "revoked_at": None,
            },
        ),
        (
            "activation_code",
            {
                "id": 2,
                "siret": SIRET_TIERS,
                "demarche": MAF,
                "code_hash": "4c" * 32,
                "created_at": at(0),
                "expires_at": at(60 * 24 * 90),
                "used_at": None,
                "used_by": None,
                "revoked_at": None,
            },
        ),
        (
            "code_attempt",
            {"id": 1, "siret": SIRET, "subject": GESTIONNAIRE, "at": at(29), "success": False},
        ),
        (
            "code_attempt",
            {"id": 2, "siret": SIRET, "subject": GESTIONNAIRE, "at": at(30), "success": True},
        ),
        (
            "habilitation",
            {
                "id": 1,
                "subject": GESTIONNAIRE,
                "demarche": MAF,
                "role": "gestionnaire",
                "siret": SIRET,
                "granted_how": "code-activation",
                "granted_by": GESTIONNAIRE,
                "granted_by_name": "Élodie Dupré",
                "granted_at": at(30),
                "valid_until": None,
                "on_behalf_of_siret": None,
                "revoked_at": None,
                "revoked_by": None,
            },
        ),
        (
            "habilitation",
            {
                "id": 2,
                "subject": DECLARANT,
                "demarche": MAF,
                "role": "declarant",
                "siret": SIRET,
                "granted_how": "demande-approuvee",
                "granted_by": GESTIONNAIRE,
                "granted_by_name": "Élodie Dupré",
                "granted_at": at(45),
                "valid_until": at(60 * 24 * 365),
                "on_behalf_of_siret": None,
                "revoked_at": None,
                "revoked_by": None,
            },
        ),
        (
            "habilitation",
            {
                "id": 3,
                "subject": DECLARANT,
                "demarche": MAF,
                "role": "gestionnaire",
                "siret": SIRET,
                "granted_how": "gestionnaire",
                "granted_by": GESTIONNAIRE,
                "granted_by_name": "Élodie Dupré",
                "granted_at": at(50),
                "valid_until": None,
                "on_behalf_of_siret": None,
                "revoked_at": at(55),
                "revoked_by": GESTIONNAIRE,
            },
        ),
        (
            "access_request",
            {
                "id": 1,
                "subject": DECLARANT,
                "demarche": MAF,
                "siret": SIRET,
                "wished_role": "declarant",
                "status": "approuvee",
                "created_at": at(40),
                "decided_at": at(45),
                "decided_by": GESTIONNAIRE,
                "decided_role": "declarant",
                "reason": None,
            },
        ),
        (
            "access_request",
            {
                "id": 2,
                "subject": TIERS,
                "demarche": MAF,
                "siret": SIRET,
                "wished_role": None,
                "status": "en-attente",
                "created_at": at(41),
                "decided_at": None,
                "decided_by": None,
                "decided_role": None,
                "reason": None,
            },
        ),
        (
            "audit_event",
            {
                "id": 1,
                "at": at(30),
                "actor": GESTIONNAIRE,
                "action": "code-utilise",
                "target": GESTIONNAIRE,
                "siret": SIRET,
                "demarche": MAF,
                "client_ip": "2001:db8::1",
                "details": {"role": "gestionnaire"},
            },
        ),
        (
            "audit_event",
            {
                "id": 2,
                "at": at(45),
                "actor": GESTIONNAIRE,
                "action": "demande-approuvee",
                "target": DECLARANT,
                "siret": SIRET,
                "demarche": MAF,
                "client_ip": "192.0.2.10",
                "details": {
                    "demande": 1,
                    "role": "declarant",
                    "motif": "Collègue « comptabilité »",
                },
            },
        ),
    ],
    "0002": [
        (
            "habilitation",
            {
                "id": 4,
                "subject": TIERS,
                "demarche": MAF,
                "role": "declarant",
                "siret": SIRET,
                "granted_how": "delegation",
                "granted_by": GESTIONNAIRE,
                "granted_by_name": "Élodie Dupré",
                "granted_at": at(70),
                "valid_until": at(60 * 24 * 200),
                "on_behalf_of_siret": SIRET_TIERS,
                "revoked_at": None,
                "revoked_by": None,
            },
        ),
        (
            "delegation",
            {
                "id": 1,
                "demarche": MAF,
                "role": "declarant",
                "delegator_siret": SIRET,
                "tiers_siret": SIRET_TIERS,
                "tiers_email": "tiers@cabinet.exemple.fr",
                "invited_by": GESTIONNAIRE,
                "invited_by_name": "Élodie Dupré",
                "created_at": at(60),
                "valid_until": at(60 * 24 * 200),
                "status": "acceptee",
                "token_hash": None,
                "token_expires_at": None,
                "accepted_by": TIERS,
                "decided_at": at(70),
                "habilitation_id": 4,
                "ended_by": None,
                "warned_at": None,
            },
        ),
        (
            "delegation",
            {
                "id": 2,
                "demarche": MAF,
                "role": "declarant",
                "delegator_siret": SIRET,
                "tiers_siret": SIRET_TIERS,
                "tiers_email": "autre@cabinet.exemple.fr",
                "invited_by": GESTIONNAIRE,
                "invited_by_name": "Élodie Dupré",
                "created_at": at(61),
                "valid_until": None,
                "status": "invitee",
                "token_hash": "ab" * 32,
                "token_expires_at": at(60 * 24 * 7),
                "accepted_by": None,
                "decided_at": None,
                "habilitation_id": None,
                "ended_by": None,
                "warned_at": None,
            },
        ),
    ],
    "0003": [
        (
            "bpf",
            {
                "id": 1,
                "siret": SIRET,
                "exercice": 2025,
                "status": "depose",
                "content": {"cadre_c": {"produits": 125000}, "stagiaires": 42},
                "version": 3,
                "receipt_number": "BPF-2025-73282932000074-0001",
                "submitted_at": at(90),
                "updated_at": at(90),
            },
        ),
        (
            "bpf",
            {
                "id": 2,
                "siret": SIRET,
                "exercice": 2026,
                "status": "brouillon",
                "content": {},
                "version": 0,
                "receipt_number": None,
                "submitted_at": None,
                "updated_at": at(95),
            },
        ),
        (
            "bpf_save",
            {
                "id": 1,
                "bpf_id": 1,
                "action": "enregistre",
                "version": 2,
                "by_subject": TIERS,
                "by_name": "Inès Benali",
                "tiers_siret": SIRET_TIERS,
                "saved_at": at(85),
                "changed": ["cadre_c.produits"],
            },
        ),
        (
            "bpf_save",
            {
                "id": 2,
                "bpf_id": 1,
                "action": "depose",
                "version": 3,
                "by_subject": GESTIONNAIRE,
                "by_name": "Élodie Dupré",
                "tiers_siret": None,
                "saved_at": at(90),
                "changed": [],
            },
        ),
    ],
    "0004": [
        (
            "sync_outbox",
            {
                "id": 1,
                "subject": GESTIONNAIRE,
                "change": f"accordee {MAF}:gestionnaire:{SIRET}",
                "created_at": at(30),
                "not_before": at(30),
                "attempts": 1,
                "applied_at": at(30),
                "applied_count": 1,
                "applied_by": "portail-1",
                "failed_at": None,
                "error": None,
            },
        ),
        (
            "sync_outbox",
            {
                "id": 2,
                "subject": DECLARANT,
                "change": f"revoquee {MAF}:gestionnaire:{SIRET}",
                "created_at": at(55),
                "not_before": at(56),
                "attempts": 2,
                "applied_at": None,
                "applied_count": 0,
                "applied_by": None,
                "failed_at": None,
                "error": "Keycloak indisponible (503)",
            },
        ),
        ("sync_claim", {"subject": DECLARANT, "worker": "portail-1:4242", "until": at(57)}),
        (
            "sync_state",
            {"name": "console-evenements", "value": "1767345330123", "updated_at": at(58)},
        ),
    ],
    "0005": [
        (
            "etablissement",
            {
                "siret": SIRET_EMPLOYEUR,
                "siren": SIRET_EMPLOYEUR[:9],
                "name": "Mairie de Saint-Étienne",
                "created_at": at(100),
            },
        ),
        ("person", _person(ADMIN_EMPLOYEUR, "rh@mairie.exemple.fr", "Zoé", "Nguyen")),
        (
            "organisation",
            {
                "siret": SIRET_EMPLOYEUR,
                "type": "collectivite-territoriale",
                "created_at": at(100),
                "created_by": "operateur-cli",
            },
        ),
        (
            "unite",
            {
                "id": 1,
                "siret": SIRET_EMPLOYEUR,
                "name": "Ressources humaines",
                "key": "ressources humaines",
                "created_at": at(101),
            },
        ),
        (
            "gestionnaire",
            {
                "id": 1,
                "siret": SIRET_EMPLOYEUR,
                "subject": ADMIN_EMPLOYEUR,
                "demarche": "espace-employeur-cpf",
                "login_id": "RH-0001",
                "civility": "madame",
                "landline": "04 77 00 00 00",
                "mobile": "06 12 34 56 78",
                "unite_id": 1,
                "level": "administrateur-principal",
                "role": "administrateur-principal",
                "active": True,
                "created_at": at(101),
                "created_by": "operateur-cli",
            },
        ),
    ],
    "0006": [
        ("session_terminee", {"sid": "0e3c6f2a-7d1b-4b8e-9c5a-2f4d6e8a0b1c", "until": at(200)}),
    ],
    "0007": [
        (
            "session_web",
            {
                "key": "Zx" * 21,
                "data": {"sujet": GESTIONNAIRE, "csrf": "jeton"},
                "expires_at": at(300),
            },
        ),
    ],
    "0008": [
        (
            "operateur_designe",
            {"subject": GESTIONNAIRE, "designated_at": at(400), "designated_by": "operateur-cli"},
        ),
    ],
    "0009": [
        (
            "person",
            _person(
                "0a9b8c7d-6e5f-4a3b-2c1d-0e9f8a7b6c5d",
                "parti@exemple.fr",
                "Paul",
                "Martin",
                deleted_at=at(500),
                disabled_at=at(490),
            ),
        ),
    ],
    "0010": [
        (
            "person",
            _person(
                "1b2c3d4e-5f6a-4b8c-9d0e-1f2a3b4c5d6e",
                "supprime-1b2c3d4e@personne-supprimee.invalid",
                "Personne",
                "supprimée",
                deleted_at=at(0),
                disabled_at=None,
                pseudonymised_at=at(600),
            ),
        ),
    ],
    "0011": [
        (
            "mail_queue",
            {
                "id": 1,
                "recipient": "elodie.dupre@exemple.fr",
                "subject": "Invitation à rejoindre la démarche",
                "body": "Bonjour,\n…",
                "created_at": at(700),
                "next_attempt_at": at(705),
                "claimed_until": None,
                "attempts": 1,
                "sent_at": None,
                "failed_at": None,
            },
        ),
        (
            "mail_queue",
            {
                "id": 2,
                "recipient": "marc.lefevre@exemple.fr",
                "subject": "Votre demande d'accès est acceptée",
                "body": "",
                "created_at": at(701),
                "next_attempt_at": at(701),
                "claimed_until": None,
                "attempts": 1,
                "sent_at": at(701),
                "failed_at": None,
            },
        ),
    ],
    "0012": [
        (
            "person",
            _person(
                "2c3d4e5f-6a7b-4c8d-9e0f-2a3b4c5d6e7f",
                "suspendu@exemple.fr",
                "Sophie",
                "Bernard",
                deleted_at=None,
                disabled_at=at(800),
                pseudonymised_at=None,
            ),
        ),
    ],
    "0013": [
        (
            "import_job",
            {
                "id": "9f8e7d6c5b4a39281706f5e4d3c2b1a0",
                "actor": "operateur-0013",
                "demarche": "mon-activite-formation",
                "delimiter": ";",
                "rows": [[2, {"siret": "73282932000074", "raison_sociale": "Organisme"}]],
                "total": 1,
                "done": 1,
                "created": 1,
                "updated": 0,
                "unchanged": 0,
                "codes_issued": 1,
                "rejected": [[3, "12345;Trop court", "Le SIRET « 12345 » n'est pas valide."]],
                "letters": [["73282932000074", "Organisme"]],
                "started_at": at(900),
                "finished_at": at(901),
            },
        ),
    ],
}


def _upto(revision: str) -> list[tuple[str, dict[str, Any]]]:
    return [row for rev in revisions() if rev <= revision for row in SEEDS[rev]]


def _seed(engine: Engine, revision: str) -> None:
    """Write the rows of every revision up to `revision`, in the tables as they are now."""
    metadata = MetaData()
    with engine.begin() as connection:
        for table_name, row in _upto(revision):
            table = Table(table_name, metadata, autoload_with=connection)
            connection.execute(table.insert().values(**row))


def _utc(value: object) -> object:
    if isinstance(value, datetime):
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    return value


def _missing_or_changed(
    engine: Engine, rows: list[tuple[str, dict[str, Any]]], *, today: bool
) -> list[str]:
    """What differs between the seeded rows and the store, read through today's tables
    (`today`) or through the tables as the database has them."""
    problems: list[str] = []
    reflected = MetaData()
    with engine.connect() as connection:
        for table_name, row in rows:
            table = (
                Base.metadata.tables[table_name]
                if today
                else Table(table_name, reflected, autoload_with=connection)
            )
            key = and_(*(column == row[column.name] for column in table.primary_key.columns))
            found = connection.execute(select(table).where(key)).mappings().one_or_none()
            if found is None:
                problems.append(f"{table_name} {row}: absente")
                continue
            for name, value in row.items():
                if _utc(found[name]) != _utc(value):
                    problems.append(f"{table_name}.{name}: {found[name]!r} au lieu de {value!r}")
    return problems


def test_every_revision_has_its_seed() -> None:
    assert sorted(SEEDS) == revisions()


@pytest.mark.parametrize("revision", revisions())
def test_a_store_filled_at_a_revision_upgrades_to_head_and_back_with_nothing_lost(
    database_url: str, revision: str
) -> None:
    migrate(database_url, revision)
    engine = make_engine(database_url)
    try:
        _seed(engine, revision)

        migrate(database_url)
        assert _missing_or_changed(engine, _upto(revision), today=True) == []

        downgrade(database_url, revision)
        assert _missing_or_changed(engine, _upto(revision), today=False) == []
    finally:
        engine.dispose()
