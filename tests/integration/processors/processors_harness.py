"""Harness: processors against the real Kafka and PostgreSQL and a sandbox provider subprocess.

Each test gets its own topics, consumer groups and ids; the provider is shared by the
session (its faults are reset after every test). It inherits the environment, so
`PROVIDER_RECEIPTS_REQUIRED=1` (`make test PROVIDER_RECEIPTS_REQUIRED=1`) makes it a 54-FZ
shop; rows are inserted with the receipt the gateway would store either way.
"""

import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer

from common.kafka import make_producer
from processors import commands, webhooks
from processors.provider.receipts import ReceiptLine, receipt_for
from processors.runtime import Context, bootstrap
from processors.settings import ProcessorSettings
from schemas import ids
from schemas.codec import encode
from schemas.messages import CreatePayment, Envelope, ProviderNotification, RefundPayment

ROOT = Path(__file__).resolve().parents[3]
MONTHLY = ReceiptLine("Monthly subscription")


def email_of(user_id: uuid.UUID) -> str:
    return f"{user_id}@users.auth-sandbox.test"


def receipt_of(amount: Decimal | str, user_id: uuid.UUID) -> dict[str, Any]:
    """The receipt the gateway stores with a payment of the monthly plan (receipts on)."""
    receipt = receipt_for(True, MONTHLY, Decimal(amount), "RUB", email_of(user_id))
    assert receipt is not None
    return receipt


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, within: float = 20.0) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=1).status_code < 500:
                return
        time.sleep(0.1)
    raise AssertionError(f"{url} did not answer within {within}s")


@pytest.fixture(scope="session")
def provider_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield from started_provider(tmp_path_factory)


def started_provider(tmp_path_factory: pytest.TempPathFactory, **extra: str) -> Iterator[str]:
    """A sandbox provider subprocess on a free port, with `extra` in its environment."""
    url = f"http://127.0.0.1:{free_port()}"
    env = {
        **os.environ,
        "PROVIDER_URL": url,
        "PROVIDER_DB_PATH": str(tmp_path_factory.mktemp("provider") / "provider.sqlite3"),
        "PROVIDER_WEBHOOK_URL": f"http://127.0.0.1:{free_port()}/nowhere",
        **extra,
    }
    log = open(tmp_path_factory.mktemp("logs") / "provider.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, "-m", "sandbox.provider"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_http(f"{url}/sandbox/faults")
        yield url
    finally:
        proc.terminate()
        proc.wait(10)
        log.close()


@pytest.fixture
async def sandbox(provider_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=provider_url, timeout=10) as client:
        await client.delete("/sandbox/faults")
        yield client
        await client.delete("/sandbox/faults")


@pytest.fixture
async def settings(
    new_topic: Callable[..., Awaitable[str]],
    kafka_bootstrap: str,
    database_url: str,
    provider_url: str,
) -> ProcessorSettings:
    suffix = uuid.uuid4().hex[:8]
    return ProcessorSettings(
        kafka_bootstrap_servers=kafka_bootstrap,
        database_url=database_url,
        provider_url=provider_url,
        commands_topic=await new_topic(4),
        webhooks_topic=await new_topic(4),
        events_topic=await new_topic(2),
        dlq_topic=await new_topic(1),
        commands_group=f"test-commands-{suffix}",
        webhooks_group=f"test-webhooks-{suffix}",
        provider_timeout_s=2.0,
        provider_backoff_s=0.05,
        missing_row_backoff_s=0.1,
        reconcile_after_seconds=3600,
        db_pool_size=10,
    )


@pytest.fixture
async def ctx(settings: ProcessorSettings) -> AsyncIterator[Context]:
    context = await bootstrap(settings)
    yield context
    await context.aclose()


@dataclass
class Running:
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    async def close(self) -> None:
        self.stop.set()
        await asyncio.wait_for(asyncio.gather(*self.tasks, return_exceptions=True), 30)


@pytest.fixture
async def processors(ctx: Context) -> AsyncIterator[Running]:
    """The commands and webhooks processors as asyncio tasks of this test."""
    running = Running()
    for module in (commands, webhooks):
        loop = module.build_loop(ctx)
        running.tasks.append(asyncio.create_task(loop.run(running.stop)))
    yield running
    await running.close()


class Gateway:
    """What the gateway does: insert the accepted row, produce the command."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.producer = make_producer(ctx.settings)
        self.payments: list[uuid.UUID] = []
        self.refunds: list[uuid.UUID] = []

    async def clean_up(self) -> None:
        """The stack's own reconciler shares this database: a row of this test left `accepted`
        or `pending` (at this test's private provider) would be re-driven or re-read there for
        good. End each with a final status that says why."""
        await self.ctx.pool.execute(
            """UPDATE payments_history.refunds SET status = 'failed', reserved = false,
                   failure_reason = 'test finished', updated_at = now()
               WHERE id = ANY($1::uuid[]) AND status = 'accepted'""",
            self.refunds,
        )
        await self.ctx.pool.execute(
            """UPDATE payments_history.payments SET status = 'failed', next_check_at = NULL,
                   failure_reason = 'test finished', updated_at = now()
               WHERE id = ANY($1::uuid[]) AND status IN ('accepted', 'pending')""",
            self.payments,
        )

    async def send(self, topic: str, key: str, message: Envelope) -> None:
        await self.producer.send_and_wait(topic, encode(message), key=key.encode())

    async def new_payment(self, amount: str = "499.00", *, send: bool = True) -> CreatePayment:
        user_id, key = uuid.uuid4(), uuid.uuid4().hex
        payment_id = ids.payment_id(user_id, key)
        self.payments.append(payment_id)
        await self.ctx.pool.execute(
            """INSERT INTO payments_history.payments (id, user_id, plan_id, amount, currency,
               idempotency_key, request_fingerprint, return_url, customer_email, receipt)
               VALUES ($1, $2, 'monthly', $3, 'RUB', $4, 'fp', 'https://cinema.example/back',
                       $5, $6::jsonb)""",
            payment_id,
            user_id,
            Decimal(amount),
            key,
            email_of(user_id),
            receipt_of(amount, user_id),
        )
        cmd = CreatePayment(
            message_id=ids.message_id("CreatePayment", payment_id),
            payment_id=payment_id,
            user_id=user_id,
            plan_id="monthly",
            amount=Decimal(amount),
            currency="RUB",
            return_url="https://cinema.example/back",
        )
        if send:
            await self.send(self.ctx.settings.commands_topic, str(user_id), cmd)
        return cmd

    async def new_refund(
        self, payment: CreatePayment, amount: str, *, send: bool = True
    ) -> RefundPayment:
        key = uuid.uuid4().hex
        refund_id = ids.refund_id(payment.user_id, key)
        self.refunds.append(refund_id)
        await self.ctx.pool.execute(
            """INSERT INTO payments_history.refunds (id, payment_id, user_id, amount, currency,
               idempotency_key, request_fingerprint) VALUES ($1, $2, $3, $4, 'RUB', $5, 'fp')""",
            refund_id,
            payment.payment_id,
            payment.user_id,
            Decimal(amount),
            key,
        )
        cmd = RefundPayment(
            message_id=ids.message_id("RefundPayment", refund_id),
            refund_id=refund_id,
            payment_id=payment.payment_id,
            user_id=payment.user_id,
            amount=Decimal(amount),
            currency="RUB",
        )
        if send:
            await self.send(self.ctx.settings.commands_topic, str(payment.user_id), cmd)
        return cmd

    async def webhook(self, event: str, obj: dict[str, Any], payment_external_id: str) -> None:
        note = ProviderNotification(
            message_id=ids.message_id("ProviderNotification", obj["id"], event, obj["status"]),
            event=event,
            object_id=obj["id"],
            payment_external_id=payment_external_id,
            body={"type": "notification", "event": event, "object": obj},
        )
        await self.send(self.ctx.settings.webhooks_topic, payment_external_id, note)


@pytest.fixture
async def gateway(ctx: Context) -> AsyncIterator[Gateway]:
    gw = Gateway(ctx)
    await gw.producer.start()
    yield gw
    await gw.producer.stop()
    await gw.clean_up()


async def eventually(check: Callable[[], Awaitable[Any]], within: float = 20.0) -> Any:
    """Poll `check` until it returns something truthy; fail with its last value."""
    deadline = time.monotonic() + within
    value = None
    while time.monotonic() < deadline:
        value = await check()
        if value:
            return value
        await asyncio.sleep(0.1)
    raise AssertionError(f"condition not met within {within}s (last: {value!r})")


async def payment(ctx: Context, payment_id: uuid.UUID) -> dict[str, Any]:
    row = await ctx.pool.fetchrow(
        "SELECT * FROM payments_history.payments WHERE id = $1", payment_id
    )
    return dict(row) if row else {}


async def refund(ctx: Context, refund_id: uuid.UUID) -> dict[str, Any]:
    row = await ctx.pool.fetchrow("SELECT * FROM payments_history.refunds WHERE id = $1", refund_id)
    return dict(row) if row else {}


async def status_is(
    ctx: Context, payment_id: uuid.UUID, *statuses: str, within: float = 20.0
) -> dict[str, Any]:
    async def check() -> dict[str, Any] | None:
        row = await payment(ctx, payment_id)
        return row if row.get("status") in statuses else None

    return await eventually(check, within)


async def paid(
    ctx: Context, gateway: Gateway, sandbox: httpx.AsyncClient
) -> tuple[CreatePayment, str]:
    """A payment of 499.00 taken to `succeeded` through the sandbox's page and its webhook;
    the command and the provider's payment id."""
    cmd = await gateway.new_payment("499.00")
    external_id = str((await status_is(ctx, cmd.payment_id, "pending"))["external_id"])
    card = {"card_number": "4242424242424242"}
    obj = (await sandbox.post(f"/sandbox/payments/{external_id}/confirm", json=card)).json()
    await gateway.webhook("payment.succeeded", obj, external_id)
    await status_is(ctx, cmd.payment_id, "succeeded")
    return cmd, external_id


async def outbox_types(ctx: Context, payment_id: uuid.UUID) -> list[str]:
    rows = await ctx.pool.fetch(
        "SELECT type FROM payments_history.outbox WHERE payment_id = $1 ORDER BY id", payment_id
    )
    return [r["type"] for r in rows]


async def ledger_for(sandbox: httpx.AsyncClient, payment_id: uuid.UUID) -> list[dict[str, Any]]:
    ledger = (await sandbox.get("/sandbox/ledger")).json()
    return [p for p in ledger["payments"] if p["metadata"].get("payment_id") == str(payment_id)]


async def refunds_in_ledger(sandbox: httpx.AsyncClient, external_id: str) -> list[dict[str, Any]]:
    ledger = (await sandbox.get("/sandbox/ledger")).json()
    return [r for r in ledger["refunds"] if r["payment_id"] == external_id]


async def read_topic(
    settings: ProcessorSettings, topic: str, count: int, within: float = 15.0
) -> list[Any]:
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=settings.kafka_bootstrap_servers,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        isolation_level="read_committed",
    )
    await consumer.start()
    records: list[Any] = []
    deadline = time.monotonic() + within
    try:
        while len(records) < count and time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=300)
            for recs in batch.values():
                records.extend(recs)
    finally:
        await consumer.stop()
    return records
