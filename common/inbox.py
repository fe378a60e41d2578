"""The inbox (tracking) table: `(consumer, message_id)` once per fully handled message.

Every processor and consumer checks it before any side effect and writes it in the same
PostgreSQL transaction as its own state change, so a redelivery or a replay from offset 0
repeats nothing.
"""

from dataclasses import dataclass
from uuid import UUID

import asyncpg
from aiokafka import ConsumerRecord

_SEEN = "SELECT 1 FROM payments_history.inbox WHERE consumer = $1 AND message_id = $2"
_RECORD = """
INSERT INTO payments_history.inbox
    (consumer, message_id, type, topic, partition, "offset", payment_id)
VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT (consumer, message_id) DO NOTHING
RETURNING 1
"""


@dataclass(frozen=True)
class Origin:
    """Where a record came from: what the inbox row records, enough to dead-letter it."""

    topic: str
    partition: int
    offset: int
    key: str | None = None
    value: bytes = b""

    @classmethod
    def of(cls, record: ConsumerRecord) -> "Origin":
        key = record.key.decode("utf-8", errors="replace") if record.key is not None else None
        return cls(record.topic, record.partition, record.offset, key, record.value or b"")


async def seen(conn: asyncpg.Connection | asyncpg.Pool, consumer: str, message_id: UUID) -> bool:
    return await conn.fetchval(_SEEN, consumer, message_id) is not None


async def record(
    conn: asyncpg.Connection | asyncpg.Pool,
    consumer: str,
    message_id: UUID,
    type_: str,
    origin: Origin,
    payment_id: UUID | None = None,
) -> bool:
    """Insert the row for a message read at `origin`.

    False when it was already there: someone else handled the message first.
    """
    inserted = await conn.fetchval(
        _RECORD,
        consumer,
        message_id,
        type_,
        origin.topic,
        origin.partition,
        origin.offset,
        payment_id,
    )
    return inserted is not None
