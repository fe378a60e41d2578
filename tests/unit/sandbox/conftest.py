"""In-process simulators driven through ``httpx.ASGITransport`` with a tmp SQLite file."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiohttp import web
from fastapi import FastAPI
from pydantic import SecretStr

from sandbox.auth.app import create_app as create_auth
from sandbox.auth.settings import AuthSettings
from sandbox.notify.app import create_app as create_notify
from sandbox.notify.settings import NotifySettings
from sandbox.provider.app import create_app as create_provider
from sandbox.provider.settings import ProviderSettings

SHOP_ID = "100500"
SECRET = "unit-test-secret"
JWT_SECRET = "unit-test-jwt-secret-that-is-long-enough"


@pytest.fixture
def provider_settings(tmp_path: Path) -> ProviderSettings:
    """A shop with receipts off, whatever the environment says.

    ``make test PROVIDER_RECEIPTS_REQUIRED=1`` exports the variable for the stack's sandbox;
    read here it would turn every receipt-less create below into a 400. The tests about
    receipts switch them on themselves (``tuned_provider``).
    """
    return ProviderSettings(
        provider_receipts_required=False,
        provider_url="http://provider.test",
        provider_shop_id=SHOP_ID,
        provider_secret_key=SecretStr(SECRET),
        provider_db_path=tmp_path / "provider.sqlite3",
        provider_webhook_url="http://gateway.test/api/v1/webhooks/yookassa",
        webhook_backoff_start_s=0.05,
        webhook_backoff_cap_s=0.4,
    )


async def serve(app: FastAPI, base_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=base_url) as client:
            yield client


class WebhookInbox:
    """A webhook receiver on loopback, in the test's process: answers ``script`` statuses in
    turn, then 200. The provider sends to ``url`` as it sends to the gateway."""

    def __init__(self) -> None:
        self.script: list[int] = []
        self.received: list[tuple[float, dict[str, Any]]] = []
        self.url = ""

    @contextlib.asynccontextmanager
    async def listening(self) -> AsyncIterator[WebhookInbox]:
        app = web.Application()
        app.router.add_post("/api/v1/webhooks/yookassa", self._handle)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        port = runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}/api/v1/webhooks/yookassa"
        try:
            yield self
        finally:
            await runner.cleanup()

    async def _handle(self, request: web.Request) -> web.Response:
        self.received.append((time.monotonic(), json.loads(await request.read())))
        return web.Response(status=self.script.pop(0) if self.script else 200)

    def events(self, object_id: str) -> list[str]:
        return [body["event"] for _, body in self.received if body["object"]["id"] == object_id]

    async def wait_for(self, count: int, within_s: float = 10.0) -> None:
        deadline = time.monotonic() + within_s
        while len(self.received) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(self.received)} webhooks received, want {count}")
            await asyncio.sleep(0.02)


@pytest.fixture
async def webhook_inbox() -> AsyncIterator[WebhookInbox]:
    async with WebhookInbox().listening() as inbox:
        yield inbox


@pytest.fixture
async def provider(
    provider_settings: ProviderSettings, webhook_inbox: WebhookInbox
) -> AsyncIterator[httpx.AsyncClient]:
    """A provider client authenticated with the shop's Basic credentials."""
    settings = provider_settings.model_copy(update={"provider_webhook_url": webhook_inbox.url})
    app = create_provider(settings)
    async for client in serve(app, "http://provider.test"):
        client.auth = httpx.BasicAuth(SHOP_ID, SECRET)
        yield client


@pytest.fixture
async def tuned_provider(
    provider_settings: ProviderSettings, webhook_inbox: WebhookInbox
) -> AsyncIterator[httpx.AsyncClient]:
    """Like ``provider``, with short clocks and receipts switched on (54-FZ shop)."""
    settings = provider_settings.model_copy(
        update={
            "provider_receipts_required": True,
            "provider_pending_expiry_s": 0.3,
            "provider_refund_settle_s": 0.2,
            "provider_receipt_delay_s": 0.2,
            "provider_sweep_interval_s": 0.05,
            "provider_webhook_url": webhook_inbox.url,
        }
    )
    async for client in serve(create_provider(settings), "http://provider.test"):
        client.auth = httpx.BasicAuth(SHOP_ID, SECRET)
        yield client


def receipt(value: str = "499.00", **customer: str) -> dict[str, object]:
    """A valid 54-FZ receipt of one item worth ``value``."""
    return {
        "customer": customer or {"email": "viewer@cinema.test"},
        "items": [
            {
                "description": "Monthly subscription",
                "quantity": "1.00",
                "amount": {"value": value, "currency": "RUB"},
                "vat_code": 1,
                "payment_mode": "full_payment",
                "payment_subject": "service",
            }
        ],
    }


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


async def create_payment(client: httpx.AsyncClient, value: str = "499.00") -> dict[str, Any]:
    response = await client.post(
        "/v3/payments", json=payment_body(value), headers={"Idempotence-Key": new_key()}
    )
    assert response.status_code == 200, response.text
    payment: dict[str, Any] = response.json()
    return payment


async def paid_payment(client: httpx.AsyncClient, value: str = "499.00") -> dict[str, Any]:
    payment = await create_payment(client, value)
    response = await client.post(
        f"/sandbox/payments/{payment['id']}/confirm", json={"card_number": "4242424242424242"}
    )
    assert response.json()["status"] == "succeeded"
    return payment


@pytest.fixture
async def auth(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    settings = AuthSettings(
        jwt_secret=SecretStr(JWT_SECRET), auth_db_path=tmp_path / "auth.sqlite3"
    )
    async for client in serve(create_auth(settings), "http://auth.test"):
        yield client


@pytest.fixture
async def notify(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    settings = NotifySettings(notify_db_path=tmp_path / "notify.sqlite3")
    async for client in serve(create_notify(settings), "http://notify.test"):
        yield client
