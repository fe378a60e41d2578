"""Auth sandbox: JWTs the gateway can verify, idempotent roles, the call log, faults."""

from __future__ import annotations

import time
import uuid

import httpx
import jwt
import pytest

from tests.unit.sandbox.conftest import JWT_SECRET


async def test_token_is_hs256_jwt_for_the_user(auth: httpx.AsyncClient) -> None:
    user_id = str(uuid.uuid4())
    response = await auth.post("/api/v1/token", json={"user_id": user_id})
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 3600
    claims = jwt.decode(
        body["access_token"],
        JWT_SECRET,
        algorithms=["HS256"],
        issuer="auth-sandbox",
        audience="billing",
        options={"require": ["iss", "aud"]},
    )
    assert claims["sub"] == user_id
    assert claims["nbf"] <= time.time() < claims["exp"]
    assert claims["exp"] - claims["iat"] == 3600


async def test_token_does_not_verify_with_another_secret(auth: httpx.AsyncClient) -> None:
    token = (await auth.post("/api/v1/token", json={"user_id": str(uuid.uuid4())})).json()
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(
            token["access_token"], "another-secret-that-is-long-enough-too", algorithms=["HS256"]
        )


async def test_token_for_non_uuid_user_is_422(auth: httpx.AsyncClient) -> None:
    assert (await auth.post("/api/v1/token", json={"user_id": "bob"})).status_code == 422


async def test_role_grant_and_revoke_are_idempotent(auth: httpx.AsyncClient) -> None:
    user_id = str(uuid.uuid4())
    path = f"/api/v1/users/{user_id}/roles"
    for _ in range(2):
        response = await auth.post(path, json={"role": "subscriber"})
        assert response.status_code == 200
        assert response.json()["roles"] == ["subscriber"]
    assert (await auth.get(path)).json()["roles"] == ["subscriber"]
    for _ in range(2):
        response = await auth.delete(f"{path}/subscriber")
        assert response.status_code == 200
        assert response.json()["roles"] == []
    assert (await auth.get(path)).json()["roles"] == []


async def test_roles_of_one_user_do_not_leak_to_another(auth: httpx.AsyncClient) -> None:
    alice, bob = str(uuid.uuid4()), str(uuid.uuid4())
    await auth.post(f"/api/v1/users/{alice}/roles", json={"role": "subscriber"})
    assert (await auth.get(f"/api/v1/users/{bob}/roles")).json()["roles"] == []


async def test_every_call_is_logged_in_order_and_filterable(auth: httpx.AsyncClient) -> None:
    user_id, other = str(uuid.uuid4()), str(uuid.uuid4())
    await auth.post(f"/api/v1/users/{user_id}/roles", json={"role": "subscriber"})
    await auth.post(f"/api/v1/users/{other}/roles", json={"role": "subscriber"})
    await auth.delete(f"/api/v1/users/{user_id}/roles/subscriber")
    calls = (await auth.get("/api/v1/calls", params={"user_id": user_id})).json()["items"]
    assert [(c["method"], c["status"]) for c in calls] == [("POST", 200), ("DELETE", 200)]
    assert calls[0]["body"] == {"role": "subscriber"}
    assert calls[0]["path"] == f"/api/v1/users/{user_id}/roles"
    assert calls[0]["at"] <= calls[1]["at"]
    everything = (await auth.get("/api/v1/calls")).json()["items"]
    assert len(everything) == 3


async def test_calls_after_a_seq_are_only_the_later_ones(auth: httpx.AsyncClient) -> None:
    user_id, other = str(uuid.uuid4()), str(uuid.uuid4())
    await auth.post(f"/api/v1/users/{user_id}/roles", json={"role": "subscriber"})
    seen = (await auth.get("/api/v1/calls")).json()["items"][-1]["seq"]
    await auth.post(f"/api/v1/users/{other}/roles", json={"role": "subscriber"})
    await auth.delete(f"/api/v1/users/{user_id}/roles/subscriber")
    later = (await auth.get("/api/v1/calls", params={"after": seen})).json()["items"]
    assert [(c["method"], c["user_id"]) for c in later] == [("POST", other), ("DELETE", user_id)]
    mine = await auth.get("/api/v1/calls", params={"after": seen, "user_id": user_id})
    assert [c["method"] for c in mine.json()["items"]] == ["DELETE"]
    assert (await auth.get("/api/v1/calls", params={"after": "x"})).status_code == 422


async def test_last_seq_is_the_newest_call_even_when_none_is_listed(
    auth: httpx.AsyncClient,
) -> None:
    assert (await auth.get("/api/v1/calls")).json() == {"items": [], "last_seq": 0}
    await auth.post(f"/api/v1/users/{uuid.uuid4()}/roles", json={"role": "subscriber"})
    newest = (await auth.get("/api/v1/calls")).json()["items"][-1]["seq"]
    nothing = (await auth.get("/api/v1/calls", params={"after": 2**63 - 1})).json()
    assert nothing == {"items": [], "last_seq": newest}


async def test_injected_error_is_503_logged_and_changes_nothing(auth: httpx.AsyncClient) -> None:
    user_id = str(uuid.uuid4())
    assert (await auth.post("/sandbox/faults", json={"error_rate": 1.0})).status_code == 200
    response = await auth.post(f"/api/v1/users/{user_id}/roles", json={"role": "subscriber"})
    assert response.status_code == 503
    assert (await auth.delete("/sandbox/faults")).status_code == 200
    assert (await auth.get(f"/api/v1/users/{user_id}/roles")).json()["roles"] == []
    calls = (await auth.get("/api/v1/calls", params={"user_id": user_id})).json()["items"]
    assert [(c["status"], c["ok"]) for c in calls] == [(503, False), (200, True)]


async def test_latency_fault_slows_calls(auth: httpx.AsyncClient) -> None:
    assert (await auth.post("/sandbox/faults", json={"latency_ms": 120})).status_code == 200
    started = time.monotonic()
    await auth.get(f"/api/v1/users/{uuid.uuid4()}/roles")
    assert time.monotonic() - started >= 0.12
    assert (await auth.get("/sandbox/faults")).json()["latency_ms"] == 120


async def test_token_carries_an_email_claim_unless_asked_for_none(auth: httpx.AsyncClient) -> None:
    user_id = str(uuid.uuid4())

    async def claims(body: dict[str, object]) -> dict[str, object]:
        token = (await auth.post("/api/v1/token", json=body)).json()["access_token"]
        decoded: dict[str, object] = jwt.decode(
            token, JWT_SECRET, algorithms=["HS256"], audience="billing"
        )
        return decoded

    assert (await claims({"user_id": user_id}))["email"] == f"{user_id}@users.auth-sandbox.test"
    given = await claims({"user_id": user_id, "email": "viewer@cinema.test"})
    assert given["email"] == "viewer@cinema.test"
    assert "email" not in await claims({"user_id": user_id, "email": None})
    bad = await auth.post("/api/v1/token", json={"user_id": user_id, "email": "not-an-email"})
    assert bad.status_code == 422
