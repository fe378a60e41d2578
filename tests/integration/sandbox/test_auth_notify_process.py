"""The real Auth and Notification sandbox processes over HTTP."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import jwt
import pytest

from tests.integration.sandbox.conftest import SimulatorProcess

JWT_SECRET = "integration-jwt-secret-at-least-32-bytes"


@pytest.fixture(scope="module")
def auth_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("auth")
    env = {"AUTH_DB_PATH": str(tmp / "auth.sqlite3"), "JWT_SECRET": JWT_SECRET}
    proc = SimulatorProcess("sandbox.auth", "AUTH_URL", env, tmp / "auth.log")
    proc.start()
    yield proc.url
    proc.stop()


@pytest.fixture(scope="module")
def notify_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("notify")
    env = {"NOTIFY_DB_PATH": str(tmp / "notify.sqlite3")}
    proc = SimulatorProcess("sandbox.notify", "NOTIFY_URL", env, tmp / "notify.log")
    proc.start()
    yield proc.url
    proc.stop()


def test_auth_token_verifies_with_the_shared_secret(auth_url: str) -> None:
    user_id = str(uuid.uuid4())
    token = httpx.post(f"{auth_url}/api/v1/token", json={"user_id": user_id}).json()
    claims = jwt.decode(
        token["access_token"],
        JWT_SECRET,
        algorithms=["HS256"],
        issuer="auth-sandbox",
        audience="billing",
        options={"require": ["iss", "aud"]},
    )
    assert claims["sub"] == user_id


def test_auth_roles_are_idempotent_and_every_call_is_logged(auth_url: str) -> None:
    user_id = str(uuid.uuid4())
    roles = f"{auth_url}/api/v1/users/{user_id}/roles"
    for _ in range(2):
        assert httpx.post(roles, json={"role": "subscriber"}).json()["roles"] == ["subscriber"]
    for _ in range(2):
        assert httpx.delete(f"{roles}/subscriber").json()["roles"] == []
    calls = httpx.get(f"{auth_url}/api/v1/calls", params={"user_id": user_id}).json()["items"]
    assert [c["method"] for c in calls] == ["POST", "POST", "DELETE", "DELETE"]
    assert all(c["status"] == 200 for c in calls)


def test_notify_flags_a_repeated_dedup_key(notify_url: str) -> None:
    user_id, key = str(uuid.uuid4()), str(uuid.uuid4())
    sent = {"user_id": user_id, "template": "t", "payload": {}, "dedup_key": key}
    answers = [httpx.post(f"{notify_url}/api/v1/notifications", json=sent) for _ in range(3)]
    assert [a.status_code for a in answers] == [202, 202, 202]
    assert [a.json()["duplicate"] for a in answers] == [False, True, True]
    items = httpx.get(f"{notify_url}/api/v1/notifications", params={"user_id": user_id}).json()
    assert [i["duplicate"] for i in items["items"]] == [False, True, True]
