"""Dev JWTs: from the Auth sandbox (what clients really get), or signed here with JWT_SECRET."""

from __future__ import annotations

import time
import uuid

import httpx
import jwt

ALGORITHM = "HS256"


def local_token(
    user_id: uuid.UUID, secret: str, issuer: str, audience: str, ttl_s: int = 3600
) -> str:
    """Signed here, with the `email` claim the Auth sandbox gives (54-FZ receipts need one)."""
    now = int(time.time())
    claims = {
        "sub": str(user_id),
        "email": f"{user_id}@users.auth-sandbox.test",
        "iss": issuer,
        "aud": audience,
        "iat": now,
        "nbf": now,
        "exp": now + ttl_s,
    }
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def auth_token(user_id: uuid.UUID, auth_url: str, timeout: float = 10.0) -> str:
    response = httpx.post(
        f"{auth_url.rstrip('/')}/api/v1/token", json={"user_id": str(user_id)}, timeout=timeout
    )
    response.raise_for_status()
    return str(response.json()["access_token"])
