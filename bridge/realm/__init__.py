"""The realm of `keycloak/realm-export/` applied to a live Keycloak (the deploy step
`python -m bridge keycloak appliquer`): what the project owns, compared, refused when edited
by hand, written."""
