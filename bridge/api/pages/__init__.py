"""HTML routes of the portal, one module per screen family."""
