"""Fake external endpoints (chat APIs) for tests: servers on this host, never the internet."""
