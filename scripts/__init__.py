"""Operator scripts run against the running stack (`python -m scripts.<name>`)."""
