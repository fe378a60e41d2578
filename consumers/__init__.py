"""Consumers of billing.events.v1: Auth grants (subscriptions) and notifications.

Both share one run loop (`runner`), one retry/dead-letter policy (`delivery`) and one
inbox (`inbox`); each adds only its handler. See README.md for the design.
"""
