"""Alembic environment: the URL comes from the caller (`bridge.db.migrate`) or BRIDGE_DATABASE_URL."""

from __future__ import annotations

import os

from alembic import context

from bridge.db import Base, make_engine
from bridge.models import import_models

import_models()
config = context.config
url = config.get_main_option("sqlalchemy.url") or os.environ.get(
    "BRIDGE_DATABASE_URL", "sqlite:///bridge.db"
)

if context.is_offline_mode():
    context.configure(url=url, target_metadata=Base.metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            sqlite = connection.dialect.name == "sqlite"
            if sqlite:
                # A batch migration rebuilds a table (copy, drop, rename): with SQLite's
                # foreign keys on, dropping a table that others reference fails on a store
                # that holds data. Off for the migration (outside any transaction, where
                # SQLite honours it), every reference checked before the commit.
                connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
                connection.commit()
            context.configure(
                connection=connection, target_metadata=Base.metadata, render_as_batch=True
            )
            with context.begin_transaction():
                context.run_migrations()
                if sqlite:
                    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                    if broken:
                        raise RuntimeError(f"foreign keys broken by the migration: {broken}")
            if sqlite:
                connection.exec_driver_sql("PRAGMA foreign_keys=ON")
                connection.commit()
    finally:
        engine.dispose()
