"""The store fixtures (SQLite and PostgreSQL) for the security tests that run below the web."""

from tests.store.conftest import database_url, postgres_server, sessions

__all__ = ["database_url", "postgres_server", "sessions"]
