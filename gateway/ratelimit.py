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

`POST /api/v1/payments` takes its token in the payment's own statement (`take_statement`
as the first part of `repository.insert_or_existing`: one round trip, one pool connection,
no row written without a token); a request refused as bad input before it gets there takes
its token in the error handler first and gets 429/503 instead when it must (`deps.Meter`).
The other POSTs take it in their dependency (`deps.rate_limited_user`).
"""

import logging
import math
import time
import uuid
from datetime import datetime

import asyncpg

from gateway.database import Database
from gateway.errors import RateLimited

log = logging.getLogger(__name__)

FORGET_EVERY_S = 600.0


def take_statement(user: str, capacity: str, rate: str, now: str, rows: str = "") -> str:
    """The bucket's one statement, with its parameters named by the caller (`$n`), so that
    `repository.insert_or_existing` can run it as the first part of the payment's own. With
    `rows` (a FROM list, ordered), one take per row, `user` naming its column: the buckets
    of a batch of POSTs (`repository.insert_or_existing_many`), each user at most once."""
    elapsed = "greatest(0, extract(epoch FROM (excluded.updated_at - b.updated_at)))"
    refilled = f"least({capacity}, b.tokens + {elapsed} * {rate})"
    new = f"{user}, {capacity} - 1, coalesce({now}::timestamptz, clock_timestamp()), true"
    source = f"SELECT {new} FROM {rows}" if rows else f"VALUES ({new})"
    return f"""
INSERT INTO payments_history.rate_limits AS b (user_id, tokens, updated_at, allowed)
{source}
ON CONFLICT (user_id) DO UPDATE SET
  allowed = {refilled} >= 1,
  tokens = {refilled} - CASE WHEN {refilled} >= 1 THEN 1 ELSE 0 END,
  updated_at = greatest(b.updated_at, excluded.updated_at)
RETURNING user_id, allowed, tokens
"""


_TAKE = take_statement("$1", "$2", "$3", "$4")
# Skips the buckets another statement holds: a batch of POSTs locks its users' buckets in
# user order, and a clean-up waiting for one of them while holding another deadlocks with it.
_FORGET = """
DELETE FROM payments_history.rate_limits WHERE user_id IN (
    SELECT user_id FROM payments_history.rate_limits
    WHERE updated_at < clock_timestamp() - make_interval(secs => $1)
    FOR UPDATE SKIP LOCKED)"""


class RateLimiter:
    def __init__(self, per_minute: int, db: Database) -> None:
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0
        self.db = db
        self.next_forget = time.monotonic() + FORGET_EVERY_S

    async def take(self, user_id: uuid.UUID, now: datetime | None = None) -> None:
        """One token from the user's bucket, or `RateLimited` with the seconds to wait."""
        async with self.db.connection() as conn:  # DatabaseUnavailable: 503, fails closed
            await self.take_on(conn, user_id, now)

    async def take_on(
        self, conn: asyncpg.Connection, user_id: uuid.UUID, now: datetime | None = None
    ) -> None:
        """`take` on a connection the caller holds (and goes on using)."""
        row = await conn.fetchrow(_TAKE, user_id, self.capacity, self.rate, now)
        await self.forget_if_due(conn)
        self.check(row["allowed"], row["tokens"])

    def args(self, now: datetime | None = None) -> tuple[float, float, datetime | None]:
        """The values of `take_statement`'s capacity, rate and now."""
        return self.capacity, self.rate, now

    def check(self, allowed: bool, tokens: float) -> None:
        """What the statement said: nothing if a token was taken, else `RateLimited`."""
        if not allowed:
            raise RateLimited(self.retry_after(float(tokens)))

    async def forget_if_due(self, conn: asyncpg.Connection) -> None:
        """Every FORGET_EVERY_S, drop the buckets that have been full for a minute. Best
        effort: it runs after the caller's statement committed, whose answer must not turn
        into an error (nor a batch of POSTs be rerun) because the clean-up failed."""
        if time.monotonic() >= self.next_forget:
            self.next_forget = time.monotonic() + FORGET_EVERY_S
            try:
                await conn.execute(_FORGET, self.capacity / self.rate + 60)
            except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError) as exc:
                log.warning(
                    "rate-limit clean-up failed (%r); next try in %.0f s", exc, FORGET_EVERY_S
                )

    def retry_after(self, tokens: float) -> int:
        """Whole seconds until the bucket holds one token again (at least 1)."""
        return max(1, math.ceil((1.0 - tokens) / self.rate - 1e-9))  # float noise
