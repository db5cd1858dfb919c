"""The local copy of a person's contact details, refreshed at each login.

Keycloak owns the account; the users screen searches names and e-mails among thousands of
habilitations, which needs them beside the habilitations in the store.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from bridge.db import Base, UtcDateTime, now


class Person(Base):
    __tablename__ = "person"
    __table_args__ = (
        # The few disabled people, for the rule « a disabled account may not act »: a batch of
        # checks on PostgreSQL read the whole table for it (docs/performance/).
        Index(
            "ix_person_disabled",
            "subject",
            postgresql_where=text("disabled_at IS NOT NULL"),
            sqlite_where=text("disabled_at IS NOT NULL"),
        ),
    )

    subject: Mapped[str] = mapped_column(String(64), primary_key=True)
    email: Mapped[str] = mapped_column(String(254), index=True)
    first_name: Mapped[str] = mapped_column(String(100), default="")
    last_name: Mapped[str] = mapped_column(String(100), default="", index=True)
    civility: Mapped[str | None] = mapped_column(String(20), default=None)
    phone: Mapped[str | None] = mapped_column(String(30), default=None)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=now)
    # The account's life in Keycloak, followed by the store (bridge/accounts/): a deleted
    # person's rights are ended; a disabled one keeps them but may not act until re-enabled.
    deleted_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    disabled_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    # After the retention period, a deleted person's name, address and phone are replaced here.
    pseudonymised_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)

    @property
    def display_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip() or self.email
