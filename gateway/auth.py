"""Bearer JWT verification.

Only HS256 with the shared `JWT_SECRET` is accepted: pinning the algorithm list is what
defeats `alg: none` and RS256/HS256 confusion (a token "signed" with a public key as an
HMAC secret). `exp`, `iss` (`JWT_ISSUER`, the Auth service) and `aud` (`JWT_AUDIENCE`, this
API) are required, so a token minted with the same secret for another service or by another
issuer is refused; `nbf` and `iat` are honoured, `sub` must be a UUID.
"""

import uuid
from typing import Annotated

import jwt
from fastapi import Depends, Request

from gateway.errors import Unauthorized

ALGORITHMS = ["HS256"]


def verify_token(token: str, secret: str, *, issuer: str, audience: str) -> uuid.UUID:
    """The user id a valid token names; raises `Unauthorized` for anything else."""
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
    return _subject(claims.get("sub"))


def _subject(sub: object) -> uuid.UUID:
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
    settings = request.app.state.services.settings
    return verify_token(
        bearer_token(request.headers.get("authorization")),
        settings.jwt_secret.get_secret_value(),
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
    )


CurrentUser = Annotated[uuid.UUID, Depends(current_user)]
