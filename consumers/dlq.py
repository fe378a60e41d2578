"""Dead letters for operators: list them, put one back on its original topic.

Reinjection produces the original key and value unchanged, so the message keeps its
`message_id`; since no inbox row was written for a dead-lettered message, the consumer
handles the copy as new (and dedupes it like any other message if it is reinjected
twice). The row is locked while producing, so two operators cannot reinject it at once.
"""

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import asyncpg
from aiokafka import AIOKafkaProducer

from consumers.errors import DeadLetterNotFound
from schemas.codec import encode_key

COLUMNS = """id, consumer, message_id, origin_topic, origin_partition, origin_offset, key,
    payload, error, created_at, reinjected_at, reinjected_by"""


@dataclass(frozen=True)
class DeadLetterRow:
    id: int
    consumer: str
    message_id: UUID | None
    origin_topic: str
    origin_partition: int
    origin_offset: int
    key: str | None
    payload: str
    error: str
    created_at: datetime
    reinjected_at: datetime | None
    reinjected_by: str | None


async def list_dead_letters(
    pool: asyncpg.Pool,
    *,
    consumer: str | None = None,
    pending_only: bool = False,
    limit: int = 100,
) -> list[DeadLetterRow]:
    """Newest first; `pending_only` leaves out those already reinjected."""
    rows = await pool.fetch(
        f"""
        SELECT {COLUMNS} FROM payments_history.dead_letters
        WHERE ($1::text IS NULL OR consumer = $1)
          AND (NOT $2 OR reinjected_at IS NULL)
        ORDER BY created_at DESC, id DESC
        LIMIT $3
        """,
        consumer,
        pending_only,
        limit,
    )
    return [DeadLetterRow(**dict(row)) for row in rows]


async def dead_letter(pool: asyncpg.Pool, dead_letter_id: int) -> DeadLetterRow:
    row = await pool.fetchrow(
        f"SELECT {COLUMNS} FROM payments_history.dead_letters WHERE id = $1", dead_letter_id
    )
    if row is None:
        raise DeadLetterNotFound(f"no dead letter {dead_letter_id}")
    return DeadLetterRow(**dict(row))


async def reinject(
    pool: asyncpg.Pool, producer: AIOKafkaProducer, dead_letter_id: int, by: str
) -> DeadLetterRow:
    """Produce the original message again (acked by all replicas), then record who did it."""
    async with pool.acquire() as conn, conn.transaction():
        row = await conn.fetchrow(
            f"SELECT {COLUMNS} FROM payments_history.dead_letters WHERE id = $1 FOR UPDATE",
            dead_letter_id,
        )
        if row is None:
            raise DeadLetterNotFound(f"no dead letter {dead_letter_id}")
        key = encode_key(row["key"]) if row["key"] is not None else None
        await producer.send_and_wait(row["origin_topic"], row["payload"].encode(), key=key)
        updated = await conn.fetchrow(
            f"""
            UPDATE payments_history.dead_letters
            SET reinjected_at = now(), reinjected_by = $2
            WHERE id = $1
            RETURNING {COLUMNS}
            """,
            dead_letter_id,
            by,
        )
    return DeadLetterRow(**dict(updated))
