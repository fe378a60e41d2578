"""Fixtures for the whole-stack suites (tests/e2e, tests/hostile, tests/chaos).

They reuse the acceptance tests' flows (`tests.stack.flows`) so there is one way to pay
and refund in the tests. A suite is skipped, with the reason, when the stack is not up.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from tests.chaos.stack import StackUrls, stack_missing, unhealthy
from tests.stack.conftest import Stack, User
from tests.stack.flows import paid

E2E_DIRS = ("e2e", "hostile", "chaos")


def mark_e2e(items: list[pytest.Item], here: Path) -> None:
    for item in items:
        if here in Path(item.path).parents:
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def urls() -> StackUrls:
    urls = StackUrls.from_env()
    down = unhealthy(urls, wait=60)
    if down:
        stack_missing(f"the stack of `make up` is not running: {', '.join(down)}")
    return urls


@pytest.fixture(scope="session")
def stack(urls: StackUrls) -> Stack:
    return Stack(gateway=urls.gateway, provider=urls.provider, auth=urls.auth, notify=urls.notify)


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=20) as client:
        yield client


async def new_user(http: httpx.AsyncClient, stack: Stack) -> User:
    user_id = uuid.uuid4()
    response = await http.post(f"{stack.auth}/api/v1/token", json={"user_id": str(user_id)})
    response.raise_for_status()
    return User(id=user_id, headers={"Authorization": f"Bearer {response.json()['access_token']}"})


@pytest.fixture
async def user(http: httpx.AsyncClient, stack: Stack) -> User:
    return await new_user(http, stack)


@pytest.fixture
async def paid_payment(http: httpx.AsyncClient, stack: Stack, user: User) -> dict[str, Any]:
    """A fresh user's payment, taken all the way to succeeded."""
    return await paid(http, stack, user)


@pytest.fixture
async def db(urls: StackUrls) -> AsyncIterator[asyncpg.Pool]:
    pool = await asyncpg.create_pool(urls.database, min_size=1, max_size=2)
    yield pool
    await pool.close()


async def ledger(http: httpx.AsyncClient, stack: Stack) -> dict[str, Any]:
    response = await http.get(f"{stack.provider}/sandbox/ledger")
    response.raise_for_status()
    return response.json()


async def provider_refunds_of(
    http: httpx.AsyncClient, stack: Stack, payment_id: str
) -> list[dict[str, Any]]:
    """The provider's refunds for our payment `payment_id` (found through its metadata)."""
    book = await ledger(http, stack)
    external = {p["id"] for p in book["payments"] if p["metadata"].get("payment_id") == payment_id}
    return [r for r in book["refunds"] if r["payment_id"] in external]
