"""Bridge: habilitations per SIRET and démarche, projected onto Keycloak."""
