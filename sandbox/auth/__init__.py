"""Auth simulator: issues JWTs the gateway accepts, keeps roles, logs every call."""
