"""Bearer JWT verification.

Only HS256 with the shared `JWT_SECRET` is accepted: pinning the algorithm list is what
defeats `alg: none` and RS256/HS256 confusion (a token "signed" with a public key as an
HMAC secret). `exp`, `iss` (`JWT_ISSUER`, the Auth service) and `aud` (`JWT_AUDIENCE`, this
API) are required, so a token minted with the same secret for another service or by another
issuer is refused; `nbf` and `iat` are honoured, `sub` must be a UUID.

A client sends the same token with each of its requests (a POST, then its status polls), so
the gateway keeps the claims of the tokens it verified lately (`VerifiedTokens`, bounded),
by the token's exact text: a token is one signed string, so the same text passed every check
above, and only `exp` can make it invalid later. A kept token is refused from its `exp` on,
exactly when PyJWT would refuse it; a token that failed a check is never kept.
"""

import re
import time
import uuid
from typing import Annotated, Any

import jwt
from fastapi import Depends, Request

from gateway.errors import Unauthorized

ALGORITHMS = ["HS256"]
MAX_EMAIL_LENGTH = 254
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def verify_token(token: str, secret: str, *, issuer: str, audience: str) -> uuid.UUID:
    """The user id a valid token names; raises `Unauthorized` for anything else."""
    return subject(verify_claims(token, secret, issuer=issuer, audience=audience).get("sub"))


def verify_claims(token: str, secret: str, *, issuer: str, audience: str) -> dict[str, Any]:
    """The claims of a valid token; raises `Unauthorized` for anything else."""
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=ALGORITHMS,
            issuer=issuer,
            audience=audience,
            options={"require": ["exp", "sub", "iss", "aud"], "verify_signature": True},
        )
    except jwt.PyJWTError as exc:
        raise Unauthorized(f"invalid token: {exc}") from exc
    subject(claims.get("sub"))
    return claims


class VerifiedTokens:
    """The claims of up to `size` tokens that passed `verify_claims`, by the token's text,
    each until its `exp`; the oldest is dropped first."""

    def __init__(self, size: int = 4096) -> None:
        self.size = size
        self._claims: dict[str, tuple[float, dict[str, Any]]] = {}

    def get(self, token: str, now: float | None = None) -> dict[str, Any] | None:
        kept = self._claims.get(token)
        if kept is None:
            return None
        if (time.time() if now is None else now) >= kept[0]:  # PyJWT: expired once exp <= now
            del self._claims[token]
            return None
        return kept[1]

    def put(self, token: str, claims: dict[str, Any]) -> None:
        if len(self._claims) >= self.size:
            del self._claims[next(iter(self._claims))]
        self._claims[token] = (float(claims["exp"]), claims)

    def verify(self, token: str, secret: str, *, issuer: str, audience: str) -> dict[str, Any]:
        """`verify_claims`, answered from the kept claims while the token has not expired."""
        claims = self.get(token)
        if claims is None:
            claims = verify_claims(token, secret, issuer=issuer, audience=audience)
            self.put(token, claims)
        return claims


def subject(sub: object) -> uuid.UUID:
    if not isinstance(sub, str):
        raise Unauthorized("the token's sub must be a user UUID")
    try:
        return uuid.UUID(sub)
    except ValueError as exc:
        raise Unauthorized("the token's sub must be a user UUID") from exc


def bearer_token(header: str | None) -> str:
    scheme, _, token = (header or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("missing Bearer token")
    return token.strip()


async def current_user(request: Request) -> uuid.UUID:
    """FastAPI dependency: the authenticated user's id."""
    return subject(request_claims(request).get("sub"))


def request_claims(request: Request) -> dict[str, Any]:
    """The claims of the request's Bearer token (`VerifiedTokens`); `Unauthorized` else."""
    svc = request.app.state.services
    settings = svc.settings
    claims: dict[str, Any] = svc.tokens.verify(
        bearer_token(request.headers.get("authorization")),
        settings.jwt_secret.get_secret_value(),
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
    )
    return claims


def email_claim(value: object) -> str | None:
    """The token's `email` claim when it looks like an address; anything else is no email."""
    if isinstance(value, str) and len(value) <= MAX_EMAIL_LENGTH and EMAIL.fullmatch(value):
        return value
    return None


CurrentUser = Annotated[uuid.UUID, Depends(current_user)]
