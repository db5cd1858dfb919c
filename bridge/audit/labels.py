"""What a person reads for each audit code: a short French sentence, never the code.

Every code that `record` is called with in `bridge/` has its sentence here; a unit test
(`tests/unit/test_audit_labels.py`) reads the calls and fails on a code without one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

ACTION_LABELS: Mapping[str, str] = {
    # Habilitations and access requests (users screen)
    "habilitation-accordee": "Habilitation accordée",
    "habilitation-modifiee": "Habilitation modifiée",
    "habilitation-retiree": "Habilitation supprimée",
    "demande-acces-creee": "Demande d'accès envoyée",
    "demande-acces-refusee": "Demande d'accès refusée",
    "demande-acces-retiree": "Demande d'accès retirée par son auteur",
    "console-refusee": "Modification depuis la console Keycloak refusée",
    # Establishments and activation codes
    "code-emis": "Code d'activation émis",
    "code-reedite": "Nouveau code d'activation émis",
    "code-incorrect": "Code d'activation erroné saisi",
    "code-debloque": "Blocage des codes d'activation levé par l'opérateur",
    "import-etablissements": "Établissements importés",
    "import-rejets-telecharges": "Fichier des lignes rejetées d'un import téléchargé",
    # Delegations to a tiers
    "delegation-invitee": "Délégation proposée : invitation envoyée",
    "delegation-relancee": "Invitation à la délégation renvoyée",
    "delegation-acceptee": "Délégation acceptée",
    "delegation-refusee": "Délégation refusée",
    "delegation-modifiee": "Délégation modifiée",
    "delegation-revoquee": "Délégation révoquée",
    "delegation-expiree": "Délégation arrivée à son terme",
    # Employer space
    "organisation-creee": "Organisation ouverte",
    "unite-ajoutee": "Unité ajoutée",
    "administrateur-principal-change": "Administrateur principal désigné",
    "gestionnaire-ajoute": "Gestionnaire ajouté",
    "gestionnaire-modifie": "Gestionnaire modifié",
    "gestionnaire-desactive": "Compte du gestionnaire désactivé",
    "gestionnaire-reactive": "Compte du gestionnaire réactivé",
    "mot-de-passe-renouvele": "Mot de passe renouvelé",
    # BPF
    "bpf.enregistrement": "Bilan pédagogique et financier enregistré",
    "bpf.depot": "Bilan pédagogique et financier déposé",
    # The platform and the account's life
    "operateur-designe": "Désigné opérateur de la plateforme",
    "operateur-retire": "Retiré des opérateurs de la plateforme",
    "compte-supprime": "Compte supprimé",
    "compte-desactive": "Compte désactivé",
    "compte-reactive": "Compte réactivé",
    "compte-debloque": "Compte débloqué par l'opérateur (trop d'échecs de connexion)",
    "fiche-consultee": "Fiche consultée par l'opérateur",
    "sans-gestionnaire": "Établissement resté sans gestionnaire",
    "lien-activation-renvoye": "Nouveau lien d'activation envoyé",
    "donnees-exportees": "Données personnelles téléchargées",
    "personne-pseudonymisee": "Coordonnées d'une personne supprimée effacées (durée de conservation)",
}


def action_label(action: str) -> str:
    """The sentence of an audit code; an unknown code reads as an event, never as itself."""
    return ACTION_LABELS.get(action, "Autre événement")


def action_sentence(action: str, details: Mapping[str, Any], role_label: Any) -> str:
    """The sentence with the roles it names in words: « Habilitation modifiée : Déclarant
    devient Gestionnaire ». `role_label` turns a role's id into its label."""
    label = action_label(action)
    role, before = details.get("role"), details.get("ancien_role")
    if isinstance(role, str) and isinstance(before, str) and before != role:
        return f"{label} : {role_label(before)} devient {role_label(role)}"
    if isinstance(role, str):
        return f"{label} : {role_label(role)}"
    return label
