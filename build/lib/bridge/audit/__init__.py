"""The append-only audit trail: who did what, on which SIRET, when, from where."""
