"""Habilitations (a person's role in a démarche on a SIRET) and access requests."""
