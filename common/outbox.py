"""Writers' side of the outbox: call `append` inside the transaction that changes the state.

`append` inserts the event (idempotent on `message_id`) and `NOTIFY billing_outbox`, which
PostgreSQL delivers only when the transaction commits: the relay wakes at once instead of
waiting for its next poll. The notification's payload is the event's payment id ('' when it
has none), so a gateway holding `Prefer: wait` requests re-reads only for its own payments.
The processors and the subscriptions consumer both write through it;
`processors.relay` publishes what it queued.
"""

import json
from uuid import UUID

import asyncpg

from schemas.codec import encode
from schemas.messages import Envelope

CHANNEL = "billing_outbox"

_INSERT = """
WITH queued AS (
    INSERT INTO payments_history.outbox
        (message_id, topic, key, type, payload, payment_id, refund_id)
    VALUES ($1, $2, $3, $4, $5, $6, $7)
    ON CONFLICT (message_id) DO NOTHING
    RETURNING id, payment_id
)
SELECT (SELECT id FROM queued) AS id,
       pg_notify($8, coalesce((SELECT payment_id::text FROM queued), ''))
"""


async def append(
    conn: asyncpg.Connection,
    event: Envelope,
    *,
    topic: str,
    key: str,
    payment_id: UUID | None = None,
    refund_id: UUID | None = None,
) -> bool:
    """Queue `event` for publication; False when this message_id was queued before."""
    payload = json.loads(encode(event))
    type_ = str(payload["type"])
    # one round trip: the insert and its NOTIFY (still delivered only at commit)
    row_id = await conn.fetchval(
        _INSERT, event.message_id, topic, key, type_, payload, payment_id, refund_id, CHANNEL
    )
    return row_id is not None
