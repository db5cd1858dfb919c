"""Keep the local copy of a person's contact details equal to what Keycloak said at login."""

from __future__ import annotations

from sqlalchemy.orm import Session

from bridge.db import now
from bridge.person.models import Person


def remember_person(
    session: Session,
    subject: str,
    email: str,
    first_name: str,
    last_name: str,
    civility: str | None = None,
    phone: str | None = None,
) -> Person:
    person = session.get(Person, subject)
    if person is None:
        person = Person(subject=subject, email=email.strip().lower())
        session.add(person)
    person.email = email.strip().lower()  # stored lowercased: lookups use the index
    person.first_name = first_name
    person.last_name = last_name
    if civility is not None:
        person.civility = civility
    if phone is not None:
        person.phone = phone
    person.updated_at = now()
    return person
