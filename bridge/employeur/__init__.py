"""The employer space (second guide): organisations, units and their gestionnaires."""
