"""In-process simulators driven through ``httpx.ASGITransport`` with a tmp SQLite file."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from sandbox.provider.app import create_app as create_provider
from sandbox.provider.settings import ProviderSettings

SHOP_ID = "100500"
SECRET = "unit-test-secret"


@pytest.fixture
def provider_settings(tmp_path: Path) -> ProviderSettings:
    return ProviderSettings(
        provider_url="http://provider.test",
        provider_shop_id=SHOP_ID,
        provider_secret_key=SECRET,
        provider_db_path=tmp_path / "provider.sqlite3",
        provider_webhook_url="http://127.0.0.1:9/unreachable",
    )


async def serve(app: FastAPI, base_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=base_url) as client:
            yield client


@pytest.fixture
async def provider(provider_settings: ProviderSettings) -> AsyncIterator[httpx.AsyncClient]:
    """A provider client authenticated with the shop's Basic credentials."""
    async for client in serve(create_provider(provider_settings), "http://provider.test"):
        client.auth = httpx.BasicAuth(SHOP_ID, SECRET)
        yield client


def new_key() -> str:
    return str(uuid.uuid4())


def payment_body(value: str = "499.00", **extra: object) -> dict[str, object]:
    body: dict[str, object] = {
        "amount": {"value": value, "currency": "RUB"},
        "capture": True,
        "confirmation": {"type": "redirect", "return_url": "https://cinema.test/return"},
        "description": "Monthly subscription",
        "metadata": {"payment_id": str(uuid.uuid4()), "user_id": str(uuid.uuid4())},
    }
    body.update(extra)
    return body
