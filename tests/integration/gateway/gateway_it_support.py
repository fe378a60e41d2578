"""Helpers for the gateway integration tests: tokens, and reading back what was produced."""

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import jwt
from aiokafka import AIOKafkaConsumer, TopicPartition

from common.settings import JWT_AUDIENCE as AUDIENCE
from common.settings import JWT_ISSUER as ISSUER
from schemas.codec import decode
from schemas.messages import Envelope

Client = httpx.AsyncClient
GatewayFactory = Callable[..., Awaitable[Client]]

SECRET = "integration-test-jwt-secret-" + "0123456789abcdef" * 3
Offsets = dict[TopicPartition, int]


def bearer(user_id: uuid.UUID, email: str | None = "") -> dict[str, str]:
    """A token like the Auth sandbox's: its `email` claim made up from the user id unless
    given (None: a token without one)."""
    claims: dict[str, Any] = {
        "sub": str(user_id),
        "iss": ISSUER,
        "aud": AUDIENCE,
        "exp": time.time() + 600,
    }
    if email is not None:
        claims["email"] = email or f"{user_id}@users.auth-sandbox.test"
    token = jwt.encode(claims, SECRET, "HS256")
    return {"Authorization": f"Bearer {token}"}


class TopicTail:
    """Records appended to a topic since a snapshot of its end offsets (read_committed)."""

    def __init__(self, bootstrap: str, topic: str, partitions: int):
        self.bootstrap = bootstrap
        self.topic = topic
        self.partitions = [TopicPartition(topic, p) for p in range(partitions)]
        self.headers: dict[uuid.UUID, list[tuple[str, bytes]]] = {}  # by message_id, as read

    async def _consumer(self) -> AIOKafkaConsumer:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap,
            isolation_level="read_committed",
            enable_auto_commit=False,
        )
        await consumer.start()
        # Let aiokafka's internal task start: cancelling it unstarted makes stop() raise.
        await asyncio.sleep(0.01)
        return consumer

    async def snapshot(self) -> Offsets:
        consumer = await self._consumer()
        try:
            offsets = await consumer.end_offsets(self.partitions)
            if not offsets:
                raise AssertionError(f"{self.topic} has no partitions to read")
            return offsets
        finally:
            await consumer.stop()

    async def since(self, start: Offsets) -> list[tuple[bytes | None, Envelope]]:
        consumer = await self._consumer()
        try:
            end = await consumer.end_offsets(list(start))
            consumer.assign([tp for tp in start if end[tp] > start[tp]])
            for tp in consumer.assignment():
                consumer.seek(tp, start[tp])
            return await self._drain(consumer, end)
        finally:
            await consumer.stop()

    async def _drain(
        self, consumer: AIOKafkaConsumer, end: Offsets
    ) -> list[tuple[bytes | None, Any]]:
        records: list[tuple[bytes | None, Any]] = []
        deadline = time.monotonic() + 10
        while not await _caught_up(consumer, end):
            if time.monotonic() > deadline:
                raise AssertionError("could not read the topic up to its end offsets")
            batches = await consumer.getmany(timeout_ms=200)
            for batch in batches.values():
                for record in batch:
                    message = decode(record.value)
                    self.headers[message.message_id] = list(record.headers)
                    records.append((record.key, message))
        return records


async def _caught_up(consumer: AIOKafkaConsumer, end: Offsets) -> bool:
    for tp in consumer.assignment():
        if await consumer.position(tp) < end[tp]:
            return False
    return True


def about(records: list[tuple[bytes | None, Any]], field: str, value: object) -> list[Any]:
    return [(key, msg) for key, msg in records if getattr(msg, field, None) == value]
