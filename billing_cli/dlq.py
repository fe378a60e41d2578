"""Dead letters through `consumers.dlq`, with the pool and producer an operator's command needs."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
from aiokafka import AIOKafkaProducer

from common.db import create_pool
from common.kafka import make_producer
from common.settings import Settings
from consumers import dlq


@asynccontextmanager
async def connections(settings: Settings) -> AsyncIterator[tuple[asyncpg.Pool, AIOKafkaProducer]]:
    pool = await create_pool(settings, min_size=1, max_size=2)
    producer = make_producer(settings)
    try:
        await producer.start()
        yield pool, producer
    finally:
        await producer.stop()
        await pool.close()


async def list_letters(
    settings: Settings, consumer: str | None, pending_only: bool, limit: int
) -> list[dlq.DeadLetterRow]:
    pool = await create_pool(settings, min_size=1, max_size=2)
    try:
        return await dlq.list_dead_letters(
            pool, consumer=consumer, pending_only=pending_only, limit=limit
        )
    finally:
        await pool.close()


async def show(settings: Settings, letter_id: int) -> dlq.DeadLetterRow:
    pool = await create_pool(settings, min_size=1, max_size=1)
    try:
        return await dlq.dead_letter(pool, letter_id)
    finally:
        await pool.close()


def pretty_payload(payload: str) -> str:
    """The payload indented if it is JSON, as stored otherwise (it may be why it died)."""
    try:
        return json.dumps(json.loads(payload), indent=2, ensure_ascii=False, sort_keys=True)
    except ValueError:
        return payload


async def reinject(letter_id: int, by: str, settings: Settings | None = None) -> dlq.DeadLetterRow:
    async with connections(settings or Settings()) as (pool, producer):
        return await dlq.reinject(pool, producer, letter_id, by)
