"""People as the bridge knows them: a copy of the Keycloak account's contact details."""
