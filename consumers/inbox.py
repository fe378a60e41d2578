"""The inbox: `(consumer, message_id)` once per fully handled message.

A consumer checks it before any side effect and writes it in the same transaction as
its own state change, so a redelivery or a replay from offset 0 repeats nothing.
"""

from dataclasses import dataclass
from uuid import UUID

import asyncpg

from schemas.messages import Envelope


@dataclass(frozen=True)
class Origin:
    """Where a record came from: enough to dead-letter or reinject it."""

    topic: str
    partition: int
    offset: int
    key: str | None
    value: bytes


async def seen(conn: asyncpg.Connection | asyncpg.Pool, consumer: str, message_id: UUID) -> bool:
    found = await conn.fetchval(
        "SELECT 1 FROM payments_history.inbox WHERE consumer = $1 AND message_id = $2",
        consumer,
        message_id,
    )
    return found is not None


async def record(
    conn: asyncpg.Connection | asyncpg.Pool, consumer: str, event: Envelope, origin: Origin
) -> bool:
    """Insert the inbox row; False if it was already there (someone else handled it)."""
    inserted = await conn.fetchval(
        """
        INSERT INTO payments_history.inbox
            (consumer, message_id, type, topic, partition, "offset", payment_id)
        VALUES ($1, $2, $3, $4, $5, $6, $7)
        ON CONFLICT (consumer, message_id) DO NOTHING
        RETURNING 1
        """,
        consumer,
        event.message_id,
        getattr(event, "type", type(event).__name__),
        origin.topic,
        origin.partition,
        origin.offset,
        getattr(event, "payment_id", None),
    )
    return inserted is not None
