"""Helpers for the gateway unit tests (tokens signed as the Auth service would)."""

import base64
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import jwt

SECRET = "unit-test-jwt-secret-" + "0123456789abcdef" * 4
ISSUER = "unit-test-auth"
AUDIENCE = "unit-test-billing"
TokenFactory = Callable[..., str]


def make_token(
    sub: Any = None, secret: str = SECRET, algorithm: str = "HS256", **claims: Any
) -> str:
    """A token for `sub` (a fresh UUID by default); a claim given as None is left out."""
    payload = {
        "sub": str(uuid.uuid4()) if sub is None else sub,
        "iss": ISSUER,
        "aud": AUDIENCE,
        "exp": time.time() + 300,
    }
    payload.update(claims)
    payload = {name: value for name, value in payload.items() if value is not None}
    return jwt.encode(payload, secret, algorithm=algorithm)


def unsigned_token(header: dict[str, Any], payload: dict[str, Any], signature: bytes = b"") -> str:
    def part(raw: bytes) -> str:
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    return ".".join(
        [part(json.dumps(header).encode()), part(json.dumps(payload).encode()), part(signature)]
    )


def hand_signed_hs256(payload: dict[str, Any], key: bytes) -> str:
    """HS256 signed by hand, e.g. with a public key as the secret (PyJWT refuses to)."""
    unsigned = unsigned_token({"alg": "HS256", "typ": "JWT"}, payload).rsplit(".", 1)[0]
    signature = hmac.new(key, unsigned.encode(), hashlib.sha256).digest()
    return unsigned + "." + base64.urlsafe_b64encode(signature).decode().rstrip("=")
