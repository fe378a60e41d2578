"""Notification simulator: stores every notification, flags repeated ``dedup_key``s."""
