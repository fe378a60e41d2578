"""`python -m consumers.notifications`: tell the user what happened to their money."""
