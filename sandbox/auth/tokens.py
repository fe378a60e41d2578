"""HS256 access tokens: ``sub`` = user id, ``iss``/``aud`` (JWT_ISSUER, JWT_AUDIENCE),
``iat``/``nbf``/``exp``."""

from __future__ import annotations

import time
import uuid

import jwt

from sandbox.auth.settings import AuthSettings


def issue(settings: AuthSettings, user_id: uuid.UUID, roles: list[str]) -> dict[str, object]:
    now = int(time.time())
    claims = {
        "sub": str(user_id),
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "iat": now,
        "nbf": now,
        "exp": now + settings.jwt_ttl_seconds,
        "jti": str(uuid.uuid4()),
        "roles": roles,
    }
    token = jwt.encode(claims, settings.jwt_secret.get_secret_value(), algorithm="HS256")
    return {"access_token": token, "token_type": "bearer", "expires_in": settings.jwt_ttl_seconds}
