"""HS256 access tokens: ``sub`` = user id, ``iss``/``aud`` (JWT_ISSUER, JWT_AUDIENCE),
``iat``/``nbf``/``exp``, ``roles`` and (unless asked for none) ``email``."""

from __future__ import annotations

import time
import uuid

import jwt

from sandbox.auth.settings import AuthSettings


def issue(
    settings: AuthSettings, user_id: uuid.UUID, roles: list[str], email: str | None = None
) -> dict[str, object]:
    now = int(time.time())
    claims: dict[str, object] = {
        "sub": str(user_id),
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "iat": now,
        "nbf": now,
        "exp": now + settings.jwt_ttl_seconds,
        "jti": str(uuid.uuid4()),
        "roles": roles,
    }
    if email is not None:
        claims["email"] = email
    token = jwt.encode(claims, settings.jwt_secret.get_secret_value(), algorithm="HS256")
    return {"access_token": token, "token_type": "bearer", "expires_in": settings.jwt_ttl_seconds}
