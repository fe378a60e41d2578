"""Helpers of the consumers' integration tests: the outside world, the truth, the events.

`OutsideWorld` plays Auth and Notifications: a small real HTTP server (uvicorn on a free
port) that speaks CONTRACT §5's role and notification calls, records every call and
fails on a script. It is an HTTP peer, not a mock: the consumer (also as a subprocess)
talks to it over TCP exactly as it would to the sandboxes.
"""

import asyncio
import contextlib
import os
import socket
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from consumers import app as consumer_app
from consumers.notifications import handler as notifications
from consumers.settings import ConsumerSettings
from consumers.subscriptions import handler as subscriptions
from processors.subscriptions import lifecycle
from schemas import ids
from schemas.codec import encode, encode_key
from schemas.messages import Envelope, PaymentPending, PaymentSucceeded, RefundSucceeded
from tests.events import payment_pending

ROOT = Path(__file__).resolve().parents[3]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class OutsideWorld:
    """Auth + Notifications on one port. `script` statuses are answered first, then 2xx."""

    port: int = field(default_factory=free_port)
    roles: dict[str, set[str]] = field(default_factory=dict)
    calls: list[tuple[str, str]] = field(default_factory=list)  # (method, user_id)
    notifications: list[dict[str, Any]] = field(default_factory=list)
    script: list[int] = field(default_factory=list)
    always: int | None = None
    latency: float = 0.0
    # runs while a grant is being answered: lets a test move the truth under the consumer
    during_grant: Callable[[], Awaitable[None]] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def grants(self, user_id: uuid.UUID) -> int:
        return self.calls.count(("POST", str(user_id)))

    def revokes(self, user_id: uuid.UUID) -> int:
        return self.calls.count(("DELETE", str(user_id)))

    def notes(self, user_id: uuid.UUID) -> list[dict[str, Any]]:
        return [n for n in self.notifications if n["user_id"] == str(user_id)]

    async def _fault(self) -> Response | None:
        if self.latency:
            await asyncio.sleep(self.latency)
        status = self.script.pop(0) if self.script else self.always
        return None if status is None else JSONResponse({"error": "scripted"}, status)

    async def grant(self, request: Request) -> Response:
        if (fault := await self._fault()) is not None:
            return fault
        user = request.path_params["user_id"]
        if self.during_grant is not None:
            await self.during_grant()
        self.calls.append(("POST", user))
        self.roles.setdefault(user, set()).add((await request.json())["role"])
        return JSONResponse({"roles": sorted(self.roles[user])})

    async def revoke(self, request: Request) -> Response:
        if (fault := await self._fault()) is not None:
            return fault
        user = request.path_params["user_id"]
        self.calls.append(("DELETE", user))
        self.roles.setdefault(user, set()).discard(request.path_params["role"])
        return JSONResponse({"roles": sorted(self.roles[user])})

    async def list_roles(self, request: Request) -> Response:
        if (fault := await self._fault()) is not None:
            return fault
        user = request.path_params["user_id"]
        return JSONResponse({"user_id": user, "roles": sorted(self.roles.get(user, set()))})

    async def notify(self, request: Request) -> Response:
        if (fault := await self._fault()) is not None:
            return fault
        body = await request.json()
        duplicate = any(n["dedup_key"] == body["dedup_key"] for n in self.notifications)
        self.notifications.append({**body, "duplicate": duplicate})
        return JSONResponse({"duplicate": duplicate}, 200 if duplicate else 201)

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/api/v1/users/{user_id}/roles", self.grant, methods=["POST"]),
                Route("/api/v1/users/{user_id}/roles", self.list_roles, methods=["GET"]),
                Route("/api/v1/users/{user_id}/roles/{role}", self.revoke, methods=["DELETE"]),
                Route("/api/v1/notifications", self.notify, methods=["POST"]),
            ]
        )


CONSUMERS = {
    "subscriptions": (subscriptions.CONSUMER, subscriptions.GROUP, subscriptions.build),
    "notifications": (notifications.CONSUMER, notifications.GROUP, notifications.build),
}


@contextlib.asynccontextmanager
async def running(which: str, settings: ConsumerSettings) -> AsyncIterator[None]:
    """Run one consumer in this event loop for the duration of the block."""
    name, group, build = CONSUMERS[which]
    stop = asyncio.Event()
    task = asyncio.create_task(consumer_app.run(settings, name, group, build, stop))
    try:
        yield
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)


def env_for(settings: ConsumerSettings) -> dict[str, str]:
    """The environment that makes `python -m consumers.*` use these settings."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for name, value in settings.model_dump().items():
        if value is not None:
            plain = value.get_secret_value() if hasattr(value, "get_secret_value") else value
            env[name.upper()] = str(plain)
    return env


async def spawn(which: str, settings: ConsumerSettings) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        f"consumers.{which}",
        cwd=ROOT,
        env=env_for(settings),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )


async def eventually(check: Callable[[], Awaitable[bool]], within: float = 20.0) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if await check():
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"condition not met within {within}s: {check.__name__}")


async def settle(seconds: float = 1.5) -> None:
    """Give a consumer time to do what it must not do (a second call, a second send)."""
    await asyncio.sleep(seconds)


# --- the truth in PostgreSQL, and the events about it ---------------------------------

NOWHERE = "test.nowhere"  # outbox rows of the processors' side: no relay publishes them


async def add_payment(
    pool: asyncpg.Pool,
    user_id: uuid.UUID,
    *,
    plan_id: str = "monthly",
    amount: Decimal = Decimal("499.00"),
    refunded_amount: Decimal = Decimal("0"),
    succeeded_at: datetime | None = None,
) -> uuid.UUID:
    key = uuid.uuid4().hex
    payment_id = ids.payment_id(user_id, key)
    await pool.execute(
        """
        INSERT INTO payments_history.payments
            (id, user_id, plan_id, amount, currency, status, external_id, refunded,
             refunded_amount, system_id, idempotency_key, request_fingerprint, return_url,
             created_at, updated_at)
        VALUES ($1, $2, $3, $4, 'RUB', 'succeeded', $5, $6, $7, $8, $9, 'f', 'https://x',
                $10, $10)
        """,
        payment_id,
        user_id,
        plan_id,
        amount,
        uuid.uuid4(),
        refunded_amount == amount,
        refunded_amount,
        ids.SYSTEM_YOOKASSA,
        key,
        succeeded_at or datetime.now(UTC).replace(microsecond=0),
    )
    async with pool.acquire() as conn, conn.transaction():  # what the processor does with it
        await lifecycle.on_payment_moved(conn, payment_id, None, topic=NOWHERE)
    return payment_id


async def refund_in_db(
    pool: asyncpg.Pool, payment_id: uuid.UUID, amount: Decimal, *, ends_access: bool | None = None
) -> None:
    """A succeeded refund as the processor records it; by default a full one ends access and a
    partial one is an operator's goodwill refund that keeps it."""
    async with pool.acquire() as conn, conn.transaction():
        row = await conn.fetchrow(
            """
            UPDATE payments_history.payments
            SET refunded_amount = refunded_amount + $2,
                refunded = (refunded_amount + $2 = amount), updated_at = now()
            WHERE id = $1 RETURNING user_id, amount
            """,
            payment_id,
            amount,
        )
        refund_id = uuid.uuid4()
        await conn.execute(
            """
            INSERT INTO payments_history.refunds (id, payment_id, user_id, amount, currency,
                status, idempotency_key, request_fingerprint, ends_access)
            VALUES ($1, $2, $3, $4, 'RUB', 'succeeded', $5, 'f', $6)
            """,
            refund_id,
            payment_id,
            row["user_id"],
            amount,
            refund_id.hex,
            amount == row["amount"] if ends_access is None else ends_access,
        )
        await lifecycle.on_refund_succeeded(conn, refund_id, topic=NOWHERE)


def pending(
    user_id: uuid.UUID, payment_id: uuid.UUID, message_id: uuid.UUID | None = None
) -> PaymentPending:
    """The payment's page is ready: an event no rule acts on (a fresh message id unless given)."""
    return payment_pending(user_id, payment_id, message_id or uuid.uuid4())


def succeeded(user_id: uuid.UUID, payment_id: uuid.UUID) -> PaymentSucceeded:
    return PaymentSucceeded(
        message_id=ids.message_id("PaymentSucceeded", payment_id),
        payment_id=payment_id,
        user_id=user_id,
        plan_id="monthly",
        amount=Decimal("499.00"),
        currency="RUB",
        external_id=uuid.uuid4(),
    )


def refund_succeeded(
    user_id: uuid.UUID, payment_id: uuid.UUID, amount: Decimal, total: Decimal
) -> RefundSucceeded:
    refund_id = uuid.uuid4()
    return RefundSucceeded(
        message_id=ids.message_id("RefundSucceeded", refund_id),
        refund_id=refund_id,
        payment_id=payment_id,
        user_id=user_id,
        amount=amount,
        currency="RUB",
        external_id=uuid.uuid4(),
        payment_refunded_amount=total,
        payment_refunded=total == Decimal("499.00"),
    )


async def publish(
    producer: AIOKafkaProducer, topic: str, *events: Envelope, partition: int | None = None
) -> None:
    for event in events:
        key = encode_key(event.user_id)  # type: ignore[attr-defined]
        await producer.send_and_wait(topic, encode(event), key=key, partition=partition)


async def publish_at_once(producer: AIOKafkaProducer, topic: str, *events: Envelope) -> None:
    """All queued before any is sent, then all awaited: they reach the broker within
    milliseconds of each other (`publish` waits for each one's ack before the next)."""
    sent = [
        await producer.send(topic, encode(event), key=encode_key(event.user_id))  # type: ignore[attr-defined]
        for event in events
    ]
    await asyncio.gather(*sent)


async def committed(kafka_bootstrap: str, group: str, topic: str, partition: int) -> int | None:
    consumer = AIOKafkaConsumer(
        bootstrap_servers=kafka_bootstrap, group_id=group, enable_auto_commit=False
    )
    await consumer.start()
    try:
        return await consumer.committed(TopicPartition(topic, partition))
    finally:
        await consumer.stop()


async def subscriber(pool: asyncpg.Pool, user_id: uuid.UUID) -> asyncpg.Record | None:
    return await pool.fetchrow(
        "SELECT * FROM payments_history.subscribers WHERE user_id = $1", user_id
    )


async def read_all(kafka_bootstrap: str, topic: str, wait: float = 3.0) -> list[Any]:
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=kafka_bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        group_id=None,
    )
    await consumer.start()
    try:
        batches = await consumer.getmany(timeout_ms=int(wait * 1000))
        return [record for records in batches.values() for record in records]
    finally:
        await consumer.stop()


@dataclass
class Topics:
    """A test's private events and dead-letter topics."""

    events: str
    dlq: str
