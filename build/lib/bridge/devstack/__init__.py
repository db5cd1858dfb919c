"""Local stack for development and tests: Keycloak distribution, mail catcher, app servers.

Nothing here runs in production; it exists so that a brand-new machine can run the real
parts (Keycloak from Maven Central, an SMTP catcher) without Docker.
"""
