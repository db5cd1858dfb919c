"""The web layer's login: OIDC code flow with PKCE, CSRF, the portal session."""
