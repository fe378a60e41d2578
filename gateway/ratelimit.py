"""Per-user token buckets in PostgreSQL, shared by every gateway instance (`make up SCALE=N`).

`per_minute` POSTs a minute per user, bursting up to `per_minute` at once. The bucket is one
row of the UNLOGGED table `payments_history.rate_limits` (migration 0005): losing it in a
crash only refills everyone's bucket. One statement refills, takes a token if there is one
and says whether it did, atomically under the row's lock, so N gateways enforce one limit.
The time is PostgreSQL's (one clock for every instance); tests pass their own.

When the bucket cannot be read (PostgreSQL away, or the pool busy past its timeout) the
POST is refused with 503 and Retry-After (fails closed), before anything else is done for
it. A payment system must not let a burst through unmetered exactly when the database is
saturated, which is what a burst does; and every POST needs the database anyway, so an
unmetered request would at best answer 503 a moment later, having cost a Kafka send or a
provider call on the way. The client retries with the same Idempotency-Key (CONTRACT).
The order of answers stays 401 → 429/503 → 400 → 422.
"""

import math
import time
import uuid
from datetime import datetime

from gateway.database import Database
from gateway.errors import RateLimited

FORGET_EVERY_S = 600.0
_ELAPSED = "greatest(0, extract(epoch FROM (excluded.updated_at - b.updated_at)))"
_REFILLED = f"least($2, b.tokens + {_ELAPSED} * $3)"
_TAKE = f"""
INSERT INTO payments_history.rate_limits AS b (user_id, tokens, updated_at, allowed)
VALUES ($1, $2 - 1, coalesce($4::timestamptz, clock_timestamp()), true)
ON CONFLICT (user_id) DO UPDATE SET
  allowed = {_REFILLED} >= 1,
  tokens = {_REFILLED} - CASE WHEN {_REFILLED} >= 1 THEN 1 ELSE 0 END,
  updated_at = greatest(b.updated_at, excluded.updated_at)
RETURNING allowed, tokens
"""
_FORGET = """
DELETE FROM payments_history.rate_limits
WHERE updated_at < clock_timestamp() - make_interval(secs => $1)"""


class RateLimiter:
    def __init__(self, per_minute: int, db: Database) -> None:
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0
        self.db = db
        self.next_forget = time.monotonic() + FORGET_EVERY_S

    async def take(self, user_id: uuid.UUID, now: datetime | None = None) -> None:
        """One token from the user's bucket, or `RateLimited` with the seconds to wait."""
        async with self.db.connection() as conn:  # DatabaseUnavailable: 503, fails closed
            row = await conn.fetchrow(_TAKE, user_id, self.capacity, self.rate, now)
            if time.monotonic() >= self.next_forget:
                self.next_forget = time.monotonic() + FORGET_EVERY_S
                await conn.execute(_FORGET, self.capacity / self.rate + 60)
        if not row["allowed"]:
            raise RateLimited(self.retry_after(float(row["tokens"])))

    def retry_after(self, tokens: float) -> int:
        """Whole seconds until the bucket holds one token again (at least 1)."""
        return max(1, math.ceil((1.0 - tokens) / self.rate - 1e-9))  # float noise
