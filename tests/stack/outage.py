"""Helpers of the outage tests: the stack's supervisor, the DLQ, the Auth call log."""

import asyncio
from datetime import datetime
from typing import Any

import asyncpg
import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition

from common.settings import Settings
from schemas.topics import DLQ, TOPICS
from tests.chaos.stack import supervisorctl
from tests.stack.conftest import Stack, User


async def ctl(action: str, *programs: str) -> None:
    result = await asyncio.to_thread(supervisorctl, action, *programs)
    assert result.returncode == 0, f"supervisorctl {action} {programs}: {result.stdout}"


async def dlq_end_offsets() -> dict[int, int]:
    """The end offset of each partition of `billing.dlq.v1`."""
    consumer = AIOKafkaConsumer(bootstrap_servers=Settings().kafka_bootstrap_servers)
    await consumer.start()
    try:
        partitions = [TopicPartition(DLQ, p) for p in range(TOPICS[DLQ])]
        ends = await consumer.end_offsets(partitions)
        return {tp.partition: offset for tp, offset in ends.items()}
    finally:
        await consumer.stop()


async def dead_letters_since(since: datetime) -> list[dict[str, Any]]:
    conn = await asyncpg.connect(Settings().database_url)
    try:
        rows = await conn.fetch(
            "SELECT consumer, origin_topic, key, error FROM payments_history.dead_letters"
            " WHERE created_at >= $1",
            since,
        )
        return [dict(r) for r in rows]
    finally:
        await conn.close()


async def auth_calls(http: httpx.AsyncClient, stack: Stack, user: User) -> list[dict[str, Any]]:
    response = await http.get(f"{stack.auth}/api/v1/calls", params={"user_id": str(user.id)})
    response.raise_for_status()
    return list(response.json()["items"])


async def auth_healthy(http: httpx.AsyncClient, stack: Stack, within: float = 30) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while True:
        try:
            if (await http.get(f"{stack.auth}/healthz", timeout=2)).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        assert asyncio.get_running_loop().time() < deadline, "auth did not come back"
        await asyncio.sleep(0.3)
