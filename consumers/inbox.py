"""The inbox: `(consumer, message_id)` once per fully handled message.

A consumer checks it before any side effect and writes it in the same transaction as
its own state change, so a redelivery or a replay from offset 0 repeats nothing. A message
whose handling changes nothing of ours in PostgreSQL (no effect, or only an idempotent call
outside) has its row written later in bulk (`add`, `common.inbox.PendingInbox`), before the
run loop commits its offset.
"""

import asyncpg

from common import inbox
from common.inbox import Origin, PendingInbox, Row, seen
from schemas.messages import Envelope

__all__ = ["Origin", "add", "record", "row", "seen"]


def _type_of(event: Envelope) -> str:
    return getattr(event, "type", type(event).__name__)


async def record(
    conn: asyncpg.Connection | asyncpg.Pool, consumer: str, event: Envelope, origin: Origin
) -> bool:
    """Insert the inbox row; False if it was already there (someone else handled it)."""
    return await inbox.record(
        conn,
        consumer,
        event.message_id,
        _type_of(event),
        origin,
        getattr(event, "payment_id", None),
    )


def add(pending: PendingInbox, event: Envelope, origin: Origin) -> None:
    """The row `record` would write, left for the run loop's flush before its commit."""
    pending.add(event.message_id, _type_of(event), origin, getattr(event, "payment_id", None))


def row(event: Envelope, origin: Origin) -> Row:
    """The row `record` writes (less the consumer), for a writer that joins it to its own."""
    o, payment_id = origin, getattr(event, "payment_id", None)
    return (event.message_id, _type_of(event), o.topic, o.partition, o.offset, payment_id)
