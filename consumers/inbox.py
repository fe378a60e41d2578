"""The inbox: `(consumer, message_id)` once per fully handled message.

A consumer checks it before any side effect and writes it in the same transaction as
its own state change, so a redelivery or a replay from offset 0 repeats nothing.
"""

import asyncpg

from common import inbox
from common.inbox import Origin, seen
from schemas.messages import Envelope

__all__ = ["Origin", "record", "seen"]


async def record(
    conn: asyncpg.Connection | asyncpg.Pool, consumer: str, event: Envelope, origin: Origin
) -> bool:
    """Insert the inbox row; False if it was already there (someone else handled it)."""
    return await inbox.record(
        conn,
        consumer,
        event.message_id,
        getattr(event, "type", type(event).__name__),
        origin,
        getattr(event, "payment_id", None),
    )
