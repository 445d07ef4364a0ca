"""Talking to a running stack's alerting: Alertmanager's API v2, the relay's records, test alerts."""
