"""Fixtures for the whole-stack tests: the processes of `make up`, reached at the CONTRACT URLs."""

import os
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest

from tests.chaos.stack import StackUrls, stack_missing, unhealthy
from tests.stack.client import Client


@dataclass(frozen=True)
class Stack:
    gateway: str
    provider: str
    auth: str
    notify: str


def stack_from_env() -> Stack:
    return Stack(
        gateway=os.environ.get("GATEWAY_URL", "http://127.0.0.1:8000"),
        provider=os.environ.get("PROVIDER_URL", "http://127.0.0.1:8081"),
        auth=os.environ.get("AUTH_URL", "http://127.0.0.1:8082"),
        notify=os.environ.get("NOTIFY_URL", "http://127.0.0.1:8083"),
    )


@pytest.fixture(scope="session")
def stack() -> Stack:
    stack = stack_from_env()
    down = unhealthy(StackUrls.from_env(), wait=60)
    if down:
        stack_missing(f"the stack of `make up` is not running: {', '.join(down)}")
    return stack


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=15) as client:
        yield client


@dataclass
class User:
    id: uuid.UUID
    headers: dict[str, str]


@pytest.fixture
async def user(stack: Stack, http: httpx.AsyncClient) -> User:
    return await new_user(http, stack)


async def new_user(http: Client, stack: Stack, user_id: uuid.UUID | None = None) -> User:
    """A fresh user (`user_id`, or a random one) and its token from the Auth sandbox."""
    user_id = user_id or uuid.uuid4()
    response = await http.post(f"{stack.auth}/api/v1/token", json={"user_id": str(user_id)})
    response.raise_for_status()
    token = response.json()["access_token"]
    return User(id=user_id, headers={"Authorization": f"Bearer {token}"})
