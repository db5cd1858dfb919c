"""Projection of the bridge's state onto Keycloak: planner, worker, loop, reconcile, console.

It speaks to Keycloak only through `bridge/keycloak_admin.py`, and never imports the web
layer: entry points give it a unit of work and a projector.
"""
