"""The tracking table: (consumer, message_id) once, written in the transaction of the effect."""

from dataclasses import dataclass
from uuid import UUID

import asyncpg


@dataclass(frozen=True)
class Origin:
    """Where a message came from: what the inbox row records next to its id."""

    consumer: str
    message_id: UUID
    type: str
    topic: str
    partition: int
    offset: int
    payment_id: UUID | None = None


async def seen(conn: asyncpg.Connection | asyncpg.Pool, consumer: str, message_id: UUID) -> bool:
    found = await conn.fetchval(
        "SELECT 1 FROM payments_history.inbox WHERE consumer = $1 AND message_id = $2",
        consumer,
        message_id,
    )
    return found is not None


async def record(conn: asyncpg.Connection, origin: Origin) -> None:
    await conn.execute(
        """
        INSERT INTO payments_history.inbox
            (consumer, message_id, type, topic, partition, "offset", payment_id)
        VALUES ($1, $2, $3, $4, $5, $6, $7)
        ON CONFLICT (consumer, message_id) DO NOTHING
        """,
        origin.consumer, origin.message_id, origin.type, origin.topic,
        origin.partition, origin.offset, origin.payment_id,
    )  # fmt: skip
