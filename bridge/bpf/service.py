"""Read, save and submit a BPF: only the SIRET's gestionnaires and déclarants, directly or
through a live delegation, read from the store on every call (`may_act`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import NoReturn

from sqlalchemy import and_, bindparam, literal, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bridge.audit.service import Actor, record
from bridge.bpf.cerfa import as_json, check
from bridge.bpf.models import Bpf, BpfSave, BpfStatus
from bridge.catalog import Catalog
from bridge.db import now
from bridge.delegation.service import PARIS
from bridge.errors import ConflictError, ForbiddenError, InvalidInputError, NotFoundError
from bridge.etablissement.models import Etablissement
from bridge.habilitation.models import GrantedHow, Habilitation
from bridge.habilitation.service import (
    MAY_ACT_EXISTS,
    active_clause,
    flush_pending,
    may_act,
    may_act_parameters,
)

DEMARCHE = "mon-activite-formation"
ROLE = "declarant"
FIRST_YEAR = 2000


class BpfInvalidError(InvalidInputError):
    """The form's errors, field by field (`erreurs`), with one French summary."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        count = len(errors)
        super().__init__(
            f"{count} champ{'s' if count > 1 else ''} à corriger : rien n'a été enregistré.",
            erreurs=dict(errors),
        )


# The right and the BPF in one statement (one round trip): one row, its BPF columns empty when
# none is saved or when the right does not hold (the BPF is then not even read).
_ONE_ROW = select(literal(1).label("one")).subquery()
_READ_IF_ALLOWED = select(MAY_ACT_EXISTS.label("allowed"), *Bpf.__table__.c).select_from(
    _ONE_ROW.outerjoin(
        Bpf.__table__,
        and_(Bpf.siret == bindparam("siret"), Bpf.exercice == bindparam("year"), MAY_ACT_EXISTS),
    )
)
_BPF_COLUMNS = [column.key for column in Bpf.__table__.c]


def _check_year(year: int) -> None:
    if not FIRST_YEAR <= year <= now().year:
        raise InvalidInputError(
            f"L'exercice doit être compris entre {FIRST_YEAR} et {now().year}.",
            field="exercice",
        )


class BpfService:
    def __init__(self, session: Session, catalog: Catalog) -> None:
        self.session = session
        self.catalog = catalog

    def _allow(self, actor: Actor, siret: str, year: int) -> None:
        """Refuse whoever may not declare for `siret` now (read from the store each time)."""
        _check_year(year)
        if not may_act(self.session, self.catalog, actor.subject, DEMARCHE, ROLE, siret):
            self._refuse(actor, siret)

    def _refuse(self, actor: Actor, siret: str) -> NoReturn:
        """Why the actor may not declare for `siret`: its delegation's end, or no right."""
        ended = self._last_delegation(actor, siret)
        if ended is not None:  # an outside firm: no access to request, only its client
            raise ForbiddenError(self._delegation_ended(ended, siret))
        raise ForbiddenError(
            f"Vous n'êtes ni gestionnaire ni déclarant du SIRET {siret} pour Mon Activité "
            "Formation : demandez l'accès à un gestionnaire."
        )

    def _last_delegation(self, actor: Actor, siret: str) -> Habilitation | None:
        """The last right the actor received by delegation for `siret`, if any."""
        return self.session.scalar(
            select(Habilitation)
            .where(
                Habilitation.subject == actor.subject,
                Habilitation.demarche == DEMARCHE,
                Habilitation.siret == siret,
                Habilitation.granted_how == GrantedHow.DELEGATION,
            )
            .order_by(Habilitation.granted_at.desc(), Habilitation.id.desc())
            .limit(1)
        )

    def _delegation_ended(self, right: Habilitation, siret: str) -> str:
        """Who delegated, that it was revoked or came to its end, and whom to contact."""
        etablissement = self.session.get(Etablissement, siret)
        name = etablissement.name if etablissement and etablissement.name else "cet organisme"
        who = f"{name} (SIRET {siret})"
        end, revoked = right.valid_until, right.revoked_at
        if end is not None and (revoked is None or revoked >= end):  # its end date came
            how = f"a pris fin le {end.astimezone(PARIS):%d/%m/%Y}"
        elif revoked is not None:
            how = f"a été révoquée le {revoked.astimezone(PARIS):%d/%m/%Y}"
        else:
            how = "a pris fin"
        return (
            f"La délégation que {who} vous avait donnée pour Mon Activité Formation {how} : "
            f"vous ne pouvez plus agir pour cet organisme. Pour agir de nouveau, contactez "
            f"{name} : lui seul peut vous déléguer de nouveau ce rôle."
        )

    def _tiers_siret(self, actor: Actor, siret: str) -> str | None:
        """The tiers' own SIRET when the actor holds the right only through a delegation."""
        held = self.session.scalars(
            select(Habilitation).where(
                Habilitation.subject == actor.subject,
                Habilitation.demarche == DEMARCHE,
                Habilitation.siret == siret,
                active_clause(now()),
            )
        ).all()
        if any(h.granted_how != GrantedHow.DELEGATION for h in held):
            return None
        return next((h.on_behalf_of_siret for h in held if h.on_behalf_of_siret), None)

    def _find(self, siret: str, year: int) -> Bpf | None:
        return self.session.scalar(select(Bpf).where(Bpf.siret == siret, Bpf.exercice == year))

    def etablissement_name(self, siret: str) -> str:
        """The establishment's name for the form's heading and the receipt ("" if unknown)."""
        etablissement = self.session.get(Etablissement, siret)
        return etablissement.name if etablissement else ""

    def read(self, actor: Actor, siret: str, year: int) -> Bpf | None:
        """The BPF as stored, detached, if the actor may declare for `siret` (the API's hot
        read: the right and the BPF in one statement built once, its row copied into a `Bpf`
        the session does not track)."""
        _check_year(year)
        parameters = may_act_parameters(self.catalog, actor.subject, DEMARCHE, ROLE, siret)
        if parameters is None:
            self._refuse(actor, siret)
        flush_pending(self.session)
        row = (
            self.session.connection().execute(_READ_IF_ALLOWED, {**parameters, "year": year}).one()
        )
        if not row.allowed:
            self._refuse(actor, siret)
        if row.id is None:
            return None
        return Bpf(**{key: row._mapping[key] for key in _BPF_COLUMNS})

    def history(self, actor: Actor, siret: str, year: int) -> list[BpfSave]:
        return self.read_with_history(actor, siret, year)[1]

    def read_with_history(
        self, actor: Actor, siret: str, year: int
    ) -> tuple[Bpf | None, list[BpfSave]]:
        """The BPF and its saves, newest first, for one check of the right (the page)."""
        self._allow(actor, siret, year)
        bpf = self._find(siret, year)
        if bpf is None:
            return None, []
        saves = self.session.scalars(
            select(BpfSave).where(BpfSave.bpf_id == bpf.id).order_by(BpfSave.id.desc())
        )
        return bpf, list(saves)

    def save(
        self, actor: Actor, siret: str, year: int, raw: Mapping[str, object], version: int
    ) -> Bpf:
        """Save the draft as given (whole form), if nobody saved since `version`."""
        self._allow(actor, siret, year)
        tiers = self._tiers_siret(actor, siret)
        values, errors = check(raw, complete=False)
        if errors:
            raise BpfInvalidError(errors)
        bpf = self._find(siret, year)
        if bpf is None:
            if version != 0:
                raise ConflictError("Ce BPF n'existe pas encore : enregistrez depuis la version 0.")
            if self.session.get(Etablissement, siret) is None:
                raise NotFoundError(f"Le SIRET {siret} n'est pas connu.")
            bpf = Bpf(siret=siret, exercice=year, content={}, version=0)
            self.session.add(bpf)
            try:
                self.session.flush()
            except IntegrityError as exc:  # a first save by someone else at the same moment
                raise ConflictError(
                    "Ce BPF vient d'être créé par quelqu'un d'autre : rechargez-le avant de "
                    "l'enregistrer."
                ) from exc
        content = as_json(values)
        changed = sorted(
            k for k in {*bpf.content, *content} if bpf.content.get(k) != content.get(k)
        )
        self._advance(bpf, version, content=content, updated_at=now())
        self._remember(actor, bpf, "enregistrement", tiers, changed)
        return bpf

    def submit(self, actor: Actor, siret: str, year: int, version: int) -> Bpf:
        """Submit the saved draft: complete and consistent, then read-only with a receipt."""
        self._allow(actor, siret, year)
        tiers = self._tiers_siret(actor, siret)
        bpf = self._find(siret, year)
        if bpf is None:
            raise NotFoundError("Enregistrez d'abord le BPF avant de le déposer.")
        if bpf.status == BpfStatus.SUBMITTED:
            raise ConflictError(f"Ce BPF est déjà déposé (récépissé {bpf.receipt_number}).")
        _, errors = check(bpf.content, complete=True)
        if errors:
            raise BpfInvalidError(errors)
        moment = now()
        self._advance(
            bpf,
            version,
            status=BpfStatus.SUBMITTED,
            submitted_at=moment,
            receipt_number=f"BPF-{year}-{bpf.id:07d}",
            updated_at=moment,
        )
        self._remember(actor, bpf, "depot", tiers, [])
        return bpf

    def _advance(self, bpf: Bpf, version: int, **values: object) -> None:
        """One conditional update: a concurrent save or submission makes the other fail."""
        done = self.session.execute(
            update(Bpf)
            .where(Bpf.id == bpf.id, Bpf.version == version, Bpf.status == BpfStatus.DRAFT)
            .values(version=version + 1, **values)
            .execution_options(synchronize_session=False)
        )
        if done.rowcount != 1:  # type: ignore[attr-defined]
            self.session.refresh(bpf)
            if bpf.status == BpfStatus.SUBMITTED:
                raise ConflictError(
                    f"Ce BPF est déposé (récépissé {bpf.receipt_number}) : il ne peut plus être "
                    "modifié."
                )
            raise ConflictError(
                f"Ce BPF a été enregistré entre-temps (version {bpf.version}) : rechargez-le "
                "avant de l'enregistrer à nouveau."
            )
        self.session.refresh(bpf)

    def _remember(
        self, actor: Actor, bpf: Bpf, action: str, tiers: str | None, changed: list[str]
    ) -> None:
        self.session.add(
            BpfSave(
                bpf_id=bpf.id,
                action=action,
                version=bpf.version,
                by_subject=actor.subject,
                by_name=actor.display_name,
                tiers_siret=tiers,
                changed=changed,
            )
        )
        record(
            self.session,
            actor,
            f"bpf.{action}",
            target=f"bpf:{bpf.id}",
            siret=bpf.siret,
            demarche=DEMARCHE,
            exercice=bpf.exercice,
            version=bpf.version,
            pour_le_compte_de=bpf.siret if tiers else None,
        )
