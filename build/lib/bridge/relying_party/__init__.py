"""A tiny démarche site, « Mon Activité Formation », served apart from the portal.

It is an ordinary OIDC relying party of the realm (its own client, its own cookie, its own
port): it proves single sign-on across démarches and back-channel logout.
"""
