"""Fixtures of the integration tests: the platform and the API callers are shared with the
security tests, in tests/conftest.py."""
