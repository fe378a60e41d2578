"""Every token the gateway must refuse gets 401 with the JSON error shape, on reads and writes."""

import base64
import hashlib
import hmac
import json
import os
import time
import uuid
from collections.abc import Callable

import httpx
import jwt
import pytest

from common.settings import DEV_JWT_SECRET, JWT_AUDIENCE, JWT_ISSUER
from tests.stack.conftest import Stack

SECRET = os.environ.get("JWT_SECRET", DEV_JWT_SECRET)
ISSUER = os.environ.get("JWT_ISSUER", JWT_ISSUER)
AUDIENCE = os.environ.get("JWT_AUDIENCE", JWT_AUDIENCE)
# Any RSA public key: what an attacker would use as the HMAC secret in an HS/RS confusion.
RSA_PUBLIC_PEM = b"""-----BEGIN PUBLIC KEY-----
MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQCw5w9LySH2mhiktLB1Wc6ZjG3n
ahQDxiHY4dxqN1lwD5yLUaWhx/c9NZ7vfB3YHMklhrm+fddTW/1zltFON4R5qUD+
c8bviQbmY+R008SLGjft2NL3Dn3wEZAFkx2w0PWyzriQYkBCCJ5OIwIDlSyt40VH
fnB67fQERg9EyDaatQIDAQAB
-----END PUBLIC KEY-----
"""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _claims(**overrides: object) -> dict[str, object]:
    now = int(time.time())
    claims: dict[str, object] = {
        "sub": str(uuid.uuid4()),
        "iss": ISSUER,
        "aud": AUDIENCE,
        "iat": now,
        "exp": now + 600,
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def _hs256(claims: dict[str, object], key: bytes, header: dict[str, str] | None = None) -> str:
    """Sign by hand, so even keys PyJWT refuses to use (a PEM public key) can be tried."""
    head = _b64(json.dumps(header or {"alg": "HS256", "typ": "JWT"}).encode())
    body = _b64(json.dumps(claims).encode())
    signature = hmac.new(key, f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{_b64(signature)}"


def _rs256_forged(claims: dict[str, object]) -> str:
    """An RS256 header with a signature nobody can check here: must not pass as HS256."""
    head = _b64(json.dumps({"alg": "RS256", "typ": "JWT"}).encode())
    return f"{head}.{_b64(json.dumps(claims).encode())}.{_b64(os.urandom(128))}"


def _unsigned(claims: dict[str, object]) -> str:
    head = _b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    return f"{head}.{_b64(json.dumps(claims).encode())}."


BAD_TOKENS: dict[str, Callable[[], str]] = {
    "expired": lambda: jwt.encode(_claims(exp=int(time.time()) - 60), SECRET, "HS256"),
    "not yet valid": lambda: jwt.encode(_claims(nbf=int(time.time()) + 3600), SECRET, "HS256"),
    "wrong key": lambda: jwt.encode(_claims(), "not-the-secret-" * 3, "HS256"),
    "alg none": lambda: _unsigned(_claims()),
    "alg none, signed part kept": lambda: _unsigned(_claims()) + "c2ln",
    "RS256 with an unknown key": lambda: _rs256_forged(_claims()),
    "HS256 keyed with an RSA public key": lambda: _hs256(_claims(), RSA_PUBLIC_PEM),
    "RS256 header, HMAC'd with the public key": lambda: _hs256(
        _claims(), RSA_PUBLIC_PEM, {"alg": "RS256", "typ": "JWT"}
    ),
    "missing sub": lambda: jwt.encode(_claims(sub=None), SECRET, "HS256"),
    "non-UUID sub": lambda: jwt.encode(_claims(sub="admin' OR '1'='1"), SECRET, "HS256"),
    "numeric sub": lambda: _hs256(_claims(sub=42), SECRET.encode()),
    "missing exp": lambda: jwt.encode(_claims(exp=None), SECRET, "HS256"),
    "missing iss": lambda: jwt.encode(_claims(iss=None), SECRET, "HS256"),
    "another issuer": lambda: jwt.encode(_claims(iss="https://evil.example"), SECRET, "HS256"),
    "missing aud": lambda: jwt.encode(_claims(aud=None), SECRET, "HS256"),
    "for another service": lambda: jwt.encode(_claims(aud="notifications"), SECRET, "HS256"),
    "audience list without us": lambda: jwt.encode(_claims(aud=["a", "b"]), SECRET, "HS256"),
    "garbage": lambda: "not.a.jwt",
}


@pytest.mark.parametrize("case", sorted(BAD_TOKENS))
async def test_a_bad_token_is_refused_with_401(
    http: httpx.AsyncClient, stack: Stack, case: str
) -> None:
    headers = {"Authorization": f"Bearer {BAD_TOKENS[case]()}"}

    read = await http.get(f"{stack.gateway}/api/v1/payments", headers=headers)
    write = await http.post(
        f"{stack.gateway}/api/v1/payments",
        json={"plan_id": "monthly", "return_url": "https://cinema.example/"},
        headers={**headers, "Idempotency-Key": str(uuid.uuid4())},
    )

    for response in (read, write):
        assert response.status_code == 401, (case, response.status_code, response.text)
        assert response.json()["error"]["code"]


@pytest.mark.parametrize("header", [None, "Basic dXNlcjpwYXNz", "Bearer", "bearer x"])
async def test_a_missing_or_non_bearer_authorization_is_refused_with_401(
    http: httpx.AsyncClient, stack: Stack, header: str | None
) -> None:
    headers = {} if header is None else {"Authorization": header}

    response = await http.get(f"{stack.gateway}/api/v1/subscription", headers=headers)

    assert response.status_code == 401, response.text


async def test_a_well_signed_token_is_accepted(http: httpx.AsyncClient, stack: Stack) -> None:
    """The control case: the same construction with the right secret passes, so 401s mean it."""
    headers = {"Authorization": f"Bearer {jwt.encode(_claims(), SECRET, 'HS256')}"}

    response = await http.get(f"{stack.gateway}/api/v1/payments", headers=headers)

    assert response.status_code == 200, response.text


async def test_the_auth_services_token_names_issuer_and_audience(
    http: httpx.AsyncClient, stack: Stack
) -> None:
    """What clients really get carries the claims the gateway requires, and is accepted."""
    issued = await http.post(f"{stack.auth}/api/v1/token", json={"user_id": str(uuid.uuid4())})
    token = issued.json()["access_token"]
    claims = jwt.decode(token, options={"verify_signature": False})

    response = await http.get(
        f"{stack.gateway}/api/v1/payments", headers={"Authorization": f"Bearer {token}"}
    )

    assert (claims["iss"], claims["aud"]) == (ISSUER, AUDIENCE)
    assert response.status_code == 200, response.text
