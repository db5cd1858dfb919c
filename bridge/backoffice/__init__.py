"""The operator's back-office: what the service in charge of a démarche looks up and does."""
