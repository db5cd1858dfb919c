"""Delegation of a habilitation to a third party (tiers), by e-mail invitation."""
