"""JSON routes of the API (`/api/v1/…`): they adapt HTTP to the services, nothing more."""
