"""Projection of the bridge's state onto Keycloak; `keycloak.py` is the only admin-API speaker."""
