import asyncio
import time
import uuid

import httpx
import jwt
import pytest
from gateway_unit_support import (
    AUDIENCE,
    ISSUER,
    SECRET,
    TokenFactory,
    hand_signed_hs256,
    unsigned_token,
)

from gateway.app import create_app
from gateway.auth import VerifiedTokens
from gateway.auth import verify_token as verify_with_policy
from gateway.errors import Unauthorized
from gateway.settings import GatewaySettings


def verify_token(token: str, secret: str) -> uuid.UUID:
    return verify_with_policy(token, secret, issuer=ISSUER, audience=AUDIENCE)


FAKE_PUBLIC_KEY = (
    "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n-----END PUBLIC KEY-----\n"
)


def test_valid_token_names_its_user(make_token: TokenFactory) -> None:
    user = uuid.uuid4()
    assert verify_token(make_token(str(user)), SECRET) == user


def test_hand_signed_token_with_the_right_secret_is_accepted() -> None:
    """Proves the hand signer is sound, so the public-key case fails for the right reason."""
    user = uuid.uuid4()
    claims = {"sub": str(user), "iss": ISSUER, "aud": AUDIENCE, "exp": time.time() + 60}
    token = hand_signed_hs256(claims, SECRET.encode())
    assert verify_token(token, SECRET) == user


def test_token_with_past_iat_and_nbf_is_accepted(make_token: TokenFactory) -> None:
    user = uuid.uuid4()
    token = make_token(str(user), iat=time.time() - 60, nbf=time.time() - 60)
    assert verify_token(token, SECRET) == user


def bad_tokens(make_token: TokenFactory) -> dict[str, str]:
    now = time.time()
    claims = {"sub": str(uuid.uuid4()), "iss": ISSUER, "aud": AUDIENCE, "exp": now + 300}
    return {
        "alg_none": unsigned_token({"alg": "none", "typ": "JWT"}, claims),
        "alg_none_signed": jwt.encode(claims, None, algorithm="none"),
        "rs256_header": unsigned_token({"alg": "RS256", "typ": "JWT"}, claims, b"x" * 256),
        "hs256_with_public_key": hand_signed_hs256(claims, FAKE_PUBLIC_KEY.encode()),
        "wrong_key": make_token(secret="another-secret-another-secret-123"),
        "expired": make_token(exp=now - 5),
        "not_yet_valid": make_token(nbf=now + 300),
        "issued_in_future": make_token(iat=now + 300),
        "no_exp": make_token(exp=None),
        "no_sub": jwt.encode({"exp": now + 300}, SECRET, "HS256"),
        "non_uuid_sub": make_token("not-a-uuid"),
        "hs512": make_token(algorithm="HS512"),
        "no_iss": make_token(iss=None),
        "wrong_iss": make_token(iss="someone-else"),
        "no_aud": make_token(aud=None),
        "wrong_aud": make_token(aud="another-service"),
        "aud_list_without_us": make_token(aud=["another-service", "a-third"]),
        "garbage": "abc.def.ghi",
    }


CASES = list(bad_tokens(lambda *_, **__: "").keys())


@pytest.mark.parametrize("case", CASES)
def test_bad_token_is_refused(case: str, make_token: TokenFactory) -> None:
    with pytest.raises(Unauthorized):
        verify_token(bad_tokens(make_token)[case], SECRET)


@pytest.mark.parametrize("case", CASES)
async def test_bad_token_gets_401_with_bearer_challenge(
    case: str, make_token: TokenFactory, client: httpx.AsyncClient
) -> None:
    token = bad_tokens(make_token)[case]
    response = await client.get(
        "/api/v1/subscription", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert response.json()["error"]["code"] == "unauthorized"


@pytest.mark.parametrize("header", [None, "", "Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "Token x"])
async def test_missing_or_non_bearer_authorization_gets_401(
    header: str | None, client: httpx.AsyncClient
) -> None:
    headers = {} if header is None else {"Authorization": header}
    response = await client.post("/api/v1/payments", headers=headers, json={"plan_id": "monthly"})
    assert response.status_code == 401
    assert response.json() == {
        "error": {"code": "unauthorized", "message": response.json()["error"]["message"]}
    }


async def test_integer_sub_is_refused(client: httpx.AsyncClient) -> None:
    token = unsigned_token({"alg": "HS256"}, {"sub": 42, "exp": time.time() + 60})
    response = await client.get("/api/v1/payments", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401


def test_a_verified_token_is_answered_from_the_kept_claims_until_its_exp(
    make_token: TokenFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    exp = time.time() + 60
    token = make_token(exp=exp)
    kept = VerifiedTokens()
    first = kept.verify(token, SECRET, issuer=ISSUER, audience=AUDIENCE)
    monkeypatch.setattr(jwt, "decode", _no_decode)  # a second check would fail the test

    assert kept.verify(token, SECRET, issuer=ISSUER, audience=AUDIENCE) == first
    assert kept.get(token, now=exp - 0.001) == first
    assert kept.get(token, now=exp) is None, "kept past its exp: PyJWT refuses it then"
    with pytest.raises(AssertionError, match="decoded again"):
        kept.verify(token, SECRET, issuer=ISSUER, audience=AUDIENCE)


def test_a_token_that_failed_a_check_is_never_kept(make_token: TokenFactory) -> None:
    kept = VerifiedTokens()
    for token in (make_token(secret="another-secret-another-secret-123"), make_token(aud="x")):
        for _ in range(2):
            with pytest.raises(Unauthorized):
                kept.verify(token, SECRET, issuer=ISSUER, audience=AUDIENCE)
        assert kept.get(token) is None


def test_the_kept_tokens_are_bounded_oldest_out_first(make_token: TokenFactory) -> None:
    kept = VerifiedTokens(size=3)
    tokens = [make_token() for _ in range(4)]
    for token in tokens:
        kept.verify(token, SECRET, issuer=ISSUER, audience=AUDIENCE)

    assert kept.get(tokens[0]) is None
    assert all(kept.get(token) is not None for token in tokens[1:])


async def test_an_expired_token_is_refused_by_the_api_after_it_was_kept(
    settings: GatewaySettings, make_token: TokenFactory
) -> None:
    app = create_app(settings)
    token = make_token(exp=time.time() + 1.2)
    headers = {"Authorization": f"Bearer {token}"}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as http:
        before_exp = await http.get(f"/api/v1/payments/{uuid.uuid4()}", headers=headers)
        was_kept = app.state.services.tokens.get(token) is not None
        await asyncio.sleep(1.3)
        after_exp = await http.get(f"/api/v1/payments/{uuid.uuid4()}", headers=headers)

    assert before_exp.status_code != 401, before_exp.text  # the token passed (then no DB)
    assert was_kept
    assert after_exp.status_code == 401, after_exp.text
    assert app.state.services.tokens.get(token) is None


def _no_decode(*_args: object, **_kwargs: object) -> None:
    raise AssertionError("decoded again")
