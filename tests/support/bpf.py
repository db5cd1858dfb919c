"""A complete, consistent BPF (the figures of a small training organisation)."""

from __future__ import annotations


def complete_bpf() -> dict[str, object]:
    values: dict[str, object] = {
        "denomination": "EKYSS Formation",
        "nda": "11755555575",
        "c1": "12000.50",
        "c2a": "30000",
        "c2e": "8000",
        "c2_total": "38000",
        "c3c": "5000",
        "c3_total": "5000",
        "c4": "1500",
        "c_total": "56500.50",
        "c_part_ca": "80",
        "d_total": "40000",
        "d_salaires": "25000",
        "d_achats": "5000",
        "e1_personnes": 3,
        "e1_heures": 900,
        "f1a_stagiaires": 40,
        "f1a_heures": 1200,
        "f1c_stagiaires": 10,
        "f1c_heures": 800,
        "f1_total_stagiaires": 50,
        "f1_total_heures": 2000,
        "f1_distance_stagiaires": 5,
        "f1_distance_heures": 100,
        "f3a_stagiaires": 20,
        "f3a_heures": 1400,
        "f3d_stagiaires": 30,
        "f3d_heures": 600,
        "f3_total_stagiaires": 50,
        "f3_total_heures": 2000,
        "f4_1_specialite": "331 — Santé",
        "f4_1_stagiaires": 35,
        "f4_1_heures": 1500,
        "f4_autres_stagiaires": 15,
        "f4_autres_heures": 500,
        "f4_total_stagiaires": 50,
        "f4_total_heures": 2000,
        "h_nom": "Martin",
        "h_prenom": "Camille",
        "h_qualite": "Gérante",
    }
    return values
