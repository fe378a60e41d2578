"""`python -m consumers.subscriptions`: who holds the subscriber role, kept equal to the DB."""
