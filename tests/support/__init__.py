"""Helpers shared by the tests (imported as ``tests.support.<module>``; conftest files hold only
fixtures)."""
