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


def refresh_person(
    session: Session, subject: str, email: str, given: str, family: str, fallback_email: str
) -> None:
    """Write what a token says of the person, only where it changed; never an empty name,
    and the address only when Keycloak verified it (`email` empty otherwise)."""
    known = session.get(Person, subject)
    unchanged = known is not None and (
        (not email or known.email == email)
        and (not given or known.first_name == given)
        and (not family or known.last_name == family)
    )
    if unchanged:
        return
    remember_person(
        session,
        subject,
        email or (known.email if known else fallback_email),
        given or (known.first_name if known else ""),
        family or (known.last_name if known else ""),
    )


class PersonService:
    """The local copy of people's contact details, for the routes and jobs."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def remember(
        self,
        subject: str,
        email: str,
        first_name: str,
        last_name: str,
        civility: str | None = None,
        phone: str | None = None,
    ) -> Person:
        return remember_person(self.session, subject, email, first_name, last_name, civility, phone)

    def refresh(
        self, subject: str, email: str, given: str, family: str, fallback_email: str
    ) -> None:
        refresh_person(self.session, subject, email, given, family, fallback_email)
