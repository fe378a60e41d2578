"""The public API (CONTRACT §2) and the provider's webhook intake. `create_app` builds it."""
