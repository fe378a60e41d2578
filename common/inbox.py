"""The inbox (tracking) table: `(consumer, message_id)` once per fully handled message.

Every processor and consumer checks it before any side effect and writes it in the same
PostgreSQL transaction as its own state change, so a redelivery or a replay from offset 0
repeats nothing.
"""

from uuid import UUID

import asyncpg

_SEEN = "SELECT 1 FROM payments_history.inbox WHERE consumer = $1 AND message_id = $2"
_RECORD = """
INSERT INTO payments_history.inbox
    (consumer, message_id, type, topic, partition, "offset", payment_id)
VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT (consumer, message_id) DO NOTHING
RETURNING 1
"""


async def seen(conn: asyncpg.Connection | asyncpg.Pool, consumer: str, message_id: UUID) -> bool:
    return await conn.fetchval(_SEEN, consumer, message_id) is not None


async def record(
    conn: asyncpg.Connection | asyncpg.Pool,
    consumer: str,
    message_id: UUID,
    type_: str,
    where: tuple[str, int, int],
    payment_id: UUID | None = None,
) -> bool:
    """Insert the row for a message read at `where` = (topic, partition, offset).

    False when it was already there: someone else handled the message first.
    """
    topic, partition, offset = where
    inserted = await conn.fetchval(
        _RECORD, consumer, message_id, type_, topic, partition, offset, payment_id
    )
    return inserted is not None
