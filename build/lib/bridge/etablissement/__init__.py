"""Establishments (SIRET) and the activation codes sent to them by post."""
