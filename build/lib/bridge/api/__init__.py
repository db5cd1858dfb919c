"""The bridge's web layer: JSON API, portal pages, OIDC login; thin, it calls the services."""
