"""Load and validate the policy catalog; a mistake stops the start and names its line.

Policy is data (DESIGN §3): which roles a démarche has, how its first holder enters, who
may grant which role, what may be delegated to a tiers, who may renew whose password.
The engine reads these answers here and has no démarche-specific branch.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

DEFAULT_CATALOG = Path(__file__).with_name("catalog.yaml")
OPERATOR = "operateur"
# The action a relying party may ask about besides each role: act with any role of the
# démarche (AuthZEN action search and the démarche site use it). No role may take the name.
ANY_ROLE = "agir"

Identifier = Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]*$", max_length=64)]


class CatalogError(Exception):
    """The catalog is unusable; the message names the file and line at fault."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Role(_Strict):
    id: Identifier
    label: str = Field(min_length=1)
    description: str = ""
    granted_by: tuple[Identifier, ...] = Field(min_length=1)
    delegable: bool = False
    implies: tuple[Identifier, ...] = ()
    password_renewed_by: tuple[Identifier, ...] = ()
    # May an administrator grant or remove this role in the Keycloak console (then recorded
    # as an audited habilitation)? When false, such an edit is reverted and reported. Off
    # unless the catalog says so: a new role is never opened to the console by omission.
    console: bool = False


class OrganisationType(_Strict):
    id: Identifier
    label: str = Field(min_length=1)


class MenuEntry(_Strict):
    """One entry of a démarche's home menu; who sees it is data, not code."""

    id: Identifier
    label: str = Field(min_length=1)
    description: str = ""
    destination: str = Field(pattern=r"^(/|https://)", min_length=1)
    organisation_types: tuple[Identifier, ...] = ()
    roles: tuple[Identifier, ...] = ()

    def shown_to(self, organisation_type: str, roles: set[str]) -> bool:
        """Seen by an organisation of that type, by a holder of one of `roles` (or anyone)."""
        return (not self.organisation_types or organisation_type in self.organisation_types) and (
            not self.roles or bool(roles & set(self.roles))
        )

    def address(self, siret: str) -> str:
        return self.destination.replace("{siret}", siret)


class Demarche(_Strict):
    id: Identifier
    title: str = Field(min_length=1)
    description: str = ""
    audience: Literal["organisme-de-formation", "employeur"]
    entry: Literal["activation-code", "operator"]
    first_holder_role: Identifier
    access_requests: bool = False
    redelegation: bool = False
    roles: tuple[Role, ...] = Field(min_length=1)
    organisation_types: tuple[Identifier, ...] = ()
    menu: tuple[MenuEntry, ...] = ()
    # Whom a person who lost the activation code's letter contacts, as the end of the hint
    # « … contactez {code_contact}. » on « Ajouter une démarche ».
    code_contact: str = Field(default="le service en charge de la démarche", min_length=1)

    def role(self, role_id: str) -> Role | None:
        return next((r for r in self.roles if r.id == role_id), None)

    @cached_property
    def _satisfying(self) -> dict[str, frozenset[str]]:
        """For each role R: the roles whose holder may act as R (R and what implies it)."""
        implied: dict[str, set[str]] = {}
        for role in self.roles:
            seen: set[str] = set()
            stack = [role.id]
            while stack:
                current = stack.pop()
                if current in seen:
                    continue
                seen.add(current)
                found = self.role(current)
                stack.extend(found.implies if found else ())
            implied[role.id] = seen
        return {
            r.id: frozenset(h for h, acts_as in implied.items() if r.id in acts_as)
            for r in self.roles
        }

    def roles_acting_as(self, role_id: str) -> frozenset[str]:
        """Held roles that allow acting as `role_id` (empty for an unknown role)."""
        return self._satisfying.get(role_id, frozenset())

    @property
    def actions(self) -> tuple[str, ...]:
        """What a relying party may ask whether a person may do: each role, then `agir`."""
        return (*(r.id for r in self.roles), ANY_ROLE)

    def roles_for_action(self, action: str) -> frozenset[str]:
        """Held roles that allow `action`: a role's own answer, or every role for `agir`."""
        if action == ANY_ROLE:
            return frozenset(r.id for r in self.roles)
        return self.roles_acting_as(action)

    def may_grant(self, granter_roles: set[str], role_id: str, *, operator: bool = False) -> bool:
        """May someone holding `granter_roles` on a SIRET grant `role_id` on that SIRET?"""
        role = self.role(role_id)
        if role is None:
            return False
        if operator and OPERATOR in role.granted_by:
            return True
        return any(
            self.roles_acting_as(g) & granter_roles for g in role.granted_by if g != OPERATOR
        )

    def may_renew_password(
        self, renewer_roles: set[str], holder_roles: set[str], *, operator: bool = False
    ) -> bool:
        """May someone holding `renewer_roles` renew the password of a holder of
        `holder_roles` (same SIRET)? Every role held must allow it: the strictest wins."""
        rules = [self.role(r) for r in holder_roles]
        if not holder_roles or any(r is None or not r.password_renewed_by for r in rules):
            return False
        return all(
            (operator and OPERATOR in r.password_renewed_by)
            or any(
                self.roles_acting_as(g) & renewer_roles
                for g in r.password_renewed_by
                if g != OPERATOR
            )
            for r in rules
            if r is not None
        )

    def menu_for(self, organisation_type: str, roles: set[str]) -> tuple[MenuEntry, ...]:
        return tuple(e for e in self.menu if e.shown_to(organisation_type, roles))

    def menu_entry(self, entry_id: str) -> MenuEntry | None:
        return next((e for e in self.menu if e.id == entry_id), None)

    @property
    def delegable_roles(self) -> tuple[Role, ...]:
        return tuple(r for r in self.roles if r.delegable)


class Catalog(_Strict):
    version: Literal[1]
    organisation_types: tuple[OrganisationType, ...] = ()
    demarches: tuple[Demarche, ...] = Field(min_length=1)

    def organisation_type(self, type_id: str) -> OrganisationType | None:
        return next((t for t in self.organisation_types if t.id == type_id), None)

    @property
    def employer_demarches(self) -> tuple[Demarche, ...]:
        """Démarches whose SIRETs are organisations created by the operator."""
        return tuple(d for d in self.demarches if d.organisation_types)

    def demarche(self, demarche_id: str) -> Demarche | None:
        return next((d for d in self.demarches if d.id == demarche_id), None)

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(d.id for d in self.demarches)

    def title_of(self, demarche_id: str) -> str:
        """What a person reads for a démarche: its title, never its identifier."""
        found = self.demarche(demarche_id)
        return found.title if found else demarche_id

    def role_label(self, demarche_id: str, role_id: str) -> str:
        """What a person reads for a role: its label (« Déclarant »), never its identifier."""
        found = self.demarche(demarche_id)
        role = found.role(role_id) if found else None
        return role.label if role else role_id


def load_catalog(path: Path = DEFAULT_CATALOG) -> Catalog:
    """Read, validate and cross-check the catalog; any fault raises `CatalogError`."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CatalogError(f"{path.name} : fichier illisible ({exc}).") from exc
    try:
        root = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f", ligne {mark.line + 1}" if mark is not None else ""
        raise CatalogError(f"{path.name}{where} : YAML invalide ({exc}).") from exc
    lines = dict(_node_lines(root, ())) if root is not None else {}
    try:
        catalog = Catalog.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = tuple(first["loc"])
        raise CatalogError(
            f"{path.name}, ligne {_line_of(lines, loc)} : {'.'.join(map(str, loc)) or 'racine'} — "
            f"{first['msg']}."
        ) from exc
    for loc, message in _cross_check(catalog):
        raise CatalogError(f"{path.name}, ligne {_line_of(lines, loc)} : {message}.")
    return catalog


def _cross_check(catalog: Catalog) -> Iterator[tuple[tuple[Any, ...], str]]:
    """Rules that span entries: unique ids and references to roles that exist."""
    seen: set[str] = set()
    for d_index, demarche in enumerate(catalog.demarches):
        here: tuple[Any, ...] = ("demarches", d_index)
        if demarche.id in seen:
            yield (*here, "id"), f"la démarche « {demarche.id} » est déclarée deux fois"
        seen.add(demarche.id)
        role_ids = [r.id for r in demarche.roles]
        if demarche.role(demarche.first_holder_role) is None:
            yield (
                (*here, "first_holder_role"),
                (f"le rôle « {demarche.first_holder_role} » n'existe pas dans « {demarche.id} »"),
            )
        if demarche.entry == "operator":
            # Its rights change only through the organisation's service (one gestionnaires
            # list): no access request, no delegation, no console may add one beside it.
            if demarche.access_requests:
                yield (
                    (*here, "access_requests"),
                    "une démarche ouverte par l'opérateur n'accepte pas de demandes d'accès",
                )
            for r_index, role in enumerate(demarche.roles):
                for field in ("delegable", "console"):
                    if getattr(role, field):
                        yield (
                            (*here, "roles", r_index, field),
                            f"le rôle « {role.id} » d'une démarche ouverte par l'opérateur ne "
                            f"peut pas être {'délégué' if field == 'delegable' else 'accordé depuis la console'}",
                        )
        known_types = {t.id for t in catalog.organisation_types}
        for t_index, type_id in enumerate(demarche.organisation_types):
            if type_id not in known_types:
                yield (
                    (*here, "organisation_types", t_index),
                    f"le type d'organisation « {type_id} » n'est pas déclaré",
                )
        for m_index, entry in enumerate(demarche.menu):
            for field, refs, known in (
                ("organisation_types", entry.organisation_types, set(demarche.organisation_types)),
                ("roles", entry.roles, set(role_ids)),
            ):
                for i, ref in enumerate(refs):
                    if ref not in known:
                        yield (
                            (*here, "menu", m_index, field, i),
                            f"« {ref} » n'existe pas dans « {demarche.id} »",
                        )
        for r_index, role in enumerate(demarche.roles):
            at = (*here, "roles", r_index)
            if role_ids.count(role.id) > 1:
                yield (*at, "id"), f"le rôle « {role.id} » est déclaré deux fois"
            if role.id == ANY_ROLE:
                yield (*at, "id"), f"« {ANY_ROLE} » est réservé (agir avec n'importe quel rôle)"
            for field in ("granted_by", "implies", "password_renewed_by"):
                for i, ref in enumerate(getattr(role, field)):
                    allowed = ref in role_ids or (ref == OPERATOR and field != "implies")
                    if not allowed:
                        yield (
                            (*at, field, i),
                            f"le rôle « {ref} » n'existe pas dans « {demarche.id} »",
                        )


def _node_lines(node: yaml.Node, path: tuple[Any, ...]) -> Iterator[tuple[tuple[Any, ...], int]]:
    yield path, node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            yield (*path, key.value), key.start_mark.line + 1
            yield from (
                (p, n) for p, n in _node_lines(value, (*path, key.value)) if p != (*path, key.value)
            )
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            yield from _node_lines(item, (*path, index))


def _line_of(lines: dict[tuple[Any, ...], int], loc: tuple[Any, ...]) -> int:
    """The line of `loc`, or of its nearest ancestor present in the file (a missing key)."""
    for cut in range(len(loc), -1, -1):
        if loc[:cut] in lines:
            return lines[loc[:cut]]
    return 1
