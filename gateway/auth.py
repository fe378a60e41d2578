"""Bearer JWT verification.

Only HS256 with the shared `JWT_SECRET` is accepted: pinning the algorithm list is what
defeats `alg: none` and RS256/HS256 confusion (a token "signed" with a public key as an
HMAC secret). `exp`, `iss` (`JWT_ISSUER`, the Auth service) and `aud` (`JWT_AUDIENCE`, this
API) are required, so a token minted with the same secret for another service or by another
issuer is refused; `nbf` and `iat` are honoured, `sub` must be a UUID.
"""

import re
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
    return _subject(verify_claims(token, secret, issuer=issuer, audience=audience).get("sub"))


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
    _subject(claims.get("sub"))
    return claims


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
    """FastAPI dependency: the authenticated user's id (their `email` claim is kept on
    `request.state` for `token_email`: 54-FZ receipts need a contact)."""
    settings = request.app.state.services.settings
    claims = verify_claims(
        bearer_token(request.headers.get("authorization")),
        settings.jwt_secret.get_secret_value(),
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
    )
    request.state.token_email = email_claim(claims.get("email"))
    return _subject(claims.get("sub"))


def email_claim(value: object) -> str | None:
    """The token's `email` claim when it looks like an address; anything else is no email."""
    if isinstance(value, str) and len(value) <= MAX_EMAIL_LENGTH and EMAIL.fullmatch(value):
        return value
    return None


async def token_email(
    request: Request, _user: Annotated[uuid.UUID, Depends(current_user)]
) -> str | None:
    """FastAPI dependency: the authenticated user's `email` claim, if the token has one."""
    email: str | None = getattr(request.state, "token_email", None)
    return email


CurrentUser = Annotated[uuid.UUID, Depends(current_user)]
TokenEmail = Annotated[str | None, Depends(token_email)]
