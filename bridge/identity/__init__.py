"""Who calls: bearer tokens verified locally, and the Keycloak sessions that ended."""
