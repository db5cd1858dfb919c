"""Every table of the store, registered on `Base.metadata` (for migrations and tests).

Importing this module is the registry: Alembic's `env.py`, the store tests and the benches
import it to see the whole schema. The application itself never needs it (each package
imports the models it uses).
"""

from __future__ import annotations

from sqlalchemy import MetaData

import bridge.audit.models
import bridge.bpf.models
import bridge.delegation.models
import bridge.employeur.models
import bridge.etablissement.models
import bridge.habilitation.models
import bridge.habilitation.operators
import bridge.identity.ended_sessions
import bridge.identity.web_sessions
import bridge.notification
import bridge.outbox
import bridge.person.models
import bridge.sync.models  # noqa: F401
from bridge.db import Base


def import_models() -> MetaData:
    """The metadata holding every table (they are registered when this module loads)."""
    return Base.metadata
