"""The payment provider, seen from our side. Only `yookassa.py` speaks to it."""
